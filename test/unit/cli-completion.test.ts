// kdev completion: the candidates `kdev __complete` computes from the command tree, and the
// generated bash/zsh/fish scripts (bash run for real with a `kdev` on PATH; zsh and fish
// syntax-checked when installed). Live names from a cluster: test/e2e/cli-completion.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { runKdev } from '../lib/cli.js';
import { bashComplete as run, kdevBinDir } from '../lib/completion.js';

/** No cluster: live lookups fail fast and offer nothing. */
const NO_CLUSTER = { KUBECONFIG: '/nonexistent/kubeconfig' };

async function complete(...words: string[]): Promise<string[]> {
  const r = await runKdev(['__complete', '--', ...words], NO_CLUSTER);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l.length > 0);
}

function has(shell: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${shell}`]).status === 0;
}

describe('kdev __complete', () => {
  it('offers the visible commands and aliases at the top, never the hidden one', async () => {
    const words = await complete('');
    for (const c of ['ls', 'dev', 'env', 'logs', 'port-forward', 'pf', 'doctor', 'version', 'completion', 'config', 'sync']) assert.ok(words.includes(c), `${c} in ${words.join(' ')}`);
    assert.ok(!words.includes('__complete'));
  });

  it('offers subcommands, filtered by what is typed', async () => {
    assert.deepEqual(await complete('dev', 'st'), ['start', 'status']);
    assert.ok((await complete('env', '')).includes('create'));
    assert.deepEqual(await complete('pf', 'l'), ['list']);
  });

  it("offers the command's flags and the global ones", async () => {
    const flags = await complete('dev', 'start', '--');
    for (const f of ['--mode', '--no-sync', '--timeout', '--namespace', '--kubeconfig', '--help']) assert.ok(flags.includes(f), `${f} in ${flags.join(' ')}`);
    assert.ok(!flags.includes('--all'), 'a flag of another command');
  });

  it('offers the choices of an option, after it or after =', async () => {
    assert.deepEqual(await complete('dev', 'start', '--mode', ''), ['replace', 'duplicate']);
    assert.deepEqual(await complete('-o', 'j'), ['json']);
    assert.deepEqual(await complete('ls', '--output=t'), ['--output=text']);
    assert.deepEqual(await complete('completion', ''), ['bash', 'zsh', 'fish']);
  });

  it('a value already given to an option is not taken for a command', async () => {
    assert.deepEqual(await complete('-n', 'dev', 'dev', 'st'), ['start', 'status']);
  });

  it('offers nothing (files, in the shell) for a free-form argument or one past the last', async () => {
    assert.deepEqual(await complete('config', 'validate', ''), []);
    assert.deepEqual(await complete('completion', 'bash', ''), []);
  });

  it('marks live arguments (workloads, existing environments) apart from free ones, in the cobra directive', async () => {
    const directive = async (...words: string[]) => (await runKdev(['__complete', '--cobra', '--', ...words], NO_CLUSTER)).stdout.trim();
    // :4 = live names, no files; :0 = nothing from kdev, the shell may offer files
    for (const words of [['dev', 'start', ''], ['logs', ''], ['pf', 'add', '-w', ''], ['env', 'show', ''], ['env', 'delete', 'pr-'], ['env', 'kubeconfig', '']]) {
      assert.equal(await directive(...words), ':4', words.join(' '));
    }
    for (const words of [['env', 'create', ''], ['config', 'validate', ''], ['env', 'render', '']]) assert.equal(await directive(...words), ':0', words.join(' '));
  });

  it('a workload argument with no reachable cluster offers nothing and exits 0', async () => {
    assert.deepEqual(await complete('dev', 'start', ''), []);
    assert.deepEqual(await complete('port-forward', 'add', '-w', ''), []);
  });
});

describe('kdev completion <shell>', () => {
  let bin: string;
  before(() => (bin = kdevBinDir()));
  after(() => rmSync(bin, { recursive: true, force: true }));

  it('rejects a shell it does not know, with the usage exit code', async () => {
    const r = await runKdev(['completion', 'tcsh'], NO_CLUSTER);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bash, zsh, fish/);
  });

  it('bash: registers for kdev and kubectl-kdev and is valid bash', async () => {
    const script = (await runKdev(['completion', 'bash'], NO_CLUSTER)).stdout;
    assert.match(script, /complete -o default -F _kdev_complete kdev kubectl-kdev/);
    assert.match(script, /__complete --/);
    execFileSync('bash', ['-n'], { input: script });
  });

  const bashComplete = (dir: string, line: string) => run(line, dir, NO_CLUSTER);

  it('bash: completes subcommands and option values when run', () => {
    assert.deepEqual(bashComplete(bin, 'kdev dev st'), ['start', 'status']);
    assert.deepEqual(bashComplete(bin, 'kdev dev start --mode '), ['replace', 'duplicate']);
    // after `=` bash replaces only the value
    assert.deepEqual(bashComplete(bin, 'kdev ls --output=j'), ['json']);
  });

  it('zsh: a compdef for kdev and kubectl-kdev; valid zsh where zsh is installed', async (t) => {
    const script = (await runKdev(['completion', 'zsh'], NO_CLUSTER)).stdout;
    assert.match(script, /^#compdef kdev kubectl-kdev/);
    assert.match(script, /compdef _kdev kdev kubectl-kdev/);
    assert.match(script, /__complete -- "\$\{\(@\)words\[2,CURRENT\]\}"/);
    if (!has('zsh')) return t.diagnostic('zsh is not installed: syntax not checked');
    execFileSync('zsh', ['-n'], { input: script });
  });

  it('fish: completes kdev and kubectl-kdev; valid fish where fish is installed', async (t) => {
    const script = (await runKdev(['completion', 'fish'], NO_CLUSTER)).stdout;
    assert.match(script, /complete -c kdev -f -a '\(__kdev_complete\)'/);
    assert.match(script, /complete -c kubectl-kdev -f -a '\(__kdev_complete\)'/);
    assert.match(script, /__complete -- \$typed\[2\.\.-1\] \(commandline -ct\)/);
    if (!has('fish')) return t.diagnostic('fish is not installed: syntax not checked');
    execFileSync('fish', ['--no-execute'], { input: script });
  });
});

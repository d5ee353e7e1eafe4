// kdev's exit codes (docs/cli.md): 0 ok, 1 an error kdev reports, 2 a command line that does not parse; errors as JSON with -o json.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runKdev } from '../lib/cli.js';

const NO_CLUSTER = { KUBECONFIG: '/nonexistent/kubeconfig' };

describe('exit codes', () => {
  it('0: --version, --help', async () => {
    assert.equal((await runKdev(['--version'], NO_CLUSTER)).code, 0);
    assert.equal((await runKdev(['dev', 'start', '--help'], NO_CLUSTER)).code, 0);
  });

  it('2: an unknown command, an unknown option, a missing argument, a value not among the choices', async () => {
    for (const args of [['bogus'], ['ls', '--bogus'], ['dev', 'start'], ['dev', 'start', 'web', '--mode', 'sideways'], ['-o', 'yaml', 'ls']]) {
      const r = await runKdev(args, NO_CLUSTER);
      assert.equal(r.code, 2, `kdev ${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /error: /);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
  });

  it('1: bad input found by core (a KdevError INVALID), printed with its hint, as JSON with -o json', async () => {
    const r = await runKdev(['env', 'render', 'hello', '--env', 'NOT A NAME'], NO_CLUSTER);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /✗ .*not a valid environment name\n {2}hint: /);
    const j = await runKdev(['-o', 'json', 'env', 'render', 'hello', '--env', 'NOT A NAME'], NO_CLUSTER);
    assert.equal(j.code, 1);
    assert.equal((JSON.parse(j.stdout) as { error: { code: string } }).error.code, 'INVALID');
  });

  it('1: no cluster configured, with the JSON code NO_CLUSTER', async () => {
    const r = await runKdev(['ls'], NO_CLUSTER);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /no Kubernetes cluster is configured/);
    const j = await runKdev(['-o', 'json', 'ls'], NO_CLUSTER);
    assert.equal(j.code, 1);
    assert.equal((JSON.parse(j.stdout) as { error: { code: string } }).error.code, 'NO_CLUSTER');
  });
});

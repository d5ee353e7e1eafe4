// NO_COLOR and non-TTY output: plain progress lines, no ANSI escape, each printed when its
// phase happens (not one frame at exit). A terminal is given to the CLI by `script` (a pty).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { applyAll } from '@kdev/core/internals';
import { KDEV_MAIN } from '../lib/cli.js';
import { nodeDeployment, tempNamespace, testKubeconfig } from '../lib/cluster.js';

const ESC = '\u001b';

interface Timed {
  code: number;
  text: string;
  /** When each line arrived, in ms since the start. */
  lines: { at: number; line: string }[];
}

/** Runs kdev with `args`, in a pty when `tty`, stdout and stderr merged, noting when each line arrives. */
function runTimed(args: string[], opts: { tty: boolean; env: Record<string, string | undefined> }): Promise<Timed> {
  const env: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: testKubeconfig(), CI: undefined, TERM: 'xterm-256color', NO_COLOR: undefined, ...opts.env };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const command = [process.execPath, KDEV_MAIN, ...args].map((a) => `'${a}'`).join(' ');
  const child = opts.tty ? spawn('script', ['-qec', `${command} 2>&1`, '/dev/null'], { env }) : spawn('sh', ['-c', `${command} 2>&1`], { env });
  const t0 = Date.now();
  let text = '';
  let partial = '';
  const lines: Timed['lines'] = [];
  child.stdout.on('data', (d: Buffer) => {
    text += d.toString();
    partial += d.toString();
    const parts = partial.split(/\r?\n/);
    partial = parts.pop() ?? '';
    for (const line of parts) lines.push({ at: Date.now() - t0, line });
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, text, lines }));
  });
}

/** The progress lines came one by one: the first phase line well before the last one. */
function assertProgressive(r: Timed, first: RegExp, last: RegExp): void {
  const a = r.lines.find((l) => first.test(l.line));
  const b = r.lines.find((l) => last.test(l.line));
  assert.ok(a && b, r.text);
  assert.ok(b.at - a.at >= 300, `"${a.line}" at ${a.at} ms and "${b.line}" at ${b.at} ms: not printed as they happened\n${r.text}`);
}

describe('plain output: NO_COLOR, no terminal', () => {
  let ns: Awaited<ReturnType<typeof tempNamespace>>;
  before(async () => {
    ns = await tempNamespace('kdev-output');
    await applyAll(ns.cluster, [nodeDeployment(ns.name, 'web', { code: "require('http').createServer((q, r) => r.end('ok')).listen(8080)", readyOnPort: 8080 })]);
  });
  after(async () => ns?.remove());

  const start = () => ['dev', 'start', 'web', '-n', ns.name, '--no-sync', '--image', 'kdev.local/dev-node:18', '--timeout', '200'];

  it('NO_COLOR on a terminal: no escape, one plain line per phase as it happens', async () => {
    const r = await runTimed(start(), { tty: true, env: { NO_COLOR: '1' } });
    assert.equal(r.code, 0, r.text);
    assert.ok(!r.text.includes(ESC), `an escape sequence in:\n${JSON.stringify(r.text)}`);
    assert.match(r.text, /^ {2}… patching +patching deployment\/web/m);
    assertProgressive(r, /^kdev dev start/, /^ {2}… ready +/);
  });

  it('the same terminal without NO_COLOR gets the live, coloured view (the check above can fail)', async () => {
    const r = await runTimed(['dev', 'end', 'web', '-n', ns.name], { tty: true, env: {} });
    assert.equal(r.code, 0, r.text);
    assert.ok(r.text.includes(`${ESC}[`), r.text);
  });

  it('no terminal (a pipe): no escape, progress lines as they happen', async () => {
    const r = await runTimed(start(), { tty: false, env: {} });
    assert.equal(r.code, 0, r.text);
    assert.ok(!r.text.includes(ESC), `an escape sequence in:\n${JSON.stringify(r.text)}`);
    assertProgressive(r, /^kdev dev start/, /^ {2}… ready +/);
  });
});

// Generated parts of the docs.
//   npm run docs:config     rewrites the `.kdev.yaml` reference in README.md from the zod schema
//   npm run docs:terminal   captures `kdev dev start` (progress view, then the sync line after an
//                           edit) from a real run on the test cluster into docs/terminal-devstart.svg
// The terminal run uses $KDEV_TEST_KUBECONFIG, else the local cluster's kubeconfig; it works in a
// namespace of its own, runs the CLI in a tmux pane of a fixed size on a private tmux server,
// and deletes the namespace and stops that server at the end.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { applyAll } from '@kdev/core/internals';
import { nodeDeployment, tempNamespace, waitPodReady } from './lib/cluster.js';
import { KDEV_MAIN, runKdev } from './lib/cli.js';
import { withConfigReference } from './lib/docs-config.js';
import { plainText, screenToSvg } from './lib/terminal-svg.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const COLS = 92;
const ROWS = 22;

function writeConfigReference(): void {
  const file = join(ROOT, 'README.md');
  writeFileSync(file, withConfigReference(readFileSync(file, 'utf8')));
  console.log(`wrote the .kdev.yaml reference into ${file}`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

class Pane {
  private readonly socket = `kdev-docs-${process.pid}`;
  constructor(env: Record<string, string>, cwd: string) {
    const vars = Object.entries(env).map(([k, v]) => `${k}='${v.replace(/'/g, `'\\''`)}'`);
    this.tmux('new-session', '-d', '-s', 'shot', '-x', String(COLS), '-y', String(ROWS), '-c', cwd, `env ${vars.join(' ')} bash --norc --noprofile`);
  }
  tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
  }
  type(text: string): void {
    this.tmux('send-keys', '-t', 'shot', text, 'Enter');
  }
  /** The screen and its scrollback, from the last line that starts with `from` on. */
  capture(from = '$ kdev'): string {
    const lines = this.tmux('capture-pane', '-t', 'shot', '-e', '-p', '-S', '-200').split('\n');
    const plain = plainText(lines.join('\n')).split('\n');
    const start = plain.map((l) => l.startsWith(from)).lastIndexOf(true);
    return lines.slice(Math.max(start, 0)).join('\n');
  }
  async waitFor(re: RegExp, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = this.capture();
      if (re.test(plainText(screen))) return screen;
      if (Date.now() > deadline) throw new Error(`the pane did not show ${re} in ${timeoutMs} ms:\n${screen}`);
      await sleep(200);
    }
  }
  stop(): void {
    this.tmux('kill-server');
  }
}

/** A copy of the kubeconfig whose contexts default to `namespace`, so the commands need no -n. */
function kubeconfigIn(source: string, namespace: string, dir: string): string {
  const config = parse(readFileSync(source, 'utf8')) as { contexts?: Array<{ context: { namespace?: string } }> };
  for (const c of config.contexts ?? []) c.context.namespace = namespace;
  const file = join(dir, 'kubeconfig');
  writeFileSync(file, stringify(config), { mode: 0o600 });
  return file;
}

/** A project folder with a tiny Node service and its `.kdev.yaml`, and a `kdev` on PATH. */
function project(): { dir: string; bin: string } {
  const base = mkdtempSync(join(tmpdir(), 'kdev-docs-'));
  const dir = join(base, 'web');
  const bin = join(base, 'bin');
  mkdirSync(dir);
  mkdirSync(bin);
  writeFileSync(join(bin, 'kdev'), `#!/bin/sh\nexec "${process.execPath}" "${KDEV_MAIN}" "$@"\n`);
  chmodSync(join(bin, 'kdev'), 0o755);
  writeFileSync(join(dir, 'server.js'), "require('http').createServer((q, s) => s.end('hello\\n')).listen(8080);\n");
  writeFileSync(join(dir, '.kdev.yaml'), `dev:\n  web:\n    image: kdev.local/dev-node:18\n    workDir: /app\n    run: node server.js\n`);
  return { dir, bin };
}

async function captureTerminal(): Promise<void> {
  process.env.KDEV_TEST_KUBECONFIG ??= join(ROOT, 'test', 'cluster', '.state', 'kubeconfig');
  const kubeconfig = process.env.KDEV_TEST_KUBECONFIG;
  const ns = await tempNamespace('kdev-docs');
  const { dir, bin } = project();
  const state = mkdtempSync(join(tmpdir(), 'kdev-docs-state-'));
  let pane: Pane | undefined;
  try {
    await applyAll(ns.cluster, [nodeDeployment(ns.name, 'web', { code: "require('http').createServer((q, s) => s.end('v0')).listen(8080)" })]);
    await waitPodReady(ns.cluster, 'app=web');
    pane = new Pane({ KUBECONFIG: kubeconfigIn(kubeconfig, ns.name, state), XDG_CONFIG_HOME: state, PATH: `${bin}:${process.env.PATH ?? ''}`, PS1: '$ ', TERM: 'xterm-256color' }, dir);
    pane.type('kdev dev start web');
    await pane.waitFor(/● (watching for changes|synced)/, 180_000);
    writeFileSync(join(dir, 'server.js'), "require('http').createServer((q, s) => s.end('hello, edited\\n')).listen(8080);\n");
    await sleep(1500);
    const screen = await pane.waitFor(/● synced \d+s ago/, 30_000);
    const out = join(ROOT, 'docs', 'terminal-devstart.svg');
    writeFileSync(out, screenToSvg(screen, { cols: COLS, title: 'kdev dev start web' }));
    console.log(`wrote ${out}`);
    pane.tmux('send-keys', '-t', 'shot', 'C-c');
    await pane.waitFor(/stays in dev mode/, 30_000);
  } finally {
    pane?.stop();
    const end = await runKdev(['dev', 'end', 'deployment/web', '-n', ns.name], { KUBECONFIG: kubeconfig, XDG_CONFIG_HOME: state });
    if (end.code !== 0) console.error(`dev end: ${end.stderr}`);
    await ns.remove();
    rmSync(state, { recursive: true, force: true });
    rmSync(dirname(dir), { recursive: true, force: true });
  }
}

const what = process.argv[2];
if (what === 'config') writeConfigReference();
else if (what === 'terminal') await captureTerminal();
else {
  console.error('usage: node test/dist/docs.js config|terminal');
  process.exitCode = 2;
}

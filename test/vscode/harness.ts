// `npm run test:extension`: runs the extension's mocha suite inside a real VS Code.
// VS Code is code-server 4.100.3 (VS Code 1.100.3, Node extension host) started on
// 127.0.0.1 in its own process group; headless Debian chromium, driven by playwright-core,
// opens the workbench with a payload that makes it load the extension under development and
// run its tests. The suite's console arrives through codeAutomationLog, its result through
// codeAutomationExit. The suite can ask this harness for what only the browser side can do
// (screenshots, clicks in the workbench): it logs a `kdev-harness:` request line and waits
// for the answer file this harness writes into $KDEV_HARNESS_DIR/answers.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { format } from 'node:util';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { up } from '../cluster/cluster.js';
import { CHROMIUM, codeServerEntry, ensureTools } from './install.js';
import { handleRequest, recordingDocs, type HarnessRequest } from './requests.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const EXTENSION = join(ROOT, 'extension');
const SUITE_TIMEOUT_MS = 15 * 60_000;
const REQUEST_PREFIX = 'kdev-harness:';

function log(line: string): void {
  console.log(`[harness] ${line}`);
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

/** Starts code-server as the leader of a new process group; resolves once it listens. */
function startCodeServer(tmp: string, port: number, workspace: string, env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const userData = join(tmp, 'user-data');
  const args = [
    codeServerEntry(),
    '--auth', 'none',
    '--bind-addr', `127.0.0.1:${port}`,
    '--config', join(tmp, 'config.yaml'),
    '--user-data-dir', userData,
    '--extensions-dir', join(tmp, 'extensions'),
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--ignore-last-opened',
    workspace,
  ];
  const child = spawn(process.execPath, args, { detached: true, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = join(tmp, 'code-server.log');
  return new Promise((resolveChild, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`code-server did not start listening within 60 s; log: ${out}`)), 60_000);
    const onData = (d: Buffer) => {
      text += d.toString();
      writeFileSync(out, text);
      if (/HTTP server listening on/.test(text)) {
        clearTimeout(timer);
        resolveChild(child);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`code-server exited with ${code} before listening:\n${text.slice(-2000)}`));
    });
  });
}

/** Stops the whole process group (code-server leaves a file watcher behind otherwise). */
async function stopGroup(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {}
  }, 5000);
  await exited;
  clearTimeout(timer);
  try {
    process.kill(-pid, 'SIGKILL'); // whatever of the group outlived its leader
  } catch {}
}

function payloadUrl(port: number, workspace: string, suiteIndex: string): string {
  const remote = (path: string) => `vscode-remote://127.0.0.1:${port}${path}`;
  const payload = [
    ['extensionDevelopmentPath', remote(EXTENSION)],
    ['extensionTestsPath', remote(suiteIndex)],
  ];
  return `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

function writeWorkspace(tmp: string, kubeconfig: string): string {
  const workspace = join(tmp, 'workspace');
  mkdirSync(join(workspace, '.vscode'), { recursive: true });
  writeFileSync(join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'kdev.kubeconfig': kubeconfig }, null, 2));
  writeFileSync(join(workspace, 'README.md'), '# a workspace for the kdev extension tests\n');
  const user = join(tmp, 'user-data', 'User');
  mkdirSync(user, { recursive: true });
  writeFileSync(
    join(user, 'settings.json'),
    JSON.stringify(
      {
        'workbench.startupEditor': 'none',
        'workbench.tips.enabled': false,
        'workbench.enableExperiments': false,
        'telemetry.telemetryLevel': 'off',
        'update.mode': 'none',
        'extensions.autoCheckUpdates': false,
        'extensions.autoUpdate': false,
        'security.workspace.trust.enabled': false,
        'window.commandCenter': false,
      },
      null,
      2,
    ),
  );
  writeFileSync(join(tmp, 'config.yaml'), 'auth: none\ncert: false\n');
  return workspace;
}

async function kubeconfigForTests(): Promise<string> {
  const given = process.env.KDEV_TEST_KUBECONFIG;
  if (given) return given;
  log('using the local cluster (set KDEV_TEST_KUBECONFIG to use another)');
  const result = await up((line) => log(`  ${line}`));
  return result.kubeconfig;
}

interface SuiteResult {
  code: number;
  passed?: number;
  failed?: number;
  activationMs?: number;
}

async function runSuite(page: Page, url: string, tmp: string): Promise<SuiteResult> {
  const answers = join(tmp, 'answers');
  mkdirSync(answers, { recursive: true });
  const result: SuiteResult = { code: 1 };
  let exit!: (code: number) => void;
  const exited = new Promise<number>((r) => (exit = r));
  let queue = Promise.resolve();
  await page.exposeFunction('codeAutomationLog', (type: string, args: unknown[]) => {
    const text = format(...(Array.isArray(args) ? args : [args]));
    for (const line of text.split('\n')) {
      const at = line.indexOf(REQUEST_PREFIX);
      if (at >= 0) {
        const req = JSON.parse(line.slice(at + REQUEST_PREFIX.length)) as HarnessRequest;
        // One request at a time, in order; the answer file is written atomically.
        queue = queue.then(async () => {
          const answer = await handleRequest(page, req, ROOT, tmp).then(
            (value) => ({ ok: true, value }),
            (err: unknown) => ({ ok: false, error: err instanceof Error ? err.message : String(err) }),
          );
          const file = join(answers, `${req.id}.json`);
          writeFileSync(`${file}.tmp`, JSON.stringify(answer));
          renameSync(`${file}.tmp`, file);
        });
        continue;
      }
      const summary = /kdev-suite: (\d+) passed, (\d+) failed/.exec(line);
      if (summary) {
        result.passed = Number(summary[1]);
        result.failed = Number(summary[2]);
      }
      const activation = /kdev-activation-ms: ([\d.]+)/.exec(line);
      if (activation) result.activationMs = Number(activation[1]);
      console.log(`${type === 'error' ? '[vscode:err] ' : '[vscode] '}${line}`);
    }
  });
  await page.exposeFunction('codeAutomationExit', (code: number) => exit(code));
  page.on('pageerror', (err) => log(`page error: ${err.message}`));
  page.on('requestfailed', (req) => log(`request failed: ${req.url().slice(0, 200)} ${req.failure()?.errorText ?? ''}`));
  await page.goto(url);
  const timeout = new Promise<number>((r) => setTimeout(() => r(124), SUITE_TIMEOUT_MS).unref());
  result.code = await Promise.race([exited, timeout]);
  if (result.code === 124) log(`the suite did not finish within ${SUITE_TIMEOUT_MS / 60_000} min`);
  await queue;
  return result;
}

async function main(): Promise<number> {
  const started = Date.now();
  await ensureTools(log);
  const suiteIndex = join(EXTENSION, 'out', 'test', 'suite', 'index.js');
  if (!existsSync(join(EXTENSION, 'out', 'extension.js')) || !existsSync(suiteIndex)) {
    log('the extension is not bundled: run `npm run bundle -w extension` (npm run test:extension does)');
    return 1;
  }
  const kubeconfig = await kubeconfigForTests();
  const tmp = mkdtempSync(join(tmpdir(), 'kdev-vscode-'));
  const workspace = writeWorkspace(tmp, kubeconfig);
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    EXTENSIONS_GALLERY: '{}',
    XDG_DATA_HOME: join(tmp, 'xdg-data'),
    XDG_CONFIG_HOME: join(tmp, 'xdg-config'),
    XDG_CACHE_HOME: join(tmp, 'xdg-cache'),
    TMPDIR: join(tmp, 'tmp'),
    KDEV_TEST_KUBECONFIG: kubeconfig,
    KDEV_HARNESS_DIR: tmp,
  };
  for (const d of ['xdg-data', 'xdg-config', 'xdg-cache', 'tmp']) mkdirSync(join(tmp, d), { recursive: true });

  let server: ChildProcess | undefined;
  let browser: Browser | undefined;
  let result: SuiteResult = { code: 1 };
  try {
    server = await startCodeServer(tmp, port, workspace, env);
    log(`code-server ${codeServerEntry()} listening on 127.0.0.1:${port} (pid ${server.pid}, own process group)`);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    result = await runSuite(page, payloadUrl(port, workspace, suiteIndex.replace(/\.js$/, '')), tmp);
    if (result.code !== 0) {
      const shot = join(tmp, 'failure.png');
      await page.screenshot({ path: shot }).catch(() => undefined);
      log(`screenshot of the workbench at the end: ${shot}`);
    }
  } catch (err) {
    log(`failed: ${err instanceof Error ? err.message : String(err)}`);
    result.code = 1;
  } finally {
    await browser?.close().catch(() => undefined);
    if (server) await stopGroup(server);
  }
  if (result.activationMs !== undefined && recordingDocs()) {
    const file = join(ROOT, 'bench', 'results', 'extension-activation.json');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(
      file,
      JSON.stringify({ name: 'extension-activation', vscode: '1.100.3 (code-server 4.100.3)', activationMs: result.activationMs, measuredAt: new Date().toISOString() }, null, 2) + '\n',
    );
  }
  const counts = result.passed !== undefined ? `${result.passed} passed, ${result.failed} failed` : 'no test summary';
  log(`suite exit code ${result.code} (${counts}) in ${((Date.now() - started) / 1000).toFixed(1)} s` + (result.activationMs !== undefined ? `; activation ${result.activationMs} ms` : ''));
  if (result.code === 0) rmSync(tmp, { recursive: true, force: true });
  else log(`kept ${tmp} for inspection (code-server.log, failure.png)`);
  return result.code;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);

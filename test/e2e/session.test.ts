// Sessions on the real local cluster: terminal, logs, port-forwards (surviving a pod
// restart, a taken port, list/stop across processes), remote run with restart on sync,
// a real debugger client on the node inspector, and the bad-input paths.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import WebSocket from 'ws';
import {
  ForwardManager,
  applyAll,
  isKdevError,
  openTerminal,
  resolveDevTarget,
  runStatus,
  startDebug,
  startDevMode,
  startRun,
  stopRun,
  streamLogs,
  followRun,
  type Cluster,
  type SyncSession,
  type SessionEvent,
  type SessionTarget,
} from '@kdev/core/internals';
import { nodeDeployment, tempNamespace, waitPodReady } from '../lib/cluster.js';
import { KDEV_MAIN, jsonOf, runKdev } from '../lib/cli.js';
import { deliver, httpGet, save, startSync, untilBody } from '../lib/session.js';

const STATE_DIR = mkdtempSync(join(tmpdir(), 'kdev-session-state-'));
// Control sockets and sync state files of the CLI processes go to a temp folder.
const ENV = { KDEV_STATE_DIR: STATE_DIR, XDG_CONFIG_HOME: STATE_DIR };

const PLAIN = `require('http').createServer((q, r) => r.end(require('os').hostname())).listen(8080)`;
const server = (version: string) =>
  [
    `const http = require('http');`,
    `function handle(req, res) {`,
    `  const answer = 'answer-${version}';`,
    `  res.end(answer);`, // line 4: the breakpoint
    `}`,
    `http.createServer(handle).listen(8080, () => console.log('listening ${version}'));`,
    ``,
  ].join('\n');

/** A writable that collects text and looks like a TTY of the given size. */
class FakeTty extends Writable {
  text = '';
  constructor(
    public rows: number,
    public columns: number,
  ) {
    super();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    this.emit('text');
    cb();
  }
  until(re: RegExp, timeoutMs = 20_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (re.test(this.text)) {
          clearTimeout(timer);
          this.off('text', check);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        this.off('text', check);
        reject(new Error(`no ${re} in terminal output:\n${this.text}`));
      }, timeoutMs);
      this.on('text', check);
      check();
    });
  }
}

function events(): { list: SessionEvent[]; on: (e: SessionEvent) => void; next: (pred: (e: SessionEvent) => boolean, timeoutMs?: number) => Promise<SessionEvent> } {
  const list: SessionEvent[] = [];
  const waiters = new Set<(e: SessionEvent) => void>();
  return {
    list,
    on: (e) => {
      list.push(e);
      for (const w of [...waiters]) w(e);
    },
    next: (pred, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const w = (e: SessionEvent) => {
          if (pred(e)) {
            waiters.delete(w);
            clearTimeout(timer);
            resolve(e);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`event not seen in ${timeoutMs} ms; seen: ${JSON.stringify(list)}`));
        }, timeoutMs);
        waiters.add(w);
      }),
  };
}

describe('sessions (node)', () => {
  let ns: Awaited<ReturnType<typeof tempNamespace>>;
  let cluster: Cluster;
  let target: SessionTarget;
  let project: string;
  let sync: SyncSession | undefined;

  before(async () => {
    ns = await tempNamespace('kdev-session');
    cluster = ns.cluster;
    await applyAll(cluster, [nodeDeployment(ns.name, 'web', { code: PLAIN, readyOnPort: 8080 }), nodeDeployment(ns.name, 'plain', { code: PLAIN, readyOnPort: 8080 })]);
    await waitPodReady(cluster, 'app=plain');
    // Dev mode injects the sync sidecar: edits reach the container through the real sync.
    await startDevMode(cluster, { workload: 'web', image: 'kdev.local/dev-node:18' });
    target = await resolveDevTarget(cluster, 'web');
    project = mkdtempSync(join(tmpdir(), 'kdev-session-proj-'));
    writeFileSync(
      join(project, '.kdev.yaml'),
      [
        'dev:',
        '  web:',
        '    image: kdev.local/dev-node:18',
        '    run: node server.js',
        '    debug: {command: "sleep 600", port: 9999, type: node}',
        '  plain:',
        '    ports: [8080]',
        '',
      ].join('\n'),
    );
  });

  after(async () => {
    await sync?.stop();
    await ns?.remove();
  });

  it('terminal: a command round trip through a pseudo-TTY exec, resized, exit code passed through', async () => {
    const stdin = new PassThrough();
    const stdout = new FakeTty(31, 97);
    const exit = openTerminal(cluster, target.pod, target.container, { stdin, stdout });
    await stdout.until(/[#$] $/m);
    stdin.write('stty size; tty; echo "marker-$((6 * 7))"; echo "shell=$0"\r');
    await stdout.until(/shell=\w+\r?\n/); // the last line of the command's output
    assert.match(stdout.text, /31 97/, 'the remote TTY has the local size');
    assert.match(stdout.text, /\/dev\/pts\/\d+/, 'a real pseudo-TTY in the container');
    assert.match(stdout.text, /shell=bash/, 'bash, since the image has it');
    stdout.rows = 44;
    stdout.columns = 132;
    stdout.emit('resize');
    // The resize travels on its own channel: ask again until the shell sees it (bounded).
    const resized = stdout.until(/44 132/, 10_000);
    const asking = setInterval(() => stdin.write('stty size\r'), 200);
    try {
      await resized;
    } finally {
      clearInterval(asking);
    }
    stdin.write('exit 5\r');
    assert.equal(await exit, 5);
  });

  it('terminal via the CLI: piped commands without a TTY, and a real local pseudo-TTY (script)', async () => {
    const piped = spawnSync(process.execPath, [KDEV_MAIN, '-n', ns.name, 'dev', 'terminal', 'web'], {
      input: 'echo "piped-$((2 + 3))"; exit 3\n',
      env: { ...process.env, KUBECONFIG: process.env.KDEV_TEST_KUBECONFIG },
      timeout: 60_000,
    });
    assert.equal(piped.status, 3, piped.stderr.toString());
    assert.match(piped.stdout.toString(), /piped-5/);

    const which = spawnSync('sh', ['-c', 'command -v script']);
    if (which.status !== 0) return; // util-linux's script is not installed: the core test above covers the TTY path
    const child = spawn('script', ['-qfec', `stty rows 27 cols 88; ${process.execPath} ${KDEV_MAIN} -n ${ns.name} dev terminal web`, '/dev/null'], {
      env: { ...process.env, KUBECONFIG: process.env.KDEV_TEST_KUBECONFIG },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (/[#$] $/m.test(out) && !out.includes('sent')) {
        out += '(sent)';
        child.stdin.write('stty size; echo "cli-$((4 * 5))"; exit 9\r');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.match(out, /27 88/, out);
    assert.match(out, /cli-20/, out);
    assert.equal(code, 9);
  });

  it('port-forward: survives a pod restart (new pod found by watch), requests during the restart wait', async () => {
    const ev = events();
    const manager = new ForwardManager(cluster, { onEvent: ev.on });
    try {
      const fwd = await manager.add({ podSelector: 'app=plain' }, { localPort: 0, remotePort: 8080 });
      const first = await untilBody(fwd.localPort, (b) => b.startsWith('plain-'), 30_000);
      await cluster.core.deleteNamespacedPod({ name: first.body, namespace: ns.name });
      const during = httpGet(fwd.localPort, '/', 60_000); // sent while the pod is being replaced
      const moved = await ev.next((e) => e.type === 'forward' && e.state === 'ready' && e.pod !== undefined && e.pod !== first.body);
      const after = await httpGet(fwd.localPort);
      assert.equal(after.status, 200);
      assert.notEqual(after.body, first.body, 'answered by the new pod');
      assert.equal(after.body, (moved as { pod: string }).pod);
      assert.equal((await during).status, 200);
      assert.ok(ev.list.some((e) => e.type === 'forward' && e.state === 'waiting'), 'it reported waiting for a Ready pod');
      assert.deepEqual(manager.list().map((f) => [f.localPort, f.pod]), [[fwd.localPort, after.body]]);
    } finally {
      await manager.stopAll();
    }
  });

  it('port-forward: a taken local port is reported with the process holding it', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    const manager = new ForwardManager(cluster);
    try {
      await assert.rejects(manager.add({ podSelector: 'app=plain' }, { localPort: port, remotePort: 8080 }), (err: unknown) => {
        assert.ok(isKdevError(err));
        assert.equal(err.code, 'CONFLICT');
        assert.match(err.message, new RegExp(`local port ${port} is already in use by pid ${process.pid} \\(`));
        return true;
      });
      assert.equal(manager.size, 0);
    } finally {
      blocker.close();
    }
  });

  it('port-forward via the CLI: add, list and stop from other processes', async () => {
    const child = spawn(process.execPath, [KDEV_MAIN, '-n', ns.name, '-o', 'json', 'port-forward', 'add', ':8080', '-w', 'plain'], {
      env: { ...process.env, ...ENV, KUBECONFIG: process.env.KDEV_TEST_KUBECONFIG },
      cwd: project,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.trim().endsWith(']')) resolve();
      });
      child.on('close', () => reject(new Error(`port-forward add exited: ${out}`)));
    });
    const [added] = JSON.parse(out) as { localPort: number; pid: number }[];
    assert.ok(added && added.pid === child.pid);
    assert.match((await untilBody(added.localPort, (b) => b.startsWith('plain-'), 30_000)).body, /^plain-/);

    const listed = jsonOf<{ localPort: number; remotePort: number; pid: number; workload: string; state: string }[]>(await runKdev(['-o', 'json', 'port-forward', 'list'], ENV));
    assert.deepEqual(
      listed.map((f) => [f.localPort, f.remotePort, f.pid, f.workload]),
      [[added.localPort, 8080, child.pid, 'deployment/plain']],
    );
    const stopped = await runKdev(['port-forward', 'stop', String(added.localPort)], ENV);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.equal(await exited, 0, 'the forwarding process ends when its last forward is stopped');
    assert.deepEqual(jsonOf<unknown[]>(await runKdev(['-o', 'json', 'port-forward', 'list'], ENV)), []);
    await assert.rejects(httpGet(added.localPort, '/', 2000));
    const again = await runKdev(['port-forward', 'stop', String(added.localPort)], ENV);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /no kdev port-forward on local port/);
  });

  it('remote run: the HTTP service answers with the new code after each sync batch (real sync); output is followed; --no-restart', async () => {
    sync = await startSync(cluster, target, project);
    await save(sync, project, 'server.js', server('v1'));
    const out = new PassThrough();
    let log = '';
    out.on('data', (d: Buffer) => (log += d.toString()));
    const abort = new AbortController();
    const following = followRun(cluster, target, out, { since: Date.now(), signal: abort.signal });
    const manager = new ForwardManager(cluster);
    try {
      const status = await startRun(cluster, target, { command: 'node server.js' });
      assert.equal(status.state, 'running');
      const fwd = await manager.add({ podSelector: target.podSelector }, { localPort: 0, remotePort: 8080 });
      assert.equal((await untilBody(fwd.localPort, (b) => b.startsWith('answer-'), 20_000)).body, 'answer-v1');

      await save(sync, project, 'server.js', server('v2'));
      const changed = await untilBody(fwd.localPort, (b) => b === 'answer-v2', 10_000);
      assert.ok(changed.ms < 5000, `took ${changed.ms} ms`);
      await save(sync, project, 'server.js', server('v3'));
      assert.equal((await untilBody(fwd.localPort, (b) => b === 'answer-v3', 10_000)).body, 'answer-v3');

      // --no-restart: the batch lands, the running process is left alone.
      await startRun(cluster, target, { command: 'node server.js', restartOnSync: false });
      assert.equal((await untilBody(fwd.localPort, (b) => b === 'answer-v3', 10_000)).body, 'answer-v3');
      const before = await runStatus(cluster, target);
      await save(sync, project, 'server.js', server('v4'));
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal((await httpGet(fwd.localPort)).body, 'answer-v3');
      assert.deepEqual(await runStatus(cluster, target), before, 'same process');

      assert.equal((await stopRun(cluster, target)).state, 'stopped');
      assert.match(log, /kdev supervisor: starting: node server\.js\nlistening v1\n/);
      assert.match(log, /listening v2\n[\s\S]*listening v3\n/);
      const whole = new PassThrough();
      let all = '';
      whole.on('data', (d: Buffer) => (all += d.toString()));
      await streamLogs(cluster, target.pod, target.container, whole);
      assert.match(all, /kdev supervisor: ready/);
      await assert.rejects(streamLogs(cluster, target.pod, target.container, new PassThrough(), { previous: true }), (err: unknown) => isKdevError(err) && /has no previous instance/.test(err.message) && /leave out --previous/.test(err.hint ?? ''));
    } finally {
      abort.abort();
      await following;
      await manager.stopAll();
    }
  });

  it('remote run via the CLI: syncs the folder, streams the output, restarts on a save, Ctrl-C stops the command', async () => {
    await sync?.stop(); // the CLI brings its own sync session
    sync = undefined;
    const child = spawn(process.execPath, [KDEV_MAIN, '-n', ns.name, 'dev', 'run', 'web'], {
      env: { ...process.env, ...ENV, KUBECONFIG: process.env.KDEV_TEST_KUBECONFIG },
      cwd: project,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no output: ${out}\n${err}`)), 30_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('listening v4')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    assert.match(err, /⇅ sync: \d+ files in step/);
    writeFileSync(join(project, 'server.js'), server('v5'));
    await new Promise<void>((resolve) => {
      const check = () => out.includes('listening v5') && resolve();
      child.stdout.on('data', check);
      check();
    });
    child.kill('SIGINT');
    assert.equal(await exited, 0, err);
    assert.equal((await runStatus(cluster, target)).state, 'stopped', 'Ctrl-C left nothing running');

    // kdev logs: the dev container's log is the run command's output; any workload works.
    const logs = await runKdev(['-n', ns.name, 'logs', 'web', '--tail', '300'], ENV);
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /listening v5\n[\s\S]*kdev supervisor: stopping/);
    const plainLogs = await runKdev(['-n', ns.name, 'logs', 'plain'], ENV);
    assert.equal(plainLogs.code, 0, plainLogs.stderr);
    const previous = await runKdev(['-n', ns.name, 'logs', 'plain', '--previous'], ENV);
    assert.equal(previous.code, 1);
    assert.match(previous.stderr, /has no previous instance/);
  });

  it('remote run next to an attached `kdev dev start`: its sync restarts the command, no second sync', async () => {
    const env = { ...process.env, ...ENV, KUBECONFIG: process.env.KDEV_TEST_KUBECONFIG };
    const start = spawn(process.execPath, [KDEV_MAIN, '-n', ns.name, 'dev', 'start', 'web'], { env, cwd: project, stdio: ['ignore', 'pipe', 'pipe'] });
    const startExited = new Promise<number | null>((resolve) => start.on('close', resolve));
    try {
      // The attached dev start publishes its sync state (core's registry) once it is in step.
      const t0 = Date.now();
      const inStep = async () =>
        jsonOf<{ pid: number; workload: string; status: { state: string } }[]>(await runKdev(['-o', 'json', 'sync', 'status'], ENV)).some(
          (s) => s.pid === start.pid && s.workload === 'deployment/web' && /^(idle|watching)$/.test(s.status.state),
        );
      while (!(await inStep())) {
        if (Date.now() - t0 > 60_000) throw new Error('dev start did not report a sync in step');
        await new Promise((r) => setTimeout(r, 200));
      }
      const run = spawn(process.execPath, [KDEV_MAIN, '-n', ns.name, 'dev', 'run', 'web'], { env, cwd: project, stdio: ['ignore', 'pipe', 'pipe'] });
      const runExited = new Promise<number | null>((resolve) => run.on('close', resolve));
      let out = '';
      let err = '';
      run.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const seen = (text: string) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no "${text}" in: ${out}\n${err}`)), 30_000);
          const check = () => {
            if (out.includes(text)) {
              clearTimeout(timer);
              resolve();
            }
          };
          run.stdout.on('data', (d: Buffer) => {
            out += d.toString();
            check();
          });
          check();
        });
      await seen('listening v5');
      assert.match(err, new RegExp(`sync: already running in pid ${start.pid}`));
      writeFileSync(join(project, 'server.js'), server('v6'));
      await seen('listening v6');
      run.kill('SIGINT');
      assert.equal(await runExited, 0, err);
    } finally {
      start.kill('SIGINT');
      await startExited;
    }
    assert.equal((await runStatus(cluster, target)).state, 'stopped');
  });

  it('debug (node): a Chrome DevTools Protocol client over the forwarded port sets a breakpoint and hits it', async () => {
    await deliver(cluster, target, { 'server.js': server('dbg') }, { synced: false });
    const manager = new ForwardManager(cluster);
    const session = await startDebug(cluster, target, {
      debug: { command: 'node --inspect=127.0.0.1:9229 server.js', port: 9229, type: 'node' },
      forwards: manager,
      localRoot: project,
    });
    let ws: WebSocket | undefined;
    try {
      assert.deepEqual(
        { type: session.attach.type, request: session.attach.request, port: session.attach.port, remoteRoot: session.attach.remoteRoot, localRoot: session.attach.localRoot },
        { type: 'node', request: 'attach', port: session.localPort, remoteRoot: '/app', localRoot: project },
      );
      const list = JSON.parse((await httpGet(session.localPort, '/json/list')).body) as { webSocketDebuggerUrl: string }[];
      const url = new URL(list[0]!.webSocketDebuggerUrl);
      url.host = `127.0.0.1:${session.localPort}`;
      ws = new WebSocket(url.toString());
      const socket = ws;
      await new Promise((resolve, reject) => {
        socket.once('open', resolve);
        socket.once('error', reject);
      });
      let id = 0;
      const pending = new Map<number, (r: { result?: Record<string, unknown>; error?: unknown }) => void>();
      const notifications: { method: string; params: Record<string, unknown> }[] = [];
      const notified = new Set<(n: { method: string; params: Record<string, unknown> }) => void>();
      socket.on('message', (data: Buffer) => {
        const msg = JSON.parse(data.toString()) as { id?: number; method?: string; params?: Record<string, unknown>; result?: Record<string, unknown>; error?: unknown };
        if (msg.id !== undefined) pending.get(msg.id)?.(msg);
        else if (msg.method) {
          const n = { method: msg.method, params: msg.params ?? {} };
          notifications.push(n);
          for (const f of notified) f(n);
        }
      });
      const call = (method: string, params: Record<string, unknown> = {}) =>
        new Promise<Record<string, unknown>>((resolve, reject) => {
          const myId = ++id;
          pending.set(myId, (r) => (r.error ? reject(new Error(JSON.stringify(r.error))) : resolve(r.result ?? {})));
          socket.send(JSON.stringify({ id: myId, method, params }));
        });
      const paused = new Promise<Record<string, unknown>>((resolve) => notified.add((n) => n.method === 'Debugger.paused' && resolve(n.params)));
      await call('Runtime.enable');
      await call('Debugger.enable');
      const bp = await call('Debugger.setBreakpointByUrl', { lineNumber: 3, urlRegex: 'server\\.js$' });
      assert.equal(typeof bp.breakpointId, 'string');
      assert.equal((bp.locations as unknown[]).length, 1, 'the breakpoint resolved in the running script');

      const app = await manager.add({ podSelector: target.podSelector }, { localPort: 0, remotePort: 8080 });
      const response = httpGet(app.localPort, '/', 30_000);
      const hit = await paused;
      assert.deepEqual(hit.hitBreakpoints, [bp.breakpointId]);
      const frame = (hit.callFrames as { callFrameId: string; location: { lineNumber: number } }[])[0]!;
      assert.equal(frame.location.lineNumber, 3);
      const value = await call('Debugger.evaluateOnCallFrame', { callFrameId: frame.callFrameId, expression: 'answer' });
      assert.equal((value.result as { value: string }).value, 'answer-dbg');
      await call('Debugger.resume');
      assert.equal((await response).body, 'answer-dbg');
    } finally {
      ws?.close();
      await session.stop();
      await manager.stopAll();
    }
    assert.equal((await runStatus(cluster, target)).state, 'stopped');

    // The same through the CLI: the attach configuration as JSON; Ctrl-C stops everything.
    const dbgProject = mkdtempSync(join(tmpdir(), 'kdev-session-dbg-'));
    writeFileSync(join(dbgProject, '.kdev.yaml'), 'dev:\n  web:\n    debug: {command: "node --inspect=127.0.0.1:9229 server.js", port: 9229, type: node}\n');
    const child = spawn(process.execPath, [KDEV_MAIN, '-n', ns.name, '-o', 'json', 'dev', 'debug'], {
      env: { ...process.env, ...ENV, KUBECONFIG: process.env.KDEV_TEST_KUBECONFIG },
      cwd: dbgProject,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no attach config: ${out}`)), 60_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (/^}\s*$/m.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const printed = JSON.parse(out) as { localPort: number; attach: { type: string; port: number; localRoot: string; remoteRoot: string } };
    assert.deepEqual(printed.attach.type, 'node');
    assert.equal(printed.attach.port, printed.localPort);
    assert.equal(printed.attach.localRoot, dbgProject);
    assert.equal(printed.attach.remoteRoot, '/app');
    const targets = JSON.parse((await httpGet(printed.localPort, '/json/list')).body) as { webSocketDebuggerUrl?: string }[];
    assert.ok(targets.some((t) => typeof t.webSocketDebuggerUrl === 'string'), 'the printed port reaches the inspector');
    child.kill('SIGINT');
    assert.equal(await exited, 0);
    assert.equal((await runStatus(cluster, target)).state, 'stopped');
    await assert.rejects(httpGet(printed.localPort, '/json/list', 2000));
  });

  it('bad input: no run command, no debug command, a debug port that never answers, a workload not in dev mode — clear errors, nothing left running', async () => {
    const bare = mkdtempSync(join(tmpdir(), 'kdev-session-bare-'));
    writeFileSync(join(bare, '.kdev.yaml'), 'dev:\n  web:\n    image: kdev.local/dev-node:18\n');
    const noRun = await runKdev(['-n', ns.name, 'dev', 'run', 'web', '--config', join(bare, '.kdev.yaml')], ENV);
    assert.equal(noRun.code, 1);
    assert.match(noRun.stderr, /no run command for deployment\/web in \.kdev\.yaml/);
    assert.match(noRun.stderr, /run: node server\.js/);
    const noDebug = await runKdev(['-n', ns.name, 'dev', 'debug', 'web', '--config', join(bare, '.kdev.yaml')], ENV);
    assert.equal(noDebug.code, 1);
    assert.match(noDebug.stderr, /no debug command for deployment\/web/);

    // The config's debug command (sleep) never opens port 9999.
    const silent = await runKdev(['-n', ns.name, 'dev', 'debug', 'web', '--timeout', '4', '--config', join(project, '.kdev.yaml')], ENV);
    assert.equal(silent.code, 1);
    assert.match(silent.stderr, /the node debugger did not answer on port 9999 within 4 s/);
    assert.match(silent.stderr, /hint: Check that `sleep 600` listens on port 9999/);
    assert.equal((await runStatus(cluster, target)).state, 'stopped', 'the debug command was stopped');
    assert.deepEqual(jsonOf<unknown[]>(await runKdev(['-o', 'json', 'port-forward', 'list'], ENV)), [], 'no forward left');

    // A debug command that dies: reported at once with its last output, nothing left.
    const manager = new ForwardManager(cluster);
    const t0 = Date.now();
    await assert.rejects(
      startDebug(cluster, target, {
        debug: { command: `node -e "console.log('boom before listening'); setTimeout(() => process.exit(4), 300)"`, port: 9229, type: 'node' },
        forwards: manager,
        localRoot: project,
        timeoutMs: 60_000,
      }),
      (err: unknown) => {
        assert.ok(isKdevError(err));
        assert.equal(err.code, 'FAILED');
        assert.match(err.message, /the debug command exited with code 4 before the node debugger answered on port 9229/);
        assert.match(err.hint ?? '', /boom before listening/);
        return true;
      },
    );
    assert.ok(Date.now() - t0 < 15_000, 'not the full timeout');
    assert.equal(manager.size, 0, 'its forward is closed');

    const notDev = await runKdev(['-n', ns.name, 'dev', 'terminal', 'plain'], ENV);
    assert.equal(notDev.code, 1);
    assert.match(notDev.stderr, /deployment\/plain is not in dev mode/);
    assert.match(notDev.stderr, /kdev dev start deployment\/plain/);
    await assert.rejects(resolveDevTarget(cluster, 'plain'), (err: unknown) => isKdevError(err) && err.code === 'INVALID');
    const missing = await runKdev(['-n', ns.name, 'dev', 'run', 'nope', '--command', 'true'], ENV);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /deployment\/nope not found in namespace/);
    const badPort = await runKdev(['-n', ns.name, 'port-forward', 'add', '80:http', '-w', 'plain'], ENV);
    assert.equal(badPort.code, 1);
    assert.match(badPort.stderr, /"80:http" is not a port-forward/);
  });
});

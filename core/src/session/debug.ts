// Remote debug: the supervisor runs the debug command (so it restarts after each sync like
// `run`), the debug port is forwarded to a free local port, and kdev waits until the
// debugger really answers its own protocol before handing the IDE an attach configuration:
//   node    GET /json/list of the inspector: a target with a webSocketDebuggerUrl
//   python  debugpy: a DAP "initialize" request answered with success
//   go      dlv headless: JSON-RPC RPCServer.GetVersion (run it with --accept-multiclient)
//   java    JDWP: the "JDWP-Handshake" echoed back
import { request } from 'node:http';
import { connect } from 'node:net';
import { PassThrough } from 'node:stream';
import { KdevError } from '../errors.js';
import type { Cluster } from '../kube/client.js';
import type { SessionEventHandler } from './events.js';
import type { ForwardManager } from './forwards.js';
import { streamLogs } from './logs.js';
import { noCommand, runStatus, startRun, stopRun } from './run.js';
import type { SessionTarget } from './target.js';

export type DebuggerType = 'node' | 'python' | 'go' | 'java';

export interface DebugSpec {
  command: string;
  port: number;
  type: DebuggerType;
}

/** A VS Code launch.json "attach" configuration. */
export type AttachConfig = Record<string, unknown> & { type: string; request: 'attach'; name: string };

export function attachConfig(type: DebuggerType, localPort: number, remoteRoot: string, localRoot: string, name = 'kdev: attach'): AttachConfig {
  const host = '127.0.0.1';
  switch (type) {
    case 'node':
      return { type: 'node', request: 'attach', name, address: host, port: localPort, localRoot, remoteRoot, restart: true, skipFiles: ['<node_internals>/**'] };
    case 'python':
      return { type: 'debugpy', request: 'attach', name, connect: { host, port: localPort }, pathMappings: [{ localRoot, remoteRoot }], justMyCode: true };
    case 'go':
      return { type: 'go', request: 'attach', name, mode: 'remote', host, port: localPort, substitutePath: [{ from: localRoot, to: remoteRoot }] };
    case 'java':
      return { type: 'java', request: 'attach', name, hostName: host, port: localPort, sourcePaths: [localRoot] };
  }
}

/** One TCP exchange: write `send`, collect until `done(received)` says yes; false on close/timeout. */
function exchange(port: number, send: Buffer | string, done: (received: Buffer) => boolean, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('connect', () => socket.write(send));
    socket.on('data', (c: Buffer) => {
      received = Buffer.concat([received, c]);
      if (done(received)) finish(true);
    });
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
  });
}

function probeNode(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/json/list', timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        try {
          const targets = JSON.parse(body) as { webSocketDebuggerUrl?: string }[];
          resolve(Array.isArray(targets) && targets.some((t) => typeof t.webSocketDebuggerUrl === 'string'));
        } catch {
          resolve(false);
        }
      });
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** A DAP message with its Content-Length header. */
export function dapMessage(body: Record<string, unknown>): string {
  const json = JSON.stringify(body);
  return `Content-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`;
}

/** The DAP messages complete in `data` (header + body). */
export function dapMessages(data: Buffer): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  let rest = data;
  for (;;) {
    const sep = rest.indexOf('\r\n\r\n');
    if (sep < 0) return out;
    const m = /Content-Length:\s*(\d+)/i.exec(rest.subarray(0, sep).toString());
    if (!m) return out;
    const len = Number(m[1]);
    if (rest.length < sep + 4 + len) return out;
    try {
      out.push(JSON.parse(rest.subarray(sep + 4, sep + 4 + len).toString()) as Record<string, unknown>);
    } catch {
      return out;
    }
    rest = rest.subarray(sep + 4 + len);
  }
}

function probeDebugpy(port: number, timeoutMs: number): Promise<boolean> {
  const init = dapMessage({ seq: 1, type: 'request', command: 'initialize', arguments: { clientID: 'kdev', adapterID: 'debugpy', pathFormat: 'path', linesStartAt1: true, columnsStartAt1: true } });
  return exchange(port, init, (data) => dapMessages(data).some((m) => m.type === 'response' && m.command === 'initialize' && m.success === true), timeoutMs);
}

function probeDlv(port: number, timeoutMs: number): Promise<boolean> {
  const req = JSON.stringify({ method: 'RPCServer.GetVersion', params: [{}], id: 1 });
  return exchange(
    port,
    req,
    (data) => {
      try {
        const res = JSON.parse(data.toString()) as { id?: number; result?: { APIVersion?: number } };
        return res.id === 1 && typeof res.result?.APIVersion === 'number';
      } catch {
        return false;
      }
    },
    timeoutMs,
  );
}

const JDWP = 'JDWP-Handshake';
function probeJdwp(port: number, timeoutMs: number): Promise<boolean> {
  return exchange(port, JDWP, (data) => data.length >= JDWP.length && data.subarray(0, JDWP.length).toString() === JDWP, timeoutMs);
}

/** One probe of a debugger on a local port: true when it answered its protocol. */
export function probeDebugger(type: DebuggerType, port: number, timeoutMs = 2000): Promise<boolean> {
  switch (type) {
    case 'node':
      return probeNode(port, timeoutMs);
    case 'python':
      return probeDebugpy(port, timeoutMs);
    case 'go':
      return probeDlv(port, timeoutMs);
    case 'java':
      return probeJdwp(port, timeoutMs);
  }
}

/**
 * Probes until the debugger answers (backoff 100 ms → 1 s); false after timeoutMs.
 * `gone`, asked every ~2 s, ends the wait early when it returns a reason (the command exited).
 */
export async function waitForDebugger(
  type: DebuggerType,
  port: number,
  timeoutMs: number,
  opts: { signal?: AbortSignal; gone?: () => Promise<string | undefined> } = {},
): Promise<{ ok: true } | { ok: false; reason?: string }> {
  const deadline = Date.now() + timeoutMs;
  let delay = 100;
  let nextCheck = Date.now() + 1000;
  while (Date.now() < deadline && !opts.signal?.aborted) {
    if (await probeDebugger(type, port, Math.min(3000, Math.max(200, deadline - Date.now())))) return { ok: true };
    if (opts.gone && Date.now() >= nextCheck) {
      nextCheck = Date.now() + 2000;
      const reason = await opts.gone().catch(() => undefined);
      if (reason) return { ok: false, reason };
    }
    await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(0, deadline - Date.now()))));
    delay = Math.min(1000, delay * 2);
  }
  return { ok: false };
}

/** The last lines of the dev container's log, for an error message. */
async function lastLines(cluster: Cluster, target: SessionTarget, lines: number): Promise<string> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  await streamLogs(cluster, target.pod, target.container, out, { namespace: target.namespace, tailLines: lines }).catch(() => undefined);
  return text.trimEnd();
}

export interface DebugOptions {
  /** The config's debug entry; undefined → a clear error. */
  debug: DebugSpec | undefined;
  forwards: ForwardManager;
  /** The local source folder (for path mappings). */
  localRoot: string;
  /** How long to wait for the debugger to answer; default 60 s. */
  timeoutMs?: number;
  /** Restart the debug command after each sync (default true). */
  restartOnSync?: boolean;
  onEvent?: SessionEventHandler;
}

export interface DebugSession {
  type: DebuggerType;
  localPort: number;
  remotePort: number;
  attach: AttachConfig;
  /** Stops the forward and the debug command. */
  stop(): Promise<void>;
}

export async function startDebug(cluster: Cluster, target: SessionTarget, opts: DebugOptions): Promise<DebugSession> {
  const spec = opts.debug;
  if (!spec || !spec.command.trim()) throw noCommand('debug', target.workload);
  const emit = opts.onEvent ?? (() => undefined);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  emit({ type: 'debug', state: 'starting', message: `starting \`${spec.command}\`` });
  const status = await startRun(cluster, target, { command: spec.command, restartOnSync: opts.restartOnSync ?? true });
  const forward = await opts.forwards.add({ namespace: target.namespace, pod: target.pod, podSelector: target.podSelector || undefined, workload: target.workload }, { localPort: 0, remotePort: spec.port });
  const cleanup = async () => {
    await opts.forwards.stop(forward.localPort);
    await stopRun(cluster, target).catch(() => undefined);
  };
  try {
    if (status.state === 'exited') {
      throw new KdevError('FAILED', `the debug command exited at once with code ${status.code}`, `See its output: kdev logs ${target.workload}`);
    }
    emit({ type: 'debug', state: 'forwarding', message: `127.0.0.1:${forward.localPort} → ${target.pod}:${spec.port}` });
    emit({ type: 'debug', state: 'probing', message: `waiting for the ${spec.type} debugger on port ${spec.port}` });
    const gone = async () => {
      const now = await runStatus(cluster, target);
      return now.state === 'exited' ? `the debug command exited with code ${now.code}` : now.state === 'running' ? undefined : `the debug command is ${now.state}`;
    };
    const answer = await waitForDebugger(spec.type, forward.localPort, timeoutMs, { gone });
    if (!answer.ok) {
      const tail = await lastLines(cluster, target, 8);
      const output = tail ? `\nIts last output:\n${tail.replace(/^/gm, '    ')}` : '';
      if (answer.reason) {
        throw new KdevError('FAILED', `${answer.reason} before the ${spec.type} debugger answered on port ${spec.port}`, `Fix \`${spec.command}\` (debug.command in .kdev.yaml).${output}`);
      }
      throw new KdevError(
        'TIMEOUT',
        `the ${spec.type} debugger did not answer on port ${spec.port} within ${Math.round(timeoutMs / 1000)} s`,
        `Check that \`${spec.command}\` listens on port ${spec.port} (debug.port in .kdev.yaml) and speaks the ${spec.type} debugger's protocol.${output}`,
      );
    }
  } catch (err) {
    emit({ type: 'debug', state: 'failed', message: (err as Error).message });
    await cleanup();
    throw err;
  }
  const attach = attachConfig(spec.type, forward.localPort, target.workDir, opts.localRoot, `kdev: attach to ${target.workload}`);
  emit({ type: 'debug', state: 'ready', message: `${spec.type} debugger ready on 127.0.0.1:${forward.localPort}` });
  return { type: spec.type, localPort: forward.localPort, remotePort: spec.port, attach, stop: cleanup };
}

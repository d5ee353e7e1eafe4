// The registry of the dev sessions running on this machine (syncs, forwards, runs), whichever
// UI started them. One mechanism: unix sockets in the state folder (~/.config/kdev/run,
// $KDEV_STATE_DIR overrides; 0700), all answering one line protocol:
//   {"op":"list"}                 → one ProcessRecord
//   {"op":"stop","localPort":n|null} → {"stopped":[ports]}
//   {"op":"watch"}                → a ProcessRecord now and one per change, until closed
// Each process with a session listens on proc-<pid>.sock. Holding the sync into a sidecar is
// one more socket of the same process, sync-<key>.sock: binding it is atomic, so of two
// attaches to the same sidecar exactly one gets it, and the other asks the holder who it is.
// A socket nobody answers on is a leftover of a process that died and is removed. Why not a
// file per process: a file says nothing about whether its writer still lives (pids are
// reused), has no way to stop a forward in the other process, and cannot push changes.
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, unlinkSync, watch, type FSWatcher } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { KdevError } from '../errors.js';
import type { ForwardInfo } from '../session/forwards.js';
import type { SyncState } from '../sync/session.js';

export function stateDir(): string {
  if (process.env.KDEV_STATE_DIR) return process.env.KDEV_STATE_DIR;
  const config = process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config');
  return join(config, 'kdev', 'run');
}

/** A sync's state as another process sees it (dates as ISO strings). */
export interface SyncRecord {
  state: SyncState;
  pod?: string;
  localRoot: string;
  mode: string;
  syncedFiles: number;
  lastSyncAt?: string;
  lastError?: { message: string; hint?: string; at: string };
}

/** One workload of a session of some process. */
export interface SessionRecord {
  namespace: string;
  /** "kind/name" */
  workload: string;
  /** The API server, so that two clusters' namespaces of the same name stay apart. */
  server: string;
  sync?: SyncRecord;
  forwards: ForwardInfo[];
  /** The run or debug command this session streams, if any. */
  run?: string;
}

export interface ProcessRecord {
  pid: number;
  /** Which UI: "cli", "vscode". */
  ui: string;
  /** The local user running it. */
  user: string;
  /** What the process is, e.g. "kdev dev start deployment/web -n shop". */
  command: string;
  sessions: SessionRecord[];
}

/** What a process offers to the registry. */
export interface RegistrySource {
  ui: string;
  command: string;
  sessions(): SessionRecord[];
  /** Stops this process's forward on a local port (null: all); returns the ports stopped. */
  stopForwards(localPort: number | null): Promise<number[]>;
}

type Request = { op: 'list' } | { op: 'watch' } | { op: 'stop'; localPort: number | null };

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // gone
  }
}

/** This process's presence in the registry. */
export class Registration {
  private readonly servers = new Map<string, Server>();
  private readonly watchers = new Set<Socket>();
  /** Every open connection, watching or not: close() ends them all (server.close waits for them). */
  private readonly connections = new Set<Socket>();

  constructor(private readonly source: RegistrySource) {}

  record(): ProcessRecord {
    return { pid: process.pid, ui: this.source.ui, user: userInfo().username, command: this.source.command, sessions: this.source.sessions() };
  }

  /** Tells every watcher what this process holds now. */
  changed(): void {
    if (this.watchers.size === 0) return;
    const line = `${JSON.stringify(this.record())}\n`;
    for (const w of this.watchers) w.write(line);
  }

  /** Listens on proc-<pid>.sock (idempotent). */
  async open(): Promise<void> {
    const path = join(stateDir(), `proc-${process.pid}.sock`);
    if (this.servers.has(path)) return;
    unlinkQuiet(path);
    await this.listen(path);
  }

  /**
   * Takes the sync into the sidecar of `workload` for this process. Throws CONFLICT naming the
   * holder when another live process has it. Returns the release function.
   */
  async claimSync(server: string, namespace: string, workload: string): Promise<() => Promise<void>> {
    const key = createHash('sha256').update(`${server}\n${namespace}\n${workload}`).digest('hex').slice(0, 20);
    const path = join(stateDir(), `sync-${key}.sock`);
    for (let attempt = 0; ; attempt++) {
      try {
        await this.listen(path);
        return () => this.closeServer(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt > 0) throw err;
      }
      const holder = await ask<ProcessRecord>(path, { op: 'list' });
      if (holder) throw this.inUse(namespace, workload, holder);
      // ask() removed the socket of a dead process: try once more.
    }
  }

  /** The refusal of a second attach: who holds the workload's sidecar. */
  inUse(namespace: string, workload: string, holder: ProcessRecord): KdevError {
    // CONFLICT, as for a taken local port: a local resource another process holds (IN_USE is
    // the cluster's dev lease, which a UI may offer to take over; this one it may not).
    return new KdevError(
      'CONFLICT',
      `the sync into ${workload} (namespace ${namespace}) is held by pid ${holder.pid} (${holder.ui}, user ${holder.user}: ${holder.command})`,
      holder.pid === process.pid ? 'This process already syncs it.' : `Detach it there first (Ctrl-C in that terminal, or End Dev Mode / reload that VS Code window), or stop pid ${holder.pid}.`,
    );
  }

  private async listen(path: string): Promise<void> {
    mkdirSync(stateDir(), { recursive: true, mode: 0o700 });
    const server = createServer((socket) => this.serve(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    chmodSync(path, 0o600);
    this.servers.set(path, server);
  }

  private serve(socket: Socket): void {
    let buf = '';
    socket.on('error', () => socket.destroy());
    this.connections.add(socket);
    socket.on('close', () => {
      this.watchers.delete(socket);
      this.connections.delete(socket);
    });
    socket.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      let req: Request;
      try {
        req = JSON.parse(buf.slice(0, nl)) as Request;
      } catch {
        socket.end('{"error":"bad request"}\n');
        return;
      }
      buf = '';
      if (req.op === 'list') socket.end(`${JSON.stringify(this.record())}\n`);
      else if (req.op === 'watch') {
        this.watchers.add(socket);
        socket.write(`${JSON.stringify(this.record())}\n`);
      } else void this.source.stopForwards(req.localPort).then((stopped) => socket.end(`${JSON.stringify({ stopped })}\n`));
    });
  }

  private closeServer(path: string): Promise<void> {
    const server = this.servers.get(path);
    this.servers.delete(path);
    unlinkQuiet(path);
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  async close(): Promise<void> {
    // a reader that connected but has not asked yet would hold server.close() for good
    for (const c of this.connections) c.destroy();
    this.connections.clear();
    this.watchers.clear();
    await Promise.all([...this.servers.keys()].map((p) => this.closeServer(p)));
  }
}

function ask<T>(path: string, req: Request, timeoutMs = 3000): Promise<T | undefined> {
  return new Promise((resolve) => {
    const socket = createConnection(path);
    let buf = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(undefined);
    }, timeoutMs);
    socket.on('connect', () => socket.write(`${JSON.stringify(req)}\n`));
    socket.on('data', (c: Buffer) => (buf += c.toString()));
    socket.on('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(buf) as T);
      } catch {
        resolve(undefined);
      }
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      // Nobody listens: a process that died without cleaning up.
      if (e.code === 'ECONNREFUSED' || e.code === 'ENOENT') unlinkQuiet(path);
      resolve(undefined);
    });
  });
}

function sockets(): string[] {
  try {
    return readdirSync(stateDir())
      .filter((n) => /^(proc|sync)-[0-9a-f]+\.sock$/.test(n))
      .map((n) => join(stateDir(), n));
  } catch {
    return [];
  }
}

function byPid(records: (ProcessRecord | undefined)[]): ProcessRecord[] {
  const out = new Map<number, ProcessRecord>();
  for (const r of records) if (r && Array.isArray(r.sessions)) out.set(r.pid, r);
  return [...out.values()].sort((a, b) => a.pid - b.pid);
}

/** The sessions of every running kdev process of this user (CLI and VS Code alike). */
export async function listSessions(): Promise<ProcessRecord[]> {
  return byPid(await Promise.all(sockets().map((p) => ask<ProcessRecord>(p, { op: 'list' }))));
}

/** Stops the forward on a local port (null: all) in whichever kdev process holds it. */
export async function stopForwards(localPort: number | null): Promise<number[]> {
  const procs = sockets().filter((p) => /proc-\d+\.sock$/.test(p));
  const answers = await Promise.all(procs.map((p) => ask<{ stopped: number[] }>(p, { op: 'stop', localPort })));
  return answers.flatMap((a) => a?.stopped ?? []);
}

export interface RegistryWatch {
  /** The sessions as last pushed. */
  current(): ProcessRecord[];
  close(): void;
}

/**
 * Follows the registry by push: the state folder is watched for processes coming and going,
 * and each process pushes its record on every change. `onChange` gets the whole picture.
 */
export function watchSessions(onChange: (all: ProcessRecord[]) => void): RegistryWatch {
  mkdirSync(stateDir(), { recursive: true, mode: 0o700 });
  const conns = new Map<string, { socket: Socket; record?: ProcessRecord }>();
  let closed = false;
  const emit = () => {
    if (!closed) onChange(byPid([...conns.values()].map((c) => c.record)));
  };
  const connect = (path: string) => {
    if (conns.has(path) || !/proc-\d+\.sock$/.test(path)) return;
    const socket = createConnection(path);
    const conn: { socket: Socket; record?: ProcessRecord } = { socket };
    conns.set(path, conn);
    let buf = '';
    socket.on('connect', () => socket.write('{"op":"watch"}\n'));
    socket.on('data', (c: Buffer) => {
      buf += c.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        conn.record = JSON.parse(buf.slice(0, nl)) as ProcessRecord;
        buf = buf.slice(nl + 1);
        emit();
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      conns.delete(path);
      emit();
    });
  };
  const scan = () => {
    for (const p of sockets()) connect(p);
  };
  const watcher: FSWatcher = watch(stateDir(), () => scan());
  scan();
  return {
    current: () => byPid([...conns.values()].map((c) => c.record)),
    close: () => {
      closed = true;
      watcher.close();
      for (const c of conns.values()) c.socket.destroy();
      conns.clear();
    },
  };
}

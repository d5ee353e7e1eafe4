// How `kdev port-forward list|stop` reach forwards that another kdev process holds: every
// process that holds forwards listens on a unix socket in the state folder
// (~/.config/kdev/run/forward-<pid>.sock; $KDEV_STATE_DIR overrides). One JSON line in,
// one JSON line out: {"op":"list"} → {"pid","command","forwards":[...]};
// {"op":"stop","localPort":n|null} → {"stopped":[ports]}. A socket nobody answers on is a
// leftover of a process that died, and is removed. Sockets are private to the user (0700).
import { chmodSync, mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ForwardInfo, ForwardManager } from './forwards.js';

export function stateDir(): string {
  if (process.env.KDEV_STATE_DIR) return process.env.KDEV_STATE_DIR;
  const config = process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config');
  return join(config, 'kdev', 'run');
}

export interface ForwardProcess {
  pid: number;
  /** What the process is (e.g. "kdev dev run deployment/web"). */
  command: string;
  forwards: ForwardInfo[];
}

type Request = { op: 'list' } | { op: 'stop'; localPort: number | null };

export interface ControlServer {
  path: string;
  close(): Promise<void>;
}

/** Makes this process's forwards reachable from other kdev processes. */
export async function serveForwardControl(manager: ForwardManager, command: string, onStopped?: () => void): Promise<ControlServer> {
  const dir = stateDir();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `forward-${process.pid}.sock`);
  try {
    unlinkSync(path);
  } catch {
    // none
  }
  const server: Server = createServer((socket) => {
    let buf = '';
    socket.on('error', () => socket.destroy());
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
      void answer(req).then((res) => socket.end(`${JSON.stringify(res)}\n`));
    });
  });
  const answer = async (req: Request): Promise<unknown> => {
    if (req.op === 'list') return { pid: process.pid, command, forwards: manager.list() } satisfies ForwardProcess;
    const ports = req.localPort === null ? manager.list().map((f) => f.localPort) : [req.localPort];
    const stopped: number[] = [];
    for (const p of ports) if (await manager.stop(p)) stopped.push(p);
    if (stopped.length > 0) setImmediate(() => onStopped?.());
    return { stopped };
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o600);
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        try {
          unlinkSync(path);
        } catch {
          // gone
        }
      }),
  };
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
      if (e.code === 'ECONNREFUSED' || e.code === 'ENOENT') {
        try {
          unlinkSync(path);
        } catch {
          // gone
        }
      }
      resolve(undefined);
    });
  });
}

function sockets(): string[] {
  try {
    return readdirSync(stateDir())
      .filter((n) => /^forward-\d+\.sock$/.test(n))
      .map((n) => join(stateDir(), n));
  } catch {
    return [];
  }
}

/** The forwards of every running kdev process of this user. */
export async function listForwardProcesses(): Promise<ForwardProcess[]> {
  const answers = await Promise.all(sockets().map((p) => ask<ForwardProcess>(p, { op: 'list' })));
  return answers.filter((a): a is ForwardProcess => a !== undefined && Array.isArray(a.forwards));
}

/** Stops the forward on a local port (null: all) in whichever kdev process holds it. */
export async function stopForwards(localPort: number | null): Promise<number[]> {
  const answers = await Promise.all(sockets().map((p) => ask<{ stopped: number[] }>(p, { op: 'stop', localPort })));
  return answers.flatMap((a) => a?.stopped ?? []);
}

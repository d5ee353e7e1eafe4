// An in-process sidecar over loopback TCP for the sync tests, and helpers to wait for and
// compare synced trees.
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { SidecarState, serveConnection, STAGING_DIR } from '@kdev/sync-sidecar';
import type { SyncSession, SyncSessionOptions, SyncTransport } from '@kdev/core/internals';
import { listingHash, treeListing } from './sync.js';

export interface LocalSidecar {
  root: string;
  server: Server;
  sockets: Set<Socket>;
  kill(): void;
  close(): Promise<void>;
}

export async function localSidecar(root: string): Promise<LocalSidecar> {
  const state = new SidecarState({ root });
  await state.cleanStaging();
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    void serveConnection(s, state);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    root,
    server,
    sockets,
    kill: () => {
      for (const s of sockets) s.destroy();
    },
    close: () => new Promise((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

export function transportTo(side: LocalSidecar): SyncSessionOptions['transport'] {
  return async (): Promise<SyncTransport> => ({
    connect: () =>
      new Promise<Duplex>((resolve, reject) => {
        const port = (side.server.address() as { port: number }).port;
        const s = netConnect(port, '127.0.0.1', () => resolve(s));
        s.once('error', reject);
      }),
    close: async () => undefined,
  });
}

export const skipLocal = (rel: string): boolean => rel === '.git' || rel.startsWith('.git/') || rel === STAGING_DIR || rel.startsWith(STAGING_DIR + '/');

/** Resolves once `check` holds, re-evaluated after each idle/received event (no polling). */
export function until(session: SyncSession, check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => finish(new Error(`timed out waiting for ${what}`)), timeoutMs);
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      session.off('idle', test);
      session.off('received', test);
      if (err) reject(err);
      else resolve();
    };
    const test = (): void => {
      check().then((ok) => ok && finish(), (e: unknown) => finish(e as Error));
    };
    session.on('idle', test);
    session.on('received', test);
    test();
  });
}

export async function same(local: string, remote: string, skip: (rel: string) => boolean = skipLocal): Promise<boolean> {
  const a = await treeListing(local, skip);
  const b = await treeListing(remote, (rel) => rel === STAGING_DIR || rel.startsWith(STAGING_DIR + '/') || skip(rel));
  return listingHash(a) === listingHash(b);
}


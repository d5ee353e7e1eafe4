// The sync connection's way into the pod: a Kubernetes port-forward WebSocket, used as a
// stream directly. Going through a local TCP listener (core's forwardPort) would add a
// loopback hop — two socket copies and a read allocation per 64 KiB — for every byte synced.
import { Duplex, PassThrough, Writable } from 'node:stream';
import { PortForward } from '@kubernetes/client-node';
import type { Cluster } from '../kube/client.js';

/** One way into the sidecar: a port-forward by default. */
export interface SyncTransport {
  connect(): Promise<Duplex>;
  close(): Promise<void>;
}
export type TransportFactory = (pod: string) => Promise<SyncTransport>;

/**
 * Port-forwards to the sidecar: each connection is its own port-forward WebSocket, used as
 * a stream directly (no local TCP listener in between); close() ends every one of them.
 */
export function portForwardTransport(cluster: Cluster, namespace: string | undefined, remotePort: number): TransportFactory {
  return async (pod) => {
    const open = new Set<Duplex>();
    let closed = false;
    return {
      connect: async () => {
        if (closed) throw new Error('the port-forward was closed');
        const s = await openPortForwardStream(cluster, namespace ?? cluster.namespace, pod, remotePort);
        if (closed) {
          s.destroy(); // closed while it was opening
          throw new Error('the port-forward was closed');
        }
        open.add(s);
        s.once('close', () => open.delete(s));
        return s;
      },
      close: async () => {
        closed = true;
        for (const s of open) s.destroy();
        open.clear();
      },
    };
  };
}

type WebSocket = Extract<Awaited<ReturnType<PortForward['portForward']>>, { send: unknown }>;

/** Data frames go out as port-forward stream 0 (one leading byte names the stream). */
const DATA_STREAM = 0;
const OPEN_TIMEOUT_MS = 15_000;

/** The stream the caller sees: what it writes goes out as data frames of the WebSocket in `link`. */
function frameDuplex(link: { ws?: WebSocket }): Duplex {
  const duplex: Duplex = new Duplex({
    // the socket's write callback is the back-pressure: one frame in the WebSocket at a time
    // beyond this buffer
    writableHighWaterMark: 4 * 1024 * 1024,
    read() {},
    write(chunk: Buffer, _enc, cb) {
      const ws = link.ws;
      if (!ws || ws.readyState !== ws.OPEN) return cb(new Error('the port-forward is closed'));
      const buf = Buffer.allocUnsafe(chunk.length + 1);
      buf[0] = DATA_STREAM;
      chunk.copy(buf, 1);
      ws.send(buf, (e?: Error) => cb(e ?? null));
    },
    destroy(err, cb) {
      try {
        link.ws?.close();
      } catch {
        // closing a socket that never opened
      }
      cb(err);
    },
  });
  // an error before the caller listens must not crash the process; 'close' follows anyway
  duplex.on('error', () => undefined);
  return duplex;
}

/**
 * client-node's promise settles on 'open' or 'error' only: a WebSocket closed before it
 * opened would leave it pending forever (and nothing else keeps the event loop alive), so
 * the wait is bounded.
 */
async function openBounded(open: () => ReturnType<PortForward['portForward']>, what: string): Promise<WebSocket | undefined> {
  let timedOut = false;
  const opened = await new Promise<Awaited<ReturnType<PortForward['portForward']>>>((resolve, reject) => {
    const timer = setTimeout(() => {
      timedOut = true;
      reject(new Error(`the port-forward to ${what} did not open within ${OPEN_TIMEOUT_MS / 1000} s`));
    }, OPEN_TIMEOUT_MS);
    open().then(
      (ws) => {
        clearTimeout(timer);
        if (timedOut) (typeof ws === 'function' ? ws() : ws)?.close();
        resolve(ws);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
  return (typeof opened === 'function' ? opened() : opened) ?? undefined;
}

/** Opens one port-forward stream to `port` of `pod` and returns it as a Duplex. */
export async function openPortForwardStream(cluster: Cluster, namespace: string, pod: string, port: number): Promise<Duplex> {
  const pf = new PortForward(cluster.kc, true);
  const link: { ws?: WebSocket } = {};
  let errorText = '';
  const duplex = frameDuplex(link);
  const output = new Writable({
    write(chunk: Buffer, _enc, cb) {
      duplex.push(chunk);
      cb();
    },
  });
  const errors = new Writable({
    write(chunk: Buffer, _enc, cb) {
      // the error stream opens with the port number (stripped by client-node): an empty write
      errorText += chunk.toString();
      if (errorText.trim()) duplex.destroy(new Error(`port-forward: ${errorText.trim()}`));
      cb();
    },
  });
  // nothing is written through client-node's stdin path: frames go straight to ws.send
  const idle = new PassThrough();
  const ws = await openBounded(() => pf.portForward(namespace, pod, [port], output, errors, idle), `${pod}:${port}`);
  link.ws = ws;
  if (!ws) throw new Error('the port-forward did not open');
  if (ws.readyState !== ws.OPEN) {
    duplex.destroy();
    throw new Error('the port-forward closed as it opened');
  }
  ws.on('close', () => {
    duplex.push(null);
    duplex.destroy();
  });
  ws.on('error', (e: Error) => duplex.destroy(e));
  return duplex;
}

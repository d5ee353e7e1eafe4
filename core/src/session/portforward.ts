// One local TCP port forwarded to a port of a pod. Each local connection gets its own
// stream to the pod through the API server; RBAC (pods/portforward) decides who may.
import { createServer, type Server, type Socket } from 'node:net';
import { PortForward } from '@kubernetes/client-node';
import type { Cluster } from '../kube/client.js';
import { KdevError } from '../errors.js';

export interface Forward {
  localPort: number;
  remotePort: number;
  pod: string;
  namespace: string;
  /** Stops listening and closes every open connection. */
  close(): Promise<void>;
}

export interface ForwardOptions {
  namespace?: string;
  /** 0 (the default) picks a free port. */
  localPort?: number;
  /** Local address to listen on; loopback by default. */
  address?: string;
  /** Called when a connection's stream fails (the pod went away, say). */
  onError?: (err: Error) => void;
}

export async function forwardPort(cluster: Cluster, pod: string, remotePort: number, opts: ForwardOptions = {}): Promise<Forward> {
  const namespace = opts.namespace ?? cluster.namespace;
  const pf = new PortForward(cluster.kc, true);
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    pf.portForward(namespace, pod, [remotePort], socket, null, socket)
      .then((ws) => {
        const webSocket = typeof ws === 'function' ? ws() : ws;
        if (!webSocket) return;
        webSocket.on('close', () => socket.end());
        webSocket.on('error', (e: Error) => {
          opts.onError?.(e);
          socket.destroy();
        });
        socket.on('close', () => webSocket.close());
      })
      .catch((e: unknown) => {
        opts.onError?.(e instanceof Error ? e : new Error(String(e)));
        socket.destroy();
      });
  });
  const address = opts.address ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') {
        reject(new KdevError('CONFLICT', `local port ${opts.localPort} is already in use`, 'Choose another local port, or stop the process that holds it.'));
      } else reject(e);
    });
    server.listen(opts.localPort ?? 0, address, () => resolve());
  });
  const bound = server.address();
  const localPort = typeof bound === 'object' && bound !== null ? bound.port : 0;
  return {
    localPort,
    remotePort,
    pod,
    namespace,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

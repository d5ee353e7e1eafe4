// The port-forward manager: several local ports, each forwarded to a port of whatever pod
// currently matches a selector (the dev pod, which is replaced on restarts). The pod is
// tracked by watch; the local listener stays up across pod restarts. A connection whose
// stream fails before the remote side answered is retried with backoff (its bytes are
// replayed), so a request sent while the pod or the app restarts waits instead of failing.
import { createServer, type Server, type Socket } from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import { PortForward, type V1Pod } from '@kubernetes/client-node';
import { KdevError } from '../errors.js';
import type { Cluster } from '../kube/client.js';
import { watchUntil } from '../kube/watch.js';
import type { ForwardState, SessionEventHandler } from './events.js';
import { portHolder } from './portowner.js';
import { isPodReady } from './target.js';

export interface PortPair {
  /** 0: a free port. */
  localPort: number;
  remotePort: number;
}

/** "8080:80", "80" (same port locally), ":80" or "0:80" (a free local port), or a number. */
export function parsePortPair(spec: string | number): PortPair {
  const text = String(spec).trim();
  const m = /^(\d{0,5}):(\d{1,5})$|^(\d{1,5})$/.exec(text);
  if (!m) throw new KdevError('INVALID', `"${text}" is not a port-forward`, 'Write local:remote (8080:80), remote (80), or :remote for a free local port.');
  const remotePort = Number(m[2] ?? m[3]);
  const localPort = m[3] !== undefined ? remotePort : m[1] === '' ? 0 : Number(m[1]);
  if (remotePort < 1 || remotePort > 65535 || localPort > 65535) throw new KdevError('INVALID', `"${text}": ports are 1-65535`);
  return { localPort, remotePort };
}

/**
 * The delay before retry `attempt` (1, 2, ...) of a connection: 50 ms for the first ten
 * (an app restarting under `dev run` listens again within a few hundred ms, and a retry is
 * one small stream), then doubling up to 1 s (a pod being replaced).
 */
export function backoffMs(attempt: number): number {
  return attempt <= 10 ? 50 : Math.min(1000, 50 * 2 ** (attempt - 10));
}

/** What a forward points at: a fixed pod, or the Ready pod matching a label selector. */
export interface ForwardTarget {
  namespace?: string;
  pod?: string;
  podSelector?: string;
  /** For display: the workload. */
  workload?: string;
}

/**
 * Follows the pods of a selector by watch and knows the current Ready one (the newest).
 */
export class PodTracker {
  private readonly pods = new Map<string, V1Pod>();
  private readonly waiters = new Set<() => void>();
  private readonly abort = new AbortController();
  private failure: Error | undefined;
  private lastCurrent: string | undefined;

  constructor(
    cluster: Cluster,
    readonly namespace: string,
    selector: { labelSelector?: string; fieldSelector?: string },
    private readonly onChange: (pod: string | undefined) => void = () => undefined,
  ) {
    watchUntil<V1Pod, never>(cluster, {
      resource: { apiVersion: 'v1', plural: 'pods', namespace },
      ...selector,
      timeoutMs: 2 ** 31 - 1,
      signal: this.abort.signal,
      what: 'pods to forward to',
      onEvent: (type, pod) => {
        const name = pod.metadata!.name!;
        if (type === 'DELETED') this.pods.delete(name);
        else this.pods.set(name, pod);
        this.changed();
        return { done: false };
      },
    }).catch((err: unknown) => {
      if (this.abort.signal.aborted) return;
      this.failure = err instanceof Error ? err : new Error(String(err));
      this.changed();
    });
  }

  private changed(): void {
    const now = this.current();
    if (now !== this.lastCurrent) {
      this.lastCurrent = now;
      this.onChange(now);
    }
    for (const w of [...this.waiters]) w();
  }

  /** The newest Ready pod, if any. */
  current(): string | undefined {
    let best: V1Pod | undefined;
    for (const p of this.pods.values()) {
      if (!isPodReady(p)) continue;
      if (!best || Date.parse(p.metadata!.creationTimestamp as unknown as string) > Date.parse(best.metadata!.creationTimestamp as unknown as string)) best = p;
    }
    return best?.metadata?.name;
  }

  /** Resolves with a Ready pod, waiting up to timeoutMs for one. */
  ready(timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.failure) return done(() => reject(this.failure));
        const pod = this.current();
        if (pod) done(() => resolve(pod));
      };
      const timer = setTimeout(() => done(() => reject(new KdevError('TIMEOUT', `no Ready pod to forward to after ${Math.round(timeoutMs / 1000)} s`))), timeoutMs);
      const done = (fn: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        fn();
      };
      this.waiters.add(check);
      check();
    });
  }

  close(): void {
    this.abort.abort();
    for (const w of [...this.waiters]) w();
  }
}

export interface ForwardInfo {
  localPort: number;
  remotePort: number;
  address: string;
  namespace: string;
  workload?: string;
  pod?: string;
  state: ForwardState;
  connections: number;
}

interface Active {
  info: ForwardInfo;
  server: Server;
  tracker: PodTracker;
  sockets: Set<Socket>;
}

export interface ForwardManagerOptions {
  onEvent?: SessionEventHandler;
  /** How long a connection waits for a Ready pod / for the stream to open, in ms. Default 30 s. */
  connectTimeoutMs?: number;
}

export interface AddForwardOptions {
  /** Default 127.0.0.1. */
  address?: string;
}

const MAX_BUFFERED = 1 << 20;

export class ForwardManager {
  private readonly forwards = new Map<number, Active>();
  private readonly pf: PortForward;
  private readonly emit: SessionEventHandler;
  private readonly connectTimeoutMs: number;

  constructor(
    private readonly cluster: Cluster,
    opts: ForwardManagerOptions = {},
  ) {
    this.pf = new PortForward(cluster.kc, false);
    this.emit = opts.onEvent ?? (() => undefined);
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 30_000;
  }

  list(): ForwardInfo[] {
    return [...this.forwards.values()].map((f) => ({ ...f.info, pod: f.tracker.current(), connections: f.sockets.size }));
  }

  /** Starts listening on the local port; fails at once when it is taken. */
  async add(target: ForwardTarget, pair: PortPair, opts: AddForwardOptions = {}): Promise<ForwardInfo> {
    if (!target.pod && !target.podSelector) throw new KdevError('INVALID', 'a forward needs a pod or a pod selector');
    const namespace = target.namespace ?? this.cluster.namespace;
    const address = opts.address ?? '127.0.0.1';
    if (pair.localPort !== 0 && this.forwards.has(pair.localPort)) {
      throw new KdevError('CONFLICT', `local port ${pair.localPort} is already forwarded by this session`, '`kdev port-forward list` shows the forwards.');
    }
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'EADDRINUSE' || e.code === 'EACCES') {
          const holder = e.code === 'EADDRINUSE' ? portHolder(pair.localPort) : undefined;
          const by = holder ? ` by pid ${holder.pid}${holder.command ? ` (${holder.command})` : ''}` : '';
          reject(
            new KdevError(
              'CONFLICT',
              e.code === 'EACCES' ? `local port ${pair.localPort} needs privileges` : `local port ${pair.localPort} is already in use${by}`,
              `Choose another local port (e.g. ${pair.localPort + 1 < 65536 ? pair.localPort + 1 : 8080}:${pair.remotePort}, or :${pair.remotePort} for a free one)${holder ? `, or stop pid ${holder.pid}` : ''}.`,
            ),
          );
        } else reject(e);
      });
      server.listen(pair.localPort, address, () => resolve());
    });
    const bound = server.address();
    const localPort = typeof bound === 'object' && bound !== null ? bound.port : pair.localPort;
    const info: ForwardInfo = { localPort, remotePort: pair.remotePort, address, namespace, workload: target.workload, state: 'waiting', connections: 0 };
    const selector = target.podSelector ? { labelSelector: target.podSelector } : { fieldSelector: `metadata.name=${target.pod}` };
    const tracker = new PodTracker(this.cluster, namespace, selector, (pod) => {
      info.state = pod ? 'ready' : 'waiting';
      info.pod = pod;
      this.emit({
        type: 'forward',
        localPort,
        remotePort: pair.remotePort,
        state: info.state,
        pod,
        message: pod ? `127.0.0.1:${localPort} → pod/${pod}:${pair.remotePort}` : `127.0.0.1:${localPort}: waiting for a Ready pod`,
      });
    });
    const active: Active = { info, server, tracker, sockets: new Set() };
    server.on('connection', (socket) => this.handle(active, socket));
    this.forwards.set(localPort, active);
    return { ...info };
  }

  private handle(f: Active, socket: Socket): void {
    const { info } = f;
    f.sockets.add(socket);
    socket.setNoDelay(true);
    const sent: Buffer[] = [];
    let sentBytes = 0;
    let replied = false;
    let closed = false;
    let attempt = 0;
    const startedAt = Date.now();
    let input: PassThrough | undefined;
    let ws: { close(): void } | undefined;

    socket.on('data', (chunk: Buffer) => {
      if (!replied && sentBytes <= MAX_BUFFERED) {
        sent.push(chunk);
        sentBytes += chunk.length;
      }
      input?.write(chunk);
    });
    socket.on('end', () => input?.end());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      closed = true;
      f.sockets.delete(socket);
      ws?.close();
    });

    const retry = (why: string) => {
      input = undefined;
      ws = undefined;
      attempt++;
      const canReplay = !replied && sentBytes <= MAX_BUFFERED;
      const delay = backoffMs(attempt);
      if (closed) return;
      if (!canReplay || Date.now() - startedAt + delay > this.connectTimeoutMs) {
        this.emit({ type: 'forward-error', localPort: info.localPort, remotePort: info.remotePort, message: why });
        socket.destroy();
        return;
      }
      this.emit({ type: 'forward-error', localPort: info.localPort, remotePort: info.remotePort, message: why, retryInMs: delay });
      setTimeout(() => void connect(), delay);
    };

    const connect = async () => {
      let pod: string;
      try {
        pod = await f.tracker.ready(Math.max(1, this.connectTimeoutMs - (Date.now() - startedAt)));
      } catch (err) {
        this.emit({ type: 'forward-error', localPort: info.localPort, remotePort: info.remotePort, message: (err as Error).message });
        socket.destroy();
        return;
      }
      if (closed) return;
      const errors: string[] = [];
      const myInput = new PassThrough();
      for (const c of sent) myInput.write(c);
      input = myInput;
      if (socket.readableEnded) myInput.end();
      const out = new Writable({
        write(chunk: Buffer, _enc, cb) {
          replied = true;
          if (!socket.destroyed) socket.write(chunk);
          cb();
        },
      });
      const err = new Writable({
        write(chunk: Buffer, _enc, cb) {
          errors.push(chunk.toString());
          cb();
        },
      });
      let conn: Awaited<ReturnType<PortForward['portForward']>>;
      try {
        conn = await this.pf.portForward(info.namespace, pod, [info.remotePort], out, err, myInput);
      } catch (e) {
        retry(`pod/${pod}: ${(e as Error).message}`);
        return;
      }
      const socketWs = typeof conn === 'function' ? conn() : conn;
      if (!socketWs) {
        retry(`pod/${pod}: no stream`);
        return;
      }
      if (closed) {
        socketWs.close();
        return;
      }
      ws = socketWs;
      let finished = false;
      const onDone = (why: string) => {
        if (finished) return;
        finished = true;
        if (input !== myInput) return;
        if (!replied && errors.length > 0) retry(`pod/${pod}:${info.remotePort}: ${errors.join('').trim()}`);
        else if (!replied && why !== 'the stream closed') retry(`pod/${pod}:${info.remotePort}: ${why}`);
        else socket.end();
      };
      socketWs.on('close', () => onDone('the stream closed'));
      socketWs.on('error', (e: Error) => onDone(e.message));
    };
    void connect();
  }

  /** Stops one forward (by local port). Returns false when there is none on that port. */
  async stop(localPort: number): Promise<boolean> {
    const f = this.forwards.get(localPort);
    if (!f) return false;
    this.forwards.delete(localPort);
    f.tracker.close();
    for (const s of f.sockets) s.destroy();
    await new Promise<void>((resolve) => f.server.close(() => resolve()));
    f.info.state = 'stopped';
    this.emit({ type: 'forward', localPort, remotePort: f.info.remotePort, state: 'stopped', message: `127.0.0.1:${localPort}: stopped` });
    return true;
  }

  async stopAll(): Promise<void> {
    for (const port of [...this.forwards.keys()]) await this.stop(port);
  }

  get size(): number {
    return this.forwards.size;
  }
}

// Waiting on the cluster by watch, never by polling. A watch without a resourceVersion
// first delivers the current objects as ADDED events, so one call covers "already there".
// The watch itself goes through kube/raw.ts, core's one path to the API server.
import { KdevError } from '../errors.js';
import type { Cluster } from './client.js';
import { apiStatus, kubeError } from './errors.js';
import { watchEvents } from './raw.js';

export interface ResourcePath {
  /** "v1" or "apps/v1" */
  apiVersion: string;
  /** Lower-case plural: "pods", "deployments". */
  plural: string;
  /** Omit for cluster-scoped resources. */
  namespace?: string;
}

export function collectionPath(r: ResourcePath): string {
  const base = r.apiVersion.includes('/') ? `/apis/${r.apiVersion}` : `/api/${r.apiVersion}`;
  return r.namespace ? `${base}/namespaces/${r.namespace}/${r.plural}` : `${base}/${r.plural}`;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** What a watcher decides after each event: keep waiting, done with a value, or fail. */
export type Verdict<R> = { done: true; value: R } | { done: false } | { fail: KdevError };

export interface WatchUntilOptions<T, R> {
  resource: ResourcePath;
  labelSelector?: string;
  fieldSelector?: string;
  timeoutMs: number;
  /** Describes the wait for the timeout message ("deployment/web to become ready"). */
  what: string;
  /** Called with each event; returns the verdict. */
  onEvent: (type: WatchEventType, obj: T) => Verdict<R>;
  /** Extra text for the timeout error (the last state seen, say). */
  timeoutDetail?: () => string | undefined;
  signal?: AbortSignal;
  /**
   * Start after this version (from a prior read) instead of with the current state;
   * then only changes after that read arrive, none is missed.
   */
  resourceVersion?: string;
}

/**
 * Watches a collection until `onEvent` says done (or fail), the timeout passes, or the
 * signal aborts. Restarts the watch when the server closes it, from the last version seen.
 */
export function watchUntil<T, R>(cluster: Cluster, opts: WatchUntilOptions<T, R>): Promise<R> {
  return new Promise<R>((resolve, reject) => new Waiting<T, R>(cluster, opts, resolve, reject).start());
}

/** One watchUntil in progress: its watch (restarted as needed), its timer, its outcome. */
class Waiting<T, R> {
  private settled = false;
  private current: { abort(): void } | undefined;
  private resourceVersion: string | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly onAbort = () => this.finish(() => this.reject(new KdevError('FAILED', `stopped waiting for ${this.opts.what}`)));

  constructor(
    private readonly cluster: Cluster,
    private readonly opts: WatchUntilOptions<T, R>,
    private readonly resolve: (value: R) => void,
    private readonly reject: (err: unknown) => void,
  ) {
    this.resourceVersion = opts.resourceVersion;
    this.timer = setTimeout(() => {
      const detail = opts.timeoutDetail?.();
      this.finish(() => reject(new KdevError('TIMEOUT', `timed out after ${Math.round(opts.timeoutMs / 1000)} s waiting for ${opts.what}${detail ? `: ${detail}` : ''}`)));
    }, opts.timeoutMs);
    opts.signal?.addEventListener('abort', this.onAbort);
  }

  private finish(fn: () => void): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.opts.signal?.removeEventListener('abort', this.onAbort);
    this.current?.abort();
    fn();
  }

  start(): void {
    if (this.settled) return;
    const query: Record<string, string> = { allowWatchBookmarks: 'true' };
    if (this.opts.labelSelector) query.labelSelector = this.opts.labelSelector;
    if (this.opts.fieldSelector) query.fieldSelector = this.opts.fieldSelector;
    if (this.resourceVersion) query.resourceVersion = this.resourceVersion;
    watchEvents(this.cluster, collectionPath(this.opts.resource), query, (type, obj) => this.event(type, obj as T & { metadata?: { resourceVersion?: string } }), (err) => this.ended(err)).then(
      (w) => {
        this.current = w;
        if (this.settled) w.abort();
      },
      (err: unknown) => {
        const e = kubeError(err, `watching ${this.opts.resource.plural}`, this.cluster.server);
        if (e.code === 'UNREACHABLE' || e.code === 'FORBIDDEN' || e.code === 'UNAUTHORIZED' || e.code === 'NOT_FOUND') this.finish(() => this.reject(e));
        else if (apiStatus(err) === 410) this.restartFresh();
        else setTimeout(() => this.start(), 500);
      },
    );
  }

  /** "Too old resource version": start again from the current state. */
  private restartFresh(): void {
    this.resourceVersion = undefined;
    setImmediate(() => this.start());
  }

  private event(type: string, obj: T & { metadata?: { resourceVersion?: string } }): void {
    if (this.settled) return;
    if (type === 'BOOKMARK') {
      this.resourceVersion = obj.metadata?.resourceVersion;
      return;
    }
    if (type === 'ERROR') {
      // Usually "too old resource version": the server ends the watch; start afresh then.
      this.resourceVersion = undefined;
      return;
    }
    this.resourceVersion = obj.metadata?.resourceVersion;
    let verdict: Verdict<R>;
    try {
      verdict = this.opts.onEvent(type as WatchEventType, obj);
    } catch (err) {
      this.finish(() => this.reject(err));
      return;
    }
    if ('fail' in verdict) this.finish(() => this.reject(verdict.fail));
    else if (verdict.done) this.finish(() => this.resolve(verdict.value));
  }

  /** The server ended the watch (its timeout), or the connection broke: resume. */
  private ended(err?: Error): void {
    if (this.settled) return;
    this.current = undefined;
    if (err) setTimeout(() => this.start(), 500);
    else setImmediate(() => this.start());
  }
}

// Waiting on the cluster by watch, never by polling. A watch without a resourceVersion
// first delivers the current objects as ADDED events, so one call covers "already there".
import { Watch } from '@kubernetes/client-node';
import { KdevError } from '../errors.js';
import type { Cluster } from './client.js';
import { kubeError } from './errors.js';

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
 * signal aborts. Restarts the watch when the server closes it.
 */
export function watchUntil<T, R>(cluster: Cluster, opts: WatchUntilOptions<T, R>): Promise<R> {
  const watch = new Watch(cluster.kc);
  const path = collectionPath(opts.resource);
  return new Promise<R>((resolve, reject) => {
    let settled = false;
    let controller: AbortController | undefined;
    let resourceVersion: string | undefined = opts.resourceVersion;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      controller?.abort();
      fn();
    };
    const timer = setTimeout(() => {
      const detail = opts.timeoutDetail?.();
      finish(() =>
        reject(new KdevError('TIMEOUT', `timed out after ${Math.round(opts.timeoutMs / 1000)} s waiting for ${opts.what}${detail ? `: ${detail}` : ''}`)),
      );
    }, opts.timeoutMs);
    const onAbort = () => finish(() => reject(new KdevError('FAILED', `stopped waiting for ${opts.what}`)));
    opts.signal?.addEventListener('abort', onAbort);

    const start = () => {
      if (settled) return;
      const query: Record<string, string | boolean> = { allowWatchBookmarks: true };
      if (opts.labelSelector) query.labelSelector = opts.labelSelector;
      if (opts.fieldSelector) query.fieldSelector = opts.fieldSelector;
      if (resourceVersion) query.resourceVersion = resourceVersion;
      watch
        .watch(
          path,
          query,
          (type: string, obj: T & { metadata?: { resourceVersion?: string } }) => {
            if (settled) return;
            if (type === 'BOOKMARK') {
              resourceVersion = obj.metadata?.resourceVersion;
              return;
            }
            if (type === 'ERROR') {
              // Usually "too old resource version": start again from the current state.
              resourceVersion = undefined;
              return;
            }
            resourceVersion = obj.metadata?.resourceVersion;
            let verdict: Verdict<R>;
            try {
              verdict = opts.onEvent(type as WatchEventType, obj);
            } catch (err) {
              finish(() => reject(err));
              return;
            }
            if ('fail' in verdict) finish(() => reject(verdict.fail));
            else if (verdict.done) finish(() => resolve(verdict.value));
          },
          (err: unknown) => {
            if (settled) return;
            if (err && (err as { name?: string }).name !== 'AbortError') {
              const e = kubeError(err, `watching ${opts.resource.plural}`, cluster.server);
              if (e.code === 'FORBIDDEN' || e.code === 'UNAUTHORIZED' || e.code === 'NOT_FOUND') {
                finish(() => reject(e));
                return;
              }
              setTimeout(start, 500);
              return;
            }
            // The server ended the watch (its timeout): resume from the last version seen.
            setImmediate(start);
          },
        )
        .then((c) => {
          controller = c;
          if (settled) c.abort();
        })
        .catch((err: unknown) => {
          const e = kubeError(err, `watching ${opts.resource.plural}`, cluster.server);
          if (e.code === 'UNREACHABLE' || e.code === 'FORBIDDEN' || e.code === 'UNAUTHORIZED') finish(() => reject(e));
          else setTimeout(start, 500);
        });
    };
    start();
  });
}

// Container logs: once, followed, or of the previous (crashed) instance.
import { PassThrough, Transform, type Writable } from 'node:stream';
import { Log, type V1Pod } from '@kubernetes/client-node';
import type { Cluster } from '../kube/client.js';
import { KdevError } from '../errors.js';
import { kubeError } from '../kube/errors.js';
import { raw } from '../kube/raw.js';

export interface LogOptions {
  namespace?: string;
  follow?: boolean;
  previous?: boolean;
  tailLines?: number;
  /** Only lines written at or after this instant (ms since the epoch); e.g. Date.now() for "from now on". */
  since?: number;
  signal?: AbortSignal;
}

/** Drops the lines stamped before `since` and strips the kubelet's timestamps. */
export function sinceFilter(since: number): Transform {
  let rest = '';
  const keep = (line: string): string | undefined => {
    const space = line.indexOf(' ');
    const stamp = Date.parse(line.slice(0, space));
    if (space < 0 || Number.isNaN(stamp)) return line;
    // RFC3339Nano: compare at microsecond precision so lines of the same millisecond stay.
    const micros = Number((/\.(\d+)/.exec(line.slice(0, space))?.[1] ?? '0').padEnd(6, '0').slice(0, 6));
    const t = Math.floor(stamp / 1000) * 1e6 + micros;
    return t >= since * 1000 ? line.slice(space + 1) : undefined;
  };
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      const lines = (rest + chunk.toString()).split('\n');
      rest = lines.pop() ?? '';
      const out = lines.map(keep).filter((l): l is string => l !== undefined);
      cb(null, out.length > 0 ? out.join('\n') + '\n' : undefined);
    },
    flush(cb) {
      const last = rest ? keep(rest) : undefined;
      cb(null, last);
    },
  });
}

/** Streams a container's log into `out`; resolves when the stream ends (or the signal aborts). */
export async function streamLogs(cluster: Cluster, pod: string, container: string, out: Writable, opts: LogOptions = {}): Promise<void> {
  const namespace = opts.namespace ?? cluster.namespace;
  if (opts.previous) {
    // The log API answers a bare 400 here; say what it means.
    const p = await raw.getAs<V1Pod>(cluster, { apiVersion: 'v1', plural: 'pods', namespace, name: pod }).catch((err: unknown) => {
      throw kubeError(err, `reading pod/${pod}`, cluster.server);
    });
    const status = [...(p.status?.containerStatuses ?? []), ...(p.status?.initContainerStatuses ?? [])].find((c) => c.name === container);
    if (status && status.restartCount === 0 && !status.lastState?.terminated) {
      throw new KdevError('INVALID', `container ${container} of pod/${pod} has no previous instance`, `It has not restarted; leave out --previous.`);
    }
  }
  const sink = opts.since !== undefined ? sinceFilter(opts.since) : new PassThrough();
  sink.pipe(out, { end: false });
  const ended = new Promise<void>((resolve) => sink.on('end', resolve));
  let controller: AbortController;
  try {
    controller = await new Log(cluster.kc).log(namespace, pod, container, sink, {
      follow: opts.follow,
      previous: opts.previous,
      tailLines: opts.tailLines,
      timestamps: opts.since !== undefined,
      sinceTime: opts.since !== undefined ? new Date(Math.floor(opts.since / 1000) * 1000).toISOString().replace('.000Z', 'Z') : undefined,
    });
  } catch (err) {
    throw kubeError(err, `reading the log of ${pod}/${container}`, cluster.server);
  }
  const onAbort = () => {
    controller.abort();
    sink.end();
  };
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort);
  await ended;
  opts.signal?.removeEventListener('abort', onAbort);
}

// Waiting for the dev pod by watch: phases from the pod's status, and every Warning event
// of the pods involved, reported as they happen. A pod that cannot run fails the wait at
// once, and Ready means stable, by the same rules as an environment's workloads
// (kube/pods.ts, kube/settle.ts).
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import { KdevError } from '../errors.js';
import type { Cluster } from '../kube/client.js';
import { FATAL_REASONS, isPodReady, lastLogLines, podProblem, warningEvents, type PodProblem } from '../kube/pods.js';
import { settleNote, settleWindow, withPodDetails, type Settle } from '../kube/settle.js';
import { raw } from '../kube/raw.js';
import { watchUntil } from '../kube/watch.js';
import type { DevEvent, DevPhase } from './events.js';

/**
 * Where a dev pod is on its way to Ready. A pod that cannot run (kube/pods.ts: the one list
 * of fatal reasons, for every container of the pod) is `fatal`.
 */
export function podPhase(pod: V1Pod, container: string): { phase: DevPhase; detail: string; fatal?: PodProblem } {
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status !== 'True') return { phase: 'scheduling', detail: scheduled?.message ?? 'waiting for a node' };
  const problem = podProblem(pod);
  if (problem) return { phase: /Image/.test(problem.reason) ? 'pulling' : 'starting', detail: problem.reason, fatal: problem };
  const status = pod.status?.containerStatuses?.find((c) => c.name === container);
  const waiting = status?.state?.waiting;
  if (!status || waiting?.reason === 'ContainerCreating' || waiting?.reason === 'PodInitializing') {
    return { phase: 'pulling', detail: waiting?.reason ?? 'creating containers' };
  }
  if (waiting) return { phase: 'starting', detail: `${waiting.reason ?? 'waiting'}${waiting.message ? `: ${waiting.message}` : ''}` };
  return isPodReady(pod) ? { phase: 'ready', detail: 'ready' } : { phase: 'starting', detail: 'containers starting' };
}

export interface WaitPodOptions {
  namespace: string;
  labelSelector: string;
  container: string;
  /** The pod must run this image in the container (so an old pod never counts). */
  image: string;
  timeoutMs: number;
  /**
   * How long the pod must stay Ready without a restart of any of its containers once it is
   * Ready (the settle rule of kube/settle.ts, as for an environment's workloads); a crash in
   * that window fails the wait. 0 (default): Ready once is enough.
   */
  settleMs?: number;
  onEvent?: (e: DevEvent) => void;
  signal?: AbortSignal;
}

const SETTLE_HINT =
  'A container of the dev pod stopped soon after it started: see its last log lines above. The dev pod counts as ready once it stayed Ready for the settle window (settle in .kdev.yaml, 0: Ready once is enough). The workload stays in dev mode: `kdev dev end` restores it.';

/** The pod of the wait and why it cannot run (a fatal reason, or a crash in the settle window). */
interface BadPod {
  pod: V1Pod;
  problem: PodProblem;
}

/**
 * Waits for a Ready, non-terminating pod of the selector whose container runs the image,
 * which then stays Ready without a restart for `settleMs`. Fails at once on a pod that
 * cannot run, and on a crash in the settle window, with the pod's Warning events and the
 * last log lines of the container.
 */
export async function waitDevPod(cluster: Cluster, opts: WaitPodOptions): Promise<V1Pod> {
  const pods = new Set<string>();
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort();
  opts.signal?.addEventListener('abort', onOuterAbort);
  const events = watchWarnings(cluster, opts, pods, stop.signal);
  const settleMs = opts.settleMs ?? 0;
  // A crash in the window fails at once: waiting for the crash loop's back-off (as an
  // environment's wait does, for its events) would only delay `dev start`, and the
  // container that crashed is then still the one whose log the API keeps as "previous".
  const settle = settleWindow(settleMs, 0);
  const seen: { bad?: BadPod; ready?: V1Pod } = {};
  const watch = watchDevPod(cluster, opts, pods, settle, seen, stop.signal);
  try {
    const crashed = settle.failed.then((c) => {
      seen.bad = { pod: c.pod, problem: { container: c.container, reason: 'Restarted', restarted: true } };
      throw new KdevError('FAILED', 'restarted');
    });
    crashed.catch(() => undefined);
    return await Promise.race([watch, settle.stable.then(() => seen.ready!), crashed]);
  } catch (err) {
    if (opts.signal?.aborted || !seen.bad) throw err;
    throw await explainDevPod(cluster, opts.namespace, opts.container, seen.bad, settleNote(settle.crashed(), settleMs));
  } finally {
    settle.close();
    stop.abort();
    opts.signal?.removeEventListener('abort', onOuterAbort);
    watch.catch(() => undefined);
    await events;
  }
}

/** Every Warning event of the dev pods, reported as it happens. */
function watchWarnings(cluster: Cluster, opts: WaitPodOptions, pods: ReadonlySet<string>, signal: AbortSignal): Promise<unknown> {
  const seenEvents = new Set<string>();
  return watchUntil<CoreV1Event, never>(cluster, {
    resource: { apiVersion: 'v1', plural: 'events', namespace: opts.namespace },
    fieldSelector: 'type=Warning,involvedObject.kind=Pod',
    timeoutMs: opts.timeoutMs + (opts.settleMs ?? 0) + 20_000,
    what: 'warning events',
    signal,
    onEvent: (_type, ev) => {
      const name = ev.involvedObject?.name;
      const key = `${ev.metadata?.uid}/${ev.count ?? 1}`;
      if (name && pods.has(name) && !seenEvents.has(key)) {
        seenEvents.add(key);
        opts.onEvent?.({ type: 'warning', reason: ev.reason ?? 'Warning', message: ev.message ?? '', object: `pod/${name}` });
      }
      return { done: false };
    },
  }).catch(() => undefined);
}

/**
 * The dev pod's phases until it is Ready (returned at once without a settle window; else
 * the settle window begins and this only fails); a fatal state fails it. Every pod seen
 * is judged by the settle window once it has begun.
 */
function watchDevPod(cluster: Cluster, opts: WaitPodOptions, pods: Set<string>, settle: Settle, seen: { bad?: BadPod; ready?: V1Pod }, signal: AbortSignal): Promise<V1Pod> {
  let lastPhase: DevPhase | undefined;
  let lastDetail = 'no pod yet';
  const settleMs = opts.settleMs ?? 0;
  return watchUntil<V1Pod, V1Pod>(cluster, {
    resource: { apiVersion: 'v1', plural: 'pods', namespace: opts.namespace },
    labelSelector: opts.labelSelector,
    timeoutMs: opts.timeoutMs,
    signal,
    what: `the dev pod (${opts.labelSelector}) to become ready`,
    timeoutDetail: () => `${lastPhase ?? 'waiting'}: ${lastDetail}`,
    onEvent: (type, pod) => {
      const gone = type === 'DELETED' || pod.metadata?.deletionTimestamp;
      if (gone && seen.ready?.metadata?.uid === pod.metadata?.uid) settle.cancel();
      if (gone) return { done: false };
      const c = pod.spec?.containers.find((x) => x.name === opts.container);
      if (c?.image !== opts.image) return { done: false };
      pods.add(pod.metadata!.name!);
      settle.crash(pod);
      const p = podPhase(pod, opts.container);
      if (p.fatal) {
        seen.bad = { pod, problem: p.fatal };
        return { fail: new KdevError('FAILED', p.fatal.reason) };
      }
      const detail = p.phase === 'ready' && settleMs > 0 ? `ready, settling ${settleMs / 1000}s` : p.detail;
      if (p.phase !== lastPhase || detail !== lastDetail) {
        lastPhase = p.phase;
        lastDetail = detail;
        opts.onEvent?.({ type: 'phase', phase: p.phase, message: `pod/${pod.metadata!.name}: ${detail}` });
      }
      if (p.phase === 'ready') {
        if (settleMs === 0) return { done: true, value: pod };
        seen.ready = pod;
        settle.begin([pod]);
      } else if (seen.ready?.metadata?.uid === pod.metadata?.uid) {
        settle.cancel();
      }
      return { done: false };
    },
  });
}

/** The error of a dev pod that cannot run: what and why, with its Warning events and last log lines. */
async function explainDevPod(cluster: Cluster, namespace: string, devContainer: string, bad: BadPod, settleCrash: string): Promise<KdevError> {
  const name = bad.pod.metadata!.name!;
  const { container, reason, message, restarted } = bad.problem;
  const [events, logs] = await Promise.all([warningEvents(cluster, namespace, name), lastLogLines(cluster, namespace, name, container, restarted)]);
  const where = container === devContainer ? '' : ` (container ${container})`;
  const why = settleCrash ? `${reason}${settleCrash}` : `${reason}: ${message ?? reason}`;
  return new KdevError('FAILED', withPodDetails(`pod/${name}${where}: ${why}`, events, logs), settleCrash ? SETTLE_HINT : FATAL_REASONS[reason]);
}

/** Waits until no pod matches the selector any more (the dev pods are gone). */
export async function waitNoPods(cluster: Cluster, namespace: string, labelSelector: string, timeoutMs: number): Promise<void> {
  const list = await raw.list(cluster, { apiVersion: 'v1', plural: 'pods', namespace }, labelSelector);
  const remaining = new Set(list.items.map((p) => p.metadata!.name!));
  if (remaining.size === 0) return;
  await watchUntil<V1Pod, true>(cluster, {
    resource: { apiVersion: 'v1', plural: 'pods', namespace },
    labelSelector,
    resourceVersion: list.metadata?.resourceVersion,
    timeoutMs,
    what: `the dev pods (${labelSelector}) to go away`,
    timeoutDetail: () => `still there: ${[...remaining].join(', ')}`,
    onEvent: (type, pod) => {
      if (type === 'DELETED') remaining.delete(pod.metadata!.name!);
      else remaining.add(pod.metadata!.name!);
      return remaining.size === 0 ? { done: true, value: true } : { done: false };
    },
  });
}

// Waiting for the dev pod by watch: phases from the pod's status, and every Warning event
// of the pods involved, reported as they happen. A pod that cannot run fails the wait at
// once, by the same rule as an environment's workloads (kube/pods.ts).
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import { KdevError } from '../errors.js';
import type { Cluster } from '../kube/client.js';
import { FATAL_REASONS, isPodReady, podProblem, type PodProblem } from '../kube/pods.js';
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
  onEvent?: (e: DevEvent) => void;
  signal?: AbortSignal;
}

/** Waits for a Ready, non-terminating pod of the selector whose container runs the image. */
export async function waitDevPod(cluster: Cluster, opts: WaitPodOptions): Promise<V1Pod> {
  const pods = new Set<string>();
  let lastPhase: DevPhase | undefined;
  let lastDetail = 'no pod yet';
  const stopEvents = new AbortController();
  const seenEvents = new Set<string>();
  const events = watchUntil<CoreV1Event, never>(cluster, {
    resource: { apiVersion: 'v1', plural: 'events', namespace: opts.namespace },
    fieldSelector: 'type=Warning,involvedObject.kind=Pod',
    timeoutMs: opts.timeoutMs + 5000,
    what: 'warning events',
    signal: stopEvents.signal,
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

  try {
    return await watchUntil<V1Pod, V1Pod>(cluster, {
      resource: { apiVersion: 'v1', plural: 'pods', namespace: opts.namespace },
      labelSelector: opts.labelSelector,
      timeoutMs: opts.timeoutMs,
      signal: opts.signal,
      what: `the dev pod (${opts.labelSelector}) to become ready`,
      timeoutDetail: () => `${lastPhase ?? 'waiting'}: ${lastDetail}`,
      onEvent: (type, pod) => {
        if (type === 'DELETED' || pod.metadata?.deletionTimestamp) return { done: false };
        const c = pod.spec?.containers.find((x) => x.name === opts.container);
        if (c?.image !== opts.image) return { done: false };
        pods.add(pod.metadata!.name!);
        const p = podPhase(pod, opts.container);
        if (p.fatal) {
          const where = p.fatal.container === opts.container ? '' : ` (container ${p.fatal.container})`;
          return { fail: new KdevError('FAILED', `pod/${pod.metadata!.name}${where}: ${p.fatal.reason}: ${p.fatal.message ?? p.fatal.reason}`, FATAL_REASONS[p.fatal.reason]) };
        }
        if (p.phase !== lastPhase || p.detail !== lastDetail) {
          lastPhase = p.phase;
          lastDetail = p.detail;
          opts.onEvent?.({ type: 'phase', phase: p.phase, message: `pod/${pod.metadata!.name}: ${p.detail}` });
        }
        return p.phase === 'ready' ? { done: true, value: pod } : { done: false };
      },
    });
  } finally {
    stopEvents.abort();
    await events;
  }
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

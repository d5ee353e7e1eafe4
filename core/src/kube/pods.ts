// Pods: which pods a workload owns (its selector), when a pod counts as Ready, and which
// pod states are fatal (will not get better by waiting). Dev mode, environments and the
// session commands all judge pods here, so `kdev dev start` and `kdev env create` fail at
// once on the same pod for the same reason.
import type { CoreV1Event, V1ContainerStatus, V1LabelSelector, V1Pod } from '@kubernetes/client-node';
import type { Cluster } from './client.js';
import { raw } from './raw.js';

/** "app=web,tier in (fe,be),!canary" from a label selector; undefined when it is empty. */
export function selectorString(sel: V1LabelSelector | undefined): string | undefined {
  const parts = Object.entries(sel?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of sel?.matchExpressions ?? []) {
    if (e.operator === 'In') parts.push(`${e.key} in (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.length > 0 ? parts.join(',') : undefined;
}

/** Ready: running, its Ready condition true, and not on its way out. */
export function isPodReady(pod: V1Pod): boolean {
  return !pod.metadata?.deletionTimestamp && pod.status?.phase === 'Running' && (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

const IMAGE_HINT =
  'The image cannot be pulled: is it spelled right (--image, .kdev.yaml, the template) and present in the cluster (imagePullPolicy: IfNotPresent)? The local cluster has no registry: see the image list in the README.';

/** Container waiting reasons that will not get better by waiting, each with a hint: THE list. */
export const FATAL_REASONS: Readonly<Record<string, string>> = {
  CrashLoopBackOff: 'The container keeps exiting: see its last log lines.',
  ImagePullBackOff: IMAGE_HINT,
  ErrImagePull: IMAGE_HINT,
  ErrImageNeverPull: IMAGE_HINT,
  InvalidImageName: IMAGE_HINT,
  CreateContainerConfigError: 'A ConfigMap, Secret or key the container refers to is missing: create it, or fix the reference.',
  CreateContainerError: 'The container runtime could not create the container: see the message and the pod\'s events.',
  RunContainerError: 'The container runtime could not start the container (its command, say): see the message and the pod\'s events.',
};

export interface PodProblem {
  container: string;
  reason: string;
  message?: string;
  /** The container ran before (its last log is of the crashed run). */
  restarted: boolean;
}

/** The first container of the pod (init containers first) that cannot run, with why (FATAL_REASONS[reason] is the hint). */
export function podProblem(pod: V1Pod): PodProblem | undefined {
  const all: V1ContainerStatus[] = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const c of all) {
    const w = c.state?.waiting;
    if (w?.reason && FATAL_REASONS[w.reason] !== undefined) return { container: c.name, reason: w.reason, message: w.message, restarted: c.restartCount > 0 };
  }
  // A Job's failed pod is the Job's business (its backoff, its Failed condition).
  if (pod.status?.phase === 'Failed' && pod.metadata?.labels?.['batch.kubernetes.io/job-name'] === undefined) {
    return { container: pod.spec?.containers[0]?.name ?? '', reason: pod.status.reason ?? 'Failed', message: pod.status.message, restarted: false };
  }
  return undefined;
}

/** The Warning events of an object ("Reason: message", oldest first, deduplicated). */
export async function warningEvents(cluster: Cluster, namespace: string, name: string): Promise<string[]> {
  try {
    const list = await raw.listAs<CoreV1Event>(cluster, { apiVersion: 'v1', plural: 'events', namespace }, { fieldSelector: `involvedObject.name=${name},type=Warning` });
    const sorted = [...list.items].sort((a, b) => eventTime(a) - eventTime(b));
    return [...new Set(sorted.map((e) => `${e.reason ?? 'Warning'}: ${(e.message ?? '').trim()}`))].slice(-10);
  } catch {
    return [];
  }
}

function eventTime(e: CoreV1Event): number {
  const t = e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp;
  return t ? new Date(t).getTime() : 0;
}

/** What the kubelet answers, as the log's text, for a container whose log file is not there (yet, or any more). */
const LOG_UNAVAILABLE = /^unable to retrieve container logs for /;

/**
 * The last lines of a container's log: of the crashed run when it restarted. Right after a
 * restart the kubelet may have no log for one run or the other (it answers "unable to
 * retrieve container logs"): the other run is read, and both again a little later, three
 * times at most.
 */
export async function lastLogLines(cluster: Cluster, namespace: string, pod: string, container: string, previous: boolean, lines = 20): Promise<string[]> {
  const read = async (prev: boolean): Promise<string[]> => {
    try {
      const text = await raw.text(cluster, { apiVersion: 'v1', plural: 'pods', namespace, name: pod, subresource: 'log' }, { container, tailLines: lines, previous: prev });
      const out = text.split('\n').filter((l) => l.length > 0);
      return out.length === 1 && LOG_UNAVAILABLE.test(out[0]!) ? [] : out;
    } catch {
      return [];
    }
  };
  const order = previous ? [true, false] : [false];
  for (let attempt = 0; attempt < 3; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, 500));
    for (const prev of order) {
      const out = await read(prev);
      if (out.length > 0) return out;
    }
  }
  return [];
}

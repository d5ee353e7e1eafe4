// Readiness of workloads, by watch: a table of kinds says where each lives, which pods are
// its own and when it is Ready. A pod that cannot run (crash loop, image, config) or pods
// that cannot be created (quota) fail the wait at once, with the pod's Warning events and
// the last lines of its log.
import type { CoreV1Event, KubernetesObject, V1ContainerStatus, V1LabelSelector, V1Pod } from '@kubernetes/client-node';
import { KdevError } from '../errors.js';
import type { Cluster } from '../kube/client.js';
import { watchUntil, type ResourcePath } from '../kube/watch.js';
import type { WorkloadKind } from './schema.js';

interface Status {
  ready: boolean;
  /** What to show while waiting ("1/2 ready"). */
  detail: string;
  /** Set when the workload itself reports a failure (a Job's Failed condition). */
  failed?: string;
}

interface KindInfo {
  apiVersion: string;
  plural: string;
  /** The label selector of the workload's pods. */
  pods: (obj: Obj) => string | undefined;
  status: (obj: Obj) => Status;
}

type Obj = KubernetesObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };

function num(v: unknown, fallback = 0): number {
  return typeof v === 'number' ? v : fallback;
}

function selectorString(sel: V1LabelSelector | undefined): string | undefined {
  const parts = Object.entries(sel?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of sel?.matchExpressions ?? []) {
    if (e.operator === 'In') parts.push(`${e.key} in (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.length > 0 ? parts.join(',') : undefined;
}

function generationSeen(obj: Obj): boolean {
  return num(obj.status?.observedGeneration, -1) >= num(obj.metadata?.generation, 0);
}

/** The workload kinds environments know: where they live, their pods, their readiness. */
export const WORKLOAD_TABLE: Readonly<Record<WorkloadKind, KindInfo>> = {
  Deployment: {
    apiVersion: 'apps/v1',
    plural: 'deployments',
    pods: (o) => selectorString(o.spec?.selector as V1LabelSelector | undefined),
    status: (o) => {
      const want = num(o.spec?.replicas, 1);
      const ready = num(o.status?.readyReplicas);
      const updated = num(o.status?.updatedReplicas);
      return { ready: generationSeen(o) && ready >= want && updated >= want, detail: `${ready}/${want} ready` };
    },
  },
  StatefulSet: {
    apiVersion: 'apps/v1',
    plural: 'statefulsets',
    pods: (o) => selectorString(o.spec?.selector as V1LabelSelector | undefined),
    status: (o) => {
      const want = num(o.spec?.replicas, 1);
      const ready = num(o.status?.readyReplicas);
      const rev = o.status?.updateRevision;
      const current = rev === undefined || rev === o.status?.currentRevision || want === 0;
      return { ready: generationSeen(o) && ready >= want && current, detail: `${ready}/${want} ready` };
    },
  },
  DaemonSet: {
    apiVersion: 'apps/v1',
    plural: 'daemonsets',
    pods: (o) => selectorString(o.spec?.selector as V1LabelSelector | undefined),
    status: (o) => {
      const want = num(o.status?.desiredNumberScheduled);
      const ready = num(o.status?.numberReady);
      const updated = num(o.status?.updatedNumberScheduled);
      return { ready: generationSeen(o) && o.status?.observedGeneration !== undefined && ready >= want && updated >= want, detail: `${ready}/${want} ready` };
    },
  },
  Job: {
    apiVersion: 'batch/v1',
    plural: 'jobs',
    pods: (o) => `batch.kubernetes.io/job-name=${o.metadata?.name}`,
    status: (o) => {
      const conditions = (o.status?.conditions ?? []) as { type: string; status: string; message?: string; reason?: string }[];
      const failed = conditions.find((c) => c.type === 'Failed' && c.status === 'True');
      const complete = conditions.some((c) => c.type === 'Complete' && c.status === 'True');
      const detail = `${num(o.status?.succeeded)}/${num(o.spec?.completions, 1)} succeeded`;
      return failed ? { ready: false, detail, failed: `job failed: ${failed.reason ?? ''} ${failed.message ?? ''}`.trim() } : { ready: complete, detail };
    },
  },
  CronJob: {
    apiVersion: 'batch/v1',
    plural: 'cronjobs',
    pods: () => undefined,
    status: (o) => ({ ready: true, detail: o.spec?.suspend === true ? 'suspended' : `scheduled ${String(o.spec?.schedule ?? '')}` }),
  },
};

export function workloadResource(kind: WorkloadKind, namespace: string): ResourcePath {
  const k = WORKLOAD_TABLE[kind];
  return { apiVersion: k.apiVersion, plural: k.plural, namespace };
}

/** Container states that will not get better by waiting. */
const FATAL_WAITING = new Set([
  'CrashLoopBackOff',
  'ImagePullBackOff',
  'ErrImagePull',
  'ErrImageNeverPull',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

/** The first container of the pod that cannot run, with why. */
export function podProblem(pod: V1Pod): { container: string; reason: string; message?: string; restarted: boolean } | undefined {
  const all: V1ContainerStatus[] = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const c of all) {
    const w = c.state?.waiting;
    if (w?.reason && FATAL_WAITING.has(w.reason)) return { container: c.name, reason: w.reason, message: w.message, restarted: c.restartCount > 0 };
  }
  if (pod.status?.phase === 'Failed' && pod.metadata?.labels?.['batch.kubernetes.io/job-name'] === undefined) {
    return { container: pod.spec?.containers[0]?.name ?? '', reason: pod.status.reason ?? 'Failed', message: pod.status.message, restarted: false };
  }
  return undefined;
}

/** The Warning events of an object ("Reason: message", oldest first, deduplicated). */
export async function warningEvents(cluster: Cluster, namespace: string, name: string): Promise<string[]> {
  try {
    const list = await cluster.core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name},type=Warning` });
    const sorted = [...list.items].sort((a, b) => time(a) - time(b));
    return [...new Set(sorted.map((e) => `${e.reason ?? 'Warning'}: ${(e.message ?? '').trim()}`))].slice(-10);
  } catch {
    return [];
  }
}

function time(e: CoreV1Event): number {
  const t = e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp;
  return t ? new Date(t).getTime() : 0;
}

/** The last lines of a container's log: of the crashed run when it restarted. */
export async function lastLogLines(cluster: Cluster, namespace: string, pod: string, container: string, previous: boolean, lines = 20): Promise<string[]> {
  const read = async (prev: boolean) => {
    const text = await cluster.core.readNamespacedPodLog({ name: pod, namespace, container, tailLines: lines, previous: prev });
    return text.split('\n').filter((l) => l.length > 0);
  };
  try {
    const out = await read(previous);
    if (out.length > 0 || !previous) return out;
    return await read(false);
  } catch {
    if (!previous) return [];
    try {
      return await read(false);
    } catch {
      return [];
    }
  }
}

/** A failed wait: the KdevError plus what the progress view shows. */
export class WorkloadFailure extends KdevError {
  constructor(
    readonly workload: string,
    message: string,
    readonly events: string[],
    readonly logs: string[],
    hint: string | undefined,
    code: 'FAILED' | 'TIMEOUT' | 'FORBIDDEN' = 'FAILED',
  ) {
    const details = [
      ...(events.length > 0 ? ['  events:', ...events.map((e) => `    ${e}`)] : []),
      ...(logs.length > 0 ? ['  last log lines:', ...logs.map((l) => `    ${l}`)] : []),
    ];
    super(code, [message, ...details].join('\n'), hint);
  }
}

export interface WaitOptions {
  kind: WorkloadKind;
  name: string;
  namespace: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** The workload as applied (or read): its pod selector is watched from the start. */
  object?: KubernetesObject;
  /** Each change of the workload's status ("1/2 ready", "CrashLoopBackOff"). */
  onDetail?: (detail: string) => void;
}

/**
 * Waits by watch until the workload is Ready. Fails at once when one of its pods cannot
 * run or its pods cannot be created (quota), and at the timeout; the failure carries the
 * pod's Warning events and last log lines.
 */
export async function waitWorkloadReady(cluster: Cluster, opts: WaitOptions): Promise<void> {
  const info = WORKLOAD_TABLE[opts.kind];
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort();
  opts.signal?.addEventListener('abort', onOuterAbort);
  let lastDetail = 'not created yet';
  let object = opts.object;
  if (object === undefined) {
    try {
      object = await cluster.objects.read({ apiVersion: info.apiVersion, kind: opts.kind, metadata: { name: opts.name, namespace: opts.namespace } });
    } catch {
      // Not there yet: the watch below reports it.
    }
  }
  const podSelector = object ? info.pods(object as Obj) : undefined;
  let badPod: { pod: V1Pod; problem: NonNullable<ReturnType<typeof podProblem>> } | undefined;
  let lastPod: V1Pod | undefined;
  const what = `${opts.kind.toLowerCase()}/${opts.name} to become ready`;
  const detail = (d: string) => {
    if (d !== lastDetail) {
      lastDetail = d;
      opts.onDetail?.(d);
    }
  };

  const own = watchUntil<Obj, 'ready'>(cluster, {
    resource: workloadResource(opts.kind, opts.namespace),
    fieldSelector: `metadata.name=${opts.name}`,
    timeoutMs: opts.timeoutMs,
    signal: stop.signal,
    what,
    timeoutDetail: () => lastDetail,
    onEvent: (type, obj) => {
      if (type === 'DELETED') return { fail: new KdevError('FAILED', `${opts.kind}/${opts.name} was deleted while waiting for it`) };
      const s = info.status(obj);
      if (s.failed) return { fail: new KdevError('FAILED', `${opts.kind}/${opts.name}: ${s.failed}`) };
      detail(s.detail);
      return s.ready ? { done: true, value: 'ready' } : { done: false };
    },
  });

  // Pods that cannot run. The selector is known from the manifest before the first event.
  const pods = new Promise<never>((_resolve, reject) => {
    const startPods = (selector: string) =>
      watchUntil<V1Pod, never>(cluster, {
        resource: { apiVersion: 'v1', plural: 'pods', namespace: opts.namespace },
        labelSelector: selector,
        timeoutMs: opts.timeoutMs + 60_000,
        signal: stop.signal,
        what: `pods of ${opts.name}`,
        onEvent: (type, pod) => {
          // Pods on their way out (scaled down, replaced) are not the workload's future.
          if (type === 'DELETED' || pod.metadata?.deletionTimestamp) return { done: false };
          lastPod = pod;
          const problem = podProblem(pod);
          if (problem) {
            badPod = { pod, problem };
            return { fail: new KdevError('FAILED', `${problem.reason}`) };
          }
          return { done: false };
        },
      }).catch(reject);
    if (podSelector) startPods(podSelector);
  });

  // Pods that cannot be created: FailedCreate events of the workload or its ReplicaSet.
  const ownerName = new RegExp(`^${opts.name.replace(/\./g, '\\.')}(-[a-z0-9]+)?$`);
  let createFailure: string | undefined;
  const creates = watchUntil<CoreV1Event, never>(cluster, {
    resource: { apiVersion: 'v1', plural: 'events', namespace: opts.namespace },
    fieldSelector: 'type=Warning,reason=FailedCreate',
    timeoutMs: opts.timeoutMs + 60_000,
    signal: stop.signal,
    what: `events of ${opts.name}`,
    onEvent: (type, ev) => {
      if (type === 'DELETED' || !ownerName.test(ev.involvedObject?.name ?? '')) return { done: false };
      const message = ev.message ?? '';
      if (/exceeded quota|must specify limits|must specify requests/.test(message)) {
        createFailure = message;
        return { fail: new KdevError('FORBIDDEN', message) };
      }
      return { done: false };
    },
  });

  try {
    await Promise.race([own, pods, creates]);
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    const e = err as KdevError;
    if (badPod) {
      const name = badPod.pod.metadata?.name ?? '';
      const [events, logs] = await Promise.all([
        warningEvents(cluster, opts.namespace, name),
        lastLogLines(cluster, opts.namespace, name, badPod.problem.container, badPod.problem.restarted),
      ]);
      const why = badPod.problem.message ? `${badPod.problem.reason} (${badPod.problem.message.split('\n')[0]})` : badPod.problem.reason;
      throw new WorkloadFailure(opts.name, `${opts.kind}/${opts.name} failed: pod ${name}, container ${badPod.problem.container}: ${why}`, events, logs, hintFor(badPod.problem.reason));
    }
    if (createFailure !== undefined) {
      throw new WorkloadFailure(opts.name, `${opts.kind}/${opts.name} failed: its pods cannot be created: ${createFailure}`, [`FailedCreate: ${createFailure}`], [],
        'The environment\'s ResourceQuota is too small for the template: raise it with --set quota.<resource>=<value> (e.g. quota.pods=20), or lower the requests.', 'FORBIDDEN');
    }
    if (e.code === 'TIMEOUT') {
      const pod = lastPod?.metadata?.name;
      const [events, logs] = pod
        ? await Promise.all([warningEvents(cluster, opts.namespace, pod), lastLogLines(cluster, opts.namespace, pod, lastPod?.spec?.containers[0]?.name ?? '', (lastPod?.status?.containerStatuses?.[0]?.restartCount ?? 0) > 0)])
        : [await warningEvents(cluster, opts.namespace, opts.name), []];
      throw new WorkloadFailure(opts.name, e.message, events, logs, `Raise workloads[].timeout in template.yaml if ${opts.name} needs longer to start.`, 'TIMEOUT');
    }
    throw err;
  } finally {
    stop.abort();
    opts.signal?.removeEventListener('abort', onOuterAbort);
    own.catch(() => undefined);
    pods.catch(() => undefined);
    creates.catch(() => undefined);
  }
}

function hintFor(reason: string): string | undefined {
  if (reason === 'CrashLoopBackOff' || reason === 'Error') return 'The container keeps exiting: see its last log lines above.';
  if (/Image/.test(reason)) return 'Templates use images that are present on the node (kdev.local/node:18, imagePullPolicy: IfNotPresent); there is no registry.';
  if (/Config/.test(reason)) return 'A ConfigMap, Secret or key the container refers to is missing.';
  return undefined;
}

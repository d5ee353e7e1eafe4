// Readiness of workloads, by watch: a table of kinds says where each lives, which pods are
// its own and when it is Ready. A pod that cannot run (crash loop, image, config) or pods
// that cannot be created (quota) fail the wait at once, with the pod's Warning events and
// the last lines of its log. Ready means stable: the workload is Ready and its pods have
// not restarted for a settle window (a container that crashes a second after it starts is
// Ready for an instant, not ready).
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

/** Restarts so far of each container of a pod (init containers included), by name. */
export function restartCounts(pod: V1Pod): Map<string, number> {
  const all: V1ContainerStatus[] = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  return new Map(all.map((c) => [c.name, c.restartCount]));
}

/**
 * The settle rule, for one pod seen after its workload became Ready: a container that has
 * restarted since `baseline` (its counts then) or that has stopped (terminated, while the
 * pod should keep running) is a crash in the settle window. A Job's pods are not judged.
 */
export function crashSince(pod: V1Pod, baseline: ReadonlyMap<string, number>): { container: string; reason: string; exitCode?: number } | undefined {
  if (pod.spec?.restartPolicy === 'Never' || pod.spec?.restartPolicy === 'OnFailure') return undefined;
  for (const c of pod.status?.containerStatuses ?? []) {
    const before = baseline.get(c.name) ?? 0;
    const term = c.state?.terminated ?? (c.restartCount > before ? c.lastState?.terminated : undefined);
    if (c.restartCount > before || c.state?.terminated) {
      return { container: c.name, reason: term?.reason ?? (c.state?.waiting?.reason ?? 'restarted'), exitCode: term?.exitCode };
    }
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

export type SettleCrash = NonNullable<ReturnType<typeof crashSince>> & { pod: V1Pod };

/**
 * The settle window of one wait: `begin` when the workload is Ready (again), `cancel` when
 * it is not; `stable` resolves once it stayed Ready for `ms`. Restart counts are taken when
 * it is first Ready; `crash` judges each pod seen after that against them. After a crash
 * the window never completes: `failed` resolves `graceMs` later (by then a crash loop has
 * usually shown as CrashLoopBackOff, with its back-off events, and fails the wait first).
 */
export function settleWindow(ms: number, graceMs = 15_000) {
  let timer: NodeJS.Timeout | undefined;
  let baseline: Map<string, Map<string, number>> | undefined;
  let first: SettleCrash | undefined;
  let resolve!: () => void;
  let resolveFailed!: (c: SettleCrash) => void;
  const stable = new Promise<'ready'>((r) => (resolve = () => r('ready')));
  const failed = new Promise<SettleCrash>((r) => (resolveFailed = r));
  const cancel = () => {
    clearTimeout(timer);
    timer = undefined;
  };
  return {
    stable,
    failed,
    crashed: () => first,
    begin(pods: Iterable<V1Pod>): void {
      if (first) return;
      baseline ??= new Map([...pods].map((p) => [p.metadata?.uid ?? '', restartCounts(p)]));
      timer ??= setTimeout(resolve, ms);
    },
    cancel,
    crash(pod: V1Pod): SettleCrash | undefined {
      if (!baseline) return undefined;
      const uid = pod.metadata?.uid ?? '';
      if (!baseline.has(uid)) baseline.set(uid, restartCounts(pod));
      const c = crashSince(pod, baseline.get(uid)!);
      if (c && !first) {
        first = { ...c, pod };
        cancel();
        timer = setTimeout(() => resolveFailed(first!), graceMs);
      }
      return c ? { ...c, pod } : undefined;
    },
  };
}

function settleNote(c: SettleCrash | undefined, settleMs: number): string {
  if (!c) return '';
  return `; it had been Ready and restarted within the ${settleMs / 1000}s settle window (${c.reason}${c.exitCode !== undefined ? `, exit code ${c.exitCode}` : ''})`;
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
  /**
   * How long its pods must stay Ready without a restart once the workload is Ready; a
   * crash in that window fails the wait. 0 (default): Ready once is enough.
   */
  settleMs?: number;
  /** Called once when the workload is first Ready, before its settle window (dependents may start then). */
  onReady?: () => void;
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
  const settleMs = podSelector && opts.kind !== 'Job' && opts.kind !== 'CronJob' ? (opts.settleMs ?? 0) : 0;
  const settle = settleWindow(settleMs);
  const livePods = new Map<string, V1Pod>();
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
      if (s.ready) opts.onReady?.();
      if (!s.ready || settleMs === 0) {
        settle.cancel();
        detail(s.detail);
        return s.ready ? { done: true, value: 'ready' } : { done: false };
      }
      detail(`${s.detail}, settling ${settleMs / 1000}s`);
      settle.begin(livePods.values());
      return { done: false };
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
          if (type === 'DELETED' || pod.metadata?.deletionTimestamp) {
            livePods.delete(pod.metadata?.uid ?? '');
            return { done: false };
          }
          lastPod = pod;
          livePods.set(pod.metadata?.uid ?? '', pod);
          settle.crash(pod);
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
    const crashed = settle.failed.then((c) => {
      badPod = { pod: c.pod, problem: { container: c.container, reason: 'Restarted', restarted: true } };
      throw new KdevError('FAILED', 'restarted');
    });
    crashed.catch(() => undefined);
    await Promise.race([own, pods, creates, settle.stable, crashed]);
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    const e = err as KdevError;
    if (badPod) {
      const name = badPod.pod.metadata?.name ?? '';
      const [events, logs] = await Promise.all([
        warningEvents(cluster, opts.namespace, name),
        lastLogLines(cluster, opts.namespace, name, badPod.problem.container, badPod.problem.restarted),
      ]);
      const why = (badPod.problem.message ? `${badPod.problem.reason} (${badPod.problem.message.split('\n')[0]})` : badPod.problem.reason) + settleNote(settle.crashed(), settleMs);
      throw new WorkloadFailure(opts.name, `${opts.kind}/${opts.name} failed: pod ${name}, container ${badPod.problem.container}: ${why}`, events, logs, hintFor(settle.crashed() ? 'settle' : badPod.problem.reason));
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
    settle.cancel();
    stop.abort();
    opts.signal?.removeEventListener('abort', onOuterAbort);
    own.catch(() => undefined);
    pods.catch(() => undefined);
    creates.catch(() => undefined);
  }
}

function hintFor(reason: string): string | undefined {
  if (reason === 'settle') return 'The container stopped soon after it started: see its last log lines above. Ready means stable here (see settle in templates/README.md); a readinessProbe makes Ready mean "answers requests".';
  if (reason === 'CrashLoopBackOff' || reason === 'Error') return 'The container keeps exiting: see its last log lines above.';
  if (/Image/.test(reason)) return 'Templates use images that are present on the node (kdev.local/node:18, imagePullPolicy: IfNotPresent); there is no registry.';
  if (/Config/.test(reason)) return 'A ConfigMap, Secret or key the container refers to is missing.';
  return undefined;
}

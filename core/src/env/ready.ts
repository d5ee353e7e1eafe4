// Readiness of workloads, by watch: the kinds table (kube/kinds.ts) says where each lives,
// which pods are its own and when it is Ready; kube/pods.ts which pods cannot run. A pod that cannot run (crash loop, image, config) or pods
// that cannot be created (quota) fail the wait at once, with the pod's Warning events and
// the last lines of its log. Ready means stable: the workload is Ready and its pods have
// not restarted for a settle window (a container that crashes a second after it starts is
// Ready for an instant, not ready): the rule is kube/settle.ts, shared with dev mode.
import type { CoreV1Event, KubernetesObject, V1Pod } from '@kubernetes/client-node';
import { KdevError } from '../errors.js';
import type { Cluster } from '../kube/client.js';
import { kindSpec, type KindObject, type Readiness } from '../kube/kinds.js';
import { FATAL_REASONS, lastLogLines, podProblem, warningEvents, type PodProblem } from '../kube/pods.js';
import { raw } from '../kube/raw.js';
import { settleNote, settleWindow, withPodDetails, type Settle } from '../kube/settle.js';
import { watchUntil, type ResourcePath } from '../kube/watch.js';
import { WORKLOAD_KINDS, type WorkloadKind } from './schema.js';

/** A kind as environments see it: a view of the row of the kinds table (kube/kinds.ts). */
interface KindInfo {
  apiVersion: string;
  plural: string;
  /** The label selector of the workload's pods. */
  pods: (obj: KindObject) => string | undefined;
  status: (obj: KindObject) => Readiness;
}

/** The workload kinds environments know, from the one kinds table. */
export const WORKLOAD_TABLE: Readonly<Record<WorkloadKind, KindInfo>> = Object.fromEntries(
  WORKLOAD_KINDS.map((kind) => {
    const k = kindSpec(kind);
    return [kind, { apiVersion: k.apiVersion, plural: k.plural, pods: k.podSelector, status: k.readiness }];
  }),
) as Record<WorkloadKind, KindInfo>;

export function workloadResource(kind: WorkloadKind, namespace: string): ResourcePath {
  const k = WORKLOAD_TABLE[kind];
  return { apiVersion: k.apiVersion, plural: k.plural, namespace };
}

export { podProblem, warningEvents, lastLogLines } from '../kube/pods.js';

const SETTLE_HINT = 'The container stopped soon after it started: see its last log lines above. Ready means stable here (see settle in templates/README.md); a readinessProbe makes Ready mean "answers requests".';

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
    super(code, withPodDetails(message, events, logs), hint);
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

/** What the watches of one wait saw, for the failure's explanation. */
interface Seen {
  lastDetail: string;
  badPod?: { pod: V1Pod; problem: PodProblem };
  lastPod?: V1Pod;
  createFailure?: string;
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
  let object = opts.object;
  if (object === undefined) {
    try {
      object = await raw.getAs<KubernetesObject>(cluster, { apiVersion: info.apiVersion, plural: info.plural, namespace: opts.namespace, name: opts.name });
    } catch {
      // Not there yet: the watch below reports it.
    }
  }
  const seen: Seen = { lastDetail: 'not created yet' };
  // Pods that cannot run. The selector is known from the manifest before the first event.
  const podSelector = object ? info.pods(object as KindObject) : undefined;
  const settleMs = podSelector && opts.kind !== 'Job' && opts.kind !== 'CronJob' ? (opts.settleMs ?? 0) : 0;
  const settle = settleWindow(settleMs);
  const livePods = new Map<string, V1Pod>();
  const own = watchOwn(cluster, opts, seen, stop.signal, { settle, settleMs, livePods });
  const pods = podSelector ? watchPods(cluster, opts, podSelector, seen, stop.signal, { settle, livePods }) : new Promise<never>(() => undefined);
  const creates = watchCreates(cluster, opts, seen, stop.signal);
  try {
    const crashed = settle.failed.then((c) => {
      seen.badPod = { pod: c.pod, problem: { container: c.container, reason: 'Restarted', restarted: true } };
      throw new KdevError('FAILED', 'restarted');
    });
    crashed.catch(() => undefined);
    await Promise.race([own, pods, creates, settle.stable, crashed]);
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    throw await explainFailure(cluster, opts, err as KdevError, seen, settleNote(settle.crashed(), settleMs));
  } finally {
    settle.close();
    stop.abort();
    opts.signal?.removeEventListener('abort', onOuterAbort);
    own.catch(() => undefined);
    pods.catch(() => undefined);
    creates.catch(() => undefined);
  }
}

/** The workload's own status, by the kinds table, until Ready (or its own failure). */
function watchOwn(cluster: Cluster, opts: WaitOptions, seen: Seen, signal: AbortSignal, s8: { settle: Settle; settleMs: number; livePods: Map<string, V1Pod> }): Promise<'ready'> {
  const info = WORKLOAD_TABLE[opts.kind];
  return watchUntil<KindObject, 'ready'>(cluster, {
    resource: workloadResource(opts.kind, opts.namespace),
    fieldSelector: `metadata.name=${opts.name}`,
    timeoutMs: opts.timeoutMs,
    signal,
    what: `${opts.kind.toLowerCase()}/${opts.name} to become ready`,
    timeoutDetail: () => seen.lastDetail,
    onEvent: (type, obj) => {
      if (type === 'DELETED') return { fail: new KdevError('FAILED', `${opts.kind}/${opts.name} was deleted while waiting for it`) };
      const s = info.status(obj);
      if (s.failed) return { fail: new KdevError('FAILED', `${opts.kind}/${opts.name}: ${s.failed}`) };
      if (s.ready) opts.onReady?.();
      const detail = s.ready && s8.settleMs > 0 ? `${s.detail}, settling ${s8.settleMs / 1000}s` : s.detail;
      if (detail !== seen.lastDetail) {
        seen.lastDetail = detail;
        opts.onDetail?.(detail);
      }
      if (!s.ready || s8.settleMs === 0) {
        s8.settle.cancel();
        return s.ready ? { done: true, value: 'ready' } : { done: false };
      }
      s8.settle.begin(s8.livePods.values()); // ready once the window passes without a restart
      return { done: false };
    },
  });
}

/** Fails at the first pod of the selector that cannot run (kube/pods.ts decides). */
function watchPods(cluster: Cluster, opts: WaitOptions, selector: string, seen: Seen, signal: AbortSignal, s8: { settle: Settle; livePods: Map<string, V1Pod> }): Promise<never> {
  return watchUntil<V1Pod, never>(cluster, {
    resource: { apiVersion: 'v1', plural: 'pods', namespace: opts.namespace },
    labelSelector: selector,
    timeoutMs: opts.timeoutMs + 60_000,
    signal,
    what: `pods of ${opts.name}`,
    onEvent: (type, pod) => {
      // Pods on their way out (scaled down, replaced) are not the workload's future.
      if (type === 'DELETED' || pod.metadata?.deletionTimestamp) {
        s8.livePods.delete(pod.metadata?.uid ?? '');
        return { done: false };
      }
      seen.lastPod = pod;
      s8.livePods.set(pod.metadata?.uid ?? '', pod);
      s8.settle.crash(pod);
      const problem = podProblem(pod);
      if (!problem) return { done: false };
      seen.badPod = { pod, problem };
      return { fail: new KdevError('FAILED', `${problem.reason}`) };
    },
  });
}

/** Pods that cannot be created: FailedCreate events (quota) of the workload or its ReplicaSet. */
function watchCreates(cluster: Cluster, opts: WaitOptions, seen: Seen, signal: AbortSignal): Promise<never> {
  const ownerName = new RegExp(`^${opts.name.replace(/\./g, '\\.')}(-[a-z0-9]+)?$`);
  return watchUntil<CoreV1Event, never>(cluster, {
    resource: { apiVersion: 'v1', plural: 'events', namespace: opts.namespace },
    fieldSelector: 'type=Warning,reason=FailedCreate',
    timeoutMs: opts.timeoutMs + 60_000,
    signal,
    what: `events of ${opts.name}`,
    onEvent: (type, ev) => {
      if (type === 'DELETED' || !ownerName.test(ev.involvedObject?.name ?? '')) return { done: false };
      const message = ev.message ?? '';
      if (!/exceeded quota|must specify limits|must specify requests/.test(message)) return { done: false };
      seen.createFailure = message;
      return { fail: new KdevError('FORBIDDEN', message) };
    },
  });
}

/** The error a failed wait throws: what went wrong, with the pod's events and last log lines. */
async function explainFailure(cluster: Cluster, opts: WaitOptions, e: KdevError, seen: Seen, settleCrash: string): Promise<Error> {
  const { badPod, lastPod, createFailure } = seen;
  if (badPod) {
    const name = badPod.pod.metadata?.name ?? '';
    const [events, logs] = await Promise.all([
      warningEvents(cluster, opts.namespace, name),
      lastLogLines(cluster, opts.namespace, name, badPod.problem.container, badPod.problem.restarted),
    ]);
    const why = (badPod.problem.message ? `${badPod.problem.reason} (${badPod.problem.message.split('\n')[0]})` : badPod.problem.reason) + settleCrash;
    const hint = settleCrash ? SETTLE_HINT : FATAL_REASONS[badPod.problem.reason];
    return new WorkloadFailure(opts.name, `${opts.kind}/${opts.name} failed: pod ${name}, container ${badPod.problem.container}: ${why}`, events, logs, hint);
  }
  if (createFailure !== undefined) {
    return new WorkloadFailure(opts.name, `${opts.kind}/${opts.name} failed: its pods cannot be created: ${createFailure}`, [`FailedCreate: ${createFailure}`], [],
      'The environment\'s ResourceQuota is too small for the template: raise it with --set quota.<resource>=<value> (e.g. quota.pods=20), or lower the requests.', 'FORBIDDEN');
  }
  if (e.code !== 'TIMEOUT') return e;
  const pod = lastPod?.metadata?.name;
  const [events, logs] = pod
    ? await Promise.all([warningEvents(cluster, opts.namespace, pod), lastLogLines(cluster, opts.namespace, pod, lastPod?.spec?.containers[0]?.name ?? '', (lastPod?.status?.containerStatuses?.[0]?.restartCount ?? 0) > 0)])
    : [await warningEvents(cluster, opts.namespace, opts.name), []];
  return new WorkloadFailure(opts.name, e.message, events, logs, `Raise workloads[].timeout in template.yaml if ${opts.name} needs longer to start.`, 'TIMEOUT');
}

// Which pod and container a session command talks to: the dev container of a workload in
// dev mode (mine: my duplicate first, else the replaced workload), found by its labels and
// waited for by watch, so that a pod being replaced is no error.
import type { V1Pod } from '@kubernetes/client-node';
import { KdevError } from '../errors.js';
import type { Cluster } from '../kube/client.js';
import { isNotFound, kubeError } from '../kube/errors.js';
import { isPodReady } from '../kube/pods.js';
import { raw } from '../kube/raw.js';
import { watchUntil } from '../kube/watch.js';
import { parseWorkloadRef, refString } from '../devmode/kinds.js';
import { parseLease, whoAmI } from '../devmode/lease.js';
import { DEV_CONTAINER_ANNOTATION, DEV_LABEL, LEASE_ANNOTATION } from '../devmode/patch.js';
import { devOfValue, duplicateName } from '../devmode/engine.js';

export interface SessionTarget {
  /** "kind/name" */
  workload: string;
  namespace: string;
  pod: string;
  container: string;
  /** Finds the pod again after it was replaced; empty for a bare pod (then `pod` is the target). */
  podSelector: string;
  /** Where the source lives in the dev container. */
  workDir: string;
}

export { isPodReady };

export function notInDevMode(what: string): KdevError {
  return new KdevError('INVALID', `${what} is not in dev mode`, `Start it first: kdev dev start ${what}`);
}

/** The selector of the dev pods of a workload in dev mode, or undefined when it is not. */
export async function devSelector(cluster: Cluster, workload: string): Promise<string | undefined> {
  const ref = parseWorkloadRef(workload);
  const what = refString(ref);
  const namespace = cluster.namespace;
  const owner = await whoAmI(cluster);
  const dupPath = { apiVersion: 'apps/v1', plural: 'deployments', namespace, name: duplicateName(ref, owner) };
  try {
    await raw.get(cluster, dupPath);
    return `${DEV_LABEL}=${devOfValue(ref, owner)}`;
  } catch (err) {
    if (!isNotFound(err)) throw kubeError(err, `reading deployment/${dupPath.name}`, cluster.server);
  }
  let annotations: Record<string, string> = {};
  try {
    const obj = await raw.get(cluster, { apiVersion: ref.kind.apiVersion, plural: ref.kind.plural, namespace, name: ref.name });
    annotations = obj.metadata?.annotations ?? {};
  } catch (err) {
    if (!isNotFound(err)) throw kubeError(err, `reading ${what}`, cluster.server);
    if (ref.kind.strategy !== 'replace-pod') {
      throw new KdevError('NOT_FOUND', `${what} not found in namespace ${namespace}`, '`kdev ls` lists the workloads of the namespace; -n selects another namespace.');
    }
  }
  if (!parseLease(annotations[LEASE_ANNOTATION]) && ref.kind.strategy !== 'replace-pod') return undefined;
  return `${DEV_LABEL}=${devOfValue(ref)}`;
}

/** Waits by watch for a Ready pod matching the selector (the newest when there are several). */
export function waitReadyPod(cluster: Cluster, labelSelector: string, timeoutMs: number, what: string, signal?: AbortSignal): Promise<V1Pod> {
  let last = 'no pod yet';
  return watchUntil<V1Pod, V1Pod>(cluster, {
    resource: { apiVersion: 'v1', plural: 'pods', namespace: cluster.namespace },
    labelSelector,
    timeoutMs,
    signal,
    what,
    timeoutDetail: () => last,
    onEvent: (type, pod) => {
      last = `pod/${pod.metadata?.name} ${pod.status?.phase ?? ''}`;
      return type !== 'DELETED' && isPodReady(pod) ? { done: true, value: pod } : { done: false };
    },
  });
}

/** The dev container of a workload in dev mode. Throws a clear error when it is not in dev mode. */
export async function resolveDevTarget(cluster: Cluster, workload: string, opts: { timeoutMs?: number; container?: string } = {}): Promise<SessionTarget> {
  const what = refString(parseWorkloadRef(workload));
  const selector = await devSelector(cluster, workload);
  if (!selector) throw notInDevMode(what);
  const pod = await waitReadyPod(cluster, selector, opts.timeoutMs ?? 60_000, `the dev pod of ${what} to be ready`);
  const container = opts.container ?? pod.metadata?.annotations?.[DEV_CONTAINER_ANNOTATION] ?? pod.spec!.containers[0]!.name;
  if (!pod.spec!.containers.some((c) => c.name === container)) {
    throw new KdevError('NOT_FOUND', `container "${container}" is not in pod/${pod.metadata!.name}`, `Its containers: ${pod.spec!.containers.map((c) => c.name).join(', ')}.`);
  }
  const workDir = pod.spec!.containers.find((c) => c.name === container)?.env?.find((e) => e.name === 'KDEV_WORKDIR')?.value ?? '/app';
  return { workload: what, namespace: cluster.namespace, pod: pod.metadata!.name!, container, podSelector: selector, workDir };
}

/**
 * The pods of any workload: the dev pod when it is in dev mode, else the pods its selector
 * matches (a bare Pod: itself). The container: the one asked for, the dev container, or the first.
 */
export async function resolveWorkloadTarget(cluster: Cluster, workload: string, opts: { timeoutMs?: number; container?: string; ready?: boolean } = {}): Promise<SessionTarget & { dev: boolean }> {
  const ref = parseWorkloadRef(workload);
  const what = refString(ref);
  const dev = await devSelector(cluster, workload);
  if (dev) return { ...(await resolveDevTarget(cluster, workload, opts)), dev: true };
  const namespace = cluster.namespace;
  let selector: string;
  if (ref.kind.strategy === 'replace-pod') {
    selector = '';
  } else {
    const obj = await raw.get(cluster, { apiVersion: ref.kind.apiVersion, plural: ref.kind.plural, namespace, name: ref.name }).catch((err: unknown) => {
      if (isNotFound(err)) throw new KdevError('NOT_FOUND', `${what} not found in namespace ${namespace}`, '`kdev ls` lists the workloads of the namespace.');
      throw kubeError(err, `reading ${what}`, cluster.server);
    });
    const own = ref.kind.podSelector(obj);
    if (!own) throw new KdevError('INVALID', `${what} has no pod selector`, 'Name a pod instead: pod/<name>.');
    selector = own;
  }
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const pod = await watchUntil<V1Pod, V1Pod>(cluster, {
    resource: { apiVersion: 'v1', plural: 'pods', namespace },
    ...(selector ? { labelSelector: selector } : { fieldSelector: `metadata.name=${ref.name}` }),
    timeoutMs,
    what: `a pod of ${what}`,
    onEvent: (type, p) => (type !== 'DELETED' && !p.metadata?.deletionTimestamp && (!opts.ready || isPodReady(p)) && (opts.ready || p.status?.phase !== 'Pending') ? { done: true, value: p } : { done: false }),
  });
  const container = opts.container ?? pod.spec!.containers[0]!.name;
  if (!pod.spec!.containers.some((c) => c.name === container)) {
    throw new KdevError('NOT_FOUND', `container "${container}" is not in pod/${pod.metadata!.name}`, `Its containers: ${pod.spec!.containers.map((c) => c.name).join(', ')}.`);
  }
  return {
    workload: what,
    namespace,
    pod: pod.metadata!.name!,
    container,
    podSelector: selector,
    workDir: '/',
    dev: false,
  };
}

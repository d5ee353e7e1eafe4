// Idle sleep and wake on use. An environment's last activity is the newer of what kdev
// records on its namespace (create, wake, kubeconfig, dev start: touchEnvironment) and the
// newest renewal of a dev lease in it (an attached dev session renews its lease every 30 s).
// `env gc --sleep-idle 2h` sleeps the environments idle that long; using one wakes it.
import type { V1Namespace } from '@kubernetes/client-node';
import type { Cluster } from '../kube/client.js';
import { raw } from '../kube/raw.js';
import { parseLease } from '../devmode/lease.js';
import { LEASE_ANNOTATION } from '../devmode/patch.js';
import { infoOf, scopedEnvironments, patchNamespaceAnnotations, sleepEnvironment, wakeEnvironment } from './environment.js';
import { ACTIVITY_ANNOTATION, type EnvironmentInfo, type ProgressListener } from './types.js';

/** Where dev leases live: the workloads a dev session patches or copies. */
const LEASE_HOLDERS = [
  { apiVersion: 'apps/v1', plural: 'deployments' },
  { apiVersion: 'apps/v1', plural: 'statefulsets' },
  { apiVersion: 'apps/v1', plural: 'daemonsets' },
  { apiVersion: 'v1', plural: 'pods' },
];

/** The dev sessions of a namespace: how many leases, and the newest renewal. */
export async function devActivity(cluster: Cluster, namespace: string): Promise<{ sessions: number; newest?: Date }> {
  let sessions = 0;
  let newest: number | undefined;
  const lists = await Promise.all(
    LEASE_HOLDERS.map((r) => raw.list(cluster, { ...r, namespace }).catch(() => ({ items: [] }))),
  );
  for (const item of lists.flatMap((l) => l.items ?? [])) {
    const lease = parseLease(item.metadata?.annotations?.[LEASE_ANNOTATION]);
    if (!lease) continue;
    sessions += 1;
    const at = Date.parse(lease.renewedAt ?? lease.startedAt);
    if (Number.isFinite(at)) newest = Math.max(newest ?? at, at);
  }
  return { sessions, newest: newest === undefined ? undefined : new Date(newest) };
}

/** The environment with its dev sessions' renewals folded into lastActivity. */
export async function withDevActivity(cluster: Cluster, info: EnvironmentInfo): Promise<EnvironmentInfo & { devSessions: number }> {
  const dev = await devActivity(cluster, info.namespace);
  const last = dev.newest && dev.newest > info.lastActivity ? dev.newest : info.lastActivity;
  return { ...info, lastActivity: last, devSessions: dev.sessions };
}

/** Records a use of the environment now. Best effort: a user who may not patch namespaces still gets on. */
export async function touchEnvironment(cluster: Cluster, name: string, at = new Date()): Promise<void> {
  await patchNamespaceAnnotations(cluster, name, { [ACTIVITY_ANNOTATION]: at.toISOString() }).catch(() => undefined);
}

/**
 * Using a namespace: when it is a kdev environment, records the use and, if it sleeps,
 * wakes it (waiting for its workloads, with progress). A namespace that is no environment,
 * or cannot be read, is left alone.
 */
export async function useEnvironment(cluster: Cluster, name: string, opts: { onProgress?: ProgressListener } = {}): Promise<{ environment: boolean; woke: boolean }> {
  let ns: V1Namespace;
  try {
    ns = await raw.getAs<V1Namespace>(cluster, { apiVersion: 'v1', plural: 'namespaces', name });
  } catch {
    return { environment: false, woke: false };
  }
  const info = infoOf(ns);
  if (!info || info.state === 'terminating') return { environment: info !== undefined, woke: false };
  if (info.state !== 'sleeping') {
    await touchEnvironment(cluster, name);
    return { environment: true, woke: false };
  }
  await wakeEnvironment(cluster, name, { wait: true, onProgress: opts.onProgress });
  return { environment: true, woke: true };
}

export interface SleepIdleResult {
  slept: EnvironmentInfo[];
  kept: EnvironmentInfo[];
}

/**
 * Sleeps every ready environment idle for at least `idleMs` (no kdev command and no dev
 * lease renewal in that time). Safe from a CronJob: only kdev's namespaces are considered.
 */
export async function sleepIdleEnvironments(cluster: Cluster, opts: { idleMs: number; all?: boolean; dryRun?: boolean; now?: Date; onProgress?: ProgressListener }): Promise<SleepIdleResult> {
  const now = (opts.now ?? new Date()).getTime();
  // The same scope as gc: the caller's own environments unless `all`.
  const all = await Promise.all((await scopedEnvironments(cluster, opts)).envs.map((e) => withDevActivity(cluster, e)));
  const idle = all.filter((e) => e.state === 'ready' && now - e.lastActivity.getTime() >= opts.idleMs);
  if (!opts.dryRun) for (const e of idle) await sleepEnvironment(cluster, e.name, { onProgress: opts.onProgress });
  return { slept: idle, kept: all.filter((e) => !idle.includes(e)) };
}

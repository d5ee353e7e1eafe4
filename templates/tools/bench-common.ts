// Shared pieces of the meeting benchmarks: the cluster, a throw-away namespace, results.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, watchUntil, type Cluster } from '@kdev/core/internals';
import type { V1Namespace, V1Pod } from '@kubernetes/client-node';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..'); // templates/dist/tools → the repo
export const MEETING_DIR = join(REPO, 'templates', 'meeting');

export function benchCluster(): Cluster {
  return connect({ kubeconfig: process.env.KDEV_TEST_KUBECONFIG ?? join(REPO, 'test', 'cluster', '.state', 'kubeconfig') });
}

export async function withNamespace<T>(prefix: string, fn: (cluster: Cluster) => Promise<T>): Promise<T> {
  const admin = benchCluster();
  const name = `${prefix}-${Math.random().toString(16).slice(2, 8)}`;
  await admin.core.createNamespace({ body: { metadata: { name, labels: { 'kdev.dev/bench': 'true' } } } });
  try {
    return await fn(admin.inNamespace(name));
  } finally {
    await admin.core.deleteNamespace({ name }).catch(() => undefined);
    const ns = await admin.core.readNamespace({ name }).catch(() => undefined);
    if (ns) {
      await watchUntil<V1Namespace, true>(admin, {
        resource: { apiVersion: 'v1', plural: 'namespaces' },
        fieldSelector: `metadata.name=${name}`,
        resourceVersion: ns.metadata?.resourceVersion,
        timeoutMs: 120_000,
        what: `namespace ${name} to be deleted`,
        onEvent: (type) => (type === 'DELETED' ? { done: true, value: true } : { done: false }),
      }).catch(() => undefined);
    }
  }
}

export function writeResult(name: string, data: unknown): string {
  const out = join(REPO, 'bench', 'results', `${name}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(data, null, 2) + '\n');
  return out;
}

/**
 * Writes `data`'s keys into bench/results/<name>.json, keeping the file's other keys (two
 * tools write one file: the scheduler's benchmark and its simulation).
 */
export function mergeResult(name: string, data: Record<string, unknown>): string {
  const file = join(REPO, 'bench', 'results', `${name}.json`);
  let old: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) old = parsed as Record<string, unknown>;
  } catch {
    // no file yet, or not JSON: start afresh
  }
  return writeResult(name, { ...old, ...data });
}

/** The machine's CPU counters (/proc/stat's first line): idle (with iowait) and total jiffies. */
export function machineCpu(): { idle: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  return { idle: f[3]! + (f[4] ?? 0), total: f.reduce((a, b) => a + b, 0) };
}

/** Idle cores of this machine between two machineCpu() readings. */
export function idleCores(a: ReturnType<typeof machineCpu>, b: ReturnType<typeof machineCpu>): number {
  const total = b.total - a.total;
  return total <= 0 ? NaN : Math.round(((b.idle - a.idle) / total) * availableParallelism() * 100) / 100;
}

export async function scale(cluster: Cluster, name: string, replicas: number): Promise<void> {
  await cluster.apps.replaceNamespacedDeploymentScale({ name, namespace: cluster.namespace, body: { metadata: { name, namespace: cluster.namespace }, spec: { replicas } } });
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * Waits by watch until no pod of `app` is left, terminating ones included: a replica still
 * shutting down must not take part in the next measurement.
 */
export async function waitPodsGone(cluster: Cluster, app: string, timeoutMs: number): Promise<void> {
  const list = await cluster.core.listNamespacedPod({ namespace: cluster.namespace, labelSelector: `app=${app}` });
  const left = new Set(list.items.map((p) => p.metadata!.name!));
  if (left.size === 0) return;
  await watchUntil<V1Pod, true>(cluster, {
    resource: { apiVersion: 'v1', plural: 'pods', namespace: cluster.namespace },
    labelSelector: `app=${app}`,
    resourceVersion: list.metadata?.resourceVersion,
    timeoutMs,
    what: `the ${app} pods to be gone`,
    onEvent: (type, p) => {
      if (type === 'DELETED') left.delete(p.metadata!.name!);
      else if (type === 'ADDED') left.add(p.metadata!.name!);
      return left.size === 0 ? { done: true, value: true } : { done: false };
    },
  });
}

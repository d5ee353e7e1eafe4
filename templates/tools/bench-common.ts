// Shared pieces of the meeting benchmarks: the cluster, a throw-away namespace, results.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, watchUntil, type Cluster } from '@kdev/core';
import type { V1Namespace } from '@kubernetes/client-node';

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

export async function scale(cluster: Cluster, name: string, replicas: number): Promise<void> {
  await cluster.apps.replaceNamespacedDeploymentScale({ name, namespace: cluster.namespace, body: { metadata: { name, namespace: cluster.namespace }, spec: { replicas } } });
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

// Shared helpers of the e2e tests: the cluster under test and throw-away namespaces.
import { randomBytes } from 'node:crypto';
import { connect, watchUntil, type Cluster } from '@kdev/core/internals';
import type { KubernetesObject, V1Namespace, V1Pod } from '@kubernetes/client-node';

export function testKubeconfig(): string {
  const path = process.env.KDEV_TEST_KUBECONFIG;
  if (!path) throw new Error('KDEV_TEST_KUBECONFIG is not set: run the e2e tests with `npm test`');
  return path;
}

export function testCluster(namespace = 'default'): Cluster {
  return connect({ kubeconfig: testKubeconfig(), namespace });
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

/** Does the namespace exist (environments: was nothing left behind)? */
export async function namespaceExists(name: string): Promise<boolean> {
  try {
    await testCluster().core.readNamespace({ name });
    return true;
  } catch {
    return false;
  }
}

/** Creates a namespace for one test file; `remove` deletes it and waits until it is gone. */
export async function tempNamespace(prefix: string): Promise<{ cluster: Cluster; name: string; remove: () => Promise<void> }> {
  const name = uniqueName(prefix);
  const admin = testCluster();
  await admin.core.createNamespace({ body: { metadata: { name, labels: { 'kdev.dev/test': 'true' } } } });
  return {
    cluster: admin.inNamespace(name),
    name,
    remove: async () => {
      await admin.core.deleteNamespace({ name }).catch(() => undefined);
      let current: V1Namespace;
      try {
        current = await admin.core.readNamespace({ name });
      } catch {
        return; // already gone
      }
      await watchUntil<V1Namespace, true>(admin, {
        resource: { apiVersion: 'v1', plural: 'namespaces' },
        fieldSelector: `metadata.name=${name}`,
        resourceVersion: current.metadata?.resourceVersion,
        timeoutMs: 120_000,
        what: `namespace ${name} to be deleted`,
        onEvent: (type) => (type === 'DELETED' ? { done: true, value: true } : { done: false }),
      });
    },
  };
}

/** Waits by watch for the first pod matching a selector to be Ready; returns it. */
export function waitPodReady(cluster: Cluster, labelSelector: string, timeoutMs = 120_000): Promise<V1Pod> {
  return watchUntil<V1Pod, V1Pod>(cluster, {
    resource: { apiVersion: 'v1', plural: 'pods', namespace: cluster.namespace },
    labelSelector,
    timeoutMs,
    what: `a pod with ${labelSelector} to become Ready`,
    onEvent: (type, pod) => {
      const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      return type !== 'DELETED' && ready && !pod.metadata?.deletionTimestamp ? { done: true, value: pod } : { done: false };
    },
  });
}

/**
 * A one-replica Deployment on the local Node image, labelled app=<name>, for e2e tests:
 * `code` is what `node -e` runs (default: idle); `readyOnPort` adds a TCP readiness probe.
 */
export function nodeDeployment(
  namespace: string,
  name: string,
  opts: { container?: string; code?: string; readyOnPort?: number } = {},
): KubernetesObject {
  const container = {
    name: opts.container ?? name,
    image: 'kdev.local/node:18',
    imagePullPolicy: 'IfNotPresent',
    command: ['node', '-e', opts.code ?? 'setInterval(() => {}, 1e9)'],
    ...(opts.readyOnPort ? { readinessProbe: { tcpSocket: { port: opts.readyOnPort }, periodSeconds: 1 } } : {}),
  };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { terminationGracePeriodSeconds: 1, containers: [container] } },
    },
  } as KubernetesObject;
}

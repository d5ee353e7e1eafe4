// Shared helpers of the suite: the test cluster, throw-away namespaces, and waiting for the
// tree by its change events (the tree itself is fed by watches).
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { connect, watchUntil, type Cluster } from '@kdev/core/internals';
import type { V1Container, V1Deployment, V1Namespace } from '@kubernetes/client-node';
import type { KdevTreeProvider, Node } from '../../tree.js';

export function testKubeconfig(): string {
  const path = process.env.KDEV_TEST_KUBECONFIG;
  if (!path) throw new Error('KDEV_TEST_KUBECONFIG is not set: run the suite with `npm run test:extension`');
  return path;
}

/**
 * A Deployment of one container whose pods are labelled and selected by app=<name>;
 * `over` gives the Deployment its replicas (default 1), labels and annotations.
 */
export function deploymentOf(
  name: string,
  container: V1Container,
  over: { replicas?: number; labels?: Record<string, string>; annotations?: Record<string, string> } = {},
): V1Deployment {
  return {
    metadata: { name, ...(over.labels ? { labels: over.labels } : {}), ...(over.annotations ? { annotations: over.annotations } : {}) },
    spec: {
      replicas: over.replicas ?? 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { terminationGracePeriodSeconds: 1, containers: [container] } },
    },
  };
}

export function admin(namespace = 'default'): Cluster {
  return connect({ kubeconfig: testKubeconfig(), namespace });
}

export async function tempNamespace(prefix: string): Promise<{ cluster: Cluster; name: string; remove: () => Promise<void> }> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  const a = admin();
  await a.core.createNamespace({ body: { metadata: { name, labels: { 'kdev.dev/test': 'true' } } } });
  return {
    cluster: a.inNamespace(name),
    name,
    remove: async () => {
      await a.core.deleteNamespace({ name }).catch(() => undefined);
      let current: V1Namespace;
      try {
        current = await a.core.readNamespace({ name });
      } catch {
        return;
      }
      await watchUntil<V1Namespace, true>(a, {
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

/**
 * Evaluates `probe` now and after each change the tree announces, until it returns a value.
 * The tree announces changes when its watches see the cluster change: no polling here either.
 */
export function untilTree<T>(tree: KdevTreeProvider, probe: () => Promise<T | undefined>, what: string, timeoutMs = 90_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let last = '';
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sub.dispose();
      fn();
    };
    const check = () => {
      probe().then(
        (v) => {
          if (v !== undefined) finish(() => resolve(v));
        },
        (err: unknown) => (last = String(err)),
      );
    };
    const timer = setTimeout(() => finish(() => reject(new Error(`timed out waiting for the tree to show ${what}${last ? ` (${last})` : ''}`))), timeoutMs);
    const sub = tree.onDidChangeTreeData(check);
    check();
  });
}

export function label(tree: KdevTreeProvider, n: Node): string {
  const l = tree.getTreeItem(n).label;
  return typeof l === 'string' ? l : (l?.label ?? '');
}

/** The child of `parent` (the roots when undefined) with this label. */
export async function child(tree: KdevTreeProvider, parent: Node | undefined, name: string): Promise<Node | undefined> {
  const children = await tree.getChildren(parent);
  return children.find((c) => label(tree, c) === name);
}

/** Follows a path of labels from the roots. */
export async function path(tree: KdevTreeProvider, ...names: string[]): Promise<Node | undefined> {
  let node: Node | undefined;
  for (const name of names) {
    node = await child(tree, node, name);
    if (!node) return undefined;
  }
  return node;
}

/** GET http://127.0.0.1:port/ → the body. */
export function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

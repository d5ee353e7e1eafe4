// The Kubernetes objects of a routed workload, besides the Services kdev switches: the
// router's code (one ConfigMap per namespace, like the sync sidecar's), its table (one
// ConfigMap per workload), the router Deployment, the "origin" Service that selects the
// original pods (the router's default upstream, kept current by Kubernetes itself), one Service
// per routed duplicate, and the fallback EndpointSlice of each switched Service.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { KdevError } from '../errors.js';
import type { Cluster } from '../kube/client.js';
import { ensureHashedConfigMap, CONTENT_HASH_ANNOTATION } from '../kube/configmap.js';
import { isNotFound, kubeError } from '../kube/errors.js';
import { raw, type ObjectPath, type RawObject } from '../kube/raw.js';
import { restrictedSecurityContext } from '../kube/security.js';
import { SIDECAR_IMAGE } from '../sync/sidecar.js';
import type { RouterPort } from './spec.js';

export const ROUTER_CONFIGMAP = 'kdev-router';
/** On the router's pods, its Deployment, the table, the origin Service and fallback slices: the workload routed. */
export const ROUTER_OF_LABEL = 'kdev.dev/router-of';
export const ROUTER_CONTAINER = 'kdev-router';
export const TABLE_KEY = 'table.json';
export const ROUTES_KEY = 'routes.json';
const TABLE_DIR = '/kdev/table';
const MANAGED = { 'app.kubernetes.io/managed-by': 'kdev' };

export const svcPath = (namespace: string, name?: string): ObjectPath => ({ apiVersion: 'v1', plural: 'services', namespace, name });
export const cmPath = (namespace: string, name?: string): ObjectPath => ({ apiVersion: 'v1', plural: 'configmaps', namespace, name });
export const deployPath = (namespace: string, name?: string): ObjectPath => ({ apiVersion: 'apps/v1', plural: 'deployments', namespace, name });
export const slicePath = (namespace: string, name?: string): ObjectPath => ({ apiVersion: 'discovery.k8s.io/v1', plural: 'endpointslices', namespace, name });

let bundleCache: { code: string; hash: string } | undefined;

/** The router's bundled code (router/dist/router.bundle.cjs) and its hash. */
export function routerBundle(): { code: string; hash: string } {
  if (bundleCache) return bundleCache;
  let code: string;
  try {
    code = readFileSync(createRequire(import.meta.url).resolve('@kdev/router/router.bundle.cjs'), 'utf8');
  } catch (e) {
    throw new KdevError('FAILED', `the router bundle is missing: ${e instanceof Error ? e.message : String(e)}`, 'Run `npm run build` (it bundles router/).');
  }
  bundleCache = { code, hash: createHash('sha256').update(code).digest('hex').slice(0, 16) };
  return bundleCache;
}

export async function ensureRouterCode(cluster: Cluster, namespace: string): Promise<string> {
  const { code, hash } = routerBundle();
  const body: V1ConfigMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: ROUTER_CONFIGMAP, labels: MANAGED, annotations: { [CONTENT_HASH_ANNOTATION]: hash } }, data: { 'router.js': code } };
  await ensureHashedConfigMap(cluster, namespace, body);
  return hash;
}

/** Creates the object unless it exists (kdev's own objects: an existing one is the one made before a crash). */
export async function createIfMissing(cluster: Cluster, path: ObjectPath, body: RawObject): Promise<RawObject> {
  const name = body.metadata!.name!;
  try {
    return await raw.create(cluster, path, body);
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw kubeError(err, `creating ${path.plural}/${name}`, cluster.server);
    return raw.get(cluster, { ...path, name }).catch((e: unknown) => {
      throw kubeError(e, `reading ${path.plural}/${name}`, cluster.server);
    });
  }
}

export async function deleteIfPresent(cluster: Cluster, path: ObjectPath, what: string): Promise<boolean> {
  try {
    await raw.delete(cluster, path, { propagationPolicy: 'Background' });
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw kubeError(err, `deleting ${what}`, cluster.server);
  }
}

/** A ClusterIP Service of kdev's over the pods of `selector`, one port per router port. */
export function serviceBody(name: string, namespace: string, selector: Record<string, string>, ports: RouterPort[], routerOf: string): RawObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels: { ...MANAGED, [ROUTER_OF_LABEL]: routerOf } },
    spec: { selector, ports: ports.map((p) => ({ name: `p${p.port}`, port: p.port, targetPort: p.port, protocol: 'TCP' })) },
  };
}

/** The router: one pod on the stock Node image; code and table from ConfigMaps; Ready once it listens. */
export function routerDeployment(name: string, namespace: string, table: string, routerOf: string, ports: RouterPort[], codeHash: string): RawObject {
  const labels = { [ROUTER_OF_LABEL]: routerOf };
  const containerPorts = ports.map((p) => ({ containerPort: p.port, protocol: 'TCP', ...(p.names[0] ? { name: p.names[0] } : {}) }));
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels: { ...MANAGED, ...labels } },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels, annotations: { 'kdev.dev/router-hash': codeHash } },
        spec: {
          terminationGracePeriodSeconds: 5,
          enableServiceLinks: false,
          automountServiceAccountToken: false,
          containers: [
            {
              name: ROUTER_CONTAINER,
              image: SIDECAR_IMAGE,
              imagePullPolicy: 'IfNotPresent',
              command: ['node', '--max-old-space-size=96', '/kdev/router/router.js', `${TABLE_DIR}/${TABLE_KEY}`],
              env: [{ name: 'KDEV_ROUTER_POLL_MS', value: '500' }],
              ports: containerPorts,
              readinessProbe: { tcpSocket: { port: ports[0]!.port }, periodSeconds: 1, failureThreshold: 1 },
              // a router pod being deleted keeps serving while its endpoint is taken out of the Services
              lifecycle: { preStop: { exec: { command: ['sleep', '3'] } } },
              volumeMounts: [
                { name: 'code', mountPath: '/kdev/router', readOnly: true },
                { name: 'table', mountPath: TABLE_DIR, readOnly: true },
              ],
              securityContext: restrictedSecurityContext(),
              resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '160Mi' } },
            },
          ],
          volumes: [
            { name: 'code', configMap: { name: ROUTER_CONFIGMAP, defaultMode: 0o444 } },
            { name: 'table', configMap: { name: table, defaultMode: 0o444 } },
          ],
        },
      },
    },
  };
}

export interface PodAddress {
  ip: string;
  node?: string;
  pod: string;
}

/**
 * The fallback EndpointSlice of a switched Service: the original pods, marked serving and
 * terminating, not ready. kube-proxy sends a Service's traffic to such endpoints only when
 * none is ready, that is when no router pod is Ready: then requests reach the original pods
 * directly (fail open), without any kdev process involved.
 */
export function fallbackSlice(name: string, namespace: string, service: string, servicePorts: Array<{ name?: string; target: number }>, pods: PodAddress[], routerOf: string): RawObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name,
      namespace,
      labels: { ...MANAGED, [ROUTER_OF_LABEL]: routerOf, 'kubernetes.io/service-name': service, 'endpointslice.kubernetes.io/managed-by': 'kdev.dev' },
    },
    addressType: 'IPv4',
    ports: servicePorts.map((p) => ({ name: p.name ?? '', port: p.target, protocol: 'TCP' })),
    endpoints: pods.map((p) => ({
      addresses: [p.ip],
      conditions: { ready: false, serving: true, terminating: true },
      ...(p.node ? { nodeName: p.node } : {}),
      targetRef: { kind: 'Pod', name: p.pod, namespace },
    })),
  } as unknown as RawObject;
}

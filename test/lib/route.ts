// Helpers of the routed-duplicate e2e tests (test/e2e/route-*.test.ts): a Deployment that
// answers with its pod's name behind a Service, a server started in a duplicate's dev
// container, the rights a routed duplicate needs, and a bounded load through a Service.
import assert from 'node:assert/strict';
import http from 'node:http';
import { execCapture, raw, type Cluster, type RawObject } from '@kdev/core/internals';
import type { KubernetesObject, V1PolicyRule } from '@kubernetes/client-node';
import { DEV_RULES } from './identity.js';

/**
 * Answers every request with the pod's name (its hostname); an Upgrade request gets 101,
 * then the pod's name and a newline, then its own bytes echoed back.
 */
export const NAME_SERVER = [
  "const h=require('os').hostname();",
  "const srv=require('http').createServer((q,s)=>{s.setHeader('x-pod',h);s.end(h)});",
  "srv.on('upgrade',(q,sock)=>{sock.write('HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: '+q.headers.upgrade+'\\r\\nConnection: Upgrade\\r\\n\\r\\n'+h+'\\n');sock.pipe(sock)});",
  'srv.listen(8080)',
].join('');

/** A Deployment of `replicas` pods answering with their name on port 8080 ("http"), and its Service on port 80. */
export function namedWeb(namespace: string, name: string, replicas = 2): KubernetesObject[] {
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace },
      spec: {
        replicas,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [
              {
                name: 'web',
                image: 'kdev.local/node:18',
                imagePullPolicy: 'IfNotPresent',
                command: ['node', '-e', NAME_SERVER],
                ports: [{ name: 'http', containerPort: 8080 }],
                readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
              },
            ],
          },
        },
      },
    } as KubernetesObject,
    { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } } as KubernetesObject,
  ];
}

/** A developer's rights for a routed duplicate: dev mode's, plus Services and EndpointSlices. */
export const ROUTE_RULES: V1PolicyRule[] = [
  ...DEV_RULES,
  { apiGroups: [''], resources: ['services'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch', 'create', 'update', 'delete'] },
  // dev status lists every kind of workload
  { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: ['get', 'list', 'watch'] },
];

/** Starts NAME_SERVER in the background in a dev container (a duplicate's dev container runs nothing of its own). */
export async function serveInDevPod(cluster: Cluster, pod: string, container = 'web'): Promise<void> {
  const r = await execCapture(cluster, pod, container, ['sh', '-c', 'nohup node -e "$0" >/tmp/server.log 2>&1 &', NAME_SERVER]);
  if (r.exitCode !== 0) throw new Error(`starting the server in ${pod}: ${r.stderr}`);
  for (let i = 0; i < 50; i++) {
    const probe = await execCapture(cluster, pod, container, ['node', '-e', "require('http').get('http://127.0.0.1:8080',r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"]);
    if (probe.exitCode === 0) return;
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error(`the server in ${pod} did not answer`);
}

export interface LoadResult {
  /** Answering pod → count. */
  byPod: Map<string, number>;
  failures: string[];
  /** When each failure happened, and each answer came (Date.now()). */
  failedAt: number[];
  answeredAt: number[];
  /** Requests sent again once after their keep-alive connection was reset. */
  retried: number;
}

/**
 * `count` GETs to `url` with `headers`, `concurrency` at a time on keep-alive connections.
 * A request whose keep-alive connection was reset before any answer is sent again (twice at
 * most, as HTTP clients do for an idempotent request): counted in `retried`.
 */
export async function load(url: string, count: number, opts: { headers?: Record<string, string>; concurrency?: number; timeoutMs?: number; /** stop sending after this long (count still bounds it) */ forMs?: number } = {}): Promise<LoadResult> {
  const until = opts.forMs === undefined ? Infinity : Date.now() + opts.forMs;
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency ?? 8 });
  const result: LoadResult = { byPod: new Map(), failures: [], failedAt: [], answeredAt: [], retried: 0 };
  const once = () =>
    new Promise<string>((resolve, reject) => {
      const req = http.get(url, { agent, headers: opts.headers, timeout: opts.timeoutMs ?? 5000 }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}: ${body}`))));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
    });
  let next = 0;
  const worker = async () => {
    while (next < count && Date.now() < until) {
      next++;
      try {
        let pod: string;
        try {
          pod = await once();
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== 'ECONNRESET' && !/socket hang up/.test((err as Error).message)) throw err;
          result.retried++;
          // the pool may hold more connections to the same closing peer: once more at most
          pod = await once().catch((again: unknown) => {
            if ((again as NodeJS.ErrnoException).code !== 'ECONNRESET' && !/socket hang up/.test((again as Error).message)) throw again;
            result.retried++;
            return once();
          });
        }
        result.byPod.set(pod, (result.byPod.get(pod) ?? 0) + 1);
        result.answeredAt.push(Date.now());
      } catch (err) {
        result.failures.push((err as Error).message);
        result.failedAt.push(Date.now());
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 8 }, worker));
  agent.destroy();
  return result;
}

/** The pods of a selector, by name: uid and restart count. */
export async function podIdentities(cluster: Cluster, selector: string): Promise<Map<string, string>> {
  const pods = await raw.list(cluster, { apiVersion: 'v1', plural: 'pods', namespace: cluster.namespace }, selector);
  return new Map(
    pods.items.map((p: RawObject) => {
      const restarts = ((p.status?.containerStatuses as Array<{ restartCount: number }> | undefined) ?? []).map((c) => c.restartCount).join(',');
      return [p.metadata!.name!, `${p.metadata!.uid} restarts=${restarts}`];
    }),
  );
}

/** What kdev's routing leaves in a namespace (nothing, once the last route ended). */
export async function routingLeftovers(cluster: Cluster): Promise<string[]> {
  const ns = cluster.namespace;
  const sel = 'kdev.dev/router-of';
  const found: string[] = [];
  for (const [apiVersion, plural] of [['v1', 'services'], ['v1', 'configmaps'], ['apps/v1', 'deployments'], ['discovery.k8s.io/v1', 'endpointslices']] as const) {
    const list = await raw.list(cluster, { apiVersion, plural, namespace: ns }, sel);
    for (const o of list.items) found.push(`${plural}/${o.metadata!.name}`);
  }
  const svcs = await raw.list(cluster, { apiVersion: 'v1', plural: 'services', namespace: ns });
  for (const s of svcs.items) if (s.metadata?.annotations?.['kdev.dev/route-original']) found.push(`switched service/${s.metadata.name}`);
  return found;
}

/**
 * An HTTP Upgrade (the WebSocket handshake) through `url` with `headers`: resolves with the
 * pod that answered and whether bytes sent after the upgrade came back through the pipe.
 */
export function upgradeThrough(url: string, headers: Record<string, string> = {}): Promise<{ pod: string; echoed: boolean }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { headers: { ...headers, Connection: 'Upgrade', Upgrade: 'websocket' }, timeout: 5000 });
    req.on('upgrade', (_res, socket, head) => {
      let data = head.toString();
      let pod: string | undefined;
      const check = () => {
        if (pod === undefined && data.includes('\n')) {
          pod = data.slice(0, data.indexOf('\n'));
          data = data.slice(pod.length + 1);
          socket.write('ping-1234');
        }
        if (pod !== undefined && data.length >= 9) {
          socket.destroy();
          resolve({ pod, echoed: data === 'ping-1234' });
        }
      };
      socket.on('data', (d: Buffer) => {
        data += d.toString();
        check();
      });
      check();
    });
    req.on('response', (res) => reject(new Error(`no upgrade: HTTP ${res.statusCode}`)));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/**
 * After the last route's end: the Service's spec and annotations are as before the first
 * start, no routing object of kdev is left, the original pods kept their uid and restarts.
 */
export async function assertRoutingUndone(cluster: Cluster, service: RawObject, podSelector: string, originalPods: Map<string, string>): Promise<void> {
  const svc = await raw.get(cluster, { apiVersion: 'v1', plural: 'services', namespace: cluster.namespace, name: service.metadata!.name! });
  assert.deepEqual(svc.spec, service.spec, 'spec restored exactly');
  assert.deepEqual(svc.metadata!.annotations, service.metadata!.annotations);
  assert.deepEqual(await routingLeftovers(cluster), []);
  assert.deepEqual(await podIdentities(cluster, podSelector), originalPods, 'the original pods: same uid, no restart');
}

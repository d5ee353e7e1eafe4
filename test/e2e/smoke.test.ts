// The local cluster works end to end: scheduling, images, exec, port-forward, logs,
// Services through kube-proxy, and cluster DNS — all through @kubernetes/client-node.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { get } from 'node:http';
import { execCapture, forwardPort, watchUntil, type Cluster } from '@kdev/core/internals';
import type { V1Pod } from '@kubernetes/client-node';
import { tempNamespace, waitPodReady } from '../lib/cluster.js';

const NODE_IMAGE = 'kdev.local/node:18';
const SERVER = `require('http').createServer((q, r) => { console.log('request ' + q.url); r.end('hello from ' + require('os').hostname()); }).listen(8080, () => console.log('listening'));`;

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

describe('local cluster smoke test', () => {
  let ns: Awaited<ReturnType<typeof tempNamespace>>;
  let cluster: Cluster;
  let pod: V1Pod;

  before(async () => {
    ns = await tempNamespace('kdev-smoke');
    cluster = ns.cluster;
  });
  after(async () => {
    await ns?.remove();
  });

  it('runs a Deployment on the local Node image and reports it Ready (by watch)', async () => {
    await cluster.apps.createNamespacedDeployment({
      namespace: ns.name,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: {
              terminationGracePeriodSeconds: 1,
              containers: [
                {
                  name: 'web',
                  image: NODE_IMAGE,
                  imagePullPolicy: 'IfNotPresent',
                  command: ['node', '-e', SERVER],
                  ports: [{ containerPort: 8080 }],
                  readinessProbe: { httpGet: { path: '/ready', port: 8080 }, periodSeconds: 1 },
                },
              ],
            },
          },
        },
      },
    });
    await cluster.core.createNamespacedService({
      namespace: ns.name,
      body: { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } },
    });
    pod = await waitPodReady(cluster, 'app=web');
    assert.equal(pod.spec?.containers[0]?.image, NODE_IMAGE);
    assert.match(pod.status?.podIP ?? '', /^10\.88\./);
  });

  it('execs a command in the pod and returns its output and exit code', async () => {
    const name = pod.metadata!.name!;
    const ok = await execCapture(cluster, name, 'web', ['node', '-e', 'console.log(6 * 7)']);
    assert.deepEqual([ok.stdout.trim(), ok.exitCode], ['42', 0]);
    const failed = await execCapture(cluster, name, 'web', ['sh', '-c', 'echo oops >&2; exit 3']);
    assert.deepEqual([failed.stderr.trim(), failed.exitCode], ['oops', 3]);
  });

  it('port-forwards to the pod and gets an HTTP answer', async () => {
    const fwd = await forwardPort(cluster, pod.metadata!.name!, 8080);
    try {
      const body = await httpGet(`http://127.0.0.1:${fwd.localPort}/via-port-forward`);
      assert.equal(body, `hello from ${pod.metadata!.name}`);
    } finally {
      await fwd.close();
    }
  });

  it("reads the pod's logs", async () => {
    const log = await cluster.core.readNamespacedPodLog({ name: pod.metadata!.name!, namespace: ns.name, container: 'web' });
    assert.match(log, /listening/);
    assert.match(log, /request \/via-port-forward/);
  });

  it('resolves the Service by DNS from another pod and reaches it through kube-proxy', async () => {
    const fqdn = `web.${ns.name}.svc.cluster.local`;
    const script = `
      require('dns').lookup('${fqdn}', (err, addr) => {
        if (err) { console.log('dns error ' + err.code); process.exit(2); }
        console.log('resolved ' + addr);
        require('http').get('http://${fqdn}/via-service', (res) => {
          let b = ''; res.on('data', (d) => (b += d)); res.on('end', () => { console.log('answer ' + b); process.exit(0); });
        }).on('error', (e) => { console.log('http error ' + e.code); process.exit(3); });
      });`;
    await cluster.core.createNamespacedPod({
      namespace: ns.name,
      body: {
        metadata: { name: 'client' },
        spec: { restartPolicy: 'Never', terminationGracePeriodSeconds: 1, containers: [{ name: 'client', image: NODE_IMAGE, imagePullPolicy: 'IfNotPresent', command: ['node', '-e', script] }] },
      },
    });
    const phase = await watchUntil<V1Pod, string>(cluster, {
      resource: { apiVersion: 'v1', plural: 'pods', namespace: ns.name },
      fieldSelector: 'metadata.name=client',
      timeoutMs: 60_000,
      what: 'the DNS client pod to finish',
      onEvent: (_t, p) => (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed' ? { done: true, value: p.status.phase } : { done: false }),
    });
    const log = await cluster.core.readNamespacedPodLog({ name: 'client', namespace: ns.name });
    const service = await cluster.core.readNamespacedService({ name: 'web', namespace: ns.name });
    assert.equal(phase, 'Succeeded', log);
    assert.match(log, new RegExp(`resolved ${service.spec!.clusterIP!.replace(/\./g, '\\.')}`));
    assert.match(log, /answer hello from web-/);
  });
});

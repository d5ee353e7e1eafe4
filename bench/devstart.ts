// npm run bench:devstart — time from `dev start` to a shell answering in the dev container,
// against the baseline of changing the image and waiting for the rollout (what
// `kubectl set image` + `kubectl rollout status` do), on the same Deployment. 10 runs each,
// alternating. Writes bench/results/devstart.json.
import { endDevMode, execCapture, startDevMode, watchUntil, type Cluster } from '@kdev/core/internals';
import type { V1Pod } from '@kubernetes/client-node';
import { tempNamespace } from '@kdev/test/lib/cluster.js';
import { useBenchCluster } from './lib/cluster.js';
import { percentile, writeResult } from './lib/stats.js';

const RUNS = Number(process.env.RUNS ?? 10);
const ORIGINAL = 'kdev.local/node:18';
const DEV = 'kdev.local/dev-node:18';

async function shellAnswers(cluster: Cluster, pod: string, container: string): Promise<void> {
  const r = await execCapture(cluster, pod, container, ['sh', '-c', 'echo ok']);
  if (r.stdout.trim() !== 'ok') throw new Error(`shell in ${pod} did not answer: ${r.stderr}`);
}

/** Baseline: set the image, wait by watch for a Ready pod running it, exec a shell. */
async function baseline(cluster: Cluster, image: string): Promise<number> {
  const t0 = performance.now();
  await cluster.apps.patchNamespacedDeployment(
    { name: 'web', namespace: cluster.namespace, body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: image }] },
  );
  const pod = await watchUntil<V1Pod, string>(cluster, {
    resource: { apiVersion: 'v1', plural: 'pods', namespace: cluster.namespace },
    labelSelector: 'app=web',
    timeoutMs: 120_000,
    what: 'the new pod',
    onEvent: (type, p) =>
      type !== 'DELETED' && !p.metadata?.deletionTimestamp && p.spec?.containers[0]?.image === image && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
        ? { done: true, value: p.metadata!.name! }
        : { done: false },
  });
  await shellAnswers(cluster, pod, 'web');
  return performance.now() - t0;
}

async function main(): Promise<void> {
  await useBenchCluster();
  const ns = await tempNamespace('kdev-bench-devstart');
  const cluster = ns.cluster;
  try {
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
              containers: [{ name: 'web', image: ORIGINAL, imagePullPolicy: 'IfNotPresent', command: ['node', '-e', "require('http').createServer((q,r)=>r.end('ok')).listen(8080)"], readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 } }],
            },
          },
        },
      },
    });
    const kdev: number[] = [];
    const base: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      const session = await startDevMode(cluster, { workload: 'deployment/web', image: DEV, workDir: '/app' });
      await shellAnswers(cluster, session.pod, session.container);
      kdev.push(performance.now() - t0);
      await endDevMode(cluster, { workload: 'deployment/web' });

      base.push(await baseline(cluster, DEV));
      await baseline(cluster, ORIGINAL); // back, untimed
      process.stderr.write(`run ${i + 1}/${RUNS}: kdev ${kdev.at(-1)!.toFixed(0)} ms, baseline ${base.at(-1)!.toFixed(0)} ms\n`);
    }
    const result = {
      runs: RUNS,
      p50_ms: Math.round(percentile(kdev, 50)),
      p95_ms: Math.round(percentile(kdev, 95)),
      baseline_p50_ms: Math.round(percentile(base, 50)),
      ratio: Number((percentile(kdev, 50) / percentile(base, 50)).toFixed(2)),
      samples_ms: { kdev: kdev.map(Math.round), baseline: base.map(Math.round) },
    };
    console.log(JSON.stringify(result, null, 2));
    console.log(`written to ${writeResult('devstart', result)}`);
  } finally {
    await ns.remove();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

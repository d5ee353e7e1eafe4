// `npm run bench:route`: what kdev's router adds to a request through a Service on the local
// cluster (bench/results/route.json). A two-replica Deployment answers with its pod's name
// behind Service `web`; a routed duplicate makes kdev switch `web` to its router; a second
// Service `web-direct`, made after the switch, selects the same pods directly. Rounds
// alternate web-direct (client → kube-proxy → pod) and web (client → kube-proxy → router →
// kube-proxy → pod), REQUESTS keep-alive requests without the route header at CONCURRENCY
// each, from the host to the cluster IPs. Every round is kept with the load; the summary is
// the median over round pairs.
import { cpus, loadavg } from 'node:os';
import { applyAll, endDevMode, raw, startDevMode } from '@kdev/core/internals';
import { tempNamespace, waitPodReady } from '@kdev/test/lib/cluster.js';
import { load, namedWeb } from '@kdev/test/lib/route.js';
import { writeResult } from './lib/stats.js';
import { cpuIdle, round, summary, type Round } from './lib/http-rounds.js';

const ROUNDS = Number(process.env.ROUNDS ?? 6);
const REQUESTS = Number(process.env.REQUESTS ?? 2000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 8);

async function main(): Promise<void> {
  const ns = await tempNamespace('kdev-bench-route');
  const cluster = ns.cluster;
  try {
    await applyAll(cluster, namedWeb(ns.name, 'web', 2));
    await waitPodReady(cluster, 'app=web');
    await startDevMode(cluster, { workload: 'web', mode: 'duplicate', route: 'x-kdev-route=bench', sidecar: null });
    await raw.create(cluster, { apiVersion: 'v1', plural: 'services', namespace: ns.name }, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web-direct' }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } });
    const ip = async (name: string) => (await raw.get(cluster, { apiVersion: 'v1', plural: 'services', namespace: ns.name, name })).spec!.clusterIP as string;
    const hosts = { direct: await ip('web-direct'), router: await ip('web') };
    for (let i = 0; i < 60 && (await load(`http://${hosts.direct}/`, 4)).failures.length > 0; i++) await new Promise((r) => setTimeout(r, 500));
    const run = (mode: 'direct' | 'router') => round(hosts[mode], 80, REQUESTS, CONCURRENCY, () => ({}));
    await run('router'); // warm-up, not kept
    await run('direct');
    const cpu0 = cpuIdle();
    const rounds: Round[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const order = i % 2 ? (['router', 'direct'] as const) : (['direct', 'router'] as const);
      for (const mode of order) {
        const r = await run(mode);
        rounds.push({ round: i + 1, mode, ...r, loadavg_1m: Number(loadavg()[0]!.toFixed(2)) });
        console.log(`round ${i + 1} ${mode}: p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, ${r.rps} req/s (load ${loadavg()[0]!.toFixed(1)})`);
      }
    }
    const cpu1 = cpuIdle();
    const result = {
      what: 'through a Service on the local cluster from the host: web switched to the router (router → origin Service → pods) vs web-direct (pods); keep-alive HTTP/1.1, no route header, pods answer with their name',
      requests_per_round: REQUESTS, concurrency: CONCURRENCY, rounds_per_mode: ROUNDS,
      ...summary(rounds, ROUNDS),
      rounds,
      machine: { cpus: cpus().length, idle_cpu_pct: Math.round((100 * (cpu1.idle - cpu0.idle)) / (cpu1.total - cpu0.total)), loadavg_1m_end: loadavg()[0], node: process.version, note: 'single-node cluster on the same shared machine, other sessions running' },
    };
    console.log(`wrote ${writeResult('route', result)}: p50 +${result.p50_overhead_ms} ms, p99 +${result.p99_overhead_ms} ms, rps ratio ${result.rps_ratio}`);
    await endDevMode(cluster, { workload: 'web' });
  } finally {
    await ns.remove();
  }
}

await main();

// `npm run bench:route`: what kdev's router adds to a request through a Service on the local
// cluster (bench/results/route.json). A two-replica Deployment answers with its pod's name
// behind Service `web`; a routed duplicate makes kdev switch `web` to its router; a second
// Service `web-direct`, made after the switch, selects the same pods directly. Rounds
// alternate web-direct (client → kube-proxy → pod) and web (client → kube-proxy → router →
// kube-proxy → pod), REQUESTS keep-alive requests without the route header at CONCURRENCY
// each, from the host to the cluster IPs. Every round is kept with the load; the summary is
// the median over round pairs.
import { applyAll, endDevMode, raw, startDevMode } from '@kdev/core/internals';
import { tempNamespace, waitPodReady } from '@kdev/test/lib/cluster.js';
import { load, namedWeb } from '@kdev/test/lib/route.js';
import { alternate, round, writeRounds } from './lib/http-rounds.js';
import { useBenchCluster } from './lib/cluster.js';

const ROUNDS = Number(process.env.ROUNDS ?? 6);
const REQUESTS = Number(process.env.REQUESTS ?? 2000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 8);

async function main(): Promise<void> {
  await useBenchCluster();
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
    const measured = await alternate(ROUNDS, run);
    const what = 'through a Service on the local cluster from the host: web switched to the router (router → origin Service → pods) vs web-direct (pods); keep-alive HTTP/1.1, no route header, pods answer with their name';
    writeRounds('route', what, { requests: REQUESTS, concurrency: CONCURRENCY, rounds: ROUNDS }, measured, 'single-node cluster on this machine; the load of each round is kept with it');
    await endDevMode(cluster, { workload: 'web' });
  } finally {
    await ns.remove();
  }
}

await main();

// npm run bench:run — remote run: from saving a file locally to the HTTP answer of the
// Node service changing, through the real sync (sidecar batch → "synced" → the supervisor
// restarts `node server.js`) and a kdev port-forward. 50 edits (RUNS to change).
// Writes bench/results/run.json.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ForwardManager, applyAll, endDevMode, resolveDevTarget, startDevMode, startRun, stopRun } from '@kdev/core/internals';
import { tempNamespace } from '@kdev/test/lib/cluster.js';
import { save, startSync, untilBody } from '@kdev/test/lib/session.js';
import { useBenchCluster } from './lib/cluster.js';
import { percentile, writeResult } from './lib/stats.js';

const RUNS = Number(process.env.RUNS ?? 50);

const server = (v: number) => `require('http').createServer((q, r) => r.end('answer-${v}')).listen(8080, () => console.log('listening ${v}'));\n`;

async function main(): Promise<void> {
  await useBenchCluster();
  const ns = await tempNamespace('kdev-bench-run');
  const cluster = ns.cluster;
  try {
    const web: Record<string, unknown> = {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', namespace: ns.name },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'web', image: 'kdev.local/node:18', imagePullPolicy: 'IfNotPresent', command: ['node', '-e', 'setInterval(() => {}, 1e9)'] }] },
          },
        },
      };
    await applyAll(cluster, [web]);
    await startDevMode(cluster, { workload: 'web', image: 'kdev.local/dev-node:18' }); // with the sync sidecar (the default)
    const target = await resolveDevTarget(cluster, 'web');
    const local = mkdtempSync(join(tmpdir(), 'kdev-bench-run-'));
    const sync = await startSync(cluster, target, local);
    await save(sync, local, 'server.js', server(0));
    await startRun(cluster, target, { command: 'node server.js' });
    const forwards = new ForwardManager(cluster);
    const fwd = await forwards.add({ podSelector: target.podSelector }, { localPort: 0, remotePort: 8080 });
    await untilBody(fwd.localPort, (b) => b === 'answer-0', 30_000);

    const total: number[] = [];
    const synced: number[] = [];
    for (let i = 1; i <= RUNS; i++) {
      let syncedAt = 0;
      const wall0 = Date.now();
      const t0 = performance.now();
      const onIdle = ({ lastSyncAt }: { lastSyncAt: Date }) => {
        if (!syncedAt && lastSyncAt.getTime() >= wall0) syncedAt = performance.now();
      };
      sync.on('idle', onIdle);
      writeFileSync(join(local, 'server.js'), server(i));
      await untilBody(fwd.localPort, (b) => b === `answer-${i}`, 20_000);
      const ms = performance.now() - t0;
      sync.off('idle', onIdle);
      total.push(ms);
      if (syncedAt) synced.push(syncedAt - t0);
      process.stdout.write(`edit ${i}: ${ms.toFixed(0)} ms (synced after ${syncedAt ? (syncedAt - t0).toFixed(0) : '?'} ms)\n`);
      await new Promise((r) => setTimeout(r, 150));
    }
    await stopRun(cluster, target);
    await forwards.stopAll();
    await sync.stop();
    await endDevMode(cluster, { workload: 'web' });

    const result = {
      p50_ms: Math.round(percentile(total, 50)),
      p95_ms: Math.round(percentile(total, 95)),
      max_ms: Math.round(Math.max(...total)),
      edits: RUNS,
      sync_applied_p50_ms: synced.length ? Math.round(percentile(synced, 50)) : null,
      target_p50_ms: 1500,
      delivery: 'real sync: SyncSession (chokidar) → sync sidecar applies the batch → writes "synced" to the supervisor FIFO → restart of node server.js',
      measured: 'local writeFileSync → first HTTP GET through a kdev port-forward answering with the new code (GETs repeat every ~20 ms; one sent during the restart waits in the forward)',
      service: 'node:18 http server (kdev.local/dev-node:18)',
      date: new Date().toISOString(),
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\nwrote ${writeResult('run', result)}\n`);
  } finally {
    await ns.remove();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

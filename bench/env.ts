// npm run bench:env — environments on the local cluster:
//   1. create → all Ready for the 8-workload template (test/fixtures/templates/bench8),
//      5 runs one after another (each deleted before the next; deletion not timed);
//   2. 10 environments from the hello template created at once;
//   3. create → all Ready for the meeting system from its Helm chart (templates/meeting/chart,
//      rendered by the helm on PATH: `npm run cluster:tools` builds one), 3 runs.
// Writes bench/results/env.json { create_ready_p50_ms, chart_create_ready_p50_ms, concurrent: { ok, total_ms }, ... }.
// Bounded: every create has per-workload timeouts and the whole run a deadline; whatever
// it created is deleted, also on failure or Ctrl-C.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { delimiter } from 'node:path';
import { loadavg } from 'node:os';
import { buildRenderTools } from '@kdev/test/cluster/build.js';
import { chartTemplate, connect, createEnvironment, DEFAULT_SETTLE_SECONDS, deleteEnvironment, listNodes, type Cluster } from '@kdev/core/internals';

const HERE = dirname(fileURLToPath(import.meta.url)); // bench/dist
const ROOT = join(HERE, '..', '..');
const RUNS = 5;
const CONCURRENT = 10;
const CHART_RUNS = 3;
const DEADLINE_MS = 15 * 60_000;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = (sorted.length - 1) * p;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return Math.round(sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (i - lo));
}

async function main(): Promise<void> {
  const kubeconfig = process.env.KDEV_BENCH_KUBECONFIG ?? join(ROOT, 'test', 'cluster', '.state', 'kubeconfig');
  const cluster: Cluster = connect({ kubeconfig });
  const nodes = await listNodes(cluster);
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), DEADLINE_MS);
  const onSigint = () => deadline.abort();
  process.on('SIGINT', onSigint);
  const tag = randomBytes(2).toString('hex');
  const alive = new Set<string>();
  const bench8 = join(ROOT, 'test', 'fixtures', 'templates', 'bench8');

  const cleanup = async () => {
    await Promise.allSettled([...alive].map((n) => deleteEnvironment(cluster, n, { wait: true }).then(() => alive.delete(n))));
  };

  try {
    // 1. Sequential creates of the 8-workload template.
    const runs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const name = `bench-env-${tag}-${i}`;
      alive.add(name);
      const t0 = performance.now();
      const result = await createEnvironment(cluster, { name, template: bench8, ttl: '30m', wait: true, signal: deadline.signal });
      const ms = Math.round(performance.now() - t0);
      runs.push(ms);
      console.log(`run ${i + 1}/${RUNS}: ${result.info.workloads.length} workloads Ready in ${ms} ms`);
      await deleteEnvironment(cluster, name, { wait: true });
      alive.delete(name);
    }
    const sorted = [...runs].sort((a, b) => a - b);

    // 2. Concurrent creates of the hello template.
    const names = Array.from({ length: CONCURRENT }, (_, i) => `bench-par-${tag}-${i}`);
    names.forEach((n) => alive.add(n));
    const t0 = performance.now();
    const settled = await Promise.allSettled(
      names.map(async (name) => {
        const s = performance.now();
        await createEnvironment(cluster, { name, template: 'hello', ttl: '30m', wait: true, signal: deadline.signal });
        return Math.round(performance.now() - s);
      }),
    );
    const totalMs = Math.round(performance.now() - t0);
    const ok = settled.filter((s) => s.status === 'fulfilled').length;
    const each = settled.map((s) => (s.status === 'fulfilled' ? s.value : null));
    const errors = settled.flatMap((s) => (s.status === 'rejected' ? [String((s.reason as Error).message).split('\n')[0]] : []));
    console.log(`concurrent: ${ok}/${CONCURRENT} Ready in ${totalMs} ms`);
    for (const e of errors) console.log(`  failed: ${e}`);
    const tDel = performance.now();
    await cleanup();
    const deleteMs = Math.round(performance.now() - tDel);

    // 3. Sequential creates of the meeting system from its own chart, rendered by the
    //    helm the cluster's toolchain builds (cached after the first build).
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    const toolDirs = await buildRenderTools(join(ROOT, 'bench', 'results', 'render-tools.log.tmp'));
    process.env.PATH = [...toolDirs, process.env.PATH ?? ''].join(delimiter);
    const meeting = chartTemplate(join(ROOT, 'templates', 'meeting', 'chart'));
    const chartRuns: number[] = [];
    for (let i = 0; i < CHART_RUNS; i++) {
      const name = `bench-chart-${tag}-${i}`;
      alive.add(name);
      const t1 = performance.now();
      const result = await createEnvironment(cluster, { name, template: meeting, ttl: '30m', wait: true, signal: deadline.signal });
      chartRuns.push(Math.round(performance.now() - t1));
      console.log(`meeting chart run ${i + 1}/${CHART_RUNS}: ${result.info.workloads.length} workloads Ready in ${chartRuns[i]} ms (load ${loadavg()[0]!.toFixed(1)})`);
      await deleteEnvironment(cluster, name, { wait: true });
      alive.delete(name);
    }
    const chartSorted = [...chartRuns].sort((a, b) => a - b);

    const out = {
      create_ready_p50_ms: percentile(sorted, 0.5),
      chart_create_ready_p50_ms: percentile(chartSorted, 0.5),
      concurrent: { ok, total_ms: totalMs },
      details: {
        when: new Date().toISOString(),
        cluster: nodes.map((n) => `${n.name} ${n.version} ${n.runtime}`),
        sequential: { template: 'test/fixtures/templates/bench8 (8 workloads: StatefulSet, Job, 6 Deployments; 5 dependency levels)', runs_ms: runs, min_ms: sorted[0], max_ms: sorted[sorted.length - 1] },
        concurrent: { template: 'templates/hello (2 workloads)', environments: CONCURRENT, per_env_ms: each, errors, delete_all_ms: deleteMs },
        chart: { template: 'templates/meeting/chart (helm template; 11 workloads, 5 dependency levels)', runs_ms: chartRuns, min_ms: chartSorted[0], max_ms: chartSorted[chartSorted.length - 1] },
        settle_seconds: DEFAULT_SETTLE_SECONDS,
        load_average_1m_at_end: Number(loadavg()[0]!.toFixed(2)),
        targets: { create_ready_p50_ms: 60_000, chart_create_ready_p50_ms: 60_000, concurrent_ok: CONCURRENT },
      },
    };
    const file = join(ROOT, 'bench', 'results', 'env.json');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
    console.log(`create → Ready p50 ${out.create_ready_p50_ms} ms (runs ${runs.join(', ')}); concurrent ${ok}/${CONCURRENT} in ${totalMs} ms; meeting chart p50 ${out.chart_create_ready_p50_ms} ms (runs ${chartRuns.join(', ')})`);
    console.log(`wrote ${file}`);
  } finally {
    clearTimeout(timer);
    process.off('SIGINT', onSigint);
    await cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});

// npm run bench:scheduler — the meeting scheduler on the local cluster: 10,000 hosts,
// 100,000 placement requests, with 1, 2 and 4 replicas sharing one Redis. Requests go
// into the shared queue; the clock runs from the first request queued to the last result.
// Before the clock starts, the replicas place WARMUP requests of their own (JIT warm-up:
// a fresh Node process spends about 0.4 s of CPU compiling the scheduler's hot paths,
// once, which on two shared cores would otherwise be charged 4 times to 4 replicas). The
// requests are encoded before the clock and the results decoded after it, so the load
// driver uses as little of the two cores as it can while they are timed. Each replica
// count runs ROUNDS times, alternating (1, 2, 4, 1, 2, 4, ...); the result is the median
// round. Every placement, warm-up included, is then checked against the fleet: no hard
// constraint broken, no host over-committed. Writes bench/results/scheduler.json.
import { makeFleet, makeRequests } from '../meeting/src/scheduler/fleet.js';
import { violation, type PlacementRequest } from '../meeting/src/scheduler/placement.js';
import { registerHosts } from '../meeting/src/scheduler/redis-store.js';
import { KEYS } from '../meeting/src/scheduler/store.js';
import type { Placement } from '../meeting/src/scheduler/scheduler.js';
import { ok, Redis } from '../meeting/src/lib/redis.js';
import { MEETING_DIR, scale, waitPodsGone, withNamespace, writeResult } from './bench-common.js';
import { assertLocalTarget, deployTemplate, podIps, waitDeploymentReady } from './deploy.js';
import type { Cluster } from '@kdev/core/internals';

const HOSTS = Number(process.env.BENCH_HOSTS ?? 10_000);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 100_000);
const REPLICAS = (process.env.BENCH_REPLICAS ?? '1,2,4').split(',').map(Number);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const DEADLINE_MS = 10 * 60_000;

interface Run {
  placements_per_s: number;
  conflict_rate: number;
  placed: number;
  unschedulable: number;
  seconds: number;
  conflicts: number;
  attempts: number;
  by_replica: Record<string, number>;
  /** CPU seconds Redis spent during the run (INFO cpu): where the shared store's time went. */
  redis_cpu_s: number;
  /** CPU seconds each replica process spent during the run (its /stats: process.cpuUsage()). */
  replica_cpu_s: number[];
  /** Seconds each replica's main thread was runnable but waiting for a CPU (schedstat). */
  replica_runqueue_wait_s: number[];
  /** Change-log entries each replica read to refresh its cache (its own included). */
  replica_changes_read: number[];
  /** CPU seconds of this load driver during the run (queueing requests, reading results). */
  driver_cpu_s: number;
}

/** CPU seconds of each scheduler replica so far, by pod IP. */
async function replicaCpu(ips: readonly string[]): Promise<Map<string, { cpu: number; wait: number; read: number }>> {
  const out = new Map<string, { cpu: number; wait: number; read: number }>();
  await Promise.all(
    ips.map(async (ip) => {
      assertLocalTarget(ip);
      const res = await fetch(`http://${ip}:8080/stats`);
      const s = (await res.json()) as { cpu?: { user: number; system: number }; sched?: { waitNs: number }; cache?: { changesRead?: number } };
      if (s.cpu) out.set(ip, { cpu: (s.cpu.user + s.cpu.system) / 1e6, wait: (s.sched?.waitNs ?? NaN) / 1e9, read: s.cache?.changesRead ?? NaN });
    }),
  );
  return out;
}

const cpuS = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;

async function redisCpu(redis: Redis): Promise<number> {
  const info = String(await redis.call('INFO', 'cpu'));
  const get = (k: string) => Number(new RegExp(`${k}:([0-9.]+)`).exec(info)?.[1] ?? 0);
  return get('used_cpu_sys') + get('used_cpu_user');
}

function check(fleet: ReturnType<typeof makeFleet>, requests: Map<string, PlacementRequest>, results: Placement[]): { violations: number; details: string[] } {
  const specs = new Map(fleet.map((h) => [h.id, h]));
  const used = new Map<string, { cpu: number; mem: number; gpu: number }>();
  const details: string[] = [];
  for (const r of results) {
    if (!r.ok) continue;
    const q = requests.get(r.id);
    const s = r.host ? specs.get(r.host) : undefined;
    if (!q || !s) {
      details.push(`${r.id}: unknown request or host ${r.host}`);
      continue;
    }
    const v = violation(s, { cpu: 0, mem: 0, gpu: 0 }, q);
    if (v) details.push(`${r.id} on ${s.id}: ${v}`);
    const u = used.get(s.id) ?? { cpu: 0, mem: 0, gpu: 0 };
    u.cpu += q.cpu;
    u.mem += q.mem;
    u.gpu += q.gpu;
    used.set(s.id, u);
  }
  for (const [id, u] of used) {
    const s = specs.get(id)!;
    if (u.cpu > s.cpu || u.mem > s.mem || u.gpu > s.gpu) details.push(`${id} over-committed: ${JSON.stringify(u)} > ${s.cpu}/${s.mem}/${s.gpu}`);
  }
  return { violations: details.length, details: details.slice(0, 20) };
}

/** Pushes JSON requests to the shared queue, 500 per RPUSH, 10 RPUSHes per pipeline. */
async function enqueue(redis: Redis, encoded: readonly string[]): Promise<void> {
  for (let i = 0; i < encoded.length; i += 5000) {
    const cmds = [];
    for (let j = i; j < Math.min(i + 5000, encoded.length); j += 500) cmds.push(['RPUSH', KEYS.queue, ...encoded.slice(j, Math.min(j + 500, encoded.length, i + 5000))]);
    for (const r of await redis.pipeline(cmds)) ok(r);
  }
}

/** Reads `count` results as they come (1000 per LPOP), undecoded. */
async function collect(redis: Redis, count: number, t0: number): Promise<string[]> {
  const raw: string[] = [];
  while (raw.length < count) {
    if (performance.now() - t0 > DEADLINE_MS) throw new Error(`only ${raw.length} results after ${DEADLINE_MS / 1000} s`);
    const got = await redis.call('LPOP', KEYS.results, 1000);
    if (Array.isArray(got)) for (const g of got) raw.push(String(g));
    else {
      const one = await redis.call('BLPOP', KEYS.results, 1);
      if (Array.isArray(one)) raw.push(String(one[1]));
    }
  }
  return raw;
}

/** One timed run of n replicas on a fresh store: warm-up, then REQUESTS on the clock. */
async function runOnce(cluster: Cluster, redis: Redis, fleet: ReturnType<typeof makeFleet>, n: number, round: number): Promise<{ run: Run; check: ReturnType<typeof check> }> {
  await scale(cluster, 'scheduler', 0);
  await waitDeploymentReady(cluster, 'scheduler', 60_000);
  await waitPodsGone(cluster, 'scheduler', 60_000);
  ok(await redis.call('FLUSHALL'));
  await registerHosts(redis, fleet);
  await scale(cluster, 'scheduler', n);
  await waitDeploymentReady(cluster, 'scheduler', 120_000);
  const ips = await podIps(cluster, 'scheduler');

  const warm = makeRequests(WARMUP, 500 + 10 * round + n, `w${round}-${n}`);
  const requests = makeRequests(REQUESTS, 1000 + 10 * round + n, `r${round}-${n}`);
  const byId = new Map([...warm, ...requests].map((r) => [r.id, r]));
  const warmResults: string[] = [];
  if (WARMUP > 0) {
    const tw = performance.now();
    await enqueue(redis, warm.map((r) => JSON.stringify(r)));
    warmResults.push(...(await collect(redis, WARMUP, tw)));
  }
  console.log(`round ${round + 1}, ${n} replica(s): ${HOSTS} hosts, ${WARMUP} warm-up + ${REQUESTS} timed requests`);
  const encoded = requests.map((r) => JSON.stringify(r));
  const rcpu0 = await replicaCpu(ips);
  const cpu0 = await redisCpu(redis);
  const dcpu0 = process.cpuUsage();
  const t0 = performance.now();
  await enqueue(redis, encoded);
  const raw = await collect(redis, REQUESTS, t0);
  const seconds = (performance.now() - t0) / 1000;
  const driverCpuS = cpuS(process.cpuUsage(dcpu0));
  const redisCpuS = (await redisCpu(redis)) - cpu0;
  const rcpu1 = await replicaCpu(ips);
  const diff = (ip: string, k: 'cpu' | 'wait' | 'read') => Math.round(((rcpu1.get(ip)?.[k] ?? NaN) - (rcpu0.get(ip)?.[k] ?? NaN)) * 100) / 100;
  const results = raw.map((g) => JSON.parse(g) as Placement);
  const placed = results.filter((r) => r.ok).length;
  const conflicts = results.reduce((a, r) => a + r.conflicts, 0);
  const attempts = results.reduce((a, r) => a + r.attempts, 0);
  const byReplica: Record<string, number> = {};
  for (const r of results) byReplica[r.replica] = (byReplica[r.replica] ?? 0) + 1;
  const run: Run = {
    placements_per_s: Math.round(placed / seconds),
    conflict_rate: attempts === 0 ? 0 : Math.round((conflicts / attempts) * 10_000) / 10_000,
    placed,
    unschedulable: results.length - placed,
    seconds: Math.round(seconds * 100) / 100,
    conflicts,
    attempts,
    by_replica: byReplica,
    redis_cpu_s: Math.round(redisCpuS * 100) / 100,
    replica_cpu_s: ips.map((ip) => diff(ip, 'cpu')),
    replica_runqueue_wait_s: ips.map((ip) => diff(ip, 'wait')),
    replica_changes_read: ips.map((ip) => diff(ip, 'read')),
    driver_cpu_s: Math.round(driverCpuS * 100) / 100,
  };
  const c = check(fleet, byId, [...warmResults.map((g) => JSON.parse(g) as Placement), ...results]);
  console.log(`  ${JSON.stringify(run)} violations=${c.violations}`);
  return { run, check: c };
}

async function main(): Promise<void> {
  const fleet = makeFleet(HOSTS, 1);
  const out = await withNamespace('kdev-bench-sched', async (cluster) => {
    console.log(`namespace ${cluster.namespace}: deploying redis and the scheduler`);
    await deployTemplate(cluster, MEETING_DIR, { only: ['redis', 'scheduler'], params: { hosts: '0', schedulerReplicas: '0' } });
    const [ip] = await podIps(cluster, 'redis');
    if (!ip) throw new Error('redis has no ready pod');
    assertLocalTarget(ip);
    const redis = new Redis({ host: ip, port: 6379 });
    const rounds = new Map<number, Run[]>(REPLICAS.map((n) => [n, []]));
    let violations = 0;
    const violationDetails: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (const n of REPLICAS) {
        const { run, check: c } = await runOnce(cluster, redis, fleet, n, round);
        rounds.get(n)!.push(run);
        violations += c.violations;
        violationDetails.push(...c.details);
      }
    }
    redis.close();
    // the median round by throughput, with every round's throughput beside it
    const runs: Record<string, Run & { rounds_placements_per_s: number[] }> = {};
    for (const [n, list] of rounds) {
      const sorted = [...list].sort((a, b) => a.placements_per_s - b.placements_per_s);
      runs[String(n)] = { ...sorted[Math.floor((sorted.length - 1) / 2)]!, rounds_placements_per_s: list.map((r) => r.placements_per_s) };
    }
    return { runs, violations, violationDetails };
  });
  const file = writeResult('scheduler', {
    replicas: out.runs,
    violations: out.violations,
    ...(out.violationDetails.length ? { violation_examples: out.violationDetails } : {}),
    setup: {
      hosts: HOSTS,
      requests: REQUESTS,
      warmup_requests: WARMUP,
      rounds: ROUNDS,
      store: 'Redis 7 (Debian redis-server) in the cluster; commits are Lua scripts (per-host version compare-and-set)',
      replica_batch: 64,
      machine: '2 cores shared by Redis, every replica and the load driver',
      clock: 'first timed request queued → last result read (after the warm-up; results decoded after the clock)',
      figure: 'median of the rounds by throughput',
    },
  });
  console.log(`wrote ${file}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

// npm run bench:scheduler — the meeting scheduler on the local cluster, in two modes:
// - limited: every replica gets the same CPU limit (BENCH_CPU, a Kubernetes limits.cpu the
//   cgroup enforces), so the question is whether throughput grows when each replica has a
//   slice of its own; 1, 2, 4 and 8 replicas at 10,000 and 100,000 hosts;
// - unlimited: replicas, Redis and the driver share the machine's cores (the earlier table).
// Requests go into the shared queue; the clock runs from the first request queued to the
// last result. Before the clock, the replicas place warm-up requests (JIT warm-up). Each
// replica count runs BENCH_ROUNDS times, alternating (1, 2, 4, 8, 1, ...); the figure is the
// median round, every round kept, each with the machine's idle cores during it (/proc/stat:
// other work on the machine shows there). Every placement is checked against the fleet (no
// hard constraint broken, no host over-committed) and every answer counted (none twice).
// Writes its keys of bench/results/scheduler.json (the simulation writes its own).
import { makeFleet, makeRequests } from '../meeting/src/scheduler/fleet.js';
import { violation, type PlacementRequest } from '../meeting/src/scheduler/placement.js';
import { registerHosts } from '../meeting/src/scheduler/redis-store.js';
import { KEYS } from '../meeting/src/scheduler/store.js';
import type { Placement } from '../meeting/src/scheduler/scheduler.js';
import { ok, Redis } from '../meeting/src/lib/redis.js';
import { availableParallelism, loadavg } from 'node:os';
import { idleCores, machineCpu, MEETING_DIR, mergeResult, scale, waitPodsGone, withNamespace } from './bench-common.js';
import { assertLocalTarget, deployTemplate, podIps, waitDeploymentReady } from './deploy.js';
import type { Cluster } from '@kdev/core/internals';

const HOST_SIZES = (process.env.BENCH_HOSTS ?? '10000,100000').split(',').map(Number);
const REPLICAS = (process.env.BENCH_REPLICAS ?? '1,2,4,8').split(',').map(Number);
/** Each replica's CPU limit in the limited mode (the same for every count). */
const CPU = process.env.BENCH_CPU ?? '200m';
const MODES = (process.env.BENCH_MODES ?? 'limited,unlimited').split(',') as Mode[];
/** Host sizes of the unlimited mode (the previous benchmark's table). */
const UNLIMITED_HOSTS = (process.env.BENCH_UNLIMITED_HOSTS ?? '10000').split(',').map(Number);
const ROUNDS: Record<Mode, number> = { limited: Number(process.env.BENCH_ROUNDS ?? 3), unlimited: Number(process.env.BENCH_ROUNDS_UNLIMITED ?? 2) };
const DEADLINE_MS = 10 * 60_000;
/** A 100,000-host cache does not fit the template's default 256 MiB. */
const MEMORY = process.env.BENCH_MEMORY ?? '1Gi';

type Mode = 'limited' | 'unlimited';
const MODE: Record<Mode, { cpu: string; requests: number; warmup: number }> = {
  // a limited replica places ≈ 5-15k/s: fewer requests keep a round near 10 s
  limited: { cpu: CPU, requests: Number(process.env.BENCH_REQUESTS ?? 40_000), warmup: Number(process.env.BENCH_WARMUP ?? 10_000) },
  // the machine's two cores: replicas, Redis and the driver share them
  unlimited: { cpu: '2', requests: Number(process.env.BENCH_REQUESTS_UNLIMITED ?? 100_000), warmup: Number(process.env.BENCH_WARMUP_UNLIMITED ?? 20_000) },
};

interface Run {
  placements_per_s: number;
  conflict_rate: number;
  placed: number;
  unschedulable: number;
  seconds: number;
  conflicts: number;
  attempts: number;
  /** Results that repeated an id already answered (warm-up included). */
  duplicates: number;
  by_replica: Record<string, number>;
  /** Idle cores of the machine during the timed run (/proc/stat; 2 = nothing else ran). */
  machine_idle_cores: number;
  /**
   * Idle cores of the machine in the 3 s before the timed run, the replicas loaded and
   * waiting: what the machine had to give them (compare with the sum of their limits).
   */
  machine_idle_cores_before: number;
  /** The replicas' CPU limits added up (cores; NaN when unlimited). */
  limits_sum_cores: number;
  /**
   * The machine had less idle CPU before the run than the replicas' limits add up to, or
   * under 0.1 core idle during it: the replicas could not all get their slice, so the
   * round measures the machine, not the design.
   */
  saturated: boolean;
  /** The machine's 1-minute load average at the end of the run. */
  load_avg_1m: number;
  /** CPU seconds Redis spent during the run (INFO cpu): where the shared store's time went. */
  redis_cpu_s: number;
  /** CPU seconds each replica process spent during the run (its /stats: process.cpuUsage()). */
  replica_cpu_s: number[];
  /** Seconds each replica's main thread was runnable but waiting for a CPU (schedstat). */
  replica_runqueue_wait_s: number[];
  /** Seconds each replica's cgroup was throttled by its CPU limit (cpu.stat throttled_usec). */
  replica_throttled_s: number[];
  /** Change-log changes each replica read (others' commits) to refresh its cache. */
  replica_changes_read: number[];
  /** Each replica's cache refresh cost per change read: decoding the log plus applying it (µs). */
  replica_refresh_us_per_change: number[];
  /** Each replica's resident memory and V8 heap in use after the run (MiB). */
  replica_rss_mib: number[];
  replica_heap_mib: number[];
  /** Time each replica took to load its cache from the snapshot (s, its own CPU-limited time). */
  replica_cache_load_s: number[];
  /** CPU seconds of this load driver during the run (queueing requests, reading results). */
  driver_cpu_s: number;
}

interface ReplicaStats {
  cpu: number;
  wait: number;
  read: number;
  throttled: number;
  refreshMs: number;
  rss: number;
  heap: number;
  loadMs: number;
}

/** Each scheduler replica's counters so far (its GET /stats), by pod IP. */
async function replicaStats(ips: readonly string[]): Promise<Map<string, ReplicaStats>> {
  const out = new Map<string, ReplicaStats>();
  await Promise.all(
    ips.map(async (ip) => {
      assertLocalTarget(ip);
      const res = await fetch(`http://${ip}:8080/stats`);
      const s = (await res.json()) as {
        cpu?: { user: number; system: number };
        sched?: { waitNs: number };
        cache?: { changesRead?: number; applyMs?: number; loadMs?: number };
        store?: { decodeMs?: number };
        memory?: { rss: number; heapUsed: number };
        cgroup?: { throttledUs: number };
      };
      if (!s.cpu) return;
      out.set(ip, {
        cpu: (s.cpu.user + s.cpu.system) / 1e6,
        wait: (s.sched?.waitNs ?? NaN) / 1e9,
        read: s.cache?.changesRead ?? NaN,
        throttled: (s.cgroup?.throttledUs ?? NaN) / 1e6,
        refreshMs: (s.cache?.applyMs ?? NaN) + (s.store?.decodeMs ?? NaN),
        rss: (s.memory?.rss ?? NaN) / 2 ** 20,
        heap: (s.memory?.heapUsed ?? NaN) / 2 ** 20,
        loadMs: s.cache?.loadMs ?? NaN,
      });
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

/** Results that repeat an id already seen (a request answered twice). */
function duplicates(results: readonly Placement[]): number {
  const seen = new Set<string>();
  let d = 0;
  for (const r of results) {
    if (seen.has(r.id)) d++;
    seen.add(r.id);
  }
  return d;
}

const r2 = (x: number) => Math.round(x * 100) / 100;
/** A Kubernetes CPU quantity in cores ('200m' → 0.2, '2' → 2). */
const cores = (q: string): number => (q.endsWith('m') ? Number(q.slice(0, -1)) / 1000 : Number(q));

interface Setup {
  mode: Mode;
  hosts: number;
  fleet: ReturnType<typeof makeFleet>;
}

/** One timed run of n replicas on a fresh store: warm-up, then the mode's requests on the clock. */
async function runOnce(cluster: Cluster, redis: Redis, setup: Setup, n: number, round: number): Promise<{ run: Run; check: ReturnType<typeof check> }> {
  const { requests: count, warmup } = MODE[setup.mode];
  await scale(cluster, 'scheduler', 0);
  await waitDeploymentReady(cluster, 'scheduler', 60_000);
  await waitPodsGone(cluster, 'scheduler', 60_000);
  ok(await redis.call('FLUSHALL'));
  await registerHosts(redis, setup.fleet);
  await scale(cluster, 'scheduler', n);
  await waitDeploymentReady(cluster, 'scheduler', 300_000);
  const ips = await podIps(cluster, 'scheduler');

  const seed = 10 * round + n + (setup.hosts === 10_000 ? 0 : 5000);
  const warm = makeRequests(warmup, 500 + seed, `w${round}-${n}`);
  const requests = makeRequests(count, 1000 + seed, `r${round}-${n}`);
  const byId = new Map([...warm, ...requests].map((r) => [r.id, r]));
  const warmResults: string[] = [];
  if (warmup > 0) {
    const tw = performance.now();
    await enqueue(redis, warm.map((r) => JSON.stringify(r)));
    warmResults.push(...(await collect(redis, warmup, tw)));
  }
  console.log(`${setup.mode} (${MODE[setup.mode].cpu} per replica), ${setup.hosts} hosts, round ${round + 1}, ${n} replica(s): ${warmup} warm-up + ${count} timed requests`);
  const encoded = requests.map((r) => JSON.stringify(r));
  const st0 = await replicaStats(ips);
  const cpu0 = await redisCpu(redis);
  const mb = machineCpu();
  await new Promise((r) => setTimeout(r, 3000));
  const idleBefore = idleCores(mb, machineCpu());
  const limits = setup.mode === 'limited' ? n * cores(MODE.limited.cpu) : NaN;
  const dcpu0 = process.cpuUsage();
  const m0 = machineCpu();
  const t0 = performance.now();
  await enqueue(redis, encoded);
  const raw = await collect(redis, count, t0);
  const seconds = (performance.now() - t0) / 1000;
  const m1 = machineCpu();
  const driverCpuS = cpuS(process.cpuUsage(dcpu0));
  const redisCpuS = (await redisCpu(redis)) - cpu0;
  const st1 = await replicaStats(ips);
  const diff = (ip: string, k: keyof ReplicaStats) => (st1.get(ip)?.[k] ?? NaN) - (st0.get(ip)?.[k] ?? NaN);
  const now = (ip: string, k: keyof ReplicaStats) => st1.get(ip)?.[k] ?? NaN;
  const results = raw.map((g) => JSON.parse(g) as Placement);
  const all = [...warmResults.map((g) => JSON.parse(g) as Placement), ...results];
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
    seconds: r2(seconds),
    conflicts,
    attempts,
    duplicates: duplicates(all),
    by_replica: byReplica,
    machine_idle_cores: idleCores(m0, m1),
    machine_idle_cores_before: idleBefore,
    limits_sum_cores: r2(limits),
    saturated: idleBefore < limits || idleCores(m0, m1) < 0.1,
    load_avg_1m: r2(loadavg()[0]!),
    redis_cpu_s: r2(redisCpuS),
    replica_cpu_s: ips.map((ip) => r2(diff(ip, 'cpu'))),
    replica_runqueue_wait_s: ips.map((ip) => r2(diff(ip, 'wait'))),
    replica_throttled_s: ips.map((ip) => r2(diff(ip, 'throttled'))),
    replica_changes_read: ips.map((ip) => diff(ip, 'read')),
    replica_refresh_us_per_change: ips.map((ip) => r2((diff(ip, 'refreshMs') * 1000) / diff(ip, 'read'))),
    replica_rss_mib: ips.map((ip) => Math.round(now(ip, 'rss'))),
    replica_heap_mib: ips.map((ip) => Math.round(now(ip, 'heap'))),
    replica_cache_load_s: ips.map((ip) => r2(now(ip, 'loadMs') / 1000)),
    driver_cpu_s: r2(driverCpuS),
  };
  const c = check(setup.fleet, byId, all);
  console.log(`  ${JSON.stringify(run)} violations=${c.violations}`);
  return { run, check: c };
}

type Row = Pick<Run, 'placements_per_s' | 'conflict_rate'> & {
  /** Throughput against one replica's (medians). */
  speedup: number;
  rounds_placements_per_s: number[];
  rounds_machine_idle_cores: number[];
  rounds_machine_idle_cores_before: number[];
  rounds_saturated: boolean[];
  median_round: Run;
  /** Every round's figures, in the order run. */
  rounds: Run[];
};

/** The median round by throughput per replica count, every round's figures beside it. */
function table(rounds: Map<number, Run[]>): Record<string, Row> {
  const out: Record<string, Row> = {};
  const median = (list: Run[]) => [...list].sort((a, b) => a.placements_per_s - b.placements_per_s)[Math.floor((list.length - 1) / 2)]!;
  const one = rounds.get(1)?.length ? median(rounds.get(1)!).placements_per_s : NaN;
  for (const [n, list] of rounds) {
    if (list.length === 0) continue;
    const m = median(list);
    out[String(n)] = {
      placements_per_s: m.placements_per_s,
      conflict_rate: m.conflict_rate,
      speedup: r2(m.placements_per_s / one),
      rounds_placements_per_s: list.map((r) => r.placements_per_s),
      rounds_machine_idle_cores: list.map((r) => r.machine_idle_cores),
      rounds_machine_idle_cores_before: list.map((r) => r.machine_idle_cores_before),
      rounds_saturated: list.map((r) => r.saturated),
      median_round: m,
      rounds: list,
    };
  }
  return out;
}

type Tables = Partial<Record<Mode, Record<string, Record<string, Row>>>>;

/** Writes what has been measured so far (after every host size: a long run keeps its figures if stopped). */
function save(results: Tables, violations: number, dups: number, violationDetails: readonly string[]): string {
  return mergeResult('scheduler', {
    replicas: undefined, // the earlier benchmark's table: the unlimited mode replaces it
    ...(results.limited ? { limited: { cpu_per_replica: CPU, requests: MODE.limited.requests, warmup_requests: MODE.limited.warmup, hosts: results.limited } } : {}),
    ...(results.unlimited ? { unlimited: { cpu_per_replica: MODE.unlimited.cpu, requests: MODE.unlimited.requests, warmup_requests: MODE.unlimited.warmup, hosts: results.unlimited } } : {}),
    violations,
    duplicates: dups,
    ...(violationDetails.length ? { violation_examples: violationDetails.slice(0, 20) } : {}),
    setup: {
      rounds: ROUNDS,
      replicas: REPLICAS,
      store: 'Redis 7 (Debian redis-server) in the cluster, no CPU limit below the machine; commits are Lua scripts (capacity re-checked per item, lease epoch checked)',
      replica_batch: 64,
      replica_memory_limit: MEMORY,
      machine: `${availableParallelism()} cores shared by Redis, every replica, the load driver and whatever else runs on the machine (machine_idle_cores per round)`,
      clock: 'first timed request queued → last result read (after the warm-up; results decoded after the clock)',
      figure: "median round by throughput; speedup = median / one replica's median",
    },
  });
}

async function main(): Promise<void> {
  const fleets = new Map<number, ReturnType<typeof makeFleet>>();
  const fleetOf = (n: number) => fleets.get(n) ?? fleets.set(n, makeFleet(n, 1)).get(n)!;
  const file = await withNamespace('kdev-bench-sched', async (cluster) => {
    const results: Tables = {};
    let violations = 0;
    let dups = 0;
    const violationDetails: string[] = [];
    let redis: Redis | undefined;
    let written = '';
    try {
      for (const mode of MODES) {
        console.log(`namespace ${cluster.namespace}: deploying redis and the scheduler (${mode}: ${MODE[mode].cpu} CPU per replica)`);
        await deployTemplate(cluster, MEETING_DIR, { only: ['redis', 'scheduler'], params: { hosts: '0', schedulerReplicas: '0', schedulerCpu: MODE[mode].cpu, schedulerMemory: MEMORY } });
        if (!redis) {
          const [ip] = await podIps(cluster, 'redis');
          if (!ip) throw new Error('redis has no ready pod');
          assertLocalTarget(ip);
          redis = new Redis({ host: ip, port: 6379 });
        }
        const byHosts: Record<string, Record<string, Row>> = (results[mode] = {});
        for (const hosts of mode === 'limited' ? HOST_SIZES : UNLIMITED_HOSTS) {
          const rounds = new Map<number, Run[]>(REPLICAS.map((n) => [n, []]));
          for (let round = 0; round < ROUNDS[mode]; round++) {
            for (const n of REPLICAS) {
              const { run, check: c } = await runOnce(cluster, redis, { mode, hosts, fleet: fleetOf(hosts) }, n, round);
              rounds.get(n)!.push(run);
              violations += c.violations;
              dups += run.duplicates;
              violationDetails.push(...c.details);
            }
          }
          byHosts[String(hosts)] = table(rounds);
          written = save(results, violations, dups, violationDetails);
        }
      }
    } finally {
      redis?.close();
    }
    return written;
  });
  console.log(`wrote ${file}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

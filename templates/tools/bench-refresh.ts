// npm run bench:refresh — what a replica's cache costs at the fleet's size, in one process
// (no cluster, no other replica): memory of a loaded cache, and the refresh cost per change
// (decoding change-log entries as the Redis store does, then applying them), at 10,000 and
// 100,000 hosts. CPU time of this process (process.cpuUsage), so time spent waiting for a
// CPU on a busy machine is not counted. Writes the `refresh` key of bench/results/scheduler.json.
import { makeFleet, makeRequests } from '../meeting/src/scheduler/fleet.js';
import { HostCache } from '../meeting/src/scheduler/cache.js';
import { decodeEntry, encodeEntry, type UsageDelta } from '../meeting/src/scheduler/store.js';
import { mergeResult } from './bench-common.js';

const SIZES = (process.env.BENCH_HOSTS ?? '10000,100000').split(',').map(Number);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const gc = (globalThis as { gc?: () => void }).gc;

/** Change-log entries of 64 changes each, on random hosts, as other replicas' commits. */
function entries(hosts: number, count: number, v0: number): string[] {
  const reqs = makeRequests(count, 7, 'x');
  const out: string[] = [];
  for (let i = 0; i < count; i += 64) {
    const v = v0 + out.length + 1;
    const part = reqs.slice(i, i + 64).map((r, j) => ({ host: `host-${String((i + j) * 7919 % hosts).padStart(5, '0')}`, cpu: r.cpu, mem: r.mem, gpu: 0, n: 1 as const, tenant: r.tenant }));
    out.push(encodeEntry(v, 'other', part));
  }
  return out;
}

function measure(hosts: number): Record<string, number | number[]> {
  const fleet = makeFleet(hosts, 1);
  gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const cache = new HostCache();
  const t0 = cpuUs();
  cache.load(hosts, fleet.map((spec, i) => ({ spec, use: { v: i + 1, cpu: 0, mem: 0, gpu: 0, ten: {} } })));
  const loadMs = (cpuUs() - t0) / 1000;
  gc?.();
  const heapMiB = (process.memoryUsage().heapUsed - heap0) / 2 ** 20;
  const perChange: number[] = [];
  let v = hosts;
  for (let r = 0; r < ROUNDS; r++) {
    const log = entries(hosts, CHANGES, v);
    const t = cpuUs();
    const deltas: UsageDelta[] = [];
    for (const e of log) v = Math.max(v, decodeEntry(e, 'self', deltas));
    cache.apply(deltas, v);
    perChange.push(Math.round(((cpuUs() - t) / deltas.length) * 1000) / 1000);
  }
  const sorted = [...perChange].sort((a, b) => a - b);
  return { cache_heap_mib: Math.round(heapMiB), cache_load_cpu_ms: Math.round(loadMs), refresh_us_per_change: sorted[Math.floor((sorted.length - 1) / 2)]!, rounds_refresh_us_per_change: perChange };
}

const refresh: Record<string, unknown> = { changes_per_round: CHANGES, method: 'one process: decodeEntry of 64-change log entries + HostCache.apply, CPU time (process.cpuUsage); heap growth of one loaded cache (run with --expose-gc)' };
for (const n of SIZES) {
  refresh[String(n)] = measure(n);
  console.log(`${n} hosts: ${JSON.stringify(refresh[String(n)])}`);
}
console.log(`wrote ${mergeResult('scheduler', { refresh })}`);

// Rounds of keep-alive HTTP/1.1 GETs for the router benchmarks (bench:route-local, bench:route):
// REQUESTS at CONCURRENCY in flight, latency percentiles and throughput per round, and the
// machine's idle CPU between two readings of /proc/stat.
import { Agent, request } from 'node:http';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { percentile, writeResult } from './stats.js';

export function cpuIdle(): { idle: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return { idle: f[3]! + f[4]!, total: f.reduce((a, b) => a + b, 0) };
}

function once(host: string, port: number, agent: Agent, headers: Record<string, string>): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: '/', agent, headers }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error(`status ${res.statusCode}`))));
    });
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** One round; `headers(i)` gives the i-th request's headers. */
export async function round(host: string, port: number, requests: number, concurrency: number, headers: (i: number) => Record<string, string>): Promise<{ p50_ms: number; p99_ms: number; rps: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests) {
        const i = next++;
        lat.push(await once(host, port, agent, headers(i)));
      }
    }),
  );
  const s = (performance.now() - t0) / 1000;
  agent.destroy();
  const r3 = (n: number) => Math.round(n * 1000) / 1000;
  return { p50_ms: r3(percentile(lat, 50)), p99_ms: r3(percentile(lat, 99)), rps: Math.round(requests / s) };
}

export interface Round {
  round: number;
  mode: 'direct' | 'router';
  p50_ms: number;
  p99_ms: number;
  rps: number;
  loadavg_1m: number;
}

/** Medians over round pairs of the router's overhead and throughput ratio. */
export function summary(rounds: Round[], n: number): { p50_overhead_ms: number; p99_overhead_ms: number; rps_ratio: number } {
  const pairs = Array.from({ length: n }, (_, i) => [rounds.find((r) => r.round === i + 1 && r.mode === 'direct')!, rounds.find((r) => r.round === i + 1 && r.mode === 'router')!] as const);
  const med = (xs: number[]) => Math.round(percentile(xs, 50) * 1000) / 1000;
  return {
    p50_overhead_ms: med(pairs.map(([d, r]) => r.p50_ms - d.p50_ms)),
    p99_overhead_ms: med(pairs.map(([d, r]) => r.p99_ms - d.p99_ms)),
    rps_ratio: med(pairs.map(([d, r]) => r.rps / d.rps)),
  };
}

/**
 * `n` round pairs, direct and router alternating which goes first; every round logged and
 * kept with the 1-minute load; the machine's idle CPU over all of them.
 */
export async function alternate(n: number, run: (mode: Round['mode']) => Promise<{ p50_ms: number; p99_ms: number; rps: number }>): Promise<{ rounds: Round[]; idle_cpu_pct: number }> {
  const cpu0 = cpuIdle();
  const rounds: Round[] = [];
  for (let i = 0; i < n; i++) {
    const order = i % 2 ? (['router', 'direct'] as const) : (['direct', 'router'] as const);
    for (const mode of order) {
      const r = await run(mode);
      rounds.push({ round: i + 1, mode, ...r, loadavg_1m: Number(loadavg()[0]!.toFixed(2)) });
      console.log(`round ${i + 1} ${mode}: p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, ${r.rps} req/s (load ${loadavg()[0]!.toFixed(1)})`);
    }
  }
  const cpu1 = cpuIdle();
  return { rounds, idle_cpu_pct: Math.round((100 * (cpu1.idle - cpu0.idle)) / (cpu1.total - cpu0.total)) };
}

/** Writes bench/results/<name>.json: the parameters, the medians over pairs, every round, the machine. */
export function writeRounds(name: string, what: string, params: { requests: number; concurrency: number; rounds: number }, measured: { rounds: Round[]; idle_cpu_pct: number }, note: string): void {
  const result = {
    what,
    requests_per_round: params.requests,
    concurrency: params.concurrency,
    rounds_per_mode: params.rounds,
    ...summary(measured.rounds, params.rounds),
    rounds: measured.rounds,
    machine: { cpus: cpus().length, idle_cpu_pct: measured.idle_cpu_pct, loadavg_1m_end: loadavg()[0], node: process.version, note },
  };
  console.log(`wrote ${writeResult(name, result)}: p50 +${result.p50_overhead_ms} ms, p99 +${result.p99_overhead_ms} ms, rps ratio ${result.rps_ratio}`);
}

// Rounds of keep-alive HTTP/1.1 GETs for the router benchmarks (bench:route-local, bench:route):
// REQUESTS at CONCURRENCY in flight, latency percentiles and throughput per round, and the
// machine's idle CPU between two readings of /proc/stat.
import { Agent, request } from 'node:http';
import { readFileSync } from 'node:fs';
import { percentile } from './stats.js';

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

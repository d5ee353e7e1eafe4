// `npm run bench:route-local`: what the header router adds on loopback, no cluster
// (bench/results/route-local.json). The router runs as its own process from the bundle the pod
// gets (router/dist/router.bundle.cjs); the upstream and the client share this process.
// Rounds alternate direct → upstream and client → router → upstream, each round REQUESTS
// keep-alive requests at CONCURRENCY in flight, half of them carrying the route header (routed
// to the same upstream, so both paths end at the same server). Every round is kept with the
// 1-minute load average; the summary is the median over round pairs.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeResult } from './lib/stats.js';
import { cpuIdle, round as httpRound, summary, type Round } from './lib/http-rounds.js';

const ROUNDS = Number(process.env.ROUNDS ?? 6);
const REQUESTS = Number(process.env.REQUESTS ?? 3000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 8);

const round = (port: number) => httpRound('127.0.0.1', port, REQUESTS, CONCURRENCY, (i): Record<string, string> => (i % 2 ? { 'x-kdev-route': 'alice' } : {}));

async function startRouter(dir: string, upstream: string): Promise<{ port: number; stop(): void }> {
  const table = join(dir, 'table.json');
  writeFileSync(table, JSON.stringify({ ports: [{ listen: 0, default: upstream, routes: [{ header: 'x-kdev-route', value: 'alice', upstream }] }] }));
  const bundle = createRequire(import.meta.url).resolve('@kdev/router/router.bundle.cjs');
  const child = spawn(process.execPath, [bundle, table], { env: { ...process.env, KDEV_ROUTER_HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /routing on (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`router exited with ${code}: ${out}`)));
  });
  return { port, stop: () => child.kill() };
}

async function main(): Promise<void> {
  const upstream = createServer((_req, res) => res.end('ok'));
  upstream.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const upPort = (upstream.address() as AddressInfo).port;
  const dir = mkdtempSync(join(tmpdir(), 'kdev-bench-route-'));
  const router = await startRouter(dir, `127.0.0.1:${upPort}`);
  const cpu0 = cpuIdle();
  const rounds: Round[] = [];
  try {
    await round(router.port); // warm-up, not kept
    await round(upPort);
    for (let i = 0; i < ROUNDS; i++) {
      const order = i % 2 ? (['router', 'direct'] as const) : (['direct', 'router'] as const);
      for (const mode of order) {
        const r = await round(mode === 'direct' ? upPort : router.port);
        rounds.push({ round: i + 1, mode, ...r, loadavg_1m: Number(loadavg()[0]!.toFixed(2)) });
        console.log(`round ${i + 1} ${mode}: p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, ${r.rps} req/s (load ${loadavg()[0]!.toFixed(1)})`);
      }
    }
  } finally {
    router.stop();
    upstream.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const cpu1 = cpuIdle();
  const result = {
    what: 'header router on loopback: client → router process → upstream vs client → upstream; keep-alive HTTP/1.1, half the requests carry the route header',
    requests_per_round: REQUESTS, concurrency: CONCURRENCY, rounds_per_mode: ROUNDS,
    ...summary(rounds, ROUNDS),
    rounds,
    machine: { cpus: cpus().length, idle_cpu_pct: Math.round((100 * (cpu1.idle - cpu0.idle)) / (cpu1.total - cpu0.total)), loadavg_1m_end: loadavg()[0], node: process.version, note: 'shared machine, other sessions running' },
  };
  console.log(`wrote ${writeResult('route-local', result)}: p50 +${result.p50_overhead_ms} ms, p99 +${result.p99_overhead_ms} ms, rps ratio ${result.rps_ratio}`);
}

await main();

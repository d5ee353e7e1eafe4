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
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alternate, round as httpRound, writeRounds } from './lib/http-rounds.js';

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
  let measured: Awaited<ReturnType<typeof alternate>>;
  try {
    await round(router.port); // warm-up, not kept
    await round(upPort);
    measured = await alternate(ROUNDS, (mode) => round(mode === 'direct' ? upPort : router.port));
  } finally {
    router.stop();
    upstream.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const what = 'header router on loopback: client → router process → upstream vs client → upstream; keep-alive HTTP/1.1, half the requests carry the route header';
  writeRounds('route-local', what, { requests: REQUESTS, concurrency: CONCURRENCY, rounds: ROUNDS }, measured, 'shared machine, other sessions running');
}

await main();

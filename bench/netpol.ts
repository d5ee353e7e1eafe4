// npm run bench:netpol — what the NetworkPolicy engine adds to `cluster:up` (root, on the
// running local cluster; its engine must be running):
//   1. warm: `up` on the running cluster with the engine running (a pid check and the
//      rule check), 5 rounds;
//   2. start: the engine stopped by its pid and started again by `up` (binary cached:
//      certificate, RBAC, start, queue bound, rules), 3 rounds;
//   3. with --cold-build: the engine's Go build in an empty build cache, 1 round.
// Each round records the load average and the idle CPU share of the second before it.
// Writes bench/results/netpol.json. Enforcement pauses for about a second per start round.
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { up } from '@kdev/test/cluster/cluster.js';
import { NETPOL_ENGINE } from '@kdev/test/cluster/build.js';
import { SOURCE_DIR } from '@kdev/test/cluster/config.js';
import { NETPOL_DAEMON } from '@kdev/test/cluster/netpol.js';
import { daemonPid, killAndWait, run, sleep } from '@kdev/test/cluster/steps.js';
import { percentile, writeResult } from './lib/stats.js';

interface Round {
  ms: number;
  load1: number;
  idle: number;
}

function cpuTimes(): { idle: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number);
  return { idle: f[3]! + f[4]!, total: f.reduce((a, b) => a + b, 0) };
}

async function machine(): Promise<{ load1: number; idle: number }> {
  const a = cpuTimes();
  await sleep(1000);
  const b = cpuTimes();
  const load1 = Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  return { load1, idle: Math.round(((b.idle - a.idle) / (b.total - a.total)) * 100) / 100 };
}

async function timed(fn: () => Promise<unknown>): Promise<Round> {
  const m = await machine();
  const t0 = Date.now();
  await fn();
  return { ms: Date.now() - t0, ...m };
}

const summary = (rounds: Round[]) => ({ median_ms: percentile(rounds.map((r) => r.ms), 50), rounds });

async function main(): Promise<void> {
  if (daemonPid(NETPOL_DAEMON) === undefined) throw new Error('the local cluster runs no NetworkPolicy engine: npm run cluster:up first');
  const quiet = () => undefined;
  const warm: Round[] = [];
  for (let i = 0; i < 5; i++) warm.push(await timed(() => up(quiet)));
  const start: Round[] = [];
  for (let i = 0; i < 3; i++) {
    await killAndWait(daemonPid(NETPOL_DAEMON)!, 10_000);
    start.push(await timed(() => up(quiet)));
    if (daemonPid(NETPOL_DAEMON) === undefined) throw new Error('up did not start the engine again');
  }
  let coldBuild: Round | undefined;
  if (process.argv.includes('--cold-build')) {
    const cache = mkdtempSync(join(tmpdir(), 'kdev-gocache-'));
    const out = join(cache, 'bin');
    const log = join(cache, 'build.log');
    try {
      coldBuild = await timed(() =>
        run('go', ['build', '-trimpath', '-ldflags', '-s -w', '-o', out, NETPOL_ENGINE.pkg], {
          log,
          cwd: join(SOURCE_DIR, 'go', NETPOL_ENGINE.dir),
          env: { ...process.env, GOCACHE: cache, CGO_ENABLED: '0', GOFLAGS: '-mod=readonly -buildvcs=false' },
        }),
      );
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  }
  const path = writeResult('netpol', {
    engine: `${NETPOL_ENGINE.name} ${NETPOL_ENGINE.version}`,
    up_running_cluster: summary(warm),
    up_starting_engine: summary(start),
    ...(coldBuild ? { go_build_cold: coldBuild } : {}),
    at: new Date().toISOString(),
  });
  console.log(`warm up ${summary(warm).median_ms} ms, engine start ${summary(start).median_ms} ms (medians) → ${path}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);

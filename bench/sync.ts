// npm run bench:sync — file sync on the local cluster, against `tar c | exec -i tar x` (what
// `kubectl cp` does), run alternately in the same pod. Writes bench/results/sync.json.
//   latency      200 single-file edits, save → seen by a watcher inside the dev container
//   firstsync    10,000 files / 100 MB into an empty folder
//   resync       the same tree after 1 % of its files changed (a new client: full handshake)
//   sidecar_rss_mb  the sidecar container's RSS as Kubernetes accounts it (its memory cgroup's
//                   anonymous memory, what the kubelet reports as rssBytes): peak while the
//                   first sync runs (sampled every 20 ms), idle 5 s after it; the process's
//                   VmHWM/VmRSS, which also count the mapped pages of libnode.so, go in detail
//   each of firstsync and resync runs ROUNDS times, kdev and baseline alternating (and which of
//   them goes first alternating per round); the result is the median of the rounds
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Exec, type V1Pod } from '@kubernetes/client-node';
import { SyncSession, connect, ensureSidecarConfigMap, execCapture, watchUntil, type Cluster } from '@kdev/core/internals';
import { sidecarDeployment } from '@kdev/test/lib/sync.js';
import { cgroupAnonMb, containerCgroup, sampleCgroupPeak } from '@kdev/test/lib/cgroup.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const APP = 'sync-bench';
// the full run is the default; smaller runs while developing (results are then not written
// to bench/results unless SYNC_BENCH_WRITE=1): SYNC_BENCH_FILES, _ROUNDS, _EDITS
const FILES = Number(process.env.SYNC_BENCH_FILES ?? 10_000);
const DIRS = Math.max(1, Math.round(FILES / 100));
const FILE_BYTES = 10 * 1024; // 10,000 × 10 KiB ≈ 100 MB
const ROUNDS = Number(process.env.SYNC_BENCH_ROUNDS ?? 5);
const EDITS = Number(process.env.SYNC_BENCH_EDITS ?? 200);
const FULL = FILES === 10_000 && ROUNDS >= 5 && EDITS === 200;

function kubeconfig(): string {
  const path = process.env.KDEV_TEST_KUBECONFIG ?? join(REPO, 'test/cluster/.state/kubeconfig');
  if (!existsSync(path)) throw new Error(`no kubeconfig at ${path}: run npm run cluster:up first`);
  return path;
}

function waitReady(cluster: Cluster, exclude?: string): Promise<string> {
  return watchUntil<V1Pod, string>(cluster, {
    resource: { apiVersion: 'v1', plural: 'pods', namespace: cluster.namespace },
    labelSelector: `app=${APP}`,
    timeoutMs: 180_000,
    what: 'the bench pod to be Ready',
    onEvent: (type, pod) => {
      const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      const name = pod.metadata!.name!;
      return type !== 'DELETED' && ready && !pod.metadata?.deletionTimestamp && name !== exclude ? { done: true, value: name } : { done: false };
    },
  });
}

function generateTree(root: string): void {
  for (let d = 0; d < DIRS; d++) {
    mkdirSync(join(root, `pkg${d}`), { recursive: true });
    for (let f = 0; f < FILES / DIRS; f++) {
      // source-like text: printable, not trivially compressible
      writeFileSync(join(root, `pkg${d}`, `mod${f}.ts`), randomBytes((FILE_BYTES * 3) / 4).toString('base64'));
    }
  }
}

function changeOnePercent(root: string, round: number): void {
  for (let i = 0; i < FILES / 100; i++) {
    const d = (i * 7 + round) % DIRS;
    const f = (i * 13 + round * 3) % (FILES / DIRS);
    writeFileSync(join(root, `pkg${d}`, `mod${f}.ts`), randomBytes((FILE_BYTES * 3) / 4).toString('base64'));
  }
}

/** The baseline: `tar c -C root . | kubectl exec -i pod -- tar x -C dir`, through the API. */
async function tarPipe(cluster: Cluster, pod: string, root: string, dir: string): Promise<number> {
  const start = performance.now();
  const tar = spawn('tar', ['c', '-C', root, '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  await new Promise<void>((resolve, reject) => {
    new Exec(cluster.kc)
      .exec(cluster.namespace, pod, 'dev', ['sh', '-c', `mkdir -p ${dir} && tar x -C ${dir}`], sink, sink, tar.stdout, false, (status) => {
        if (status.status !== 'Success') reject(new Error(`tar x failed: ${JSON.stringify(status)}`));
      })
      .then((ws) => ws.on('close', () => resolve()), reject);
  });
  return performance.now() - start;
}

async function sidecarMemory(cluster: Cluster, pod: string): Promise<{ rss: number; hwm: number; anon: number; file: number }> {
  const r = await execCapture(cluster, pod, 'kdev-sync', ['cat', '/proc/1/status']);
  const kb = (key: string): number => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(r.stdout)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024, anon: kb('RssAnon') / 1024, file: kb('RssFile') / 1024 };
}

/** VmRSS of a Node 18 process that does nothing, in the same image: the floor under any sidecar. */
async function idleNodeRss(cluster: Cluster, pod: string): Promise<{ rss: number; anon: number; file: number }> {
  const script = "setTimeout(()=>{const s=require('fs').readFileSync('/proc/self/status','utf8');const k=(n)=>Number(new RegExp(n+':\\\\s+(\\\\d+)').exec(s)[1])/1024;console.log(JSON.stringify({rss:k('VmRSS'),anon:k('RssAnon'),file:k('RssFile')}))},500)";
  const r = await execCapture(cluster, pod, 'kdev-sync', ['node', '-e', script]);
  return JSON.parse(r.stdout) as { rss: number; anon: number; file: number };
}

const TRACE = process.env.SYNC_BENCH_TRACE === '1';

/** CPU seconds (user+system) the sidecar process has used so far. */
async function sidecarCpu(cluster: Cluster, pod: string): Promise<number> {
  const r = await execCapture(cluster, pod, 'kdev-sync', ['cat', '/proc/1/stat']);
  const f = r.stdout.slice(r.stdout.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

async function kdevSync(cluster: Cluster, pod: string, root: string): Promise<number> {
  const cpu0 = TRACE ? await sidecarCpu(cluster, pod) : 0;
  const own0 = process.cpuUsage();
  const start = performance.now();
  const session = new SyncSession({ cluster, localRoot: root, resolvePod: async () => pod, confirmMassDelete: async () => true });
  if (TRACE) session.on('initial-sync', (p) => console.log(`  +${(performance.now() - start).toFixed(0)} ms initial-sync ${p.files}/${p.totalFiles} files`));
  await session.start();
  const ms = performance.now() - start;
  if (TRACE) {
    const own = process.cpuUsage(own0);
    console.log(`  client cpu ${((own.user + own.system) / 1000).toFixed(0)} ms, sidecar cpu ${((await sidecarCpu(cluster, pod)) - cpu0).toFixed(2)} s`);
  }
  await session.stop();
  return ms;
}

const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
/** Medians of alternating kdev / baseline rounds, and their ratio. */
const compare = (runs: { kdev: number[]; baseline: number[] }): { kdev_ms: number; baseline_ms: number; ratio: number } => {
  const k = median(runs.kdev);
  const b = median(runs.baseline);
  return { kdev_ms: Math.round(k), baseline_ms: Math.round(b), ratio: Math.round((b / k) * 100) / 100 };
};
const round1 = (x: number): number => Math.round(x * 10) / 10;

async function latency(cluster: Cluster, pod: string, root: string): Promise<number[]> {
  mkdirSync(join(root, 'lat'), { recursive: true });
  for (let i = 0; i < 10; i++) writeFileSync(join(root, 'lat', `f${i}.txt`), 'start');
  const session = new SyncSession({ cluster, localRoot: root, resolvePod: async () => pod, confirmMassDelete: async () => true });
  await session.start();
  await session.whenWatching();
  // the watcher in the dev container: prints "<content>" whenever a file in /app/lat changes
  const watcher = `const fs=require('fs');const seen=new Map();fs.watch('/app/lat',(e,n)=>{if(!n)return;try{const c=fs.readFileSync('/app/lat/'+n,'utf8');if(seen.get(n)!==c){seen.set(n,c);process.stdout.write(c+'\\n');}}catch{}});console.log('ready');`;
  const waiters = new Map<string, () => void>();
  let buf = '';
  let onReady!: () => void;
  const ready = new Promise<void>((r) => (onReady = r));
  const out = new Writable({
    write(chunk: Buffer, _e, cb) {
      buf += chunk.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line === 'ready') onReady();
        waiters.get(line)?.();
      }
      cb();
    },
  });
  const ws = await new Exec(cluster.kc).exec(cluster.namespace, pod, 'dev', ['node', '-e', watcher], out, out, null, false);
  await ready;
  const samples: number[] = [];
  for (let i = 0; i < EDITS; i++) {
    const content = `edit-${i}-${Date.now()}`;
    const seen = new Promise<void>((r) => waiters.set(content, r));
    const t0 = performance.now();
    await writeFile(join(root, 'lat', `f${i % 10}.txt`), content);
    let timer: NodeJS.Timeout | undefined;
    const lost = await Promise.race([seen.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), 10_000)))]);
    clearTimeout(timer);
    if (lost) throw new Error(`edit ${i} was not seen in the container within 10 s`);
    samples.push(performance.now() - t0);
    waiters.delete(content);
  }
  ws.close();
  await session.stop();
  return samples;
}

async function main(): Promise<void> {
  const admin = connect({ kubeconfig: kubeconfig() });
  const nsName = `kdev-bench-sync-${randomBytes(3).toString('hex')}`;
  await admin.core.createNamespace({ body: { metadata: { name: nsName, labels: { 'kdev.dev/test': 'true' } } } });
  const cluster = admin.inNamespace(nsName);
  const work = mkdtempSync(join(tmpdir(), 'kdev-bench-sync-'));
  try {
    await ensureSidecarConfigMap(cluster, nsName);
    await cluster.apps.createNamespacedDeployment({ namespace: nsName, body: sidecarDeployment(APP, ['node', '-e', 'setInterval(() => {}, 1 << 30)']) });
    let pod = await waitReady(cluster);
    const tree = join(work, 'tree');
    console.log(`generating ${FILES} files (${(FILES * FILE_BYTES) / 1e6} MB)…`);
    generateTree(tree);

    const first = { kdev: [] as number[], baseline: [] as number[] };
    const resync = { kdev: [] as number[], baseline: [] as number[] };
    const peaks: number[] = [];
    const idles: number[] = [];
    const processDetail: Array<{ vm_hwm: number; idle_vm_rss: number; idle_anon: number; idle_file: number }> = [];
    for (let r = 0; r < ROUNDS; r++) {
      // a fresh pod: empty source volume, fresh sidecar process (its VmHWM is this sync's peak)
      if (r > 0) {
        await cluster.core.deleteNamespacedPod({ name: pod, namespace: nsName, gracePeriodSeconds: 0 });
        pod = await waitReady(cluster, pod);
      }
      const cgroup = await containerCgroup(cluster, cluster.namespace, pod, 'kdev-sync');
      // alternate which goes first: the first run after a pod switch shares the node with the
      // old pod's teardown (its volume and container layers being deleted)
      const kdevFirst = r % 2 === 0;
      let b = kdevFirst ? 0 : await tarPipe(cluster, pod, tree, `/tmp/base-first-${r}`);
      const stopSampling = sampleCgroupPeak(cgroup);
      const k = await kdevSync(cluster, pod, tree);
      const peak = stopSampling();
      first.kdev.push(k);
      peaks.push(peak);
      const mem = await sidecarMemory(cluster, pod);
      if (kdevFirst) b = await tarPipe(cluster, pod, tree, `/tmp/base-first-${r}`);
      first.baseline.push(b);
      console.log(`firstsync round ${r + 1}: kdev ${k.toFixed(0)} ms, baseline ${b.toFixed(0)} ms, sidecar container RSS peak ${peak.toFixed(1)} MB (process VmHWM ${mem.hwm.toFixed(1)})`);
      await new Promise((res) => setTimeout(res, 5000));
      const idle = cgroupAnonMb(cgroup);
      const proc = await sidecarMemory(cluster, pod);
      idles.push(idle);
      processDetail.push({ vm_hwm: round1(mem.hwm), idle_vm_rss: round1(proc.rss), idle_anon: round1(proc.anon), idle_file: round1(proc.file) });
      if (TRACE) {
        const logs = await cluster.core.readNamespacedPodLog({ name: pod, namespace: nsName, container: 'kdev-sync' });
        console.log(String(logs).trim().split('\n').slice(-3).map((l) => `  sidecar log: ${l}`).join('\n'));
      }
      console.log(`  sidecar idle: container RSS ${idle.toFixed(1)} MB; process VmRSS ${proc.rss.toFixed(1)} MB (anonymous ${proc.anon.toFixed(1)}, file-backed ${proc.file.toFixed(1)})`);
    }
    for (let r = 0; r < ROUNDS; r++) {
      changeOnePercent(tree, r);
      // the baseline copies the whole tree again, each time into a folder of its own (tar x
      // over an earlier copy would first unlink every file: far slower, and not the baseline)
      const kdevFirst = r % 2 === 0;
      let b = kdevFirst ? 0 : await tarPipe(cluster, pod, tree, `/tmp/base-re-${r}`);
      const k = await kdevSync(cluster, pod, tree);
      resync.kdev.push(k);
      if (kdevFirst) b = await tarPipe(cluster, pod, tree, `/tmp/base-re-${r}`);
      resync.baseline.push(b);
      console.log(`resync round ${r + 1}: kdev ${k.toFixed(0)} ms, baseline ${b.toFixed(0)} ms`);
    }
    await execCapture(cluster, pod, 'dev', ['sh', '-c', 'rm -rf /tmp/base-*']);
    const raw = await idleNodeRss(cluster, pod);
    const floor = { rss: round1(raw.rss), anon: round1(raw.anon), file: round1(raw.file) };
    console.log(`a no-op node 18 in the sidecar image: VmRSS ${floor.rss} MB (anonymous ${floor.anon}, file-backed ${floor.file})`);
    console.log(`latency: ${EDITS} edits…`);
    const lat = await latency(cluster, pod, tree);
    const result = {
      latency: { p50_ms: round1(percentile(lat, 50)), p95_ms: round1(percentile(lat, 95)), max_ms: round1(Math.max(...lat)) },
      firstsync: compare(first),
      resync: compare(resync),
      sidecar_rss_mb: { peak: round1(Math.max(...peaks)), idle: round1(Math.max(...idles)) },
      detail: {
        files: FILES,
        bytes: FILES * FILE_BYTES,
        rounds: ROUNDS,
        firstsync_runs: { kdev: first.kdev.map(Math.round), baseline: first.baseline.map(Math.round) },
        resync_runs: { kdev: resync.kdev.map(Math.round), baseline: resync.baseline.map(Math.round) },
        latency_samples: lat.length,
        sidecar_container_rss_mb: { peaks: peaks.map(round1), idles: idles.map(round1) },
        sidecar_process_mb: processDetail,
        node18_noop_rss_mb: floor,
        note: 'kdev_ms and baseline_ms are medians over the rounds, ratio = baseline_ms / kdev_ms. kdev_ms: from a new SyncSession to start() resolving (port-forward, local scan, handshake, transfer, all acknowledged; the file watcher starts after); baseline: tar c | exec -i tar x into a new folder of the dev container; kdev and baseline alternate, and which goes first alternates per round. The client hash cache (~/.cache/kdev/sync) is warm from round 2 of firstsync on. sidecar_rss_mb is the sidecar container\'s RSS as the kubelet reports it (rssBytes: the anonymous memory of its memory cgroup); sidecar_process_mb has the process\'s VmHWM and VmRSS, which also count the resident pages of the mapped node binary and libraries (libnode.so alone about 26 MB), shared with every other process using them.',
      },
    };
    if (FULL || process.env.SYNC_BENCH_WRITE === '1') {
      mkdirSync(join(REPO, 'bench/results'), { recursive: true });
      writeFileSync(join(REPO, 'bench/results/sync.json'), JSON.stringify(result, null, 2) + '\n');
    }
    console.log(JSON.stringify(result, null, 2));
  } finally {
    rmSync(work, { recursive: true, force: true });
    await admin.core.deleteNamespace({ name: nsName }).catch(() => undefined);
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);

// The sync sidecar under attack on the real local cluster, through a real port-forward: a
// hand-written hostile client (no token, symlink escapes planted by the app, pulls through
// links, malformed tar, memory attacks) while the memory of the sidecar's container is
// sampled from its cgroup. After every case: canaries outside the root unchanged, nothing
// newer than a marker on the container's writable file systems outside the root, no temp
// files, the sidecar answers, its restart count unchanged.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Duplex } from 'node:stream';
import { ensureSidecarConfigMap, ensureSyncToken, execCapture, portForwardTransport, type Cluster, type SyncTransport } from '@kdev/core/internals';
import { FRAME_DATA, FRAME_JSON, FrameDecoder, MAX_JSON_TO_SIDECAR, STAGING_DIR, encodeJson, parseMessage, type Entry, type ServerMessage } from '@kdev/sync-sidecar';
import { containerCgroup, sampleCgroupPeak } from '../lib/cgroup.js';
import { tempNamespace, waitPodReady } from '../lib/cluster.js';
import { sidecarDeployment } from '../lib/sync.js';
import { batchFrames, countDiff, dirEntry, fileEntry, hello, linkEntry, manifestFrames, paxEntry, tarOf } from '../lib/tar-craft.js';

const APP = 'sync-hostile';
const LIMIT_MB = 256;

interface Conn {
  socket: Duplex;
  messages: ServerMessage[];
  bytes: number;
  next: (t: ServerMessage['t'], timeoutMs?: number) => Promise<ServerMessage>;
}

describe('the sync sidecar under attack, through a port-forward', { timeout: 900_000 }, () => {
  let ns: Awaited<ReturnType<typeof tempNamespace>>;
  let cluster: Cluster;
  let token = '';
  let pod = '';
  let transport: SyncTransport;
  let restarts = 0;
  const peaks: Array<[string, number]> = [];

  const exec = async (container: string, script: string): Promise<string> => {
    const r = await execCapture(cluster, pod, container, ['sh', '-c', script]);
    assert.equal(r.exitCode, 0, `${script}: ${r.stderr}`);
    return r.stdout;
  };

  const open = async (): Promise<Conn> => {
    const socket = await transport.connect();
    const decoder = new FrameDecoder(64 * 1024 * 1024);
    const c: Conn = {
      socket,
      messages: [],
      bytes: 0,
      next: async (t, timeoutMs = 120_000) => {
        const until = Date.now() + timeoutMs;
        for (;;) {
          const i = c.messages.findIndex((m) => m.t === t || m.t === 'error');
          if (i >= 0) return c.messages.splice(i, 1)[0]!;
          if (Date.now() > until || socket.destroyed) throw new Error(`no ${t}: ${JSON.stringify(c.messages).slice(0, 300)}`);
          await new Promise((r) => setTimeout(r, 10));
        }
      },
    };
    socket.on('data', (chunk: Buffer) => {
      for (const f of decoder.push(chunk)) {
        if (f.type === FRAME_JSON) c.messages.push(parseMessage(f.payload));
        else if (f.type === FRAME_DATA) c.bytes += f.payload.length;
      }
    });
    socket.on('error', () => undefined);
    return c;
  };

  const send = (c: Conn, frames: Buffer[]): Promise<void> =>
    frames.reduce<Promise<void>>(
      (p, f) =>
        p.then(
          () =>
            new Promise<void>((resolve) => {
              if (c.socket.destroyed || c.socket.write(f)) return resolve();
              c.socket.once('drain', resolve);
              c.socket.once('close', resolve);
            }),
        ),
      Promise.resolve(),
    );

  /** The invariants after each case. */
  const intact = async (): Promise<void> => {
    const canaries = await exec('dev', 'cat /kdev/ctl/canary /tmp/canary-dev; ls -A /kdev/ctl | sort | tr "\\n" " "; test -p /kdev/ctl/cmd && echo FIFO');
    assert.match(canaries, /^ctl canary\ndev canary\n/);
    assert.match(canaries, /FIFO/);
    const newer = await exec('kdev-sync', `find /kdev/ctl /tmp /kdev/sidecar -mindepth 1 -newer /kdev/ctl/marker ! -path /kdev/ctl/marker ! -path /kdev/ctl/cmd ! -name 'kdev-sync-hashes-*' 2>/dev/null | head -20; true`);
    assert.equal(newer.trim(), '', `changed outside the root: ${newer}`);
    const staging = await exec('kdev-sync', `ls -A /kdev/src/${STAGING_DIR} 2>/dev/null; true`);
    assert.equal(staging.trim(), '', 'temp files left');
    const c = await open();
    await send(c, [hello('send-only', token), encodeJson({ t: 'ping', n: 1 })]);
    assert.equal((await c.next('pong', 30_000)).t, 'pong');
    c.socket.destroy();
    const p = await cluster.core.readNamespacedPod({ name: pod, namespace: ns.name });
    const status = p.status?.containerStatuses?.find((s) => s.name === 'kdev-sync');
    assert.equal(status?.restartCount, restarts, 'the sidecar restarted');
  };

  /** Runs an attack while the sidecar container's cgroup memory (anonymous: rssBytes) is sampled. */
  const attack = async (name: string, fn: () => Promise<void>): Promise<void> => {
    const stop = sampleCgroupPeak(await containerCgroup(cluster, ns.name, pod, 'kdev-sync'));
    await fn();
    await new Promise((r) => setTimeout(r, 500));
    const peak = stop();
    peaks.push([name, peak]);
    console.log(`memory attack "${name}": container cgroup peak ${peak.toFixed(1)} MiB`);
    assert.ok(peak > 0 && peak < LIMIT_MB * 0.9, `${name}: ${peak} MiB`);
    await intact();
  };

  before(async () => {
    ns = await tempNamespace('kdev-sync-hostile');
    cluster = ns.cluster;
    await ensureSidecarConfigMap(cluster, ns.name);
    token = await ensureSyncToken(cluster, ns.name);
    // the app (root) plants escapes in the synced folder and canaries outside it
    const plant = [
      // an app that shares its folders (umask 0): a stricter one keeps sync out of them (PROTOCOL.md)
      'umask 000; echo "ctl canary" > /kdev/ctl/canary; echo "dev canary" > /tmp/canary-dev; mkfifo -m 622 /kdev/ctl/cmd',
      'ln -sfn /kdev/ctl /app/esc; ln -sfn /etc /app/etc; ln -sfn /proc/self /app/self; ln -sfn /var/run/secrets /app/sa',
      'mkdir -p /app/a; ln -sfn .. /app/a/p; ln -sfn ../ctl/cmd /app/cmdlink',
      'truncate -s 300M /app/big.bin',
      'touch /kdev/ctl/marker; touch /tmp/ready',
      'exec sleep 100000',
    ].join('; ');
    await cluster.apps.createNamespacedDeployment({ namespace: ns.name, body: sidecarDeployment(APP, ['sh', '-c', plant]) });
    pod = (await waitPodReady(cluster, `app=${APP}`)).metadata!.name!;
    for (let i = 0; i < 100; i++) {
      const r = await execCapture(cluster, pod, 'dev', ['sh', '-c', 'test -e /tmp/ready && echo yes || true']);
      if (r.stdout.includes('yes')) break;
      await new Promise((r2) => setTimeout(r2, 200));
    }
    await new Promise((r) => setTimeout(r, 1100)); // the marker is strictly older than anything that follows
    transport = await portForwardTransport(cluster, ns.name, 7878)(pod);
    // the pod is ready before the sidecar listens (it has no probe): wait for its welcome
    for (let i = 0; ; i++) {
      try {
        const c = await open();
        await send(c, [hello('send-only', token)]);
        const w = await c.next('welcome', 5000);
        c.socket.destroy();
        if (w.t === 'welcome') break;
      } catch (e) {
        if (i >= 60) throw e;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    const p = await cluster.core.readNamespacedPod({ name: pod, namespace: ns.name });
    restarts = p.status?.containerStatuses?.find((s) => s.name === 'kdev-sync')?.restartCount ?? 0;
  });

  after(async () => {
    console.log(`cgroup memory peaks (MiB): ${peaks.map(([n, p]) => `${n}: ${p.toFixed(1)}`).join('; ')}`);
    await transport?.close();
    await ns?.remove();
  });

  it('runs as a non-root user with no capabilities and a read-only root', async () => {
    const out = await exec('kdev-sync', 'id -u; grep CapEff /proc/self/status; touch /etc/x 2>&1 || echo READONLY');
    assert.match(out, /^65532\n/);
    assert.match(out, /CapEff:\s+0+\n/);
    assert.match(out, /READONLY/);
  });

  it('a hello without the token, or with a wrong one, is refused', async () => {
    for (const h of [hello('two-way'), hello('two-way', 'guess')]) {
      const c = await open();
      await send(c, [h, encodeJson({ t: 'pull', paths: ['sa'] })]);
      const e = await c.next('welcome', 30_000);
      assert.ok(e.t === 'error' && /authentication failed/.test(e.message), JSON.stringify(e));
      c.socket.destroy();
    }
    await intact();
  });

  it('batches through planted links (chains, the FIFO, the ctl volume) change nothing outside', async () => {
    const c = await open();
    await send(c, [hello('send-only', token), ...batchFrames(1, ['esc/canary', 'esc/cmd', 'a/p/ctl/canary'], tarOf(fileEntry('esc/canary', 'pwned'), dirEntry('cmdlink'), fileEntry('cmdlink/x', 'x'), linkEntry('a/esc', 'p/../..'), fileEntry('a/esc/x', 'x')))]);
    const a = await c.next('applied');
    assert.equal(a.t, 'applied', JSON.stringify(a));
    c.socket.destroy();
    await intact();
  });

  it('two-way pulls and a manifest through symlinked folders return nothing from outside', async () => {
    const c = await open();
    await send(c, [hello('two-way', token), encodeJson({ t: 'pull', paths: ['etc/passwd', 'self/environ', 'sa/kubernetes.io/serviceaccount/token', 'esc/canary', 'etc', 'sa'] })]);
    await new Promise((r) => setTimeout(r, 2000));
    assert.ok(c.bytes <= 2048, `pulled ${c.bytes} bytes`);
    await send(c, [encodeJson({ t: 'manifest', entries: [{ p: 'etc', t: 'd', m: 0o755 }, { p: 'etc/passwd', t: 'f', m: 0o644, s: 1 }] })]);
    const d = await c.next('diff');
    assert.ok(d.t === 'diff' && d.missing.includes('etc/passwd'), JSON.stringify(d).slice(0, 300));
    c.socket.destroy();
    await intact();
  });

  it('memory: nine connections holding partial 4 MiB frames', async () => {
    await attack('9 connections x partial 4 MiB frames', async () => {
      const conns = await Promise.all(Array.from({ length: 9 }, () => open()));
      const head = Buffer.alloc(5);
      head[0] = FRAME_JSON;
      head.writeUInt32BE(MAX_JSON_TO_SIDECAR, 1);
      await Promise.all(conns.map((c) => send(c, [hello('send-only', token), head, Buffer.alloc(MAX_JSON_TO_SIDECAR - 1000, 0x20)])));
      await new Promise((r) => setTimeout(r, 3000));
      for (const c of conns) c.socket.destroy();
    });
  });

  it('memory: a manifest of 240,000 files', async () => {
    await attack('manifest of 240,000 files', async () => {
      const entries: Entry[] = [{ p: 'src', t: 'd', m: 0o755 }];
      for (let d = 0; d < 2400; d++) {
        entries.push({ p: `src/module-${d}`, t: 'd', m: 0o755 });
        for (let f = 0; f < 100; f++) entries.push({ p: `src/module-${d}/component-file-${f}.tsx`, t: 'f', m: 0o644, s: 1000 + f, h: 'a'.repeat(64) });
      }
      const c = await open();
      await send(c, [hello('send-only', token), ...manifestFrames(entries)]);
      const paths = await countDiff(c.next, 300_000);
      assert.ok(paths >= entries.length);
      c.socket.destroy();
    });
  });

  it('memory: a two-way pull of a 300 MB file, and a 400 MiB pax header', async () => {
    await attack('pull of a 300 MB file', async () => {
      const c = await open();
      await send(c, [hello('two-way', token), encodeJson({ t: 'pull', paths: ['big.bin'] })]);
      const until = Date.now() + 50_000;
      while (c.bytes < 300 * 1024 * 1024 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      assert.ok(c.bytes >= 300 * 1024 * 1024, `pulled ${c.bytes} bytes`);
      c.socket.destroy();
    });
    await attack('400 MiB pax header', async () => {
      const c = await open();
      await send(c, [hello('send-only', token), ...batchFrames(1, [], Buffer.concat([paxEntry('', 400 * 1024 * 1024), Buffer.alloc(1024 * 1024)])).slice(0, 2)]);
      const e = await c.next('applied', 30_000);
      assert.ok(e.t === 'error' && /oversize tar extension header/.test(e.message), JSON.stringify(e));
      c.socket.destroy();
    });
  });
});

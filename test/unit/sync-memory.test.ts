// Memory attacks on the sidecar, run as it runs in the pod: the bundled server in its own
// process with the pod's heap flags (--max-old-space-size=64), over TCP. After each attack
// the process is alive and answers; its peak resident size (VmHWM, reset before each attack
// through /proc/<pid>/clear_refs) is printed and must stay under the container's limit.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, ftruncateSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import {
  FRAME_DATA,
  FRAME_END,
  FRAME_JSON,
  FrameDecoder,
  MAX_JSON_TO_SIDECAR,
  encodeFrame,
  encodeJson,
  parseMessage,
  type Entry,
  type ServerMessage,
} from '@kdev/sync-sidecar';
import { tempDir } from '../lib/sync.js';
import { batchFrames, countDiff, hello, manifestFrames, paxEntry } from '../lib/tar-craft.js';

/** The container's memory limit (core/src/sync/sidecar.ts). */
const LIMIT_MB = 256;
const peaks: Array<[string, number]> = [];

let proc: ChildProcess;
let port = 0;
let root = '';

function vmHwmMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'));
  return Number(m![1]) / 1024;
}

function resetPeak(): void {
  writeFileSync(`/proc/${proc.pid}/clear_refs`, '5');
}

interface Client {
  socket: Socket;
  messages: ServerMessage[];
  bytes: number;
  closed: Promise<void>;
  next: (t: ServerMessage['t'], timeoutMs?: number) => Promise<ServerMessage>;
}

function connect(): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    const decoder = new FrameDecoder(64 * 1024 * 1024);
    const messages: ServerMessage[] = [];
    const c: Client = {
      socket,
      messages,
      bytes: 0,
      closed: new Promise((r) => socket.once('close', () => r())),
      next: async (t, timeoutMs = 120_000) => {
        const until = Date.now() + timeoutMs;
        for (;;) {
          const i = messages.findIndex((m) => m.t === t || m.t === 'error');
          if (i >= 0) return messages.splice(i, 1)[0]!;
          if (Date.now() > until || socket.destroyed) throw new Error(`no ${t}: ${JSON.stringify(messages).slice(0, 300)}`);
          await new Promise((r) => setTimeout(r, 5));
        }
      },
    };
    socket.on('data', (chunk: Buffer) => {
      for (const f of decoder.push(chunk)) {
        if (f.type === FRAME_JSON) messages.push(parseMessage(f.payload));
        else if (f.type === FRAME_DATA) c.bytes += f.payload.length;
      }
    });
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve(c));
    socket.once('error', reject);
  });
}

async function answers(): Promise<void> {
  const c = await connect();
  c.socket.write(hello());
  c.socket.write(encodeJson({ t: 'ping', n: 42 }));
  const pong = await c.next('pong', 10_000);
  assert.equal(pong.t, 'pong', JSON.stringify(pong));
  c.socket.destroy();
  assert.equal(proc.exitCode, null, 'the sidecar is alive');
}

async function attack(name: string, fn: () => Promise<void>): Promise<void> {
  await answers();
  resetPeak();
  await fn();
  await answers();
  const peak = vmHwmMb();
  peaks.push([name, peak]);
  console.log(`memory attack "${name}": peak RSS ${peak.toFixed(1)} MB`);
  assert.ok(peak < LIMIT_MB * 0.8, `${name}: peak ${peak.toFixed(1)} MB`);
}

function write(c: Client, buf: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (c.socket.destroyed || c.socket.write(buf)) return resolve();
    c.socket.once('drain', resolve);
    c.socket.once('close', resolve);
  });
}

/** Sends a manifest the way the client does (sorted, in chunks); counts the diff's paths. */
async function manifest(entries: Entry[]): Promise<number> {
  const c = await connect();
  await write(c, hello());
  for (const f of manifestFrames(entries)) await write(c, f);
  const count = await countDiff(c.next, 600_000);
  c.socket.destroy();
  return count;
}

describe('memory attacks on the sidecar process (heap capped at 64 MB, as in the pod)', () => {
  before(async () => {
    const base = tempDir('memory');
    root = join(base, 'root');
    await mkdir(root);
    const bundle = createRequire(import.meta.url).resolve('@kdev/sync-sidecar/server.bundle.cjs');
    proc = spawn(process.execPath, ['--expose-gc', '--max-semi-space-size=1', '--max-old-space-size=64', bundle], {
      env: { PATH: process.env.PATH, KDEV_SYNC_ROOT: root, KDEV_SYNC_PORT: '0', KDEV_SYNC_CTL: join(base, 'none'), KDEV_SYNC_CACHE: join(base, 'cache.json'), MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072', MALLOC_TRIM_THRESHOLD_: '131072' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    port = await new Promise<number>((resolve, reject) => {
      let out = '';
      proc.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /listening on [^:]+:(\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      proc.once('exit', () => reject(new Error(`the sidecar exited: ${out}`)));
    });
    proc.stdout!.resume();
  });

  after(() => {
    proc.kill('SIGTERM');
    console.log(`memory peaks (MB): ${peaks.map(([n, p]) => `${n}: ${p.toFixed(1)}`).join('; ')}`);
  });

  it('a ping frame just under the JSON limit is answered; one over it is refused from its header', { timeout: 60_000 }, async () => {
    await attack('ping of 4 MiB', async () => {
      const c = await connect();
      await write(c, hello());
      const pad = 'x'.repeat(MAX_JSON_TO_SIDECAR - 100);
      await write(c, encodeJson({ t: 'ping', n: 1, pad } as unknown as { t: 'ping'; n: number }));
      assert.equal((await c.next('pong')).t, 'pong');
      const head = Buffer.alloc(5);
      head[0] = FRAME_JSON;
      head.writeUInt32BE(32 * 1024 * 1024 - 1, 1);
      await write(c, head);
      const e = await c.next('error');
      assert.ok(e.t === 'error' && /oversize frame/.test(e.message));
      await c.closed;
    });
  });

  it('nine connections each holding a partial frame: the budget and the connection limit hold', { timeout: 60_000 }, async () => {
    await attack('9 connections x partial 4 MiB frames', async () => {
      const clients = await Promise.all(Array.from({ length: 9 }, () => connect()));
      await Promise.all(
        clients.map(async (c) => {
          await write(c, hello());
        const head = Buffer.alloc(5);
        head[0] = FRAME_JSON;
        head.writeUInt32BE(MAX_JSON_TO_SIDECAR, 1);
          await write(c, Buffer.concat([head, Buffer.alloc(MAX_JSON_TO_SIDECAR - 1000, 0x20)]));
        }),
      );
      await new Promise((r) => setTimeout(r, 500));
      const refused = clients.filter((c) => c.messages.some((m) => m.t === 'error' && /too many connections|budget/.test(m.message))).length;
      assert.ok(refused >= 1, `refused: ${refused}`);
      for (const c of clients) c.socket.destroy();
    });
  });

  it('a realistic manifest of 240,000 files (31 MiB of JSON) diffs in chunks', { timeout: 600_000 }, async () => {
    await attack('manifest of 240,000 files', async () => {
      const entries: Entry[] = [];
      for (let d = 0; d < 2400; d++) {
        entries.push({ p: `src/module-${d}`, t: 'd', m: 0o755 });
        for (let f = 0; f < 100; f++) entries.push({ p: `src/module-${d}/component-file-${f}.tsx`, t: 'f', m: 0o644, s: 1000 + f, h: 'a'.repeat(64) });
      }
      entries.push({ p: 'src', t: 'd', m: 0o755 });
      assert.equal(await manifest(entries), entries.length);
    });
  });

  it('a manifest of 1,000,000 files works', { timeout: 900_000 }, async () => {
    await attack('manifest of 1,000,000 files', async () => {
      const entries: Entry[] = [];
      for (let d = 0; d < 10_000; d++) {
        entries.push({ p: `d${d}`, t: 'd', m: 0o755 });
        for (let f = 0; f < 100; f++) entries.push({ p: `d${d}/f${f}`, t: 'f', m: 0o644, s: f });
      }
      assert.equal(await manifest(entries), entries.length);
    });
  });

  it('a two-way pull of a 300 MB file is streamed', { timeout: 300_000 }, async () => {
    const fd = openSync(join(root, 'big.bin'), 'w');
    ftruncateSync(fd, 300 * 1024 * 1024);
    closeSync(fd);
    await attack('pull of a 300 MB file', async () => {
      const c = await connect();
      await write(c, hello('two-way'));
      await write(c, encodeJson({ t: 'pull', paths: ['big.bin'] }));
      const until = Date.now() + 240_000;
      while (c.bytes < 300 * 1024 * 1024 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      assert.ok(c.bytes >= 300 * 1024 * 1024, `received ${c.bytes} bytes`);
      c.socket.destroy();
    });
  });

  it('a 400 MiB pax header and a batch of 40,000 deletes', { timeout: 300_000 }, async () => {
    await attack('400 MiB pax header', async () => {
      const c = await connect();
      await write(c, hello());
      const pax = paxEntry('', 400 * 1024 * 1024);
      for (const f of batchFrames(1, [], Buffer.concat([pax, Buffer.alloc(1024 * 1024)])).slice(0, 2)) await write(c, f);
      const e = await c.next('error');
      assert.ok(e.t === 'error' && /oversize tar extension header/.test(e.message), JSON.stringify(e));
    });
    await attack('batch of 40,000 deletes', async () => {
      const c = await connect();
      await write(c, hello());
      const deletes = Array.from({ length: 40_000 }, (_, i) => `gone/file-${i}`);
      await write(c, encodeJson({ t: 'batch', id: 1, deletes }));
      await write(c, encodeFrame(FRAME_DATA, Buffer.alloc(1024)));
      await write(c, encodeFrame(FRAME_END, Buffer.alloc(0)));
      const a = await c.next('applied');
      assert.equal(a.t, 'applied', JSON.stringify(a));
      c.socket.destroy();
    });
  });
});

// The sidecar against a hostile client (and a hostile process next to it in the pod), in
// process on a temp folder. After every case: nothing outside the root changed (canaries),
// no temp file is left in the staging folder, and the sidecar still answers.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile, symlink, lstat, rm, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import {
  FRAME_DATA,
  FRAME_END,
  FrameDecoder,
  STAGING_DIR,
  SidecarState,
  TarParser,
  encodeFrame,
  encodeJson,
  notifySupervisor,
  serveConnection,
  type Entry,
  type ServerMessage,
  type SidecarLimits,
} from '@kdev/sync-sidecar';
import { duplexPair, tempDir, treeListing } from '../lib/sync.js';
import { END, batchFrames, dirEntry, fileEntry, header, hello, linkEntry, messageCollector, padded, paxEntry, paxRecord, sha, tarOf } from '../lib/tar-craft.js';

interface Env {
  base: string;
  root: string;
  outside: string;
  fifo: string;
  state: SidecarState;
  before: Map<string, string>;
}

async function setup(limits: Partial<SidecarLimits> = {}): Promise<Env> {
  const base = tempDir('hostile');
  const root = join(base, 'root');
  const outside = join(base, 'outside');
  await mkdir(root);
  await mkdir(join(outside, 'dir'), { recursive: true });
  await mkdir(join(base, 'ctl'));
  await writeFile(join(outside, 'precious'), 'do not touch');
  await writeFile(join(outside, 'victim'), 'victim');
  await writeFile(join(outside, 'dir/x'), 'x');
  for (let i = 0; i < 20; i++) await writeFile(join(outside, 'dir', `old-${i}`), `old ${i}`);
  const fifo = join(base, 'ctl/cmd');
  execFileSync('mkfifo', [fifo]);
  const state = new SidecarState({ root, limits, onApplied: () => void notifySupervisor(fifo) });
  return { base, root, outside, fifo, state, before: await outsideListing(base) };
}

/** Everything under base except the root (the canaries), with contents. */
async function outsideListing(base: string): Promise<Map<string, string>> {
  return treeListing(base, (rel) => rel === 'root' || rel.startsWith('root/') || rel === 'ctl/cmd');
}

/** Runs one connection with `frames`, then ends it; the messages the sidecar sent. */
async function talk(state: SidecarState, frames: Buffer[], linger = 0): Promise<ServerMessage[]> {
  const [client, server] = duplexPair();
  const got = messageCollector();
  client.on('data', got.push);
  const ended = new Promise((r) => client.once('end', r));
  const done = serveConnection(server, state);
  for (const f of frames) client.write(f);
  if (linger > 0) await new Promise((r) => setTimeout(r, linger));
  client.end();
  await done;
  await ended;
  return got.messages;
}

function errorOf(msgs: ServerMessage[]): string | undefined {
  const e = msgs.find((m) => m.t === 'error');
  return e?.t === 'error' ? e.message : undefined;
}

/** The invariants checked after every case. */
async function intact(env: Env): Promise<void> {
  assert.deepEqual(await outsideListing(env.base), env.before, 'something outside the root changed');
  assert.ok((await lstat(env.fifo)).isFIFO(), 'the control FIFO is still a FIFO');
  const staging = await lstat(join(env.root, STAGING_DIR)).catch(() => undefined);
  if (staging?.isDirectory()) assert.deepEqual(await readdir(join(env.root, STAGING_DIR)), [], 'temp files left');
  const msgs = await talk(env.state, [hello(), encodeJson({ t: 'ping', n: 7 })]);
  assert.deepEqual(
    msgs.map((m) => m.t),
    ['welcome', 'pong'],
    'the sidecar still answers',
  );
}

/** Names in the tar stream of the batch(es) a pull was answered with. */
function pulledNames(raw: Buffer[]): string[] {
  const names: string[] = [];
  const decoder = new FrameDecoder();
  const parser = new TarParser({ entry: (h) => names.push(h.name), data: () => undefined, entryEnd: () => undefined });
  for (const c of raw) for (const f of decoder.push(c)) if (f.type === FRAME_DATA) parser.push(f.payload);
  return names;
}

async function pull(state: SidecarState, paths: string[]): Promise<{ names: string[]; msgs: ServerMessage[] }> {
  const [client, server] = duplexPair();
  const raw: Buffer[] = [];
  const got = messageCollector();
  client.on('data', (c: Buffer) => {
    raw.push(c);
    got.push(c);
  });
  const ended = new Promise((r) => client.once('end', r));
  const done = serveConnection(server, state);
  client.write(hello('two-way'));
  client.write(encodeJson({ t: 'pull', paths }));
  await new Promise((r) => setTimeout(r, 150));
  client.end();
  await done;
  await ended;
  return { names: pulledNames(raw), msgs: got.messages };
}

describe('hostile: symlink chains', () => {
  it('links that each look inside but together point out are never followed by a batch', async () => {
    const env = await setup();
    const msgs = await talk(env.state, [hello(), ...batchFrames(1, [], tarOf(dirEntry('a'), linkEntry('a/p', '..'), linkEntry('a/esc', 'p/../..'), fileEntry('a/esc/x', 'pwned'), fileEntry('a/esc/outside/victim', 'pwned')))]);
    assert.equal(errorOf(msgs), undefined);
    assert.ok((await lstat(join(env.root, 'a/esc'))).isDirectory(), 'a/esc became a real folder');
    await intact(env);
  });

  it('a planted chain (l1 -> l2 -> ../outside) is replaced, not written through, and deletes under it are skipped', async () => {
    const env = await setup();
    await symlink('l2', join(env.root, 'l1'));
    await symlink('../outside', join(env.root, 'l2'));
    const msgs = await talk(env.state, [hello(), ...batchFrames(1, ['l1/victim', 'l2/precious', 'l1/dir'], tarOf(fileEntry('l1/new', 'x'), dirEntry('l2/sub')))]);
    assert.equal(errorOf(msgs), undefined);
    assert.ok((await lstat(join(env.root, 'l1'))).isDirectory());
    await intact(env);
  });

  it('a link deep in a path (d/e -> ../../outside): writes below it stay inside, deleting it removes the link only', async () => {
    const env = await setup();
    await mkdir(join(env.root, 'd'));
    await symlink('../../outside', join(env.root, 'd/e'));
    await talk(env.state, [hello(), ...batchFrames(1, [], tarOf(fileEntry('d/e/dir/x', 'pwned')))]);
    await symlink('../../outside', join(env.root, 'd/f'));
    await talk(env.state, [hello(), ...batchFrames(2, ['d/f'], tarOf())]);
    assert.equal(await lstat(join(env.root, 'd/f')).catch(() => undefined), undefined);
    await intact(env);
  });

  it('a manifest through a chain reads nothing outside: the file is missing, never hashed', async () => {
    const env = await setup();
    await symlink('l2', join(env.root, 'l1'));
    await symlink('../outside', join(env.root, 'l2'));
    const msgs = await talk(env.state, [hello(), encodeJson({ t: 'manifest', entries: [{ p: 'l1', t: 'd', m: 0o755 }, { p: 'l1/precious', t: 'f', m: 0o644, s: 12 }] })]);
    const diff = msgs.find((m) => m.t === 'diff');
    assert.ok(diff?.t === 'diff');
    assert.deepEqual(diff.missing, ['l1/precious']);
    assert.ok(!JSON.stringify(diff).includes(sha('do not touch')), 'no hash of the outside file');
    await intact(env);
  });
});

describe('hostile: symlinked folders (pull, manifest, watch)', () => {
  it('pull is refused on a send-only connection', async () => {
    const env = await setup();
    await writeFile(join(env.root, 'a.txt'), 'a');
    const msgs = await talk(env.state, [hello('send-only'), encodeJson({ t: 'pull', paths: ['a.txt'] })]);
    assert.match(errorOf(msgs) ?? '', /only served on a two-way connection/);
    await intact(env);
  });

  it('a two-way pull through symlinked folders sends nothing from outside (../outside, /etc, /proc/self)', async () => {
    const env = await setup();
    await symlink('../outside', join(env.root, 'link'));
    await symlink('/etc', join(env.root, 'etc'));
    await symlink('/proc/self', join(env.root, 'self'));
    await writeFile(join(env.root, 'ok.txt'), 'ok');
    const { names } = await pull(env.state, ['link/precious', 'link', 'etc/passwd', 'etc', 'self/environ', 'ok.txt']);
    assert.deepEqual(names, ['ok.txt']);
    await intact(env);
  });

  it('a pulled symlink to a file outside travels as nothing, its target is never read', async () => {
    const env = await setup();
    await symlink('/etc/passwd', join(env.root, 'pw'));
    await symlink('../outside/precious', join(env.root, 'pr'));
    await mkdir(join(env.root, 'sub'));
    await symlink('../../outside', join(env.root, 'sub/deep'));
    const { names } = await pull(env.state, ['pw', 'pr', 'sub']);
    assert.deepEqual(names, ['sub']);
    await intact(env);
  });

  it('a manifest folder that is a symlink here is not listed or entered', async () => {
    const env = await setup();
    await symlink('../outside', join(env.root, 'link'));
    const entries: Entry[] = [
      { p: 'link', t: 'd', m: 0o755 },
      { p: 'link/precious', t: 'f', m: 0o644, s: 12, h: sha('do not touch') },
    ];
    const msgs = await talk(env.state, [hello('two-way'), encodeJson({ t: 'manifest', entries })]);
    const diff = msgs.find((m) => m.t === 'diff');
    assert.ok(diff?.t === 'diff');
    assert.deepEqual(diff.missing, ['link/precious']);
    assert.deepEqual(
      diff.differ.map((e) => `${e.p}:${e.t}`),
      ['link:l'],
    );
    assert.ok(!diff.extra.some((e) => e.p.startsWith('link/')));
    await intact(env);
  });

  it('two-way watching never follows a symlinked folder: changes outside are not reported, changes inside are', async () => {
    const env = await setup();
    await symlink('../outside', join(env.root, 'link'));
    const [client, server] = duplexPair();
    const got = messageCollector();
    client.on('data', got.push);
    const done = serveConnection(server, env.state);
    client.write(hello('two-way'));
    client.write(encodeJson({ t: 'manifest', entries: [{ p: 'link', t: 'd', m: 0o755 }] }));
    await new Promise((r) => setTimeout(r, 100));
    await writeFile(join(env.outside, 'dir/new-outside'), 'n');
    await new Promise((r) => setTimeout(r, 200));
    await writeFile(join(env.root, 'inside.txt'), 'i');
    await new Promise((r) => setTimeout(r, 300));
    client.end();
    await done;
    await rm(join(env.outside, 'dir/new-outside'));
    const changed = got.messages.flatMap((m) => (m.t === 'changes' ? m.entries.map((e) => e.p) : []));
    assert.ok(changed.includes('inside.txt'), `changes: ${changed.join(', ')}`);
    assert.ok(!changed.some((p) => p.includes('new-outside')));
    await intact(env);
  });
});

describe('hostile: a stale check inside one batch', () => {
  it('a folder replaced by a link to a planted escape later in the same batch is not written through', async () => {
    const env = await setup();
    await symlink('../outside', join(env.root, 'q'));
    const msgs = await talk(env.state, [hello(), ...batchFrames(1, [], tarOf(dirEntry('d'), fileEntry('d/a', 'a'), linkEntry('d', 'q'), fileEntry('d/victim', 'pwned'), fileEntry('d/dir/x', 'pwned')))]);
    assert.equal(errorOf(msgs), undefined);
    await intact(env);
  });

  it('deletes after an entry swaps their folder for a link delete nothing outside', async () => {
    const env = await setup();
    await symlink('../outside', join(env.root, 'q'));
    await mkdir(join(env.root, 'e'));
    await writeFile(join(env.root, 'e/victim'), 'inside');
    await talk(env.state, [hello(), ...batchFrames(1, [], tarOf(linkEntry('e', 'q')))]);
    const msgs = await talk(env.state, [hello(), ...batchFrames(2, ['e/victim', 'e/dir', 'q/victim', 'q/dir/x'], tarOf())]);
    assert.equal(errorOf(msgs), undefined);
    await intact(env);
  });

  it('a batch cannot turn the control FIFO into a folder through a link', async () => {
    const env = await setup();
    await symlink('../ctl', join(env.root, 'c'));
    await talk(env.state, [hello(), ...batchFrames(1, ['c/cmd'], tarOf(dirEntry('c/cmd'), fileEntry('c/cmd/x', 'x'), linkEntry('c2', 'c'), fileEntry('c2/cmd', 'y')))]);
    await intact(env);
  });

  it('a folder that becomes a file then a folder again within one batch stays inside', async () => {
    const env = await setup();
    await symlink('../outside', join(env.root, 'q'));
    await talk(env.state, [hello(), ...batchFrames(1, ['a'], tarOf(dirEntry('a'), fileEntry('a/x', '1'), fileEntry('a', 'file now'), linkEntry('a', 'q'), fileEntry('a/dir/x', 'pwned')))]);
    await intact(env);
  });
});

/** Starts a process that swaps `path` between a real folder and a symlink to `target` until killed. */
function racer(path: string, target: string): { stop: () => Promise<number> } {
  const script = `
    const fs = require('fs');
    const [path, target] = process.argv.slice(1);
    let swaps = 0;
    const stop = () => { process.stdout.write(String(swaps)); process.exit(0); };
    process.on('SIGTERM', stop);
    const tick = () => {
      for (let i = 0; i < 200; i++) {
        try { fs.rmSync(path, { recursive: true, force: true }); } catch {}
        try { if (i % 2) fs.symlinkSync(target, path); else { fs.mkdirSync(path); fs.writeFileSync(path + '/old-0', 'inside'); } swaps++; } catch {}
      }
      setImmediate(tick);
    };
    tick();`;
  const child = spawn(process.execPath, ['-e', script, path, target], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  return {
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve(Number(out) || 0));
        child.kill('SIGTERM');
      }),
  };
}

describe('hostile: a process in the pod racing the sidecar', () => {
  it('swapping a folder for a symlink while batches write and delete in it: nothing outside changes (3 s)', { timeout: 60_000 }, async () => {
    const env = await setup();
    const race = racer(join(env.root, 'race'), '../outside/dir');
    const until = Date.now() + 3000;
    let batches = 0;
    while (Date.now() < until) {
      const deletes = Array.from({ length: 20 }, (_, i) => `race/old-${i}`);
      await talk(env.state, [hello(), ...batchFrames(++batches, deletes, tarOf(fileEntry(`race/x`, 'pwned'), fileEntry(`race/new-${batches}`, 'n'), dirEntry('race/sub'), fileEntry('race/sub/y', 'y')))]);
    }
    const swaps = await race.stop();
    assert.ok(swaps > 100 && batches > 5, `swaps ${swaps}, batches ${batches}`);
    await rm(join(env.root, 'race'), { recursive: true, force: true });
    await intact(env);
  });

  it('swapping a deeper folder while whole folders are deleted and re-created: nothing outside changes (3 s)', { timeout: 60_000 }, async () => {
    const env = await setup();
    await mkdir(join(env.root, 'top'));
    const race = racer(join(env.root, 'top/mid'), '../../outside');
    const until = Date.now() + 3000;
    let batches = 0;
    while (Date.now() < until) {
      await talk(env.state, [hello(), ...batchFrames(++batches, ['top/mid/dir', 'top/mid/victim', 'top/mid/precious'], tarOf(dirEntry('top/mid/dir'), fileEntry('top/mid/dir/x', 'pwned')))]);
      await talk(env.state, [hello(), ...batchFrames(++batches, ['top/mid'], tarOf())]);
    }
    const swaps = await race.stop();
    assert.ok(swaps > 100 && batches > 5, `swaps ${swaps}, batches ${batches}`);
    await intact(env);
  });

  it('the FIFO swapped for a symlink to a file or a regular file: "synced" is never written to it', { timeout: 60_000 }, async () => {
    const env = await setup();
    const fifo = join(env.root, 'cmd');
    const state = new SidecarState({ root: env.root, onApplied: () => void notifySupervisor(fifo) });
    await symlink('../outside/precious', fifo);
    await talk(state, [hello(), ...batchFrames(1, [], tarOf(fileEntry('a', 'a')))]);
    assert.equal(notifySupervisor(fifo), 'not-a-fifo');
    await rm(fifo);
    await writeFile(fifo, 'plain');
    assert.equal(notifySupervisor(fifo), 'not-a-fifo');
    assert.equal(await readFile(fifo, 'utf8'), 'plain');
    await intact(env);
  });
});

async function rejected(env: Env, tar: Buffer, pattern: RegExp, deletes: string[] = []): Promise<void> {
  await mkdir(join(env.root, 'keep'), { recursive: true });
  await writeFile(join(env.root, 'keep/me'), 'kept');
  const before = await treeListing(env.root, (rel) => rel === STAGING_DIR || rel.startsWith(STAGING_DIR + '/'));
  const msgs = await talk(env.state, [hello(), ...batchFrames(1, deletes, tar, 700)]);
  assert.match(errorOf(msgs) ?? '(no error)', pattern);
  assert.deepEqual(await treeListing(env.root, (rel) => rel === STAGING_DIR || rel.startsWith(STAGING_DIR + '/')), before, 'the failed batch changed the tree');
  await intact(env);
}

describe('hostile: malformed tar, pax and size encodings', () => {
  const ok = fileEntry('landed', 'should not land');
  it('base-256 size', async () => {
    const field = Buffer.alloc(12);
    field[0] = 0x80;
    field.writeUInt32BE(0x7fffffff, 8);
    await rejected(await setup(), tarOf(ok, header({ name: 'big', sizeField: field })), /base-256/, ['keep/me']);
  });
  it('a size field that is not octal', async () => {
    await rejected(await setup(), tarOf(ok, header({ name: 'x', sizeField: Buffer.from('0000000009\0\0') })), /not an octal number/);
  });
  it('a 400 MiB pax header is refused from its header, before any of it is buffered', async () => {
    await rejected(await setup(), Buffer.concat([ok, header({ name: 'PaxHeader', flag: 'x', size: 400 * 1024 * 1024 }), Buffer.alloc(4096)]), /oversize tar extension header/);
  });
  it('a pax size that is not a plain decimal (1e3, 0x10, negative)', async () => {
    for (const v of ['1e3', '0x10', '-5', '99999999999999999999']) await rejected(await setup(), tarOf(ok, paxEntry(paxRecord('size', v)), fileEntry('y', 'y')), /size is not a decimal number/);
  });
  it('a pax record whose length is wrong', async () => {
    await rejected(await setup(), tarOf(ok, paxEntry(paxRecord('path', 'z', 99)), fileEntry('y', 'y')), /record length/);
  });
  it('a pax size larger than the data that follows: the stream ends mid-entry', async () => {
    await rejected(await setup(), Buffer.concat([ok, paxEntry(paxRecord('size', String(10 * 1024 * 1024))), fileEntry('y', 'short'), END]), /cut short/);
  });
  it('GNU long names, global pax headers, hard links, devices and FIFOs', async () => {
    for (const flag of ['L', 'K', 'g', '1', '3', '4', '6']) await rejected(await setup(), tarOf(ok, header({ name: 'odd', flag, size: 0 })), /not allowed/);
  });
  it('a bad checksum, a foreign magic, data after the end of the archive', async () => {
    await rejected(await setup(), tarOf(ok, header({ name: 'x', badChecksum: true })), /bad checksum/);
    await rejected(await setup(), tarOf(ok, header({ name: 'x', magic: 'notar\0' })), /not a ustar header/);
    await rejected(await setup(), Buffer.concat([ok, END, fileEntry('after', 'x')]), /after the end/);
  });
  it('data in a folder or link entry, and a stream cut inside a header', async () => {
    await rejected(await setup(), tarOf(ok, Buffer.concat([header({ name: 'd', flag: '5', size: 10 }), padded(Buffer.alloc(10))])), /entry with data/);
    await rejected(await setup(), Buffer.concat([ok, header({ name: 'x', size: 3 }).subarray(0, 300)]), /cut short/);
  });
});

describe('hostile: hangs', () => {
  it('a silent connection is closed after the idle timeout', async () => {
    const env = await setup({ idleMs: 300 });
    const t0 = Date.now();
    const [client, server] = duplexPair();
    const got = messageCollector();
    client.on('data', got.push);
    client.write(hello());
    await serveConnection(server, env.state);
    await new Promise((r) => setTimeout(r, 50)); // the last frames reach the client
    assert.ok(Date.now() - t0 < 3000);
    assert.match(errorOf(got.messages) ?? '', /no message for 300 ms/);
    await intact(env);
  });

  it('a batch cut off in the middle of a file, then silence: closed, its temp files removed', async () => {
    const env = await setup({ idleMs: 300 });
    const tar = tarOf(fileEntry('one', 'a'.repeat(5000)), fileEntry('two', 'b'.repeat(5000)));
    const [client, server] = duplexPair();
    client.on('data', () => undefined);
    client.write(hello());
    client.write(encodeJson({ t: 'batch', id: 1, deletes: [] }));
    client.write(encodeFrame(FRAME_DATA, tar.subarray(0, 7000)));
    await serveConnection(server, env.state);
    assert.deepEqual(await readdir(env.root), [STAGING_DIR]);
    await intact(env);
  });

  it('half a frame header, then silence: closed', async () => {
    const env = await setup({ idleMs: 300 });
    const [client, server] = duplexPair();
    client.on('data', () => undefined);
    client.write(hello());
    client.write(Buffer.from([FRAME_END, 0, 0]));
    await serveConnection(server, env.state);
    await intact(env);
  });

  it('connections beyond the limit are refused with an error; the others go on', async () => {
    const env = await setup({ maxConnections: 2 });
    const pairs = [duplexPair(), duplexPair()];
    const held = pairs.map(([c, s]) => {
      c.on('data', () => undefined);
      c.write(hello());
      return serveConnection(s, env.state);
    });
    const msgs = await talk(env.state, [hello()]);
    assert.match(errorOf(msgs) ?? '', /too many connections/);
    for (const [c] of pairs) c.end();
    await Promise.all(held);
    await intact(env);
  });
});

describe('hostile: over-long names', () => {
  const long = 'n'.repeat(256);
  void FRAME_END;
  it('a 256-byte component in a pax path fails the batch before its deletes and files land', async () => {
    await rejected(await setup(), tarOf(fileEntry('landed', 'x'), paxEntry(paxRecord('path', `dir/${long}`)), fileEntry('placeholder', 'x')), /over 255 bytes/, ['keep/me']);
  });
  it('a 256-byte component (multi-byte characters) in a delete', async () => {
    const env = await setup();
    const msgs = await talk(env.state, [hello(), ...batchFrames(1, ['é'.repeat(128)], tarOf(fileEntry('landed', 'x')))]);
    assert.match(errorOf(msgs) ?? '', /over 255 bytes/);
    assert.equal(await lstat(join(env.root, 'landed')).catch(() => undefined), undefined);
    await intact(env);
  });
  it('a path over 4096 bytes, and a link target over 4095 bytes', async () => {
    const deep = Array.from({ length: 20 }, () => 'd'.repeat(250)).join('/');
    await rejected(await setup(), tarOf(fileEntry('landed', 'x'), paxEntry(paxRecord('path', deep)), fileEntry('placeholder', 'x')), /path too long/);
    await rejected(await setup(), tarOf(fileEntry('landed', 'x'), paxEntry(paxRecord('linkpath', 'a/'.repeat(2100))), linkEntry('l', 'x')), /target over/);
  });
});

describe('hostile: half-applied batches roll back', () => {
  // the batch below takes 9 steps: its last one failing undoes the 8 before
  for (const steps of [1, 3, 5, 8, 9]) {
    it(`a commit that fails after ${steps} step(s) leaves the tree as it was`, async () => {
      const { BatchReceiver } = await import('@kdev/sync-sidecar');
      const env = await setup();
      await mkdir(join(env.root, 'gone/deep'), { recursive: true });
      await writeFile(join(env.root, 'gone/deep/f'), 'f');
      await mkdir(join(env.root, 'becomes-file'));
      await writeFile(join(env.root, 'becomes-file/in'), 'in');
      await writeFile(join(env.root, 'replaced'), 'old');
      await mkdir(join(env.root, 'mode'), { mode: 0o755 });
      await utimes(join(env.root, 'replaced'), 1000, 1000);
      const skip = (rel: string): boolean => rel === STAGING_DIR || rel.startsWith(STAGING_DIR + '/');
      const before = await treeListing(env.root, skip);
      const r = new BatchReceiver(env.root, undefined, steps);
      await r.write(tarOf(dirEntry('mode', 0o700), fileEntry('becomes-file', 'now a file'), fileEntry('replaced', 'new'), dirEntry('newdir'), fileEntry('newdir/a', 'a'), linkEntry('ln', 'replaced')));
      await assert.rejects(r.finish(['gone']), /rolled back\): injected failure/);
      assert.deepEqual(await treeListing(env.root, skip), before);
      assert.equal((await lstat(join(env.root, 'mode'))).mode & 0o777, 0o755);
      await intact(env);
    });
  }
  it('the same batch without a failure lands whole (the control case)', async () => {
    const { BatchReceiver } = await import('@kdev/sync-sidecar');
    const env = await setup();
    await mkdir(join(env.root, 'gone'));
    const r = new BatchReceiver(env.root, undefined, 10);
    await r.write(tarOf(fileEntry('becomes-file', 'now a file'), dirEntry('newdir'), fileEntry('newdir/a', 'a'), linkEntry('ln', 'becomes-file')));
    await r.finish(['gone']);
    assert.deepEqual((await readdir(env.root)).sort(), [STAGING_DIR, 'becomes-file', 'ln', 'newdir']);
    await intact(env);
  });
});


describe('hostile: authentication and least privilege', () => {
  it('with a session token, hello without it, with a wrong one or a non-string is refused; the right one is served', async () => {
    const base = tempDir('auth');
    const state = new SidecarState({ root: base, token: 's3cret-token' });
    for (const frames of [[hello()], [hello('send-only', 'wrong')], [encodeJson({ t: 'hello', v: 2, mode: 'send-only', token: 42 } as unknown as Parameters<typeof encodeJson>[0])]]) {
      const msgs = await talk(state, [...frames, encodeJson({ t: 'ping', n: 1 })]);
      assert.match(errorOf(msgs) ?? '', /authentication failed/);
      assert.ok(!msgs.some((m) => m.t === 'welcome' || m.t === 'pong'));
    }
    const ok = await talk(state, [hello('send-only', 's3cret-token'), encodeJson({ t: 'ping', n: 1 })]);
    assert.deepEqual(
      ok.map((m) => m.t),
      ['welcome', 'pong'],
    );
  });

  it('the sidecar container runs as a non-root user, with no capabilities, a read-only root and its token from a Secret', async () => {
    const { syncSidecarParts, SYNC_TOKEN_SECRET } = await import('@kdev/core/internals');
    const { container, volumes } = syncSidecarParts();
    const sc = container.securityContext!;
    assert.equal(sc.runAsNonRoot, true);
    assert.ok((sc.runAsUser ?? 0) > 0);
    assert.equal(sc.readOnlyRootFilesystem, true);
    assert.equal(sc.allowPrivilegeEscalation, false);
    assert.deepEqual(sc.capabilities?.drop, ['ALL']);
    assert.equal(sc.capabilities?.add, undefined);
    const env = container.env!.find((e) => e.name === 'KDEV_SYNC_TOKEN');
    assert.equal(env?.valueFrom?.secretKeyRef?.name, SYNC_TOKEN_SECRET);
    const tmp = container.volumeMounts!.find((m) => m.mountPath === '/tmp');
    assert.ok(tmp && volumes.some((v) => v.name === tmp.name && v.emptyDir), 'a writable /tmp of its own');
  });
});

describe('hostile: a client that stops reading', () => {
  it('a pull whose client half-closes and never reads does not keep the connection (or its slot)', { timeout: 60_000 }, async () => {
    const env = await setup({ maxConnections: 1 });
    await writeFile(join(env.root, 'big'), Buffer.alloc(8 * 1024 * 1024, 1));
    const { Duplex } = await import('node:stream');
    // a client end whose readable side is never consumed beyond its buffer
    const server = new Duplex({ read() {}, write: (_c, _e, cb) => setTimeout(cb, 60_000), highWaterMark: 1024 });
    const done = serveConnection(server, env.state);
    server.push(hello('two-way'));
    server.push(encodeJson({ t: 'pull', paths: ['big', 'big', 'big'] }));
    server.push(null);
    await done;
    await intact(env);
  });
});

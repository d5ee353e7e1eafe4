// The sync protocol's pure pieces and the sidecar's batch application, without a cluster.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { lstat, mkdir, readFile, readdir, readlink, symlink, writeFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as tar from 'tar-stream';
import {
  BatchReceiver,
  FRAME_DATA,
  HashCache,
  FRAME_END,
  FRAME_JSON,
  FrameDecoder,
  MAX_DATA_BYTES,
  MAX_TAR_EXT_HEADER,
  PROTOCOL_VERSION,
  STAGING_DIR,
  SidecarState,
  TarHeaderGuard,
  checkLinkTarget,
  checkRelPath,
  encodeFrame,
  encodeJson,
  notifySupervisor,
  parseMessage,
  serveConnection,
  sha256,
  type ServerMessage,
} from '@kdev/sync-sidecar';
import { duplexPair, tempDir } from '../lib/sync.js';

/** The sha256 of a text, as manifests carry it. */
const h = (s: string): string => sha256(Buffer.from(s));

async function tarOf(entries: Array<{ name: string; type?: 'file' | 'directory' | 'symlink' | 'link'; mode?: number; content?: string; linkname?: string; pax?: Record<string, string> }>): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) {
    const content = Buffer.from(e.content ?? '');
    pack.entry({ name: e.name, type: e.type ?? 'file', mode: e.mode ?? 0o644, linkname: e.linkname, size: e.type && e.type !== 'file' ? 0 : content.length, pax: e.pax } as tar.Headers, e.type && e.type !== 'file' ? undefined : content);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

async function receive(root: string, data: Buffer, deletes: string[] = []): Promise<Awaited<ReturnType<BatchReceiver['finish']>>> {
  const r = new BatchReceiver(root);
  try {
    for (let i = 0; i < data.length; i += 1000) await r.write(data.subarray(i, i + 1000));
  } catch (e) {
    await r.abort();
    throw e;
  }
  return r.finish(deletes);
}

describe('frames', () => {
  it('decodes frames split at any byte boundary', () => {
    const frames = Buffer.concat([encodeJson({ t: 'ping', n: 1 }), encodeFrame(FRAME_DATA, Buffer.from('abc')), encodeFrame(FRAME_END, Buffer.alloc(0))]);
    for (let cut = 1; cut < frames.length; cut++) {
      const d = new FrameDecoder();
      const got = [...d.push(frames.subarray(0, cut)), ...d.push(frames.subarray(cut))];
      assert.deepEqual(
        got.map((f) => f.type),
        [FRAME_JSON, FRAME_DATA, FRAME_END],
      );
      assert.deepEqual(parseMessage(got[0]!.payload), { t: 'ping', n: 1 });
      assert.equal(got[1]!.payload.toString(), 'abc');
    }
  });

  it('rejects unknown frame types and oversize frames before buffering them', () => {
    assert.throws(() => new FrameDecoder().push(Buffer.from([0x58, 0, 0, 0, 0])), /unknown frame type/);
    const big = Buffer.alloc(5);
    big[0] = FRAME_DATA;
    big.writeUInt32BE(MAX_DATA_BYTES + 1, 1);
    assert.throws(() => new FrameDecoder().push(big), /oversize frame/);
    const end = Buffer.from([FRAME_END, 0, 0, 0, 1]);
    assert.throws(() => new FrameDecoder().push(end), /oversize frame/);
    assert.throws(() => parseMessage(Buffer.from('[1]')), /must be an object/);
    assert.throws(() => parseMessage(Buffer.from('{nope')), /malformed JSON/);
  });
});

describe('path rules', () => {
  it('accepts plain relative paths and rejects absolute, .., empty and odd ones', () => {
    for (const ok of ['a', 'a/b.c', '.hidden/x', 'a/..b', 'dir with space/ü']) assert.equal(checkRelPath(ok), ok);
    for (const bad of ['', '/etc/passwd', '../x', 'a/../b', 'a/..', 'a//b', './a', 'a/.', 'a/', 'C:/x', 'a\\b', 'a\0b', STAGING_DIR, `${STAGING_DIR}/x`, 'x'.repeat(5000)]) {
      assert.throws(() => checkRelPath(bad), Error, `should reject ${JSON.stringify(bad)}`);
    }
  });

  it('accepts symlinks that stay inside the root only', () => {
    assert.equal(checkLinkTarget('a/l', '../b'), '../b');
    assert.equal(checkLinkTarget('a/b/l', '../../x'), '../../x');
    assert.equal(checkLinkTarget('l', 'a/./b'), 'a/./b');
    for (const [p, t] of [
      ['l', '../x'],
      ['a/l', '../../x'],
      ['a/l', '/etc'],
      ['l', 'a/../../x'],
      ['l', ''],
    ] as const) {
      assert.throws(() => checkLinkTarget(p, t), Error, `${p} -> ${t}`);
    }
  });
});

describe('batch application', () => {
  it('writes files, folders, modes and symlinks, and deletes', async () => {
    const root = tempDir('apply');
    await mkdir(join(root, 'old/deep'), { recursive: true });
    await writeFile(join(root, 'old/deep/f'), 'x');
    await writeFile(join(root, 'gone.txt'), 'x');
    const data = await tarOf([
      { name: 'src/', type: 'directory', mode: 0o755 },
      { name: 'src/main.js', content: 'console.log(1)' },
      { name: 'bin/run.sh', mode: 0o755, content: '#!/bin/sh\necho hi\n' },
      { name: 'src/link', type: 'symlink', linkname: 'main.js' },
      { name: 'a/b/c/deep.txt', content: 'deep' },
    ]);
    const result = await receive(root, data, ['old', 'gone.txt', 'never-there']);
    assert.equal(await readFile(join(root, 'src/main.js'), 'utf8'), 'console.log(1)');
    assert.equal((await stat(join(root, 'bin/run.sh'))).mode & 0o777, 0o755);
    assert.equal((await stat(join(root, 'src/main.js'))).mode & 0o111, 0);
    assert.equal(await readlink(join(root, 'src/link')), 'main.js');
    assert.equal(await readFile(join(root, 'a/b/c/deep.txt'), 'utf8'), 'deep');
    assert.equal(await lstat(join(root, 'old')).catch(() => 'gone'), 'gone');
    assert.equal(await lstat(join(root, 'gone.txt')).catch(() => 'gone'), 'gone');
    assert.deepEqual(await readdir(join(root, STAGING_DIR)), []);
    const main = result.items.find((i) => i.p === 'src/main.js');
    assert.equal(main?.h, h('console.log(1)'));
  });

  it('replaces a file by a folder and a folder by a file', async () => {
    const root = tempDir('apply');
    await writeFile(join(root, 'x'), 'file');
    await mkdir(join(root, 'y/z'), { recursive: true });
    await receive(root, await tarOf([{ name: 'x/inner', content: 'now a dir' }, { name: 'y', content: 'now a file' }]));
    assert.equal(await readFile(join(root, 'x/inner'), 'utf8'), 'now a dir');
    assert.equal(await readFile(join(root, 'y'), 'utf8'), 'now a file');
  });

  it('rejects ../, absolute names, escaping symlinks and hard links, leaving nothing behind', async () => {
    const root = tempDir('apply');
    await writeFile(join(root, 'keep.txt'), 'original');
    const cases = [
      [{ name: 'keep.txt', content: 'changed' }, { name: '../escape.txt', content: 'x' }],
      [{ name: 'keep.txt', content: 'changed' }, { name: '/tmp/abs.txt', content: 'x' }],
      [{ name: 'keep.txt', content: 'changed' }, { name: 'l', type: 'symlink' as const, linkname: '../../etc' }],
      [{ name: 'keep.txt', content: 'changed' }, { name: 'l', type: 'symlink' as const, linkname: '/etc/passwd' }],
      [{ name: 'keep.txt', content: 'changed' }, { name: 'h', type: 'link' as const, linkname: 'keep.txt' }],
    ];
    for (const entries of cases) {
      await assert.rejects(receive(root, await tarOf(entries)), /rejected|outside|not allowed/);
      assert.equal(await readFile(join(root, 'keep.txt'), 'utf8'), 'original');
      assert.deepEqual((await readdir(root)).sort(), [STAGING_DIR, 'keep.txt']);
      assert.deepEqual(await readdir(join(root, STAGING_DIR)), []);
    }
  });

  it('a stream cut short or corrupted leaves no partial file', async () => {
    const root = tempDir('apply');
    const data = await tarOf([{ name: 'one.txt', content: 'a'.repeat(3000) }, { name: 'two.txt', content: 'b'.repeat(3000) }]);
    const cut = new BatchReceiver(root);
    await cut.write(data.subarray(0, 4000));
    await assert.rejects(cut.finish([]), /malformed|Unexpected end/i);
    const corrupt = Buffer.from(data);
    corrupt[3600] = corrupt[3600]! ^ 0xff; // the second header's name: checksum mismatch
    await assert.rejects(receive(root, corrupt), /malformed|invalid/i);
    assert.deepEqual((await readdir(root)).sort(), [STAGING_DIR]);
    assert.deepEqual(await readdir(join(root, STAGING_DIR)), []);
  });

  it('does not follow a symlinked parent folder out of the root', async () => {
    const base = tempDir('apply');
    const root = join(base, 'root');
    const outside = join(base, 'outside');
    await mkdir(root);
    await mkdir(outside);
    await symlink('../outside', join(root, 'esc'));
    await receive(root, await tarOf([{ name: 'esc/pwned.txt', content: 'x' }]));
    assert.deepEqual(await readdir(outside), []);
    assert.ok((await lstat(join(root, 'esc'))).isDirectory(), 'the symlink was replaced by a real folder');
    await writeFile(join(outside, 'victim'), 'v');
    await symlink('../outside', join(root, 'esc2'));
    await receive(root, await tarOf([]), ['esc2/victim']);
    assert.equal(await readFile(join(outside, 'victim'), 'utf8'), 'v');
  });

  it('rejects oversize tar extension headers before parsing them', async () => {
    const data = await tarOf([{ name: 'f', content: 'x', pax: { comment: 'y'.repeat(MAX_TAR_EXT_HEADER + 10) } }]);
    assert.throws(() => new TarHeaderGuard().push(data), /oversize tar extension header/);
    const small = await tarOf([{ name: 'f', content: 'x', pax: { comment: 'y'.repeat(100) } }]);
    new TarHeaderGuard().push(small);
  });
});

async function session(root: string, frames: Buffer[]): Promise<ServerMessage[]> {
  const [client, server] = duplexPair();
  const state = new SidecarState({ root });
  const done = serveConnection(server, state);
  const got: ServerMessage[] = [];
  const decoder = new FrameDecoder();
  client.on('data', (c: Buffer) => {
    for (const f of decoder.push(c)) if (f.type === FRAME_JSON) got.push(parseMessage(f.payload));
  });
  const ended = new Promise((r) => client.once('end', r));
  for (const f of frames) client.write(f);
  client.end();
  await done;
  await ended;
  return got;
}

describe('hash cache', () => {
  it('spills to a file when idle and reads it back on the next use', async () => {
    const root = tempDir('hc');
    await writeFile(join(root, 'a.txt'), 'A');
    const st = await lstat(join(root, 'a.txt'));
    const cache = new HashCache();
    cache.set('a.txt', st, h('A'));
    const file = join(root, 'spill.json');
    assert.equal(cache.spill(file), true);
    assert.ok((await readFile(file, 'utf8')).includes('a.txt'));
    assert.equal(cache.get('a.txt', st), h('A'), 'read back on use');
    assert.equal(cache.size, 1);
    // a cache that cannot be written stays in memory
    assert.equal(cache.spill(join(root, 'no/such/dir/x.json')), false);
    assert.equal(cache.get('a.txt', st), h('A'));
  });
});

describe('sidecar connection', () => {
  it('answers the handshake and diffs a manifest (missing, differing, extra)', async () => {
    const root = tempDir('server');
    await writeFile(join(root, 'same.txt'), 'same');
    await writeFile(join(root, 'changed.txt'), 'old');
    await writeFile(join(root, 'extra.txt'), 'extra');
    await mkdir(join(root, 'extradir/sub'), { recursive: true });
    const msgs = await session(root, [
      encodeJson({ t: 'hello', v: PROTOCOL_VERSION, mode: 'send-only' }),
      encodeJson({
        t: 'manifest',
        entries: [
          { p: 'same.txt', t: 'f', m: 0o644, s: 4, h: h('same') },
          { p: 'changed.txt', t: 'f', m: 0o644, s: 3, h: h('new') },
          { p: 'new.txt', t: 'f', m: 0o644, s: 1, h: h('n') },
        ],
      }),
    ]);
    assert.equal(msgs[0]?.t, 'welcome');
    const diff = msgs[1];
    assert.ok(diff?.t === 'diff');
    assert.deepEqual(diff.missing, ['new.txt']);
    assert.deepEqual(
      diff.differ.map((e) => e.p),
      ['changed.txt'],
    );
    assert.deepEqual(diff.extra.map((e) => `${e.p}:${e.t}`).sort(), ['extra.txt:f', 'extradir:d']);
  });

  it('diffs hash-less entries: no hash for absent files or other sizes, its own hash for same-size files', async () => {
    const root = tempDir('server');
    await writeFile(join(root, 'same.txt'), 'same');
    await writeFile(join(root, 'samesize.txt'), 'abcd');
    await writeFile(join(root, 'longer.txt'), 'longer');
    await mkdir(join(root, 'dir'));
    await writeFile(join(root, 'dir/in.txt'), 'in');
    await writeFile(join(root, 'file-not-dir'), 'x');
    const msgs = await session(root, [
      encodeJson({ t: 'hello', v: PROTOCOL_VERSION, mode: 'send-only' }),
      encodeJson({
        t: 'manifest',
        entries: [
          { p: 'same.txt', t: 'f', m: 0o644, s: 4 },
          { p: 'samesize.txt', t: 'f', m: 0o644, s: 4 },
          { p: 'longer.txt', t: 'f', m: 0o644, s: 2 },
          { p: 'absent.txt', t: 'f', m: 0o644, s: 1 },
          { p: 'dir', t: 'd', m: 0o755 },
          { p: 'dir/in.txt', t: 'f', m: 0o644, s: 2, h: h('in') },
          { p: 'dir/new.txt', t: 'f', m: 0o644, s: 1 },
          { p: 'newdir', t: 'd', m: 0o755 },
          { p: 'newdir/x.txt', t: 'f', m: 0o644, s: 1 },
          { p: 'file-not-dir', t: 'd', m: 0o755 },
          { p: 'file-not-dir/y.txt', t: 'f', m: 0o644, s: 1 },
        ],
      }),
    ]);
    const diff = msgs[1];
    assert.ok(diff?.t === 'diff', JSON.stringify(msgs));
    assert.deepEqual([...diff.missing].sort(), ['absent.txt', 'dir/new.txt', 'file-not-dir/y.txt', 'newdir', 'newdir/x.txt']);
    const differ = new Map(diff.differ.map((e) => [e.p, e]));
    assert.deepEqual([...differ.keys()].sort(), ['file-not-dir', 'longer.txt', 'same.txt', 'samesize.txt']);
    // same size: the sidecar's hash comes back, so the client can compare
    assert.equal(differ.get('same.txt')?.h, h('same'));
    assert.equal(differ.get('samesize.txt')?.h, h('abcd'));
    // another size: different whatever the content, nothing hashed
    assert.equal(differ.get('longer.txt')?.h, undefined);
    assert.equal(differ.get('longer.txt')?.s, 6);
    assert.equal(differ.get('file-not-dir')?.t, 'f');
    assert.deepEqual(diff.extra, []);
  });

  it('says in its welcome whether the root is empty (the staging folder aside)', async () => {
    const root = tempDir('server');
    await mkdir(join(root, STAGING_DIR));
    const empty = await session(root, [encodeJson({ t: 'hello', v: PROTOCOL_VERSION, mode: 'send-only' })]);
    assert.ok(empty[0]?.t === 'welcome' && empty[0].empty === true);
    await writeFile(join(root, 'a.txt'), 'A');
    const full = await session(root, [encodeJson({ t: 'hello', v: PROTOCOL_VERSION, mode: 'send-only' })]);
    assert.ok(full[0]?.t === 'welcome' && full[0].empty === false);
  });

  it('refuses another protocol version and anything before hello', async () => {
    const root = tempDir('server');
    const v = await session(root, [encodeJson({ t: 'hello', v: 99, mode: 'send-only' })]);
    assert.ok(v[0]?.t === 'error' && /version 99/.test(v[0].message));
    const early = await session(root, [encodeJson({ t: 'manifest', entries: [] })]);
    assert.ok(early[0]?.t === 'error' && /hello/.test(early[0].message));
  });

  it('applies a batch and acknowledges it; a bad one closes the connection with an error', async () => {
    const root = tempDir('server');
    const data = await tarOf([{ name: 'a.txt', content: 'A' }]);
    const ok = await session(root, [encodeJson({ t: 'hello', v: PROTOCOL_VERSION, mode: 'send-only' }), encodeJson({ t: 'batch', id: 7, deletes: [] }), encodeFrame(FRAME_DATA, data), encodeFrame(FRAME_END, Buffer.alloc(0))]);
    assert.deepEqual(ok[1], { t: 'applied', id: 7, files: 1, deletes: 0, bytes: 1 });
    assert.equal(await readFile(join(root, 'a.txt'), 'utf8'), 'A');
    const bad = await session(root, [encodeJson({ t: 'hello', v: PROTOCOL_VERSION, mode: 'send-only' }), encodeJson({ t: 'batch', id: 8, deletes: ['../../etc/passwd'] })]);
    assert.ok(bad[1]?.t === 'error' && /rejected/.test(bad[1].message));
  });
});

describe('supervisor notification', () => {
  it('writes "synced" to the FIFO when a reader is there, and ignores ENXIO and ENOENT', async () => {
    const dir = tempDir('fifo');
    const fifo = join(dir, 'cmd');
    assert.equal(notifySupervisor(fifo), 'no-fifo');
    execFileSync('mkfifo', [fifo]);
    assert.equal(notifySupervisor(fifo), 'no-reader');
    // the reader is another process: opening a FIFO for reading blocks until a writer comes
    const reader = spawn('cat', [fifo]);
    let text = '';
    reader.stdout.on('data', (d: Buffer) => (text += d.toString()));
    const exited = new Promise((r) => reader.once('close', r));
    let result = notifySupervisor(fifo);
    for (let i = 0; i < 200 && result === 'no-reader'; i++) {
      await new Promise((r) => setTimeout(r, 10));
      result = notifySupervisor(fifo);
    }
    assert.equal(result, 'sent');
    await exited;
    assert.equal(text, 'synced\n');
  });
});

// Fuzzing the sidecar's stream parser in-process: valid sessions, then random and mutated
// frames (bit flips, cut frames, wrong lengths, hostile names, escaping links). Asserts that
// nothing crashes, every connection ends, nothing lands outside the root, and no temp file
// is left behind.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, readlink, lstat, symlink, writeFile } from 'node:fs/promises';
import { join, posix, resolve } from 'node:path';
import * as tar from 'tar-stream';
import { FRAME_DATA, FRAME_END, FRAME_JSON, PROTOCOL_VERSION, STAGING_DIR, SidecarState, encodeFrame, encodeJson, serveConnection } from '@kdev/sync-sidecar';
import { duplexPair, prng, tempDir, treeListing } from '../lib/sync.js';
import { dirEntry, fileEntry, header, linkEntry, padded, paxEntry, paxRecord, tarOf } from '../lib/tar-craft.js';

const NAMES = ['a.txt', 'dir/b.txt', 'dir/sub/c', '../up.txt', '../../etc/passwd', '/abs/x', 'esc/through-link.txt', 'dir/../../x', 'ok/./x', 'x\\y', '', STAGING_DIR + '/t', 'n'.repeat(300), 'dir'];
const TARGETS = ['a.txt', '../outside', '../../outside/x', '/etc', 'dir/../..', 'dir/sub', '..', 'dir/../a.txt'];

async function randomTar(rand: () => number): Promise<Buffer> {
  const pack = tar.pack();
  const n = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < n; i++) {
    const name = NAMES[Math.floor(rand() * NAMES.length)]!;
    const kind = rand();
    try {
      if (kind < 0.6) {
        const body = Buffer.alloc(Math.floor(rand() * 2000), 0x61 + i);
        pack.entry({ name: name || 'e', size: body.length, mode: rand() < 0.3 ? 0o755 : 0o644 }, body);
      } else if (kind < 0.75) pack.entry({ name: name || 'd', type: 'directory', mode: 0o755 });
      else if (kind < 0.95) pack.entry({ name: name || 'l', type: 'symlink', linkname: TARGETS[Math.floor(rand() * TARGETS.length)]! });
      else pack.entry({ name: name || 'h', type: rand() < 0.5 ? 'link' : 'fifo', linkname: 'a.txt' });
    } catch {
      // tar-stream refuses some names itself
    }
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

/** A root and, next to it, a folder with a canary; a sidecar state on the root. */
async function fuzzRoot(prefix: string): Promise<{ base: string; root: string; outside: string; state: SidecarState }> {
  const base = tempDir(prefix);
  const root = join(base, 'root');
  const outside = join(base, 'outside');
  await mkdir(root);
  await mkdir(outside);
  await writeFile(join(outside, 'precious'), 'do not touch');
  return { base, root, outside, state: new SidecarState({ root }) };
}

function mutate(frame: Buffer, rand: () => number): Buffer {
  const f = Buffer.from(frame);
  const op = rand();
  if (op < 0.35) {
    const flips = 1 + Math.floor(rand() * 8);
    for (let i = 0; i < flips && f.length > 0; i++) {
      const at = Math.floor(rand() * f.length);
      f[at] = f[at]! ^ (1 << Math.floor(rand() * 8));
    }
    return f;
  }
  if (op < 0.5) return f.subarray(0, Math.floor(rand() * f.length)); // cut short
  if (op < 0.65 && f.length >= 5) {
    f.writeUInt32BE(Math.floor(rand() * 0xffffffff), 1); // wrong length
    return f;
  }
  if (op < 0.8) return Buffer.concat([f, Buffer.from(Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256)))]);
  // a random frame of a random type
  const types = [FRAME_JSON, FRAME_DATA, FRAME_END, Math.floor(rand() * 256)];
  const payload = Buffer.from(Array.from({ length: Math.floor(rand() * 600) }, () => Math.floor(rand() * 256)));
  return encodeFrame(types[Math.floor(rand() * types.length)]!, payload);
}

it('the sidecar survives 10,000+ random and mutated frames (among valid ones) and never writes outside its root', { timeout: 240_000 }, async () => {
  const { base, root, outside, state } = await fuzzRoot('fuzz');
  const rand = prng(20261122);
  let frames = 0;
  let mutated = 0;
  let sessions = 0;
  const errors = new Map<string, number>();
  while (mutated < 10_000) {
    sessions++;
    // a symlink planted inside the root (as a process in the pod could) pointing outside
    await symlink('../outside', join(root, 'esc')).catch(() => undefined);
    const data = await randomTar(rand);
    const session: Buffer[] = [encodeJson({ t: 'hello', v: PROTOCOL_VERSION, mode: rand() < 0.5 ? 'send-only' : 'two-way' })];
    if (rand() < 0.3) session.push(encodeJson({ t: 'manifest', entries: [{ p: NAMES[Math.floor(rand() * NAMES.length)]!, t: 'f', m: 0o644, s: 1, h: '0'.repeat(64) }] }));
    session.push(encodeJson({ t: 'batch', id: sessions, deletes: rand() < 0.3 ? [NAMES[Math.floor(rand() * NAMES.length)]!] : [] }));
    for (let off = 0; off < data.length; off += 700) session.push(encodeFrame(FRAME_DATA, data.subarray(off, off + 700)));
    session.push(encodeFrame(FRAME_END, Buffer.alloc(0)));
    if (rand() < 0.2) session.push(encodeJson({ t: 'pull', paths: ['a.txt', '../x'] }));
    const mutations = rand() < 0.1 ? 0 : 1 + Math.floor(rand() * 5);
    for (let m = 0; m < mutations; m++) {
      const at = Math.floor(rand() * session.length);
      session[at] = mutate(session[at]!, rand);
      mutated++;
    }
    if (rand() < 0.1) {
      session.splice(Math.floor(rand() * session.length), 0, mutate(encodeJson({ t: 'ping', n: 1 }), rand));
      mutated++;
    }
    frames += session.length;
    const [client, server] = duplexPair();
    client.on('data', (c: Buffer) => {
      const text = c.toString('utf8');
      const m = /"t":"error","message":"([^":0-9]{0,24})/.exec(text);
      if (m) errors.set(m[1]!, (errors.get(m[1]!) ?? 0) + 1);
    });
    const done = serveConnection(server, state);
    for (const f of session) client.write(f);
    client.end();
    await done; // resolves for every input: no crash, no hang
  }
  assert.ok(mutated >= 10_000, `random or mutated frames: ${mutated}`);
  // nothing outside the root
  assert.deepEqual((await readdir(base)).sort(), ['outside', 'root']);
  assert.deepEqual(await readdir(outside), ['precious']);
  // every symlink inside the root stays inside it (but the one planted by the test)
  const listing = await treeListing(root);
  for (const [rel, what] of listing) {
    if (!what.startsWith('l ') || rel === 'esc') continue;
    const target = await readlink(join(root, rel));
    const resolved = resolve(join(root, posix.dirname(rel)), target);
    assert.ok(resolved === root || resolved.startsWith(root + '/'), `${rel} -> ${target} escapes`);
  }
  // no partial file left in the staging folder
  const staging = await lstat(join(root, STAGING_DIR)).catch(() => undefined);
  if (staging) assert.deepEqual(await readdir(join(root, STAGING_DIR)), []);
  assert.ok(errors.size > 3, 'the fuzzer reached several distinct rejections');
  // report what was exercised
  console.log(`fuzz: ${sessions} sessions, ${frames} frames, ${mutated} mutations; rejections: ${[...errors].map(([k, v]) => `${k}… ×${v}`).join('; ')}`);
});

// Structure-aware: tar streams whose headers are well formed (checksums right, ustar magic)
// but whose names, links, types, size fields and pax records are hostile, mixed with valid
// entries, against a root holding planted escapes. Same invariants as above.
function hostileTar(rand: () => number): Buffer {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const names = [...NAMES.filter((n) => n !== ''), 'esc/x', 'esc', 'chain/p', 'chain/esc/x', 'é'.repeat(128), 'ok/' + 'm'.repeat(255), 'd'.repeat(200) + '/' + 'e'.repeat(200)];
  const parts: Buffer[] = [];
  const n = 1 + Math.floor(rand() * 6);
  for (let i = 0; i < n; i++) {
    const name = pick(names);
    const r = rand();
    if (r < 0.3) parts.push(fileEntry(name, Buffer.alloc(Math.floor(rand() * 3000), 0x61 + i), rand() < 0.3 ? 0o755 : 0o644));
    else if (r < 0.4) parts.push(dirEntry(name));
    else if (r < 0.55) parts.push(linkEntry(name, pick([...TARGETS, 'p/../..', '..', 'chain/p/..'])));
    else if (r < 0.7) {
      // pax records: path / linkpath / size, well formed or not
      const key = pick(['path', 'linkpath', 'size', 'comment', 'mtime']);
      const value = key === 'size' ? pick(['0', '10', '4096', '1e3', '-1', String(2 ** 40), ' 5', '']) : pick([name, '../x', 'a'.repeat(300), '']);
      parts.push(paxEntry(paxRecord(key, value, rand() < 0.2 ? Math.floor(rand() * 40) : undefined), rand() < 0.1 ? Math.floor(rand() * 2 ** 31) : undefined));
      parts.push(fileEntry(name, 'after pax'));
    } else if (r < 0.85) {
      // a header whose size field is hostile, with some data after it
      const field = Buffer.alloc(12);
      const kind = rand();
      if (kind < 0.3) field.write(Math.floor(rand() * 2 ** 33).toString(8).padStart(11, '0') + '\0');
      else if (kind < 0.5) {
        field[0] = 0x80;
        field.writeUInt32BE(Math.floor(rand() * 2 ** 32), 8);
      } else if (kind < 0.7) field.write(' 12 \0');
      else field.write(pick(['0000000009\0', 'zzzz\0', '-0000001\0', '00000000010']));
      parts.push(header({ name, sizeField: field }), Buffer.alloc(512 * Math.floor(rand() * 3)));
    } else parts.push(header({ name, flag: pick(['1', '3', '4', '6', 'L', 'K', 'g', 'V', 'S', 'x', '7']), size: Math.floor(rand() * 600), linkname: 'a.txt' }), padded(Buffer.alloc(Math.floor(rand() * 600))));
  }
  return rand() < 0.9 ? tarOf(...parts) : Buffer.concat(parts);
}

it('structure-aware: 3,000 well-formed but hostile tar batches change nothing outside the root and leave no temp files', { timeout: 300_000 }, async () => {
  const { base, root, outside, state } = await fuzzRoot('fuzz-tar');
  const rand = prng(20261207);
  const errors = new Map<string, number>();
  let applied = 0;
  for (let i = 1; i <= 3000; i++) {
    await symlink('../outside', join(root, 'esc')).catch(() => undefined);
    await mkdir(join(root, 'chain'), { recursive: true }).catch(() => undefined);
    await symlink('..', join(root, 'chain/p')).catch(() => undefined);
    const deletes = rand() < 0.3 ? ['esc/precious', 'chain/p/outside/precious', 'a.txt'].slice(0, 1 + Math.floor(rand() * 3)) : [];
    const tar = hostileTar(rand);
    const frames = [encodeJson({ t: 'hello', v: PROTOCOL_VERSION, mode: 'send-only' }), encodeJson({ t: 'batch', id: i, deletes })];
    const step = 1 + Math.floor(rand() * 2000);
    for (let off = 0; off < tar.length; off += step) frames.push(encodeFrame(FRAME_DATA, tar.subarray(off, off + step)));
    frames.push(encodeFrame(FRAME_END, Buffer.alloc(0)));
    const [client, server] = duplexPair();
    client.on('data', (c: Buffer) => {
      const text = c.toString('utf8');
      if (text.includes('"t":"applied"')) applied++;
      const m = /"t":"error","message":"([^":0-9]{0,30})/.exec(text);
      if (m) errors.set(m[1]!, (errors.get(m[1]!) ?? 0) + 1);
    });
    const done = serveConnection(server, state);
    for (const f of frames) client.write(f);
    client.end();
    await done;
  }
  assert.deepEqual((await readdir(base)).sort(), ['outside', 'root']);
  assert.deepEqual(await readdir(outside), ['precious']);
  assert.equal(await readFile(join(outside, 'precious'), 'utf8'), 'do not touch');
  const staging = await lstat(join(root, STAGING_DIR)).catch(() => undefined);
  if (staging) assert.deepEqual(await readdir(join(root, STAGING_DIR)), []);
  assert.ok(applied > 100 && errors.size > 5, `applied ${applied}, rejections ${errors.size}`);
  console.log(`structure-aware fuzz: 3000 batches, ${applied} applied; rejections: ${[...errors].map(([k, v]) => `${k}… ×${v}`).join('; ')}`);
});

// Reading a tree: one entry per path, with a content-hash cache keyed by the file's identity
// (inode, size, mtime) so that a re-scan only re-hashes files that changed.
import { createHash } from 'node:crypto';
import { closeSync, constants, createReadStream, openSync, readFileSync, writeFileSync, type Stats } from 'node:fs';
import { lstat, readlink, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Entry } from './protocol.js';
import { type Dir, lstatAt, openFileAt, readAll, readlinkAt } from './fsfd.js';

interface CacheSlot {
  key: string;
  hash: string;
}

export class HashCache {
  private slots = new Map<string, CacheSlot>();

  /**
   * At most `max` slots: past that, the oldest is dropped (its file is hashed again if it is
   * ever asked for). The sidecar bounds its cache this way; the client keeps everything.
   */
  constructor(private readonly max = Infinity) {}
  /** Where the slots were written by spill(); read back on the next use. */
  private spilled: string | undefined;

  /**
   * Moves the slots to `file` and frees them from memory (an idle sidecar keeps nothing);
   * any later use reads them back first. Returns false (and keeps them) when writing fails.
   */
  spill(file: string): boolean {
    if (this.spilled || this.slots.size === 0) return true;
    try {
      writeFileSync(file, JSON.stringify(this.dump()));
    } catch {
      return false;
    }
    this.slots = new Map();
    this.spilled = file;
    return true;
  }

  private unspill(): void {
    const file = this.spilled;
    if (!file) return;
    this.spilled = undefined;
    try {
      this.load(JSON.parse(readFileSync(file, 'utf8')));
    } catch {
      // lost: hashes are computed again when needed
    }
  }

  static keyOf(st: Stats): string {
    return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
  }

  get(rel: string, st: Stats): string | undefined {
    this.unspill();
    const slot = this.slots.get(rel);
    return slot && slot.key === HashCache.keyOf(st) ? slot.hash : undefined;
  }

  set(rel: string, st: Stats, hash: string): void {
    this.unspill();
    if (this.slots.size >= this.max && !this.slots.has(rel)) {
      const oldest = this.slots.keys().next();
      if (!oldest.done) this.slots.delete(oldest.value);
    }
    this.slots.set(rel, { key: HashCache.keyOf(st), hash });
  }

  delete(rel: string): void {
    this.unspill();
    this.slots.delete(rel);
  }

  /**
   * Forgets `rel` and (with `deep`) everything under it, scanning the cache. The sidecar does
   * not need `deep`: a slot only answers for the same inode, size, mtime and ctime, which a
   * new file at that path never has, so slots left under a deleted folder are merely dead
   * weight until evicted — deleting a path stays O(1).
   */
  deletePrefix(rel: string, deep = true): void {
    this.unspill();
    this.slots.delete(rel);
    if (!deep) return;
    const prefix = rel + '/';
    for (const k of this.slots.keys()) if (k.startsWith(prefix)) this.slots.delete(k);
  }

  get size(): number {
    this.unspill();
    return this.slots.size;
  }

  /** Every slot as [path, identity key, hash] (for a cache kept on disk). */
  dump(keep?: (rel: string) => boolean): Array<[string, string, string]> {
    this.unspill();
    const out: Array<[string, string, string]> = [];
    for (const [rel, slot] of this.slots) if (!keep || keep(rel)) out.push([rel, slot.key, slot.hash]);
    return out;
  }

  /** Loads slots written by dump(); malformed rows are skipped. */
  load(rows: unknown): void {
    if (!Array.isArray(rows)) return;
    for (const row of rows) {
      if (!Array.isArray(row) || row.length !== 3) continue;
      const [rel, key, hash] = row as unknown[];
      if (typeof rel === 'string' && typeof key === 'string' && typeof hash === 'string' && /^[0-9a-f]{64}$/.test(hash)) this.slots.set(rel, { key, hash });
    }
  }
}

/**
 * Reads a whole file with few syscalls (open, read, close), synchronously: for the small
 * files that make up most trees this is several times faster than the thread-pool round
 * trips of fs/promises. `sizeHint` sizes the buffer; a file that grew is still read whole.
 */
export function readFileFast(path: string, sizeHint: number, noFollow = false): Buffer {
  const fd = openSync(path, noFollow ? constants.O_RDONLY | constants.O_NOFOLLOW : constants.O_RDONLY);
  try {
    return readAll(fd, sizeHint);
  } finally {
    closeSync(fd);
  }
}

export function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

const SMALL_FILE = 4 * 1024 * 1024;

export async function hashFile(path: string, size: number): Promise<string> {
  if (size <= SMALL_FILE) return sha256(readFileFast(path, size));
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * The entry of one path from an lstat, or undefined for kinds that are not synced. With
 * `hash: false`, a file's hash is only taken from the cache (left out when not cached).
 */
export async function entryOf(root: string, rel: string, st: Stats, cache?: HashCache, opts: { hash?: boolean } = {}): Promise<Entry | undefined> {
  const m = st.mode & 0o777;
  if (st.isDirectory()) return { p: rel, t: 'd', m };
  if (st.isSymbolicLink()) return { p: rel, t: 'l', m, l: await readlink(join(root, rel)) };
  if (!st.isFile()) return undefined;
  let h = cache?.get(rel, st);
  if (!h && opts.hash === false) return { p: rel, t: 'f', m, s: st.size };
  if (!h) {
    h = await hashFile(join(root, rel), st.size);
    cache?.set(rel, st, h);
  }
  return { p: rel, t: 'f', m, s: st.size, h };
}

export async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
}

export async function readdirOrEmpty(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw e;
  }
}

/** Runs `fn` over `items` with at most `limit` running at once. */
export async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!);
    }
  });
  await Promise.all(workers);
}

/**
 * entryOf, by descriptor: `name` in the open folder `dir` (rel is its path for the cache).
 * A file is read through an O_NOFOLLOW descriptor checked to be a regular file; a symlink is
 * reported with its target, never followed.
 */
export async function entryAt(dir: Dir, name: string, rel: string, st: Stats, cache?: HashCache, opts: { hash?: boolean } = {}): Promise<Entry | undefined> {
  const m = st.mode & 0o777;
  if (st.isDirectory()) return { p: rel, t: 'd', m };
  if (st.isSymbolicLink()) {
    const l = readlinkAt(dir, name);
    return l === undefined ? undefined : { p: rel, t: 'l', m, l };
  }
  if (!st.isFile()) return undefined;
  let h = cache?.get(rel, st);
  if (!h && opts.hash === false) return { p: rel, t: 'f', m, s: st.size };
  if (!h) {
    const f = openFileAt(dir, name);
    if (!f) return undefined;
    try {
      h = await hashFd(f.fd, f.st.size);
    } finally {
      closeSync(f.fd);
    }
    const now = lstatAt(dir, name);
    if (!now || HashCache.keyOf(now) !== HashCache.keyOf(f.st)) return undefined; // changed while read
    cache?.set(rel, f.st, h);
    return { p: rel, t: 'f', m: f.st.mode & 0o777, s: f.st.size, h };
  }
  return { p: rel, t: 'f', m, s: st.size, h };
}

/** sha256 of an open file: small ones in one read, large ones in 1 MiB reads off the thread pool. */
export async function hashFd(fd: number, size: number): Promise<string> {
  if (size <= SMALL_FILE) return sha256(readAll(fd, size));
  const h = createHash('sha256');
  for await (const chunk of createReadStream('', { fd, autoClose: false, highWaterMark: 1024 * 1024 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

// The client's hash caches on disk (~/.cache/kdev/sync/<24 hex digits>.json): one per synced
// folder, rewritten after each initial sync, so its mtime says when the folder was last
// synced. A folder synced once and never again (a deleted clone, a test's temp folder)
// would leave its cache there for good; pruneHashCaches removes the caches not used for
// maxAgeDays, then the least recently used beyond maxFiles, and temp files that an
// interrupted write left behind. It touches no other file.
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { HashCache } from '@kdev/sync-sidecar';

const CACHE_FILE = /^[0-9a-f]{24}\.json$/;
const TEMP_FILE = /^[0-9a-f]{24}\.json\.\d+\.tmp$/;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface PruneOptions {
  /** Caches not written for this many days go (default 30). */
  maxAgeDays?: number;
  /** At most this many caches stay, the most recently written (default 100). */
  maxFiles?: number;
  /** A cache that stays whatever its age (the session's own). */
  keep?: string;
  now?: number;
}

/** Removes stale hash caches from `dir`; returns the names removed. */
export async function pruneHashCaches(dir: string, opts: PruneOptions = {}): Promise<string[]> {
  const now = opts.now ?? Date.now();
  const maxAge = (opts.maxAgeDays ?? 30) * DAY_MS;
  const maxFiles = opts.maxFiles ?? 100;
  const caches: Array<{ name: string; mtime: number }> = [];
  const remove: string[] = [];
  for (const name of await readdir(dir)) {
    const cache = CACHE_FILE.test(name);
    if (!cache && !TEMP_FILE.test(name)) continue;
    if (opts.keep && join(dir, name) === opts.keep) continue;
    const st = await stat(join(dir, name)).catch(() => undefined);
    if (!st?.isFile()) continue;
    const age = now - st.mtimeMs;
    if (!cache) {
      if (age > DAY_MS) remove.push(name); // a write that did not finish (or still runs, if recent)
    } else if (age > maxAge) remove.push(name);
    else caches.push({ name, mtime: st.mtimeMs });
  }
  const room = Math.max(0, maxFiles - (opts.keep ? 1 : 0));
  caches.sort((a, b) => b.mtime - a.mtime);
  for (const c of caches.slice(room)) remove.push(c.name);
  const removed: string[] = [];
  for (const name of remove) {
    try {
      await unlink(join(dir, name));
      removed.push(name);
    } catch {
      // removed meanwhile by another session
    }
  }
  return removed;
}

/** The default folder of the hash caches. */
function hashCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'kdev', 'sync');
}

/** The default place of a folder's persistent hash cache. */
export function defaultHashCacheFile(localRoot: string): string {
  return join(hashCacheDir(), `${createHash('sha256').update(localRoot).digest('hex').slice(0, 24)}.json`);
}

/** The hash-cache folder is pruned once per process. */
let hashCachesPruned = false;

/**
 * One folder's hash cache on disk: content hashes of local files keyed by path, inode, size,
 * mtime and ctime, so that a new session does not re-read unchanged files.
 */
export class HashCacheFile {
  private loaded = false;
  private saving: Promise<void> = Promise.resolve();

  /** `file` undefined: memory only. */
  constructor(
    private readonly file: string | undefined,
    private readonly root: string,
  ) {}

  /** Loads the cache once; a missing or corrupt file is an empty cache. */
  async load(cache: HashCache): Promise<void> {
    if (this.loaded || !this.file) return;
    this.loaded = true;
    try {
      const data = JSON.parse(await readFile(this.file, 'utf8')) as { v?: number; root?: string; rows?: unknown };
      if (data.v === 1 && data.root === this.root) cache.load(data.rows);
    } catch {
      // no cache yet, or unreadable: hashes are computed again
    }
  }

  /** Writes the cache in the background (after any write in progress); flush() waits for it. */
  saveLater(cache: HashCache, keep?: (rel: string) => boolean): void {
    this.saving = this.saving.then(() => this.save(cache, keep));
  }

  flush(): Promise<void> {
    return this.saving;
  }

  /** Writes the cache (temp file + rename), keeping only paths for which `keep` holds. */
  async save(cache: HashCache, keep?: (rel: string) => boolean): Promise<void> {
    if (!this.file) return;
    try {
      await mkdir(dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify({ v: 1, root: this.root, rows: cache.dump(keep) }));
      await rename(tmp, this.file);
      if (!hashCachesPruned && dirname(this.file) === hashCacheDir()) {
        hashCachesPruned = true;
        await pruneHashCaches(hashCacheDir(), { keep: this.file });
      }
    } catch {
      // a cache that cannot be written only costs re-hashing next time
    }
  }
}

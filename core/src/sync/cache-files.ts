// The client's hash caches on disk (~/.cache/kdev/sync/<24 hex digits>.json): one per synced
// folder, rewritten after each initial sync, so its mtime says when the folder was last
// synced. A folder synced once and never again (a deleted clone, a test's temp folder)
// would leave its cache there for good; pruneHashCaches removes the caches not used for
// maxAgeDays, then the least recently used beyond maxFiles, and temp files that an
// interrupted write left behind. It touches no other file.
import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';

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

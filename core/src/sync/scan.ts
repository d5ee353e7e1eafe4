// Scanning the local tree: every synced entry, with content hashes from a cache keyed by
// inode/size/mtime so that a re-scan after a reconnect only re-reads changed files.
import { lstatSync, type Dirent, type Stats } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { HashCache, entryOf, pool, type Entry } from '@kdev/sync-sidecar';
import type { IgnoreRules } from './ignore.js';
import type { FaultLog } from './faults.js';

/**
 * Entries under `base` ('' = the whole root), folders included, the root itself excluded.
 * With `hash: false` a file's hash comes only from the cache (left out when not cached), so
 * nothing is read: the handshake asks the sidecar first and hashes only where it must.
 * `stats` receives each file's lstat, so that a send right after the scan need not repeat it.
 * `faults` hears of paths left out (unreadable, too long for the container) and symlink loops.
 */
export async function scanTree(root: string, rules: IgnoreRules, cache: HashCache, base = '', opts: { hash?: boolean; stats?: Map<string, Stats>; faults?: FaultLog } = {}): Promise<Map<string, Entry>> {
  const faults = opts.faults;
  const out = new Map<string, Entry>();
  const files: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let dirents: Dirent[];
    try {
      dirents = await readdir(join(root, dir), { withFileTypes: true });
    } catch (e) {
      if (dir) faults?.readFailed(dir, e);
      return;
    }
    const subdirs: string[] = [];
    for (const d of dirents) {
      const rel = dir ? `${dir}/${d.name}` : d.name;
      const isDir = d.isDirectory();
      if (rules.ignores(rel, isDir) || faults?.rejects(rel)) continue;
      if (isDir) subdirs.push(rel);
      else if (d.isFile() || d.isSymbolicLink()) files.push(rel);
    }
    await Promise.all(
      subdirs.map(async (rel) => {
        const st = await lstat(join(root, rel)).catch(() => undefined);
        if (!st?.isDirectory()) return;
        out.set(rel, { p: rel, t: 'd', m: st.mode & 0o777 });
        await walk(rel);
      }),
    );
  };
  if (base) {
    const st = await lstat(join(root, base)).catch(() => undefined);
    if (!st) return out;
    if (!st.isDirectory()) {
      const e = await entryOf(root, base, st, cache, opts);
      if (e) out.set(base, e);
      return out;
    }
    out.set(base, { p: base, t: 'd', m: st.mode & 0o777 });
  }
  await walk(base);
  // lstat synchronously: microseconds each, where a thread-pool round trip costs far more
  await pool(files, 16, async (rel) => {
    let st: Stats;
    try {
      st = lstatSync(join(root, rel));
    } catch {
      return;
    }
    const e = await entryOf(root, rel, st, cache, opts).catch((err: unknown) => faults?.readFailed(rel, err));
    if (e?.t === 'l' && faults) await loopCheck(root, e, faults);
    if (e) out.set(rel, e);
    if (e && opts.stats && st.isFile()) opts.stats.set(rel, st);
  });
  return out;
}

/** A symlink that resolves to itself (ELOOP) is synced as a link, and named once. */
async function loopCheck(root: string, e: Entry, faults: FaultLog): Promise<void> {
  await stat(join(root, e.p)).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ELOOP') faults.add(e.p, 'loop', `-> ${e.l}`);
  });
}

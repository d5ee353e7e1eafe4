// What one sync session knows about its local folder, shared by its parts (watcher, batches,
// handshake, two-way pulls): the folder, its ignore rules and hash cache, what the sidecar
// holds as far as we know, and the paths changed since the last batch.
import { relative, sep } from 'node:path';
import type { Entry, HashCache } from '@kdev/sync-sidecar';
import type { IgnoreRules } from './ignore.js';
import type { FaultLog } from './faults.js';
import { under } from './guard.js';

export interface SyncTree {
  readonly root: string;
  readonly rules: IgnoreRules;
  readonly cache: HashCache;
  /** Paths that cannot sync, reported as error events (see faults.ts). */
  readonly faults: FaultLog;
  /** What the sidecar holds, as far as we know: path → entry. */
  synced: Map<string, Entry>;
  /** Paths changed locally, for the next batch. */
  readonly pending: Set<string>;
}

/** Synced regular files and links (folders not counted). */
export function syncedFileCount(tree: SyncTree): number {
  let n = 0;
  for (const e of tree.synced.values()) if (e.t !== 'd') n++;
  return n;
}

/** Forgets the synced entries at and under these deleted paths. */
export function forgetUnder(tree: SyncTree, deleted: string[]): void {
  for (const d of deleted) for (const p of [...tree.synced.keys()]) if (under(d, p)) tree.synced.delete(p);
}

/** The '/'-separated path of `abs` inside the root; undefined for the root itself or outside it. */
export function relOf(root: string, abs: string): string | undefined {
  const rel = relative(root, abs);
  if (rel === '' || rel.startsWith('..')) return undefined;
  return sep === '/' ? rel : rel.split(sep).join('/');
}

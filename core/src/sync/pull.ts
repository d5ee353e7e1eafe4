// Two-way sync: what the sidecar reports changed in the container comes here. Remote
// deletions remove local files only with deleteLocal (and past the guard); remote edits are
// pulled unless the same path has a local change waiting to go out.
import { entryOf, removeInside, type ApplyResult } from '@kdev/sync-sidecar';
import type { ChangesMessage } from './connection.js';
import type { DeletionGuard } from './guard.js';
import { forgetUnder, syncedFileCount, type SyncTree } from './tree.js';

/** Applies a `changes` message: deletions (maybe), and which paths to pull. */
export async function remoteChanges(tree: SyncTree, msg: ChangesMessage, opts: { deleteLocal: boolean; guard: DeletionGuard }): Promise<{ deleted: string[]; pull: string[] }> {
  const deleted = (msg.deletes ?? []).filter((d) => !tree.rules.ignores(d, tree.synced.get(d)?.t === 'd'));
  if (deleted.length > 0) {
    if (opts.deleteLocal && (await opts.guard.allow(deleted, tree.synced, syncedFileCount(tree), 'local'))) {
      for (const d of deleted) await removeInside(tree.root, d);
    }
    forgetUnder(tree, deleted);
  }
  const pull = (msg.entries ?? []).filter((e) => typeof e?.p === 'string' && !tree.pending.has(e.p) && !tree.rules.ignores(e.p, e.t === 'd')).map((e) => e.p);
  return { deleted, pull };
}

/** Records what a pull wrote locally as synced (and its hashes in the cache). */
export async function recordPulled(tree: SyncTree, result: ApplyResult): Promise<void> {
  for (const item of result.items) {
    if (item.t === 'f' && item.stat && item.h) {
      tree.cache.set(item.p, item.stat, item.h);
      tree.synced.set(item.p, { p: item.p, t: 'f', m: item.stat.mode & 0o777, s: item.stat.size, h: item.h });
    } else if (item.t === 'd') tree.synced.set(item.p, { p: item.p, t: 'd', m: 0o755 });
    else if (item.t === 'l' && item.stat) {
      const e = await entryOf(tree.root, item.p, item.stat).catch(() => undefined);
      if (e) tree.synced.set(item.p, e);
    }
  }
}

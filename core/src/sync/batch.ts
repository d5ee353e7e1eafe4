// Batches of local changes: which paths a batch carries (planBatch), how a burst of
// deletions is gathered before the guard judges it (settleDeletes), and how the batch's
// content is read into the tar stream (fillBatch).
import { lstatSync, type Stats } from 'node:fs';
import { lstat, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { checkLinkTarget, entryOf, hashFile, readFileFast, sameEntry, sha256, type Entry, type TarSender } from '@kdev/sync-sidecar';
import { under } from './guard.js';
import { scanTree } from './scan.js';
import type { SyncTree } from './tree.js';

const LARGE_FILE = 4 * 1024 * 1024;
export const DELETE_SETTLE_MS = 25;
export const DELETE_SETTLE_MAX_MS = 1000;

/** Takes up to `max` pending paths for the next batch, sorted. */
export function takePending(tree: SyncTree, max: number): string[] {
  const paths: string[] = [];
  for (const p of tree.pending) {
    paths.push(p);
    tree.pending.delete(p);
    if (paths.length >= max) break;
  }
  return paths.sort();
}

/**
 * Decides, from the current state of these paths, what the next batch carries: deletions of
 * synced paths that are gone, and the paths that differ from what was synced (a new folder:
 * everything inside it). Past maxBytes, the rest goes back to pending for the next batch.
 */
export async function planBatch(tree: SyncTree, paths: string[], maxBytes: number): Promise<{ deletes: string[]; items: string[] }> {
  const deletes: string[] = [];
  const items = new Set<string>();
  let bytes = 0;
  for (const rel of paths) {
    if (bytes >= maxBytes) {
      tree.pending.add(rel);
      continue;
    }
    const st = await lstat(join(tree.root, rel)).catch(() => undefined);
    if (!st) {
      if (tree.synced.has(rel) && !deletes.some((d) => under(d, rel))) deletes.push(rel);
      continue;
    }
    if (tree.rules.ignores(rel, st.isDirectory()) || tree.faults.rejects(rel)) continue;
    if (st.isDirectory()) {
      if (tree.synced.get(rel)?.t === 'd') continue;
      // a new folder (created, moved in, or un-ignored): take everything inside it
      for (const [p, e] of await scanTree(tree.root, tree.rules, tree.cache, rel, { faults: tree.faults })) {
        const s = tree.synced.get(p);
        if (!s || !sameEntry(s, e)) {
          items.add(p);
          bytes += e.s ?? 0;
        }
      }
      continue;
    }
    const e = await entryOf(tree.root, rel, st, tree.cache).catch(() => undefined);
    const s = tree.synced.get(rel);
    if (!e || (s && sameEntry(s, e))) continue;
    items.add(rel);
    bytes += e.s ?? 0;
  }
  return { deletes, items: [...items].sort() };
}

/** The topmost synced folder above `rel` that is gone locally (or `rel` itself). */
export function topmostGone(tree: SyncTree, rel: string): string {
  let top = rel;
  for (let i = top.lastIndexOf('/'); i > 0; i = top.lastIndexOf('/')) {
    const parent = top.slice(0, i);
    if (tree.synced.get(parent)?.t !== 'd') break;
    try {
      lstatSync(join(tree.root, parent));
      break; // still there
    } catch {
      top = parent;
    }
  }
  return top;
}

/**
 * A burst of deletions (rm -rf, a branch switch) reaches us as many watcher events, spread
 * over time on a busy machine. So that the guard judges it as a whole, a batch with
 * deletions takes in the deletions still arriving until none has come for DELETE_SETTLE_MS
 * (at most DELETE_SETTLE_MAX_MS): a delay for deletions only, never for edits. Returns the
 * deletions, each gone folder standing for everything in it.
 */
export async function settleDeletes(tree: SyncTree, deletes: string[], moreEvents: (ms: number) => Promise<boolean>): Promise<string[]> {
  const started = Date.now();
  for (;;) {
    const more: string[] = [];
    for (const p of tree.pending) {
      if (tree.synced.has(p) && !(await lstat(join(tree.root, p)).catch(() => undefined))) more.push(p);
    }
    for (const p of more) {
      tree.pending.delete(p);
      if (!deletes.some((d) => under(d, p))) deletes.push(p);
    }
    if (Date.now() - started >= DELETE_SETTLE_MAX_MS || !(await moreEvents(DELETE_SETTLE_MS))) break;
  }
  const tops = new Set(deletes.map((d) => topmostGone(tree, d)));
  const out: string[] = [];
  for (const d of [...tops].sort()) if (!out.some((x) => under(x, d))) out.push(d);
  return out;
}

/**
 * Puts paths into a batch as they are now; records what was sent in `sent`. `scanned`
 * holds lstats of regular files taken a moment ago (the handshake's scan): such a file is
 * read without another lstat, and not followed should it have become a symlink since
 * (then it is left out here; the watcher's reconcile pass sends the link).
 */
export async function fillBatch(
  sender: TarSender,
  tree: SyncTree,
  paths: string[],
  sent: Map<string, Entry>,
  report: (message: string, hint?: string) => void,
  recheck: (rel: string) => void,
  scanned?: Map<string, Stats>,
): Promise<void> {
  for (const rel of paths) {
    const abs = join(tree.root, rel);
    const known = scanned?.get(rel);
    if (known) scanned!.delete(rel);
    let st: Stats;
    try {
      st = known ?? lstatSync(abs);
    } catch {
      continue;
    }
    const m = st.mode & 0o777;
    if (st.isDirectory()) {
      await sender.dir(rel, m);
      sent.set(rel, { p: rel, t: 'd', m });
    } else if (st.isSymbolicLink()) {
      const target = await readlink(abs).catch(() => undefined);
      if (target === undefined) continue;
      try {
        checkLinkTarget(rel, target);
      } catch {
        report(`not synced: the symlink ${rel} -> ${target} points outside the synced folder`, 'Only links that stay inside the folder are synced.');
        continue;
      }
      await sender.link(rel, target);
      sent.set(rel, { p: rel, t: 'l', m, l: target });
    } else if (st.isFile()) {
      await fillFile(sender, tree, rel, abs, st, known !== undefined, sent, recheck);
    }
  }
  for (const p of sent.keys()) tree.faults.ok(p);
}

async function fillFile(sender: TarSender, tree: SyncTree, rel: string, abs: string, st: Stats, scanned: boolean, sent: Map<string, Entry>, recheck: (rel: string) => void): Promise<void> {
  const m = st.mode & 0o777;
  if (st.size > LARGE_FILE) {
    const h = await hashFile(abs, st.size).catch((e: unknown) => tree.faults.readFailed(rel, e));
    if (h === undefined) return;
    await sender.fileStream(rel, m, abs, st.size).catch((e: unknown) => {
      tree.faults.add(rel, 'changing'); // cut short while streamed: the batch fails and is sent again
      throw e;
    });
    tree.cache.set(rel, st, h);
    sent.set(rel, { p: rel, t: 'f', m, s: st.size, h });
    return;
  }
  let content: Buffer;
  const startedMs = Date.now();
  try {
    content = readFileFast(abs, st.size, scanned); // one open, read, close
  } catch (e) {
    tree.faults.readFailed(rel, e);
    return;
  }
  if (tree.faults.changedWhileRead(rel, abs, st, content.length, startedMs)) recheck(rel);
  const h = sha256(content);
  await sender.file(rel, m, content);
  if (content.length === st.size) tree.cache.set(rel, st, h);
  sent.set(rel, { p: rel, t: 'f', m, s: content.length, h });
}

/** Re-reads the whole tree against what is synced (after the ignore rules changed). */
export async function reconcile(tree: SyncTree, report: (message: string, hint?: string) => void, watchFolder: (rel: string) => void): Promise<void> {
  await tree.rules.reload(report);
  const local = await scanTree(tree.root, tree.rules, tree.cache, '', { faults: tree.faults });
  for (const [p, e] of local) {
    const s = tree.synced.get(p);
    if (!s || !sameEntry(s, e)) tree.pending.add(p);
    if (e.t === 'd' && s?.t !== 'd') watchFolder(p); // newly synced: unwatched so far
  }
  for (const p of tree.synced.keys()) if (!local.has(p) && !tree.rules.ignores(p, tree.synced.get(p)!.t === 'd')) tree.pending.add(p);
}

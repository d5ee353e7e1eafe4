// The handshake after each (re)connect: the local tree against the sidecar's (a manifest
// answered with what is missing, differs or is extra), turned into what to send, pull and
// delete; then the initial sync sends it in slices, two batches in flight.
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { entryOf, sameEntry, type Entry, type SyncMode } from '@kdev/sync-sidecar';
import type { DiffMessage } from './connection.js';
import type { SyncTree } from './tree.js';

export interface HandshakePlan {
  /** What the sidecar holds once the plan is carried out, less what is sent (added on ack). */
  next: Map<string, Entry>;
  toSend: string[];
  /** Two-way: remote changes to bring here. */
  toPull: string[];
  toDelete: string[];
  /** Files the sidecar holds now. */
  remoteFiles: number;
}

/**
 * Decides what the initial sync does. `base` is what was synced before (the last
 * connection): in two-way mode a path that differs but is unchanged here since then changed
 * over there (pull it), and an extra path unknown before is new over there (pull it).
 */
export function planHandshake(local: Map<string, Entry>, diff: DiffMessage, base: Map<string, Entry>, mode: SyncMode, ignores: (rel: string, dir: boolean) => boolean): HandshakePlan {
  const twoWay = mode === 'two-way';
  const plan: HandshakePlan = { next: new Map(), toSend: [], toPull: [], toDelete: [], remoteFiles: local.size - diff.missing.length + diff.extra.length };
  const missing = new Set(diff.missing);
  const differ = new Map(diff.differ.map((e) => [e.p, e]));
  for (const [p, e] of local) {
    if (missing.has(p)) {
      plan.toSend.push(p);
      continue;
    }
    const remote = differ.get(p);
    if (remote) {
      const b = base.get(p);
      if (twoWay && b && sameEntry(b, e) && e.t !== 'd' && remote.t !== 'd') plan.toPull.push(p);
      else plan.toSend.push(p);
      continue;
    }
    plan.next.set(p, e);
  }
  for (const x of diff.extra) {
    if (ignores(x.p, x.t === 'd')) continue;
    if (twoWay && !base.has(x.p)) plan.toPull.push(x.p);
    else plan.toDelete.push(x.p);
  }
  plan.toSend.sort();
  return plan;
}

/**
 * The handshake's scan sends no hashes (no file is read). A file the sidecar has with the
 * same size and exec bits comes back as differing with its hash: hash ours now and drop it
 * from `diff.differ` when equal (two-way also needs our hash of every differing file, to
 * tell a local change from a remote one). Updates `local` with the hashed entries.
 */
export async function hashDiffering(tree: SyncTree, local: Map<string, Entry>, diff: DiffMessage, mode: SyncMode): Promise<DiffMessage> {
  const same = new Set<string>();
  for (const remote of diff.differ) {
    const e = local.get(remote.p);
    if (!e || e.t !== 'f' || e.h !== undefined || remote.t !== 'f') continue;
    if (remote.h === undefined && mode !== 'two-way') continue;
    let st;
    try {
      st = lstatSync(join(tree.root, remote.p));
    } catch {
      continue;
    }
    const full = await entryOf(tree.root, remote.p, st, tree.cache).catch(() => undefined);
    if (!full) continue;
    local.set(remote.p, full);
    if (sameEntry(full, remote)) same.add(remote.p);
  }
  return same.size === 0 ? diff : { ...diff, differ: diff.differ.filter((e) => !same.has(e.p)) };
}

export interface InitialProgress {
  files: number;
  bytes: number;
  totalFiles: number;
  totalBytes: number;
}

export interface SliceOptions {
  maxFiles: number;
  maxBytes: number;
  /** The size of a path to send (0 when unknown). */
  sizeOf: (rel: string) => number;
}

/**
 * Cuts the paths to send into batches of at most maxFiles paths and about maxBytes (a single
 * larger file is a batch of its own). The first batch carries the deletions, and exists even
 * when there is nothing to send.
 */
export function slices(toSend: string[], deletes: string[], o: SliceOptions): Array<{ paths: string[]; deletes: string[] }> {
  const out: Array<{ paths: string[]; deletes: string[] }> = [];
  let i = 0;
  do {
    const paths: string[] = [];
    let bytes = 0;
    while (i < toSend.length && paths.length < o.maxFiles && (bytes < o.maxBytes || paths.length === 0)) {
      const p = toSend[i++]!;
      paths.push(p);
      bytes += o.sizeOf(p);
    }
    const batchDeletes = out.length === 0 ? deletes : [];
    if (paths.length === 0 && batchDeletes.length === 0) break;
    out.push({ paths, deletes: batchDeletes });
  } while (i < toSend.length);
  return out;
}

/**
 * Sends the batches with at most two in flight: `send` resolves once a batch is on the wire,
 * with `applied` for its acknowledgement.
 */
export async function sendPipelined<T>(
  batches: Array<{ paths: string[]; deletes: string[] }>,
  send: (b: { paths: string[]; deletes: string[] }) => Promise<{ applied: Promise<T> }>,
  onAck: (b: { paths: string[] }, ack: T) => void,
): Promise<void> {
  const inflight: Promise<unknown>[] = [];
  for (const b of batches) {
    const { applied } = await send(b);
    const done = applied.then((ack) => onAck(b, ack));
    done.catch(() => undefined); // awaited below; a lost connection must not leave it unhandled
    inflight.push(done);
    if (inflight.length >= 2) await inflight.shift();
  }
  await Promise.all(inflight);
}

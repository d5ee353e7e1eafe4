// The mass-deletion guard: a batch that would delete most of the synced tree (an rm -rf in
// the wrong folder, a branch switch) is held back, or goes ahead only when the user says so.
// A deletion burst reaches the client over several batches, so the guard judges a burst as
// a whole: batches that follow each other within DELETE_BURST_GAP_MS count together.
import type { Entry } from '@kdev/sync-sidecar';

export const DELETE_BURST_GAP_MS = 3000;

/** `p` is `prefix` or inside it (paths are relative, '/'-separated). */
export function under(prefix: string, p: string): boolean {
  return p === prefix || p.startsWith(prefix + '/');
}

export interface MassDeleteInfo {
  /** Synced files the batch would delete. */
  deletes: number;
  /** Synced files in all. */
  total: number;
  /** Where: 'remote' (the container) or 'local' (two-way with deleteLocal). */
  side: 'remote' | 'local';
  sample: string[];
}

/** How many synced files deleting these paths removes (at least one per path). */
export function countUnder(paths: string[], known: Map<string, Entry>): number {
  if (paths.length === 0) return 0;
  let n = 0;
  for (const e of known.values()) {
    if (e.t === 'd') continue;
    if (paths.some((d) => under(d, e.p))) n++;
  }
  return Math.max(n, paths.length);
}

export interface DeletionGuardOptions {
  /** Asked before a mass deletion; without it such deletions are held back. */
  confirm?: (info: MassDeleteInfo) => Promise<boolean>;
  /** Fewer deletions than this always go ahead (default 10). */
  min?: number;
  /** Says what was held back, and why. */
  report: (message: string, hint?: string) => void;
  now?: () => number;
}

export class DeletionGuard {
  /**
   * The deletion burst in progress. It lasts while deletion batches follow each other within
   * DELETE_BURST_GAP_MS — measured from the previous one's acknowledgement (touch()), so a
   * slow link or a long burst cannot slip past the guard in pieces.
   */
  private burst = { n: 0, lastAt: 0 };
  private readonly now: () => number;

  constructor(private readonly opts: DeletionGuardOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** A deletion batch was acknowledged: the burst goes on from now. */
  touch(): void {
    this.burst.lastAt = this.now();
  }

  private recent(): number {
    if (this.now() - this.burst.lastAt > DELETE_BURST_GAP_MS) this.burst = { n: 0, lastAt: 0 };
    return this.burst.n;
  }

  /**
   * True when these deletions may go ahead: fewer than `min`, or at most half of the synced
   * files, or confirmed. `cumulative`: count the burst in progress too (the watcher's batches).
   */
  async allow(paths: string[], known: Map<string, Entry>, totalFiles: number, side: 'remote' | 'local', cumulative = false): Promise<boolean> {
    if (paths.length === 0) return true;
    const recent = cumulative ? this.recent() : 0;
    const deletes = countUnder(paths, known) + recent;
    totalFiles += recent;
    const min = this.opts.min ?? 10;
    if (deletes < min || deletes * 2 <= totalFiles) {
      if (cumulative) this.burst = { n: this.burst.n + (deletes - recent), lastAt: this.now() };
      return true;
    }
    const info: MassDeleteInfo = { deletes, total: totalFiles, side, sample: paths.slice(0, 10) };
    if (!this.opts.confirm) {
      this.opts.report(`held back: this change would delete ${deletes} of ${totalFiles} synced files (${side})`, 'Confirm mass deletions (kdev asks, or pass --yes).');
      return false;
    }
    const ok = await this.opts.confirm(info);
    if (!ok) this.opts.report(`not deleted: ${deletes} of ${totalFiles} synced files (${side}), as you chose`, 'The files stay; delete them again to retry.');
    return ok;
  }
}

// Is the inotify watch limit high enough for a folder? The sync watches every folder (one
// inotify watch each) that the ignore rules do not drop; node_modules and .git stay unwatched.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const INOTIFY_LIMIT_FILE = '/proc/sys/fs/inotify/max_user_watches';
/** Folders never watched (large, and not synced). */
const SKIPPED = new Set(['.git', 'node_modules']);
/** Watches other programs of the user (editors, other syncs) also hold: keep this share free. */
export const HEADROOM = 2;

/** The folders under `root` (itself included) a sync would watch; stops counting at `stopAt`. */
export function countFolders(root: string, stopAt = 2_000_000): number {
  let count = 0;
  const stack = [root];
  while (stack.length > 0 && count < stopAt) {
    const dir = stack.pop()!;
    count++;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      continue; // unreadable: not watched either
    }
    for (const e of entries) if (e.isDirectory() && !SKIPPED.has(e.name)) stack.push(join(dir, e.name));
  }
  return count;
}

/** The limit, or undefined where the system has no such file (not Linux). */
export function readWatchLimit(file = INOTIFY_LIMIT_FILE): number | undefined {
  try {
    const n = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

export interface WatchVerdict {
  ok: boolean;
  /** The limit to set when not ok. */
  suggested?: number;
}

/** Enough when the folders take at most 1/HEADROOM of the limit; the suggestion is a power of two above HEADROOM × folders. */
export function judgeWatchLimit(folders: number, limit: number): WatchVerdict {
  if (folders * HEADROOM <= limit) return { ok: true };
  let suggested = 8192;
  while (suggested < folders * HEADROOM) suggested *= 2;
  return { ok: false, suggested };
}

// The local side of a sync session: chokidar events turned into changed paths, plus the
// re-check that catches the writes chokidar's throttle drops.
import { join } from 'node:path';
import { watch as chokidarWatch, type FSWatcher } from 'chokidar';
import type { IgnoreRules } from './ignore.js';
import { relOf } from './tree.js';

export const RECHECK_MS = 60;

/**
 * chokidar drops a second 'change' of a file within 50 ms of the first (a throttle with no
 * trailing event). So each change event also books one more look at that path once the
 * window has closed; `onDue` gets the paths whose look is due (one timer for all of them).
 */
export class RecheckQueue {
  private readonly due = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly onDue: (paths: string[]) => void,
    private readonly delayMs = RECHECK_MS,
  ) {}

  add(rel: string): void {
    this.due.set(rel, Date.now() + this.delayMs);
    if (!this.timer) this.arm(this.delayMs);
  }

  get size(): number {
    return this.due.size;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.fire(), ms);
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    const now = Date.now();
    let next = Infinity;
    const ready: string[] = [];
    for (const [p, at] of this.due) {
      if (at <= now) {
        this.due.delete(p);
        ready.push(p);
      } else next = Math.min(next, at);
    }
    this.onDue(ready);
    if (next !== Infinity) this.arm(next - now);
  }
}

/** A running watch: close it, or add a folder that has just become synced. */
export interface FolderWatch {
  close(): Promise<void>;
  add(rel: string): void;
}

/** What the watcher tells its session. */
export interface WatchSink {
  /** A path changed (or may have): it goes in the next batch. `event`: a new watcher event (not a chmod). */
  changed(rel: string, event: boolean): void;
  /** An ignore-rule file changed (.gitignore, .git/info/exclude). */
  rulesChanged(): void;
  /** Something under .git changed (never synced itself). */
  gitChanged(): void;
  /** A re-check is due for these paths. */
  recheck(paths: string[]): void;
  error(message: string): void;
  /** A path the watcher may not read (EACCES): a fault of that path, not of the watcher. */
  unreadable(rel: string, e: Error): void;
  /** The path is a synced regular file (for raw events, which name a file or a folder's child). */
  isSyncedFile(rel: string): boolean;
}

const isGit = (rel: string): boolean => rel === '.git' || rel.startsWith('.git/');
const isRuleFile = (rel: string): boolean => rel === '.git/info/exclude' || rel === '.gitignore' || rel.endsWith('/.gitignore');

/** Watches the folder (ignored paths unwatched, .git/info/exclude watched); resolves when ready. */
export async function watchFolder(root: string, rules: IgnoreRules, sink: WatchSink): Promise<FolderWatch> {
  const rechecks = new RecheckQueue((paths) => sink.recheck(paths));
  const watcher: FSWatcher = chokidarWatch(root, {
    ignoreInitial: true,
    atomic: false,
    followSymlinks: false,
    ignored: (path: string, stats?: { isDirectory(): boolean }) => {
      const rel = relOf(root, path);
      if (rel === undefined) return false;
      if (rel === '.git/info/exclude' || rel === '.git' || rel === '.git/info') return false;
      return rules.watchIgnores(rel, stats?.isDirectory());
    },
  });
  watcher.on('all', (event, path) => {
    const rel = relOf(root, path);
    if (rel === undefined) return;
    if (event === 'change' || event === 'add') rechecks.add(rel);
    if (isRuleFile(rel)) sink.rulesChanged();
    if (isGit(rel)) sink.gitChanged();
    else sink.changed(rel, true);
  });
  // chokidar reports no 'change' for a chmod alone (exec bit): its raw fs.watch events do
  watcher.on('raw', (_event, evPath, details) => {
    const watched = (details as { watchedPath?: string } | undefined)?.watchedPath;
    if (!watched || !evPath) return;
    const watchedRel = relOf(root, watched);
    const abs = watchedRel !== undefined && sink.isSyncedFile(watchedRel) ? watched : join(watched, evPath);
    const rel = relOf(root, abs);
    if (rel === undefined || isGit(rel) || rules.ignores(rel, false)) return;
    sink.changed(rel, false);
  });
  watcher.on('error', (e) => {
    const err = e as NodeJS.ErrnoException;
    const rel = relOf(root, err.path ?? '');
    if (rel !== undefined && err.code === 'EACCES') sink.unreadable(rel, err);
    else sink.error(`file watcher: ${e instanceof Error ? e.message : String(e)}`);
  });
  const stop = async () => {
    rechecks.stop();
    await watcher.close();
  };
  await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  watcher.add(join(root, '.git', 'info', 'exclude'));
  return { close: stop, add: (rel) => watcher.add(join(root, rel)) };
}

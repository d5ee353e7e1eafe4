// Which local paths are synced. The rule: in a git work tree, exactly what
// `git ls-files --cached --others --exclude-standard` lists, plus sync.ignore on top, minus
// .git; outside one, the same .gitignore semantics without tracked files.
//
// - Tracked files (the index, asked of git) are always synced, also inside ignored folders.
// - Untracked paths follow git's layers, highest precedence first: the .gitignore of the
//   path's folder, then each parent's up to the work tree's top, then .git/info/exclude, then
//   core.excludesFile. The first layer with a matching pattern decides (its last matching
//   line). Inside an excluded folder nothing untracked is synced and no .gitignore is read:
//   a deeper negation cannot re-include a file whose parent folder is excluded.
// - sync.ignore acts as one more layer, above all of git's: its patterns exclude (tracked
//   files too), its negations re-include what git ignores (not inside a folder git excludes,
//   unless that folder is re-included too).
// Patterns and paths are compared as bytes (see gitignore.ts).
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { STAGING_DIR } from '@kdev/sync-sidecar';
import { bytesOf, listDecides, parsePatterns, type PatternList } from './gitignore.js';
import { gitFacts, gitTracked, type GitFacts } from './git.js';

/** Never synced, whatever the rules say (`.git` at any depth, as for git). */
const GIT_DIR = '.git';

/** Where an excluded folder's state comes from: 'cfg' = sync.ignore, 'git' = git's layers. */
type DirState = 'ok' | 'git' | 'cfg';

function readPatterns(path: string): PatternList['patterns'] | null {
  try {
    return parsePatterns(readFileSync(path).toString('latin1'));
  } catch {
    return null;
  }
}

export type RulesNotice = (message: string, hint?: string) => void;

export class IgnoreRules {
  private readonly layers = new Map<string, PatternList | null>();
  private readonly dirMemo = new Map<string, DirState>();
  private readonly chainMemo = new Map<string, PatternList[]>();
  private git: GitFacts | undefined;
  /** Tracked folders: every parent of a tracked path (bytes). */
  private trackedDirs = new Set<string>();
  private tracked = new Set<string>();
  private global: PatternList[] = [];
  private readonly extra: PatternList | null;
  private watchers: FSWatcher[] = [];
  private onRulesChange: (() => void) | undefined;
  private indexTimer: NodeJS.Timeout | undefined;
  private lastNotice = '';

  constructor(
    readonly root: string,
    readonly patterns: readonly string[] = [],
  ) {
    const extra = parsePatterns(patterns.map(bytesOf).join('\n'));
    this.extra = extra.length > 0 ? { base: '', patterns: extra } : null;
    this.loadGlobal();
  }

  /** The top of the rules: the work tree's top, or the sync folder outside git. */
  private get prefix(): string {
    return this.git ? bytesOf(this.git.prefix) : '';
  }

  private loadGlobal(): void {
    // outside a work tree a .git/info/exclude (git not installed) still counts
    const exclude = readPatterns(this.git?.infoExclude ?? join(this.root, '.git', 'info', 'exclude'));
    const user = this.git ? readPatterns(this.git.excludesFile) : null;
    this.global = [exclude, user].filter((p): p is PatternList['patterns'] => p !== null).map((patterns) => ({ base: '', patterns }));
  }

  /**
   * Asks git again (work tree, tracked files, where its files are) and forgets every pattern
   * file read so far. `notice` hears once why git could not be asked, when the folder looks
   * like a repository.
   */
  async reload(notice?: RulesNotice): Promise<void> {
    const facts = await gitFacts(this.root);
    const git = 'top' in facts ? facts : undefined;
    if (!('top' in facts) && facts.reason !== 'not-a-work-tree') {
      const text =
        facts.reason === 'no-git'
          ? 'git is not installed: files that git tracks inside ignored folders are not synced'
          : `git could not read the repository (${facts.message ?? 'unknown error'}): files that git tracks inside ignored folders are not synced`;
      if (notice && text !== this.lastNotice) notice(text, 'Install git, or run `git status` in the folder to see what git says.');
      this.lastNotice = text;
    }
    this.git = git;
    this.setTracked(git?.tracked ?? new Set());
    this.layers.clear();
    this.chainMemo.clear();
    this.loadGlobal();
    if (this.onRulesChange) this.armWatchers();
  }

  private setTracked(paths: Set<string>): void {
    const tracked = new Set<string>();
    const dirs = new Set<string>();
    for (const p of paths) {
      const b = bytesOf(p);
      tracked.add(b);
      for (let i = b.lastIndexOf('/'); i > 0; i = b.lastIndexOf('/', i - 1)) {
        const d = b.slice(0, i);
        if (dirs.has(d)) break;
        dirs.add(d);
      }
    }
    this.tracked = tracked;
    this.trackedDirs = dirs;
    this.dirMemo.clear();
  }

  /** True when `rel` (POSIX, relative to the sync folder) is not synced. */
  ignores(rel: string, isDir: boolean): boolean {
    const b = bytesOf(rel);
    const slash = b.lastIndexOf('/');
    const name = b.slice(slash + 1);
    if (name === GIT_DIR || b === STAGING_DIR || b.startsWith(STAGING_DIR + '/') || b.startsWith(GIT_DIR + '/') || b.includes('/.git/')) return true;
    const parent = slash < 0 ? 'ok' : this.dirState(b.slice(0, slash));
    if (parent === 'cfg') return true;
    if (isDir) {
      const s = this.dirState(b);
      return s === 'cfg' || (s === 'git' && !this.isTracked(b, true));
    }
    const cfg = this.extra && listDecides(this.extra, b, false);
    if (cfg === true) return true;
    if (parent === 'git') return !this.tracked.has(b);
    if (cfg === false || this.tracked.has(b)) return false;
    return this.gitDecides(b, false) === true;
  }

  /**
   * For the file watcher: a folder is left unwatched only when nothing in it can sync, and a
   * .gitignore is watched even when it ignores itself (its rules still apply).
   */
  watchIgnores(rel: string, isDir: boolean | undefined): boolean {
    if (isDir !== true && (rel === '.gitignore' || rel.endsWith('/.gitignore'))) {
      const slash = rel.lastIndexOf('/');
      if (slash < 0 || this.dirState(bytesOf(rel.slice(0, slash))) === 'ok') return false;
    }
    if (isDir === undefined) return this.ignores(rel, false) && this.ignores(rel, true);
    return this.ignores(rel, isDir);
  }

  private isTracked(b: string, isDir: boolean): boolean {
    return this.tracked.has(b) || (isDir && this.trackedDirs.has(b));
  }

  private dirState(b: string): DirState {
    let s = this.dirMemo.get(b);
    if (s === undefined) {
      const slash = b.lastIndexOf('/');
      s = this.stateOf(b, slash < 0 ? 'ok' : this.dirState(b.slice(0, slash)));
      this.dirMemo.set(b, s);
    }
    return s;
  }

  private stateOf(b: string, parent: DirState): DirState {
    if (parent === 'cfg') return 'cfg';
    const cfg = this.extra && listDecides(this.extra, b, true);
    if (cfg === true) return 'cfg';
    if (parent === 'git') return 'git';
    if (cfg === false) return 'ok';
    return this.gitDecides(b, true) === true ? 'git' : 'ok';
  }

  /** git's layers for a path whose parent folder is not excluded. */
  private gitDecides(b: string, isDir: boolean): boolean | undefined {
    const full = this.prefix ? `${this.prefix}/${b}` : b;
    const slash = b.lastIndexOf('/');
    const chain = this.chain(slash < 0 ? '' : b.slice(0, slash));
    for (let i = chain.length - 1; i >= 0; i--) {
      const d = listDecides(chain[i]!, full, isDir);
      if (d !== undefined) return d;
    }
    for (const g of this.global) {
      const d = listDecides(g, full, isDir);
      if (d !== undefined) return d;
    }
    return undefined;
  }

  /** The .gitignore files that apply inside folder `dir` (relative, bytes), top first. */
  private chain(dir: string): PatternList[] {
    let c = this.chainMemo.get(dir);
    if (c === undefined) {
      if (dir === '') {
        c = [];
        // above the sync folder: the work tree's top down to the folder itself
        const parts = this.prefix ? this.prefix.split('/') : [];
        for (let i = 0; i <= parts.length; i++) {
          const l = this.layer(parts.slice(0, i).join('/'));
          if (l) c.push(l);
        }
      } else {
        const slash = dir.lastIndexOf('/');
        const up = this.chain(slash < 0 ? '' : dir.slice(0, slash));
        const l = this.layer(this.prefix ? `${this.prefix}/${dir}` : dir);
        c = l ? [...up, l] : up;
      }
      this.chainMemo.set(dir, c);
    }
    return c;
  }

  /** The .gitignore of a folder relative to the top ('' = the top), read once. */
  private layer(full: string): PatternList | null {
    let l = this.layers.get(full);
    if (l === undefined) {
      const top = this.git?.top ?? this.root;
      const patterns = readPatterns(join(top, Buffer.from(full, 'latin1').toString('utf8'), '.gitignore'));
      l = patterns && patterns.length > 0 ? { base: full, patterns } : null;
      this.layers.set(full, l);
    }
    return l;
  }

  /**
   * Calls `onChange` when a rule outside the synced tree changes: the index (a `git add`, a
   * commit that untracks, a checkout) with a different set of tracked files,
   * .git/info/exclude or core.excludesFile. (.gitignore files are synced files: the session
   * sees them change.) Watches the folders of those files, since git replaces them by rename.
   */
  watch(onChange: () => void): void {
    this.onRulesChange = onChange;
    this.armWatchers();
  }

  close(): void {
    this.onRulesChange = undefined;
    for (const w of this.watchers) w.close();
    this.watchers = [];
    if (this.indexTimer) clearTimeout(this.indexTimer);
  }

  private armWatchers(): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
    const files = this.git ? [this.git.index, this.git.infoExclude, this.git.excludesFile] : [join(this.root, '.git', 'info', 'exclude')];
    const byDir = new Map<string, Set<string>>();
    for (const f of files) byDir.set(dirname(f), (byDir.get(dirname(f)) ?? new Set()).add(basename(f)));
    for (const [dir, names] of byDir) {
      try {
        const w = watch(dir, { persistent: false }, (_event, name) => {
          if (!name || !names.has(name.toString())) return;
          if (this.git && name.toString() === basename(this.git.index)) this.indexChanged();
          else this.onRulesChange?.();
        });
        w.on('error', () => undefined);
        this.watchers.push(w);
      } catch {
        // the folder does not exist (no info/, no global ignore file): nothing to watch
      }
    }
  }

  /** The index changed: a rules change only when the set of tracked files did. */
  private indexChanged(): void {
    if (this.indexTimer) return;
    this.indexTimer = setTimeout(() => {
      this.indexTimer = undefined;
      void gitTracked(this.root).then((now) => {
        if (!now) return;
        const before = this.tracked;
        const same = now.size === before.size && [...now].every((p) => before.has(bytesOf(p)));
        if (!same) this.onRulesChange?.();
      });
    }, 30);
    this.indexTimer.unref();
  }
}

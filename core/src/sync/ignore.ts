// Which local paths are synced: git's ignore layers, as git reads them, plus kdev's own.
// Precedence, lowest first: .git/info/exclude, then each .gitignore from the root down to the
// path's folder (a deeper file overrides a shallower one), then the config's patterns. A
// path inside an ignored folder is ignored whatever a deeper rule says (as in git).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { STAGING_DIR } from '@kdev/sync-sidecar';

/** Never synced, whatever the rules say. */
const ALWAYS = new Set(['.git', STAGING_DIR]);

function readPatterns(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export class IgnoreRules {
  private readonly layers = new Map<string, Ignore | null>();
  private readonly dirMemo = new Map<string, boolean>();
  private exclude: Ignore | null;
  private readonly extra: Ignore | null;

  constructor(
    readonly root: string,
    readonly patterns: readonly string[] = [],
  ) {
    this.exclude = this.loadFile(join(root, '.git', 'info', 'exclude'));
    this.extra = patterns.length > 0 ? ignore().add(patterns as string[]) : null;
  }

  private loadFile(path: string): Ignore | null {
    const text = readPatterns(path);
    return text === undefined ? null : ignore().add(text);
  }

  /** The .gitignore of a folder ('' = root), read once. */
  private layer(dir: string): Ignore | null {
    let l = this.layers.get(dir);
    if (l === undefined) {
      l = this.loadFile(join(this.root, dir, '.gitignore'));
      this.layers.set(dir, l);
    }
    return l;
  }

  /** Forgets what was read, e.g. after a .gitignore or .git/info/exclude changed. */
  reload(): void {
    this.layers.clear();
    this.dirMemo.clear();
    this.exclude = this.loadFile(join(this.root, '.git', 'info', 'exclude'));
  }

  /** True when `rel` (POSIX, relative to the root) is not synced. */
  ignores(rel: string, isDir: boolean): boolean {
    const parts = rel.split('/');
    if (ALWAYS.has(parts[0]!)) return true;
    for (let i = 1; i < parts.length; i++) {
      if (this.decideDir(parts.slice(0, i).join('/'))) return true;
    }
    return isDir ? this.decideDir(rel) : this.decide(rel, false);
  }

  private decideDir(rel: string): boolean {
    let v = this.dirMemo.get(rel);
    if (v === undefined) {
      v = this.decide(rel, true);
      this.dirMemo.set(rel, v);
    }
    return v;
  }

  private decide(rel: string, isDir: boolean): boolean {
    const suffix = isDir ? '/' : '';
    let state = false;
    const apply = (ig: Ignore | null, path: string): void => {
      if (!ig || path === '') return;
      const r = ig.test(path + suffix);
      if (r.ignored) state = true;
      else if (r.unignored) state = false;
    };
    apply(this.exclude, rel);
    const parts = rel.split('/');
    for (let i = 0; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      apply(this.layer(dir), parts.slice(i).join('/'));
    }
    apply(this.extra, rel);
    return state;
  }
}

// Random trees with random nested .gitignore files, for the oracle test that compares kdev's
// synced set with git's own listing. Seeded: the same seed builds the same tree.
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prng } from './sync.js';

export { prng };

const NAMES = ['a', 'b', 'ab', 'foo', 'node_modules', 'build', 'dist', 'x.js', 'y.log', 'z.tmp', '.env', 'sp ace', 'é', 'a*b', 'q?', '[ab]', '#c', '!n', 'tr ', 'Foo', 'a.b.c', 'lib'];
const SEGMENTS = ['*', '**', '*.js', '*.log', 'b*', '?', '?b', '[ab]', '[!a]*', '[^b]', '[a-c]*', '[[:alpha:]]*', '[]]', '\\*', 'a\\*b', 'x.*', '*.*', 'node_modules', 'build', 'foo', 'a', 'lib', 'é', 'sp ace', 'q\\?', '\\[ab]', 'tr\\ ', 'a**', '**b', '[a-'];

export interface GenTree {
  /** Files (and symlinks) relative to the tree's root. */
  files: string[];
  /** Those to force-add to the index (a subset, some under ignored folders). */
  track: string[];
}

function pick<T>(rnd: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)]!;
}

export function randomPattern(rnd: () => number): string {
  if (rnd() < 0.05) return pick(rnd, ['', '# comment', '   ', '\\#c', '\\!n', '!', '/', '**']);
  let p = '';
  if (rnd() < 0.25) p += '!';
  if (rnd() < 0.25) p += '/';
  const n = 1 + Math.floor(rnd() * (rnd() < 0.7 ? 1 : 3));
  const segs: string[] = [];
  for (let i = 0; i < n; i++) segs.push(rnd() < 0.5 ? pick(rnd, SEGMENTS) : pick(rnd, NAMES).replace(/([*?[\\!#])/g, (m) => (rnd() < 0.5 ? `\\${m}` : m)));
  p += segs.join('/');
  if (rnd() < 0.3) p += '/';
  if (rnd() < 0.1) p += pick(rnd, [' ', '  ', '\\ ', '\r']);
  return p;
}

/** Builds a random tree under `root` (which exists); returns what it wrote. */
export function randomTree(root: string, rnd: () => number, opts: { maxDepth?: number } = {}): GenTree {
  const files: string[] = [];
  const maxDepth = opts.maxDepth ?? 3;
  const walk = (dir: string, depth: number): void => {
    const abs = join(root, dir);
    mkdirSync(abs, { recursive: true });
    const used = new Set<string>();
    if (rnd() < (depth === 0 ? 0.9 : 0.4)) {
      const lines: string[] = [];
      const count = 1 + Math.floor(rnd() * 5);
      for (let i = 0; i < count; i++) lines.push(randomPattern(rnd));
      writeFileSync(join(abs, '.gitignore'), lines.join('\n') + (rnd() < 0.8 ? '\n' : ''));
      files.push(dir ? `${dir}/.gitignore` : '.gitignore');
    }
    const entries = 1 + Math.floor(rnd() * 5);
    for (let i = 0; i < entries; i++) {
      const name = pick(rnd, NAMES);
      if (used.has(name) || name === '.gitignore') continue;
      used.add(name);
      const rel = dir ? `${dir}/${name}` : name;
      const r = rnd();
      if (r < 0.35 && depth < maxDepth) walk(rel, depth + 1);
      else if (r < 0.4) {
        symlinkSync(pick(rnd, ['a', '../a', 'nowhere', name]), join(root, rel));
        files.push(rel);
      } else {
        writeFileSync(join(root, rel), rel);
        files.push(rel);
      }
    }
  };
  walk('', 0);
  const track = files.filter(() => rnd() < 0.25);
  return { files, track };
}

/**
 * Keeps the user's git configuration out of the test (and out of kdev's own git calls, which
 * inherit this process's environment): no system or global config, a fresh XDG folder.
 */
export function isolateGit(xdgHome: string): void {
  process.env.GIT_CONFIG_NOSYSTEM = '1';
  process.env.GIT_CONFIG_GLOBAL = '/dev/null';
  process.env.XDG_CONFIG_HOME = xdgHome;
}

export function git(cwd: string, args: string[], input?: string): string {
  return execFileSync('git', args, { cwd, input, encoding: 'utf8', maxBuffer: 1 << 28 });
}

/** `git init` in `root` with an identity and the given exclude files. */
export function initRepo(root: string, opts: { infoExclude?: string; excludesFile?: string } = {}): void {
  git(root, ['init', '-q']);
  if (opts.infoExclude !== undefined) writeFileSync(join(root, '.git', 'info', 'exclude'), opts.infoExclude);
  if (opts.excludesFile !== undefined) {
    writeFileSync(join(root, '.git', 'global-ignore'), opts.excludesFile);
    git(root, ['config', 'core.excludesFile', join(root, '.git', 'global-ignore')]);
  }
}

/** Adds `paths` (relative to root, taken literally) to the index, ignored or not (as `git add -f`). */
export function forceAdd(root: string, paths: string[]): void {
  if (paths.length === 0) return;
  git(root, ['update-index', '--add', '-z', '--stdin'], paths.join('\0') + '\0');
}

/** git's own listing: `git ls-files --cached --others --exclude-standard`, run in `cwd`. */
export function gitListing(cwd: string): string[] {
  return git(cwd, ['ls-files', '-z', '--cached', '--others', '--exclude-standard'])
    .split('\0')
    .filter((p) => p !== '');
}

/**
 * A repository exercising every .gitignore case at once (nested files, negations, a folder
 * re-included by a sub-folder's `!/node_modules/`, folder-only patterns, `**`, escapes,
 * bytes, info/exclude, core.excludesFile, force-added files under ignored folders, symlink
 * loops), plus `randomCases` seeded random case folders under rand/. Returns the tracked paths.
 */
export function realRepoTree(root: string, randomCases: number, seed: number): string[] {
  initRepo(root, { infoExclude: '*.secret\n', excludesFile: '*.bak\n!keep.bak\n' });
  const files: Record<string, string> = {
    '.gitignore': 'node_modules/\nbuild/\n!build/keep.txt\nout/*\n!out/keep.txt\n**/gen\na/**/b.txt\n\\#c\n\\!n\ntr\\ \na\\*b\ndist/\n?.txt\n*.log\nsp   \n',
    'src/a.js': 'a',
    'src/dist/x.js': 'x',
    'dist': 'a file named dist',
    'node_modules/pkg/fixture.js': 'tracked under an ignored folder',
    'node_modules/pkg/other.js': 'ignored',
    'test/node_modules/dep/index.js': 'tracked, deeper',
    'fixtures/.gitignore': '!/node_modules/\n',
    'fixtures/node_modules/x/index.js': 're-included',
    'fixtures/deep/node_modules/z.js': 'still ignored',
    'build/keep.txt': 'not re-included: its folder is excluded',
    'build/.gitignore': '!x.txt\n',
    'build/x.txt': 'x',
    'out/keep.txt': 're-included',
    'out/x.txt': 'x',
    'p/q/gen/f': 'f',
    'a/b.txt': 'b',
    'a/m/n/b.txt': 'b',
    'a/m/n/c.txt': 'c',
    '#c': '#',
    '!n': '!',
    'tr ': 'trailing space',
    'tr': 'no trailing space',
    'a*b': 'star',
    'axb': 'x',
    'sp': 'sp',
    'sp ': 'sp and a space',
    'é.txt': 'two bytes',
    'e.txt': 'one byte',
    'debug.log': 'log',
    'sub/.gitignore': '!keep.log\n',
    'sub/keep.log': 'kept',
    'x.secret': 'info/exclude',
    'y.bak': 'excludesFile',
    'keep.bak': 'excludesFile negation',
  };
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(join(root, p, '..'), { recursive: true });
    writeFileSync(join(root, p), content);
  }
  symlinkSync('loop', join(root, 'loop'));
  symlinkSync('l3', join(root, 'l2'));
  symlinkSync('l2', join(root, 'l3'));
  symlinkSync('src/a.js', join(root, 'lnk'));
  const tracked = ['node_modules/pkg/fixture.js', 'test/node_modules/dep/index.js', 'src/a.js', 'debug.log'];
  const rnd = prng(seed);
  for (let c = 0; c < randomCases; c++) tracked.push(...randomTree(join(root, 'rand', `k${c}`), rnd).track.map((p) => `rand/k${c}/${p}`));
  forceAdd(root, tracked);
  return tracked;
}

/** A `node -e` script printing, as JSON, every file and symlink under argv[1] (relative paths). */
export const LIST_FILES = `
const fs = require('fs'), path = require('path'), root = process.argv[1], out = [];
function walk(dir) {
  for (const name of fs.readdirSync(path.join(root, dir))) {
    const rel = dir ? dir + '/' + name : name;
    if (rel === '.kdev-sync.tmp') continue;
    const st = fs.lstatSync(path.join(root, rel));
    if (st.isDirectory()) walk(rel); else out.push(rel);
  }
}
walk('');
console.log(JSON.stringify(out.sort()));`;

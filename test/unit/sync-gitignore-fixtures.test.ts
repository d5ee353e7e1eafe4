// Fixtures for the cases where a .gitignore matcher most easily differs from git (the ones
// the ignore package got wrong, and the real-repository cases). Each one states the
// expected synced set and checks it against git's own listing too.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { HashCache } from '@kdev/sync-sidecar';
import { IgnoreRules, scanTree } from '@kdev/core/internals';
import { tempDir } from '../lib/sync.js';
import { forceAdd, gitListing, initRepo, isolateGit } from '../lib/gitignore-gen.js';

interface Fixture {
  /** path → content; a value starting with '-> ' makes a symlink. */
  files: Record<string, string>;
  tracked?: string[];
  infoExclude?: string;
  excludesFile?: string;
  /** Sync a sub-folder of the work tree. */
  sub?: string;
  ignore?: string[];
  /** The synced files; with `ignore`, git's listing is not the reference. */
  expect: string[];
  git?: false;
}

function write(root: string, files: Record<string, string>): void {
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    if (content.startsWith('-> ')) symlinkSync(content.slice(3), join(root, p));
    else writeFileSync(join(root, p), content);
  }
}

async function synced(root: string, ignore: string[] = []): Promise<string[]> {
  const rules = new IgnoreRules(root, ignore);
  await rules.reload();
  const entries = await scanTree(root, rules, new HashCache(), '', { hash: false });
  return [...entries.values()].filter((e) => e.t !== 'd').map((e) => e.p).sort();
}

async function check(f: Fixture): Promise<void> {
  const root = tempDir('gifix');
  if (f.git !== false) initRepo(root, { infoExclude: f.infoExclude, excludesFile: f.excludesFile });
  write(root, f.files);
  if (f.git !== false) forceAdd(root, f.tracked ?? []);
  const at = f.sub ? join(root, f.sub) : root;
  const mine = await synced(at, f.ignore);
  assert.deepEqual(mine, [...f.expect].sort());
  if (f.git !== false && !f.ignore) assert.deepEqual(mine, gitListing(at).sort(), 'git agrees');
}

describe('gitignore fixtures (git semantics)', () => {
  before(() => isolateGit(tempDir('gifix-xdg')));

  it('force-added files under an ignored node_modules/ are synced; untracked ones next to them are not', () =>
    check({
      files: { '.gitignore': 'node_modules/\n', 'node_modules/pkg/fixture.js': '1', 'node_modules/pkg/other.js': '2', 'test/node_modules/dep/index.js': '3', 'src/a.js': '4' },
      tracked: ['node_modules/pkg/fixture.js', 'test/node_modules/dep/index.js'],
      expect: ['.gitignore', 'node_modules/pkg/fixture.js', 'test/node_modules/dep/index.js', 'src/a.js'],
    }));

  it("a sub-folder's `!/node_modules/` re-includes its own node_modules", () =>
    check({
      files: { '.gitignore': 'node_modules/\n', 'fixtures/.gitignore': '!/node_modules/\n', 'fixtures/node_modules/x/index.js': '1', 'node_modules/y.js': '2', 'fixtures/deep/node_modules/z.js': '3' },
      expect: ['.gitignore', 'fixtures/.gitignore', 'fixtures/node_modules/x/index.js'],
    }));

  it('a file cannot be re-included when its folder is excluded; `folder/*` leaves the folder open', () =>
    check({
      files: { '.gitignore': 'build/\n!build/keep.txt\nout/*\n!out/keep.txt\n', 'build/keep.txt': '1', 'build/x.txt': '2', 'out/keep.txt': '3', 'out/x.txt': '4', 'build/.gitignore': '!x.txt\n' },
      expect: ['.gitignore', 'out/keep.txt'],
    }));

  it('`**` leading, inner and trailing; `**` glued to a literal is a single `*`', () =>
    check({
      files: { '.gitignore': '**/gen\na/**/b.txt\nlogs/**\n!logs/**/\nx**y\n', 'gen': '1', 'p/q/gen/f': '2', 'a/b.txt': '3', 'a/m/n/b.txt': '4', 'logs/1.log': '5', 'logs/d/2.log': '6', 'xay': '7', 'x/y': '8', 'c/xzzy': '9' },
      expect: ['.gitignore', 'x/y'],
    }));

  it('escapes: \\#, \\!, a trailing escaped space, \\*, and unescaped trailing spaces dropped', () =>
    check({
      files: { '.gitignore': '\\#c\n\\!n\ntr\\ \na\\*b\nsp   \n', '#c': '1', '!n': '2', 'tr ': '3', 'tr': '4', 'a*b': '5', 'axb': '6', 'sp': '7', 'sp ': '8' },
      expect: ['.gitignore', 'tr', 'axb', 'sp '],
    }));

  it('folder-only patterns skip files and symlinks of that name; brackets and classes', () =>
    check({
      files: { '.gitignore': 'dist/\n[abc].log\n[!a-y]?.tmp\n[[:digit:]]*.bak\n', 'dist': '1', 'lib/dist': '-> ../dist', 'src/dist/x.js': '2', 'a.log': '3', 'd.log': '4', 'zz.tmp': '5', 'ab.tmp': '6', '7.bak': '7', 'x7.bak': '8' },
      expect: ['.gitignore', 'dist', 'lib/dist', 'd.log', 'ab.tmp', 'x7.bak'],
    }));

  it('a malformed bracket and a trailing backslash match nothing (the ignore package threw on `[a-`)', () =>
    check({
      files: { '.gitignore': '[a-\nfoo\\\n[[:nope:]]\n*.log\n', '[a-': '1', 'a': '2', 'foo\\': '3', 'foo': '4', 'n': '5', 'x.log': '6' },
      expect: ['.gitignore', '[a-', 'a', 'foo\\', 'foo', 'n'],
    }));

  it('bytes, as git: `?` is one byte, so it does not match a two-byte character', () =>
    check({
      files: { '.gitignore': '?.txt\n??.md\n', 'é.txt': '1', 'é.md': '2', 'e.txt': '3' },
      expect: ['.gitignore', 'é.txt'],
    }));

  it('precedence: .gitignore over .git/info/exclude over core.excludesFile; deeper .gitignore over shallower', () =>
    check({
      files: { '.gitignore': '!keep.log\n*.tmp\n', 'a.log': '1', 'keep.log': '2', 'x.tmp': '3', 'sub/.gitignore': '!x.tmp\n', 'sub/x.tmp': '4', 'b.env': '5', 'c.env': '6' },
      excludesFile: '*.log\n*.env\n',
      infoExclude: '!c.env\n',
      expect: ['.gitignore', 'keep.log', 'sub/.gitignore', 'sub/x.tmp', 'c.env'],
    }));

  it('a sync folder below the top: .gitignore files above it apply, paths are relative to it', () =>
    check({
      files: { '.gitignore': '*.log\n/app/tmp/\n', 'app/a.js': '1', 'app/b.log': '2', 'app/tmp/t': '3', 'app/.gitignore': '!b.log\n', 'app/c/d.log': '4' },
      sub: 'app',
      expect: ['a.js', 'b.log', '.gitignore'],
    }));

  it('sync.ignore on top: excludes tracked files, re-includes what git ignores (not inside a folder git excludes)', () =>
    check({
      files: { '.gitignore': '.env\nsecrets/\n', '.env': '1', 'secrets/a.env': '2', 'docs/big.pdf': '3', 'src/a.js': '4' },
      tracked: ['docs/big.pdf'],
      ignore: ['docs/', '!.env', '!*.env'],
      expect: ['.gitignore', '.env', 'src/a.js'],
    }));

  it('outside a git work tree: the same .gitignore semantics, no tracked files', () =>
    check({
      git: false,
      files: { '.gitignore': 'node_modules/\nbuild/\n!build/keep\n', 'fixtures/.gitignore': '!/node_modules/\n', 'fixtures/node_modules/x.js': '1', 'node_modules/y.js': '2', 'build/keep': '3', 'a.js': '4', 'sub/.git/HEAD': '5' },
      expect: ['.gitignore', 'fixtures/.gitignore', 'fixtures/node_modules/x.js', 'a.js'],
    }));
});

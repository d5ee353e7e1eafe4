// Which local paths sync: git's ignore layers, .git/info/exclude and the config's patterns.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HashCache } from '@kdev/sync-sidecar';
import { IgnoreRules, scanTree } from '@kdev/core/internals';
import { tempDir } from '../lib/sync.js';

function tree(files: Record<string, string>): string {
  const root = tempDir('ignore');
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(join(root, p, '..'), { recursive: true });
    writeFileSync(join(root, p), content);
  }
  return root;
}

describe('ignore rules', () => {
  const root = tree({
    '.gitignore': 'node_modules/\n*.log\nbuild\n!keep.log\n',
    '.git/info/exclude': 'secret.env\n',
    '.git/HEAD': 'ref: refs/heads/main\n',
    'src/.gitignore': 'generated/\n!important.log\n*.tmp\n',
    'src/app.js': '',
    'src/app.tmp': '',
    'src/important.log': '',
    'src/other.log': '',
    'src/generated/x.js': '',
    'src/lib/.gitignore': '!*.tmp\n',
    'src/lib/cache.tmp': '',
    'node_modules/a/index.js': '',
    'sub/node_modules/b.js': '',
    'keep.log': '',
    'debug.log': '',
    'build/out.js': '',
    'secret.env': '',
    'docs/draft.md': '',
    'notes.bak': '',
  });
  const rules = new IgnoreRules(root, ['*.bak', 'docs/']);

  it('applies the root .gitignore, with negation', () => {
    assert.equal(rules.ignores('node_modules', true), true);
    assert.equal(rules.ignores('node_modules/a/index.js', false), true);
    assert.equal(rules.ignores('sub/node_modules/b.js', false), true);
    assert.equal(rules.ignores('debug.log', false), true);
    assert.equal(rules.ignores('keep.log', false), false);
    assert.equal(rules.ignores('build/out.js', false), true);
  });

  it('lets a deeper .gitignore add and override rules for its folder only', () => {
    assert.equal(rules.ignores('src/app.js', false), false);
    assert.equal(rules.ignores('src/app.tmp', false), true);
    assert.equal(rules.ignores('src/important.log', false), false, 'src/.gitignore re-includes it');
    assert.equal(rules.ignores('src/other.log', false), true);
    assert.equal(rules.ignores('src/generated/x.js', false), true);
    assert.equal(rules.ignores('src/lib/cache.tmp', false), false, 'src/lib/.gitignore re-includes *.tmp');
  });

  it('a dir-only pattern does not ignore a file of that name', () => {
    assert.equal(rules.ignores('generated', false), false);
    assert.equal(rules.ignores('src/generated', false), false);
    assert.equal(rules.ignores('src/generated', true), true);
  });

  it('reads .git/info/exclude and the config patterns; never syncs .git or the staging folder', () => {
    assert.equal(rules.ignores('secret.env', false), true);
    assert.equal(rules.ignores('notes.bak', false), true);
    assert.equal(rules.ignores('docs/draft.md', false), true);
    assert.equal(rules.ignores('.git/HEAD', false), true);
    assert.equal(rules.ignores('.kdev-sync.tmp/x', false), true);
    assert.equal(rules.ignores('.gitignore', false), false);
  });

  it('the scan lists exactly the synced entries, with hashes', async () => {
    const entries = await scanTree(root, rules, new HashCache());
    assert.deepEqual([...entries.keys()].sort(), ['.gitignore', 'keep.log', 'src', 'src/.gitignore', 'src/app.js', 'src/important.log', 'src/lib', 'src/lib/.gitignore', 'src/lib/cache.tmp', 'sub']);
    assert.match(entries.get('src/app.js')?.h ?? '', /^[0-9a-f]{64}$/);
  });

  it('the watcher watches a .gitignore that ignores itself, not one inside an ignored folder', () => {
    const r = new IgnoreRules(tree({ '.gitignore': '.gitignore\nout/\n', 'out/.gitignore': '', 'a/.gitignore': '/.gitignore\n' }));
    assert.equal(r.ignores('.gitignore', false), true);
    assert.equal(r.watchIgnores('.gitignore', false), false);
    assert.equal(r.watchIgnores('a/.gitignore', undefined), false);
    assert.equal(r.watchIgnores('out/.gitignore', false), true);
  });

  it('re-reads the layers after reload()', async () => {
    const r = new IgnoreRules(root);
    assert.equal(r.ignores('keep.log', false), false);
    writeFileSync(join(root, '.gitignore'), '*.log\n');
    await r.reload();
    assert.equal(r.ignores('keep.log', false), true);
  });
});

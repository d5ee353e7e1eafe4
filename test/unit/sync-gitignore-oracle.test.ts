// The oracle test: kdev's synced set against git's own listing
// (`git ls-files --cached --others --exclude-standard`) on random trees with random nested
// .gitignore files (negations, anchors, `**`, folder-only patterns, escapes, brackets),
// .git/info/exclude, core.excludesFile and force-added files. Each round builds one
// repository holding many independent case folders, so thousands of cases cost a few dozen
// git calls. Seeded: KDEV_ORACLE_SEED=<n> replays a round; a failure prints its seed.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { HashCache } from '@kdev/sync-sidecar';
import { IgnoreRules, scanTree } from '@kdev/core/internals';
import { tempDir } from '../lib/sync.js';
import { forceAdd, gitListing, initRepo, isolateGit, prng, randomPattern, randomTree } from '../lib/gitignore-gen.js';

const ROUNDS = Number(process.env.KDEV_ORACLE_ROUNDS ?? 20);
const CASES = 100;

/** kdev's synced files (no folders: git lists none) under `root`. */
async function kdevListing(root: string): Promise<string[]> {
  const rules = new IgnoreRules(root);
  await rules.reload();
  const entries = await scanTree(root, rules, new HashCache(), '', { hash: false });
  return [...entries.values()].filter((e) => e.t !== 'd').map((e) => e.p);
}

function diff(kdev: string[], git: string[]): { extra: string[]; missing: string[] } {
  const k = new Set(kdev);
  const g = new Set(git);
  return { extra: kdev.filter((p) => !g.has(p)).sort(), missing: git.filter((p) => !k.has(p)).sort() };
}

/** One round: a repository of CASES random case folders; returns a description of any mismatch. */
async function round(seed: number): Promise<string | undefined> {
  const rnd = prng(seed);
  const root = tempDir('oracle');
  const globals = (n: number): string => Array.from({ length: n }, () => randomPattern(rnd)).join('\n');
  // the last line keeps every case folder itself synced, whatever the random lines say
  initRepo(root, { infoExclude: `${globals(3)}\n!/k[0-9]*/\n`, excludesFile: `${globals(3)}\n` });
  const track: string[] = [];
  for (let c = 0; c < CASES; c++) {
    const t = randomTree(join(root, `k${c}`), rnd);
    track.push(...t.track.map((p) => `k${c}/${p}`));
  }
  forceAdd(root, track);
  const whole = diff(await kdevListing(root), gitListing(root));
  if (whole.extra.length + whole.missing.length > 0) return `whole tree: ${JSON.stringify(whole)}`;
  // a sync folder below the work tree's top: the layers above it still apply
  const sub = join(root, `k${Math.floor(rnd() * CASES)}`);
  const part = diff(await kdevListing(sub), gitListing(sub));
  if (part.extra.length + part.missing.length > 0) return `sub-folder ${sub}: ${JSON.stringify(part)}`;
  return undefined;
}

describe('oracle: the synced set is exactly git ls-files --cached --others --exclude-standard', () => {
  before(() => isolateGit(tempDir('oracle-xdg')));

  it(`${ROUNDS} rounds of ${CASES} random trees agree with git`, async () => {
    const base = Number(process.env.KDEV_ORACLE_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const rounds = process.env.KDEV_ORACLE_SEED ? 1 : ROUNDS;
    for (let i = 0; i < rounds; i++) {
      const seed = base + i;
      const failure = await round(seed);
      assert.equal(failure, undefined, `seed ${seed} (replay: KDEV_ORACLE_SEED=${seed} npm test -- unit/sync-gitignore-oracle): ${failure}`);
    }
  });
});

// The client's hash-cache folder is pruned: caches unused for a month and the least recently
// used beyond the cap go, as do temp files of interrupted writes; nothing else is touched.
import assert from 'node:assert/strict';
import { readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pruneHashCaches } from '@kdev/core/internals';
import { tempDir } from '../lib/sync.js';

const DAY = 24 * 60 * 60 * 1000;
const name = (i: number) => `${i.toString(16).padStart(24, '0')}.json`;

describe('hash-cache pruning', () => {
  it('removes stale caches and leftover temp files, keeps recent ones, the own one and other files', async () => {
    const dir = tempDir('cache-prune');
    const now = Date.now();
    const file = async (n: string, ageDays: number) => {
      await writeFile(join(dir, n), '{}');
      const t = (now - ageDays * DAY) / 1000;
      await utimes(join(dir, n), t, t);
    };
    try {
      await file(name(1), 1); // recent
      await file(name(2), 40); // unused for 40 days
      await file(name(3), 400); // the session's own: kept whatever its age
      await file(`${name(4)}.1234.tmp`, 2); // an interrupted write
      await file(`${name(5)}.99.tmp`, 0); // a write in progress
      await file('notes.txt', 400); // not ours
      await file('0123.json', 400); // not a cache name
      const removed = await pruneHashCaches(dir, { keep: join(dir, name(3)), now });
      assert.deepEqual(removed.sort(), [name(2), `${name(4)}.1234.tmp`].sort());
      assert.deepEqual((await readdir(dir)).sort(), ['0123.json', name(1), name(3), `${name(5)}.99.tmp`, 'notes.txt'].sort());
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('keeps at most maxFiles caches, the most recently written', async () => {
    const dir = tempDir('cache-prune');
    const now = Date.now();
    try {
      for (let i = 0; i < 12; i++) {
        await writeFile(join(dir, name(i)), '{}');
        const t = (now - i * 60_000) / 1000; // name(0) newest, name(11) oldest
        await utimes(join(dir, name(i)), t, t);
      }
      const removed = await pruneHashCaches(dir, { maxFiles: 5, now });
      assert.deepEqual(removed.sort(), [5, 6, 7, 8, 9, 10, 11].map(name).sort());
      assert.deepEqual((await readdir(dir)).sort(), [0, 1, 2, 3, 4].map(name));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

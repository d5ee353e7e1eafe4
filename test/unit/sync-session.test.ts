// The sync client against an in-process sidecar over loopback TCP: the whole protocol and
// the session logic (watcher, batches, ignore rules, two-way, guard, reconnect) without a
// cluster. The same behaviours run on the real cluster in test/e2e/sync.test.ts.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, rename, rm, symlink, writeFile, lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { SyncSession, type SyncSessionOptions } from '@kdev/core/internals';
import { tempDir } from '../lib/sync.js';
import { localSidecar, same, skipLocal, transportTo, until, type LocalSidecar } from '../lib/local-sidecar.js';

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups) await c();
});

async function setup(files: Record<string, string>, extra: Partial<SyncSessionOptions> = {}): Promise<{ local: string; remote: string; side: LocalSidecar; session: SyncSession }> {
  const local = tempDir('local');
  const remote = tempDir('remote');
  for (const [p, c] of Object.entries(files)) {
    await mkdir(join(local, p, '..'), { recursive: true });
    await writeFile(join(local, p), c);
  }
  const side = await localSidecar(remote);
  const session = new SyncSession({ resolvePod: async () => 'local', localRoot: local, transport: transportTo(side), backoff: { initialMs: 20, maxMs: 200 }, ...extra });
  cleanups.push(async () => {
    await session.stop();
    await side.close();
  });
  return { local, remote, side, session };
}

describe('sync session (in-process sidecar)', () => {
  it('initial sync, then edits, creates, deletes, renames, exec bits and symlinks', async () => {
    const { local, remote, session } = await setup({ 'a.txt': 'A', 'src/main.js': 'main', 'src/lib/util.js': 'util', 'node_modules/x/i.js': 'nm', '.gitignore': 'node_modules/\n*.log\n' });
    const progress: number[] = [];
    session.on('initial-sync', (p) => progress.push(p.files));
    await session.start();
    assert.ok(await same(local, remote, (r) => skipLocal(r) || r.startsWith('node_modules')));
    assert.equal(await lstat(join(remote, 'node_modules')).catch(() => 'absent'), 'absent', 'ignored folder not synced');
    assert.equal(progress[0], 0);
    assert.equal(progress.at(-1), 6);
    const skip = (r: string): boolean => skipLocal(r) || r.startsWith('node_modules') || r.endsWith('.log');
    await writeFile(join(local, 'a.txt'), 'A2');
    await writeFile(join(local, 'src/new.js'), 'new');
    await writeFile(join(local, 'debug.log'), 'ignored');
    await rm(join(local, 'src/lib'), { recursive: true });
    await rename(join(local, 'src/main.js'), join(local, 'src/index.js'));
    await writeFile(join(local, 'run.sh'), '#!/bin/sh\n');
    await chmod(join(local, 'run.sh'), 0o755);
    await symlink('src/index.js', join(local, 'entry.js'));
    await symlink('../../outside', join(local, 'escape'));
    await until(session, () => same(local, remote, (r) => skip(r) || r === 'escape'), 'edits to reach the remote');
    assert.equal((await lstat(join(remote, 'run.sh'))).mode & 0o111, 0o111);
    assert.equal(await lstat(join(remote, 'escape')).catch(() => 'absent'), 'absent', 'a symlink leaving the root is not synced');
    assert.equal(await lstat(join(remote, 'debug.log')).catch(() => 'absent'), 'absent');
    await chmod(join(local, 'run.sh'), 0o644);
    await until(session, async () => ((await lstat(join(remote, 'run.sh'))).mode & 0o111) === 0, 'exec bit removal');
    const st = session.status();
    assert.equal(st.state === 'idle' || st.state === 'watching', true);
    assert.ok(st.batches >= 2);
  });

  it('two-way: remote files come back; remote deletions keep local files unless deleteLocal', async () => {
    const { local, remote, session } = await setup({ 'a.txt': 'A', 'gen/.keep': '' }, { config: { mode: 'two-way', ignore: ['*.o'] } });
    await session.start();
    await writeFile(join(remote, 'gen/out.txt'), 'generated remotely');
    await writeFile(join(remote, 'gen/skip.o'), 'ignored remotely');
    await mkdir(join(remote, 'newdir/sub'), { recursive: true });
    await writeFile(join(remote, 'newdir/sub/x.txt'), 'x');
    await until(session, async () => (await readFile(join(local, 'gen/out.txt'), 'utf8').catch(() => '')) === 'generated remotely' && (await readFile(join(local, 'newdir/sub/x.txt'), 'utf8').catch(() => '')) === 'x', 'remote files to come back');
    assert.equal(await lstat(join(local, 'gen/skip.o')).catch(() => 'absent'), 'absent');
    await rm(join(remote, 'a.txt'));
    await until(session, async () => session.status().filesReceived > 0 && !(await lstat(join(remote, 'a.txt')).catch(() => false)), 'remote delete');
    assert.equal(await readFile(join(local, 'a.txt'), 'utf8'), 'A', 'the local file stays');
    // a local edit still goes out
    await writeFile(join(local, 'gen/out.txt'), 'edited locally');
    await until(session, async () => (await readFile(join(remote, 'gen/out.txt'), 'utf8')) === 'edited locally', 'local edit in two-way');
  });

  it('holds a batch deleting more than half of the files until confirmed', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 30; i++) files[`f${i}.txt`] = `${i}`;
    const asked: Array<{ deletes: number; total: number }> = [];
    let answer = false;
    let onAsk!: () => void;
    const askedP = new Promise<void>((r) => (onAsk = r));
    const { local, remote, session } = await setup(files, {
      confirmMassDelete: async (info) => {
        asked.push(info);
        onAsk();
        return answer;
      },
    });
    await session.start();
    const declined = new Promise<{ message: string }>((r) => session.once('error', r));
    for (let i = 0; i < 20; i++) await rm(join(local, `f${i}.txt`));
    await askedP;
    assert.match((await declined).message, /not deleted/);
    assert.equal(asked[0]!.total, 30);
    assert.ok(asked[0]!.deletes > 15);
    const remaining = async (): Promise<number> => {
      let n = 0;
      for (let i = 0; i < 20; i++) if (await lstat(join(remote, `f${i}.txt`)).catch(() => undefined)) n++;
      return n;
    };
    assert.ok((await remaining()) >= 5, `declined: at most half went before the guard (${await remaining()} of 20 left)`);
    answer = true;
    await rm(join(local, 'f21.txt'));
    await until(session, async () => !(await lstat(join(remote, 'f21.txt')).catch(() => false)), 'a confirmed deletion');
    assert.ok((await remaining()) >= 5, 'earlier declined deletions are still held');
  });

  it('a new session reads only what changed: hashes kept on disk, the rest compared by the sidecar', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 40; i++) files[`d${i % 4}/f${i}.txt`] = `content ${i}`.padEnd(100, '.');
    const cacheFile = join(tempDir('hcache'), 'cache.json');
    const { local, remote, side, session } = await setup(files, { hashCacheFile: cacheFile });
    await session.start();
    assert.ok(await same(local, remote));
    await session.stop();
    const rows = (JSON.parse(await readFile(cacheFile, 'utf8')) as { rows: unknown[] }).rows;
    assert.equal(rows.length, 40, 'every sent file has its hash cached');
    // same size, new content; and one file changed only on the remote side, same size
    await writeFile(join(local, 'd1/f5.txt'), 'CHANGED 5'.padEnd(100, '.'));
    await writeFile(join(remote, 'd2/f6.txt'), 'remote 6'.padEnd(100, '.'));
    const again = new SyncSession({ resolvePod: async () => 'local', localRoot: local, transport: transportTo(side), hashCacheFile: cacheFile });
    cleanups.push(() => again.stop());
    await again.start();
    assert.ok(await same(local, remote), 'both changes resolved: the local file is the truth');
    assert.equal(again.status().filesSent, 2, `sent ${again.status().filesSent} files`);
    await again.stop();
    // a corrupt cache file is an empty cache, not an error
    await writeFile(cacheFile, '{not json');
    const third = new SyncSession({ resolvePod: async () => 'local', localRoot: local, transport: transportTo(side), hashCacheFile: cacheFile });
    cleanups.push(() => third.stop());
    await third.start();
    assert.equal(third.status().filesSent, 0);
    assert.ok(await same(local, remote));
  });

  it('reconnects after the connection drops, with no change lost', async () => {
    const { local, remote, side, session } = await setup({ 'a.txt': 'A' });
    await session.start();
    for (let round = 0; round < 10; round++) {
      await writeFile(join(local, `r${round}.txt`), `round ${round}`);
      side.kill();
      await writeFile(join(local, 'a.txt'), `A${round}`);
      if (round % 3 === 0) await rm(join(local, `r${round}.txt`));
    }
    await until(session, () => same(local, remote), 'the trees to converge after drops', 20_000);
    assert.ok(session.status().connects >= 2, `reconnected (${session.status().connects} connects)`);
  });

  it('stop() while the connection is being opened ends the session (no wait on a connection nobody closes)', async () => {
    const local = tempDir('local');
    const remote = tempDir('remote');
    await writeFile(join(local, 'a.txt'), 'A');
    const side = await localSidecar(remote);
    cleanups.push(() => side.close());
    // the connect resolves only after stop() was called, as a slow port-forward does
    let connecting!: () => void;
    const connectStarted = new Promise<void>((r) => (connecting = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const inner = transportTo(side)!;
    const session = new SyncSession({
      resolvePod: async () => 'local',
      localRoot: local,
      hashCacheFile: false,
      transport: async (pod) => {
        const t = await inner(pod);
        return { ...t, connect: async () => (connecting(), await released, t.connect()) };
      },
    });
    const started = session.start().then(() => 'synced', (e: Error) => e.message);
    await connectStarted;
    const stopped = session.stop().then(() => 'stopped');
    release();
    const hung = new Promise<string>((r) => setTimeout(() => r('still waiting after 5 s'), 5000).unref());
    assert.equal(await Promise.race([stopped, hung]), 'stopped');
    assert.equal(session.state, 'stopped');
    assert.match(await started, /stopped before the first sync/);
  });
});

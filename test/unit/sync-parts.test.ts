// The sync client's parts, each on its own (the whole session runs in sync-session.test.ts):
// the deletion guard, the handshake plan, slicing and pipelining, backoff, the re-check
// queue, batch planning and deletion settling on a real folder, and two-way pulls.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HashCache, ProtocolError, type Entry } from '@kdev/sync-sidecar';
import {
  attemptFailure,
  backoffDelay,
  countUnder,
  DeletionGuard,
  FaultLog,
  IgnoreRules,
  Pause,
  planBatch,
  planHandshake,
  RecheckQueue,
  recordPulled,
  remoteChanges,
  sendPipelined,
  settleDeletes,
  slices,
  takePending,
  topmostGone,
  type MassDeleteInfo,
  type SyncTree,
} from '@kdev/core/internals';
import { tempDir } from '../lib/sync.js';

const file = (p: string, h = 'h', s = 1): Entry => ({ p, t: 'f', m: 0o644, s, h });
const dir = (p: string): Entry => ({ p, t: 'd', m: 0o755 });
const known = (...entries: Entry[]) => new Map(entries.map((e) => [e.p, e]));

function tree(root: string, synced: Entry[] = [], ignore: string[] = []): SyncTree {
  return { root, rules: new IgnoreRules(root, ignore), faults: new FaultLog(() => undefined), cache: new HashCache(), synced: known(...synced), pending: new Set() };
}

describe('the deletion guard', () => {
  const files = Array.from({ length: 20 }, (_, i) => file(`src/f${i}`));
  const all = known(dir('src'), ...files);

  it('counts synced files under deleted paths (at least one per path)', () => {
    assert.equal(countUnder(['src'], all), 20);
    assert.equal(countUnder(['src/f1', 'nope'], all), 2);
    assert.equal(countUnder([], all), 0);
  });

  it('lets a few deletions or up to half through, holds back more without a confirmation', async () => {
    const reports: string[] = [];
    const guard = new DeletionGuard({ report: (m) => reports.push(m) });
    assert.equal(await guard.allow(['src/f1', 'src/f2'], all, 20, 'remote'), true);
    assert.equal(await guard.allow(files.slice(0, 10).map((f) => f.p), all, 20, 'remote'), true, 'half');
    assert.equal(await guard.allow(['src'], all, 20, 'remote'), false);
    assert.match(reports.join('\n'), /held back: this change would delete 20 of 20 synced files \(remote\)/);
  });

  it('asks confirm with what would go, and reports a refusal', async () => {
    const asked: MassDeleteInfo[] = [];
    const reports: string[] = [];
    const guard = new DeletionGuard({ report: (m) => reports.push(m), confirm: async (info) => (asked.push(info), asked.length === 1) });
    assert.equal(await guard.allow(['src'], all, 20, 'local'), true);
    assert.deepEqual(asked[0], { deletes: 20, total: 20, side: 'local', sample: ['src'] });
    assert.equal(await guard.allow(['src'], all, 20, 'local'), false);
    assert.match(reports[0]!, /not deleted: 20 of 20/);
  });

  it('judges a burst of batches as a whole, until the gap between them passes', async () => {
    let now = 1_000_000;
    const guard = new DeletionGuard({ report: () => undefined, now: () => now });
    const batch = (from: number) => files.slice(from, from + 8).map((f) => f.p);
    assert.equal(await guard.allow(batch(0), all, 20, 'remote', true), true, '8 of 20');
    now += 1000;
    assert.equal(await guard.allow(batch(8), all, 20, 'remote', true), false, '8 more within the gap: 16 of 28');
    now += 10_000;
    assert.equal(await guard.allow(batch(8), all, 20, 'remote', true), true, 'after the gap, a new burst');
  });
});

describe('the handshake plan', () => {
  const diff = { t: 'diff' as const, missing: ['new'], differ: [file('changed', 'remote')], extra: [file('gone'), file('ignored.log')] };
  const local = () => known(file('new'), file('changed', 'local'), file('same'));
  const ignores = (p: string) => p.endsWith('.log');

  it('send-only: send what is missing or differs, delete what is extra, keep the rest', () => {
    const plan = planHandshake(local(), diff, new Map(), 'send-only', ignores);
    assert.deepEqual([plan.toSend, plan.toDelete, plan.toPull], [['changed', 'new'], ['gone'], []]);
    assert.deepEqual([...plan.next.keys()], ['same']);
    assert.equal(plan.remoteFiles, 3 - 1 + 2);
  });

  it('two-way: a path unchanged here since the last sync but different there is pulled; a new remote path too', () => {
    const base = known(file('changed', 'local'), file('same'));
    const plan = planHandshake(local(), diff, base, 'two-way', ignores);
    assert.deepEqual([plan.toSend, plan.toDelete, plan.toPull], [['new'], [], ['changed', 'gone']]);
  });
});

describe('initial sync in slices', () => {
  const sizes: Record<string, number> = { a: 10, b: 10, big: 100, c: 10 };
  const o = { maxFiles: 2, maxBytes: 15, sizeOf: (p: string) => sizes[p] ?? 0 };

  it('cuts by files and bytes, a large file alone; the first slice carries the deletions', () => {
    assert.deepEqual(slices(['a', 'b', 'big', 'c'], ['x'], o), [
      { paths: ['a', 'b'], deletes: ['x'] },
      { paths: ['big'], deletes: [] },
      { paths: ['c'], deletes: [] },
    ]);
    assert.deepEqual(slices([], ['x'], o), [{ paths: [], deletes: ['x'] }]);
    assert.deepEqual(slices([], [], o), []);
  });

  it('keeps at most two batches in flight, and acknowledges each', async () => {
    const acks: Array<(n: number) => void> = [];
    const seen: number[] = [];
    let inFlight = 0;
    let most = 0;
    const done = sendPipelined(
      [0, 1, 2, 3].map((i) => ({ paths: [`p${i}`], deletes: [] })),
      async () => {
        inFlight++;
        most = Math.max(most, inFlight);
        const applied = new Promise<number>((r) => acks.push(r));
        return { applied: applied.finally(() => inFlight--) };
      },
      (b, n) => seen.push(n),
    );
    for (let i = 0; i < 4; i++) {
      while (acks.length <= i) await new Promise((r) => setImmediate(r));
      acks[i]!(i);
    }
    await done;
    assert.deepEqual(seen, [0, 1, 2, 3]);
    assert.equal(most, 2);
  });
});

describe('reconnect', () => {
  it('backs off from 50 ms after a working connection, doubling from initialMs up to maxMs', () => {
    const b = { initialMs: 250, maxMs: 5000 };
    assert.deepEqual([0, 1, 2, 3, 6, 10].map((f) => backoffDelay(f, b)), [50, 250, 500, 1000, 5000, 5000]);
  });

  it('a sidecar of another protocol version is fatal; anything else is retried', () => {
    const fatal = attemptFailure(new ProtocolError('the sidecar speaks protocol 2, this client 3'));
    assert.equal(fatal.fatal?.code, 'FAILED');
    assert.match(fatal.hint ?? '', /Restart dev mode/);
    const retry = attemptFailure(new Error('connection refused'));
    assert.equal(retry.fatal, undefined);
    assert.equal(retry.message, 'sync: connection refused');
  });

  it('a pause ends at its time, or at once when woken', async () => {
    const pause = new Pause();
    const t0 = Date.now();
    const waiting = pause.wait(60_000);
    pause.wake();
    await waiting;
    assert.ok(Date.now() - t0 < 5000);
    await pause.wait(1);
  });
});

describe('the re-check queue', () => {
  it('hands over each path once its delay has passed; adding again postpones it', async () => {
    const due: string[][] = [];
    const q = new RecheckQueue((paths) => due.push(paths), 30);
    q.add('a');
    await new Promise((r) => setTimeout(r, 10));
    q.add('b');
    q.add('a');
    await new Promise((r) => setTimeout(r, 100));
    q.stop();
    assert.deepEqual(due.flat().sort(), ['a', 'b']);
    assert.equal(q.size, 0);
  });
});

describe('batches on a real folder', () => {
  it('plans new and changed files, deletions of synced paths, and a new folder whole', async () => {
    const root = tempDir('parts-batch');
    writeFileSync(join(root, 'kept'), 'same');
    writeFileSync(join(root, 'edited'), 'new text');
    mkdirSync(join(root, 'newdir'));
    writeFileSync(join(root, 'newdir', 'x'), 'x');
    writeFileSync(join(root, 'skip.log'), 'log');
    const t = tree(root, [], ['*.log']);
    const first = await planBatch(t, ['kept'], 1 << 20);
    t.synced.set('kept', { p: 'kept', t: 'f', m: statSync(join(root, 'kept')).mode & 0o777, s: 4, h: t.cache.get('kept', statSync(join(root, 'kept')))! });
    t.synced.set('gone', file('gone'));
    t.synced.set('edited', file('edited', 'old'));
    assert.deepEqual(first, { deletes: [], items: ['kept'] });
    const plan = await planBatch(t, ['edited', 'gone', 'kept', 'newdir', 'skip.log'], 1 << 20);
    assert.deepEqual(plan, { deletes: ['gone'], items: ['edited', 'newdir', 'newdir/x'] });
    rmSync(root, { recursive: true });
  });

  it('past maxBytes the rest goes back to pending; takePending takes a sorted slice', async () => {
    const root = tempDir('parts-bytes');
    for (const n of ['a', 'b', 'c']) writeFileSync(join(root, n), 'x'.repeat(100));
    const t = tree(root);
    const plan = await planBatch(t, ['a', 'b', 'c'], 150);
    assert.deepEqual(plan.items, ['a', 'b']);
    assert.deepEqual([...t.pending], ['c']);
    t.pending.add('z').add('m');
    assert.deepEqual(takePending(t, 2), ['c', 'z'].sort());
    rmSync(root, { recursive: true });
  });

  it('a deleted folder stands for everything in it; deletions still pending are taken in', async () => {
    const root = tempDir('parts-settle');
    mkdirSync(join(root, 'keep'));
    const t = tree(root, [dir('lib'), dir('lib/sub'), file('lib/sub/a'), file('lib/b'), dir('keep'), file('keep/c')]);
    assert.equal(topmostGone(t, 'lib/sub/a'), 'lib');
    assert.equal(topmostGone(t, 'keep/c'), 'keep/c');
    t.pending.add('lib/b').add('keep');
    const deletes = await settleDeletes(t, ['lib/sub/a', 'keep/c'], async () => false);
    assert.deepEqual(deletes, ['keep/c', 'lib']);
    assert.deepEqual([...t.pending], ['keep'], 'a path that still exists stays pending');
    rmSync(root, { recursive: true });
  });
});

describe('two-way pulls', () => {
  it('remote deletions leave local files alone without deleteLocal, and are forgotten; edits pending here are not pulled', async () => {
    const root = tempDir('parts-pull');
    writeFileSync(join(root, 'a'), 'a');
    const t = tree(root, [file('a'), file('b'), file('c'), file('x.log')], ['*.log']);
    t.pending.add('c');
    const guard = new DeletionGuard({ report: () => undefined });
    const r = await remoteChanges(t, { t: 'changes', deletes: ['a', 'x.log'], entries: [file('b'), file('c'), file('y.log')] }, { deleteLocal: false, guard });
    assert.deepEqual(r, { deleted: ['a'], pull: ['b'] });
    assert.ok(statSync(join(root, 'a')).isFile(), 'kept locally');
    assert.equal(t.synced.has('a'), false);
    await remoteChanges(t, { t: 'changes', deletes: ['a'], entries: [] }, { deleteLocal: true, guard });
    assert.throws(() => statSync(join(root, 'a')), 'deleteLocal removes it');
    rmSync(root, { recursive: true });
  });

  it('records what a pull wrote as synced, with its hash cached', async () => {
    const root = tempDir('parts-pulled');
    writeFileSync(join(root, 'f'), 'pulled');
    const st = statSync(join(root, 'f'));
    const t = tree(root);
    await recordPulled(t, { items: [{ p: 'f', t: 'f', stat: st, h: 'abc' }, { p: 'd', t: 'd' }], deletes: [] } as never);
    assert.deepEqual(t.synced.get('f'), { p: 'f', t: 'f', m: st.mode & 0o777, s: st.size, h: 'abc' });
    assert.equal(t.synced.get('d')?.t, 'd');
    assert.equal(t.cache.get('f', st), 'abc');
    rmSync(root, { recursive: true });
  });
});

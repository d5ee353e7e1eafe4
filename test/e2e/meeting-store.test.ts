// The scheduler's shared store on the template's real Redis (in the local cluster): the Lua
// scripts for commit (optimistic: capacity re-checked, tenant counts, the change log),
// release, the change feed and the snapshot, and one commit-then-sync round trip.
import assert from 'node:assert/strict';
import { createServer, connect as tcpConnect, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TEMPLATES_DIR } from '@kdev/templates/bundle.js';
import { Redis } from '@kdev/templates/meeting/src/lib/redis.js';
import { CHANGES_LUA, COMMIT_LUA, RedisStore, TAKE_LUA, registerHosts } from '@kdev/templates/meeting/src/scheduler/redis-store.js';
import { FencedError, KEYS } from '@kdev/templates/meeting/src/scheduler/store.js';
import type { HostSpec } from '@kdev/templates/meeting/src/scheduler/placement.js';
import { assertLocalTarget, deployTemplate, podIps } from '@kdev/templates/tools/deploy.js';
import { tempNamespace } from '../lib/cluster.js';

const host = (id: string, cpu: number): HostSpec => ({ id, zone: 'zone-a', cpu, mem: 8192, gpu: 0, features: [], images: [] });
const item = (placement: string, hostId: string, expect: number, cpu: number, tenant = 't1') => ({ placement, host: hostId, expect, cpu, mem: 100, gpu: 0, tenant });

/**
 * A TCP relay to Redis on loopback that can drop a connection once: before the next request
 * reaches Redis ('request'), or after Redis ran it, before its answer comes back ('answer').
 */
async function lossyRelay(host: string, port: number): Promise<{ port: number; lose: (what: 'request' | 'answer') => void; close: () => void }> {
  let armed: 'request' | 'answer' | undefined;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = tcpConnect({ host, port });
    sockets.add(client).add(upstream);
    const drop = (): void => {
      armed = undefined;
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (d) => (armed === 'request' ? drop() : upstream.write(d)));
    upstream.on('data', (d) => (armed === 'answer' ? drop() : client.write(d)));
    for (const s of [client, upstream]) {
      s.on('error', () => undefined);
      s.on('close', () => (client.destroy(), upstream.destroy()));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    lose: (what) => (armed = what),
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

describe('scheduler store on Redis', { timeout: 300_000 }, () => {
  let ns: Awaited<ReturnType<typeof tempNamespace>>;
  let redis: Redis;
  let store: RedisStore;
  let redisIp: string;

  before(async () => {
    ns = await tempNamespace('kdev-e2e-sched-store');
    await deployTemplate(ns.cluster, join(TEMPLATES_DIR, 'meeting'), { only: ['redis'], params: { hosts: '0', schedulerReplicas: '0' } });
    const [ip] = await podIps(ns.cluster, 'redis');
    assert.ok(ip, 'redis has a ready pod');
    assertLocalTarget(ip);
    redisIp = ip;
    redis = new Redis({ host: ip, port: 6379 });
    store = new RedisStore(redis);
    await registerHosts(redis, [host('h1', 1000), host('h2', 1000)]);
  });
  after(async () => {
    store?.close();
    await ns?.remove();
  });

  it('commits, re-checks capacity only (a changed host that still fits takes it), keeps tenant counts, logs and releases', async () => {
    const snap0 = await store.snapshot();
    const v1 = snap0.hosts.find((h) => h.spec.id === 'h1')!.use.v;
    assert.deepEqual(snap0.hosts.map((h) => h.use.cpu), [0, 0]);

    const [a, b] = await store.commit([item('p1', 'h1', v1, 600), item('p2', 'h1', v1, 100, 't2')]);
    assert.equal(a!.ok, true);
    assert.equal(a!.ok && a!.use, undefined, 'h1 was at the version planned with: no usage sent back');
    // the second item planned against the version the first one just replaced: it still
    // fits, so it is placed, answered with the host's whole usage and tenant counts
    assert.ok(b!.ok && b!.at === 0);
    const current = b!.ok ? b!.use : undefined;
    assert.deepEqual({ v: current?.v, cpu: current?.cpu, ten: current?.ten }, { v: b!.ok ? b!.v : NaN, cpu: 700, ten: { t1: 1, t2: 1 } });

    const [c] = await store.commit([item('p3', 'h1', v1, 400)]);
    assert.deepEqual(c!.ok ? undefined : [c!.reason, c!.use?.cpu], ['capacity', 700]);
    const [d] = await store.commit([item('p4', 'h1', current!.v, 300)]);
    assert.equal(d!.ok, true);
    const [e] = await store.commit([item('p5', 'nope', 1, 1)]);
    assert.equal(!e!.ok && e!.reason, 'unknown-host');

    // the change log after the snapshot: three placements, in version order
    const sync = await store.sync(snap0.version, 0, []);
    assert.deepEqual(sync.deltas.map((x) => [x.host, x.cpu, x.n, x.tenant]), [['h1', 600, 1, 't1'], ['h1', 100, 1, 't2'], ['h1', 300, 1, 't1']]);

    assert.equal(await store.release('p1'), true);
    assert.equal(await store.release('p1'), false, 'a placement is released once');
    const snap = await store.snapshot();
    const h1 = snap.hosts.find((h) => h.spec.id === 'h1')!;
    assert.deepEqual({ cpu: h1.use.cpu, mem: h1.use.mem, ten: h1.use.ten }, { cpu: 400, mem: 200, ten: { t1: 1, t2: 1 } });
    assert.equal(h1.spec.cpu, 1000);
    const last = (await store.sync(sync.deltas.at(-1)!.v, 0, [])).deltas;
    assert.deepEqual(last.map((x) => [x.host, x.cpu, x.n]), [['h1', 600, -1]]);
  });

  it('commits and syncs in one round trip: results out, changes and requests in', async () => {
    await redis.call('RPUSH', KEYS.queue, 'q1', 'q2', 'q3');
    const snap = await store.snapshot();
    const h2 = snap.hosts.find((h) => h.spec.id === 'h2')!;
    const { outcomes, sync } = await store.commitThenSync([item('p9', 'h2', h2.use.v, 250)], snap.version, 2, ['result-1']);
    assert.equal(outcomes[0]!.ok, true);
    assert.deepEqual(sync.requests, ['q1', 'q2']);
    // the change feed read after the commit includes it
    assert.deepEqual(sync.deltas.map((x) => [x.host, x.cpu]), [['h2', 250]]);
    assert.deepEqual(await redis.call('LRANGE', KEYS.results, 0, -1), ['result-1']);
    // nothing to commit: a plain sync
    const since = sync.deltas.at(-1)!.v;
    const empty = await store.commitThenSync([], since, 5, []);
    assert.deepEqual(empty, { outcomes: [], sync: { floor: 0, deltas: [], top: since, requests: ['q3'] } });
  });

  it('tries alternates inside the commit; replicas skip their own log entries but not each other\'s', async () => {
    const a = new RedisStore(redis, { skipOwn: true });
    const b = new RedisStore(redis, { skipOwn: true });
    await registerHosts(redis, [host('h3', 1000), host('h4', 1000), host('h5', 300)]);
    const snap = await a.snapshot();
    const v = (id: string) => snap.hosts.find((h) => h.spec.id === id)!.use.v;
    // h5 too small: placed on its first alternate, h3, planned with a stale version (it
    // still fits: placed, answered whole); h4 not tried
    const [o] = await a.commit([{ ...item('p20', 'h5', v('h5'), 500), alternates: [{ host: 'h3', expect: v('h3') - 1 }, { host: 'h4', expect: v('h4') }] }]);
    assert.ok(o!.ok);
    assert.equal(o!.ok && o!.at, 1);
    assert.deepEqual(o!.refused.map((f) => [f.host, f.reason, f.use?.v]), [['h5', 'capacity', v('h5')]]);
    assert.deepEqual(o!.ok && o!.use && [o!.use.v, o!.use.cpu, o!.use.ten], [o!.ok ? o!.v : NaN, 500, { t1: 1 }]);
    // two items of one commit on the same host: the second is checked against what the first
    // left (500 + 400 + 200 > 1000), so it goes to its alternate, h4
    const [c1, c2] = await b.commit([item('p21', 'h3', v('h3'), 400), { ...item('p22', 'h3', v('h3'), 200), alternates: [{ host: 'h4', expect: v('h4') }] }]);
    assert.ok(c1!.ok && c2!.ok);
    assert.equal(c1!.ok && c1!.use?.cpu, 900);
    assert.deepEqual([c2!.ok && c2!.at, c2!.refused.map((f) => [f.host, f.reason, f.use?.cpu])], [1, [['h3', 'capacity', 900]]]);
    // a reads b's commit but not its own; both answers cover every version
    const sa = await a.sync(snap.version, 0, []);
    assert.deepEqual(sa.deltas.map((d) => [d.host, d.cpu]), [['h3', 400], ['h4', 200]]);
    const sb = await b.sync(snap.version, 0, []);
    assert.deepEqual(sb.deltas.map((d) => [d.host, d.cpu]), [['h3', 500]]);
    assert.equal(sa.top, sb.top);
    assert.equal(sa.top, c1!.ok ? c1!.v : NaN);
    assert.notEqual(a.writer, b.writer);
  });

  it('loses nothing when the connection drops: taken requests are reclaimed, a commit that ran is not made twice', async () => {
    const relay = await lossyRelay(redisIp, 6379);
    const conn = new Redis({ host: '127.0.0.1', port: relay.port });
    const lossy = new RedisStore(conn, { skipOwn: true });
    try {
      // the scripts are cached in Redis (a NOSCRIPT answer would mean nothing ran)
      for (const script of [COMMIT_LUA, CHANGES_LUA, TAKE_LUA]) await redis.call('SCRIPT', 'LOAD', script);
      await redis.call('DEL', KEYS.queue);
      await redis.call('RPUSH', KEYS.queue, 'q1', 'q2', 'q3', 'q4');
      const snap = await lossy.snapshot();
      const h2 = snap.hosts.find((h) => h.spec.id === 'h2')!.use;

      // the exchange never reaches Redis: nothing taken, nothing placed, nothing to reclaim
      relay.lose('request');
      await assert.rejects(lossy.commitThenSync([item('lost-1', 'h2', h2.v, 50)], snap.version, 2, []), /connection closed/);
      assert.deepEqual(await lossy.reclaim(), []);
      assert.equal(await redis.call('LLEN', KEYS.queue), 4);
      assert.equal(await redis.call('HGET', KEYS.placements, 'lost-1'), null);

      // Redis runs it and the answer is lost: the two requests it took come back, once
      relay.lose('answer');
      await assert.rejects(lossy.commitThenSync([item('lost-1', 'h2', h2.v, 50)], snap.version, 2, []), /connection closed/);
      assert.equal(await redis.call('LLEN', KEYS.queue), 2);
      assert.deepEqual(await lossy.reclaim(), ['q1', 'q2']);
      assert.deepEqual(await lossy.reclaim(), [], 'reclaimed once');
      // the lease that exchange granted came back with its requests: a sweep can fence it
      assert.equal(await redis.call('HGET', KEYS.leases, lossy['id']), lossy['epoch']);
      assert.notEqual(lossy['epoch'], '0');

      // the placement it made is found by its id, and the same commit again places nothing
      const found = await lossy.placedAlready(['lost-1', 'never-sent']);
      assert.deepEqual([...found.keys()], ['lost-1']);
      assert.deepEqual({ host: found.get('lost-1')!.host, cpu: found.get('lost-1')!.use.cpu }, { host: 'h2', cpu: h2.cpu + 50 });
      const [again] = await lossy.commit([item('lost-1', 'h2', h2.v, 50)]);
      assert.ok(again!.ok && again!.earlier);
      assert.deepEqual({ at: again!.ok && again!.at, host: again!.ok && again!.earlier?.host, cpu: again!.ok && again!.earlier?.use.cpu }, { at: -1, host: 'h2', cpu: h2.cpu + 50 });
      assert.equal(await redis.call('HGET', KEYS.use, 'h2').then((u) => Number(String(u).split('|')[1])), h2.cpu + 50, 'counted once');
      // one id twice in one commit: placed once, the second answered with the first
      const now = await lossy.snapshot();
      const use = (id: string) => now.hosts.find((h) => h.spec.id === id)!.use;
      const [d1, d2] = await lossy.commit([item('dup-1', 'h2', use('h2').v, 10), item('dup-1', 'h1', use('h1').v, 10)]);
      assert.ok(d1!.ok && !d1!.earlier);
      assert.equal(d2!.ok && d2!.earlier?.host, 'h2');
      assert.equal((await lossy.snapshot()).hosts.find((h) => h.spec.id === 'h1')!.use.cpu, use('h1').cpu, 'nothing placed on h1');
      assert.equal(await lossy.release('dup-1'), true);

      // an exchange whose answer arrived leaves nothing to reclaim
      const s = await lossy.sync(snap.version, 1, []);
      assert.deepEqual(s.requests, ['q3']);
      assert.deepEqual(await lossy.reclaim(), []);
      assert.equal(await lossy.release('lost-1'), true);
    } finally {
      conn.close();
      relay.close();
      await redis.call('DEL', KEYS.queue);
    }
  });

  it('puts back what a replica that died was holding; one that stops cleanly leaves nothing behind', async () => {
    const sweeper = new RedisStore(redis, { skipOwn: true });
    await sweeper.sweep(0); // the stores of the tests above are done with theirs
    await redis.call('DEL', KEYS.queue);
    await redis.call('RPUSH', KEYS.queue, 'q1', 'q2', 'q3', 'q4', 'q5');
    const dies = new RedisStore(redis, { skipOwn: true });
    const snap = await dies.snapshot();
    assert.deepEqual((await dies.sync(snap.version, 2, [])).requests, ['q1', 'q2']);
    assert.deepEqual((await dies.sync(snap.version, 2, [])).requests, ['q3', 'q4']);
    // it stops here holding q1, q2 (placed by now, results not sent) and q3, q4 (not placed)
    assert.equal(await sweeper.sweep(60_000), 0, 'not stale yet');
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(await sweeper.sweep(20), 4);
    assert.deepEqual(await redis.call('LRANGE', KEYS.queue, 0, -1), ['q1', 'q2', 'q3', 'q4', 'q5'], 'back at the head, in order');
    assert.equal(await sweeper.sweep(0), 0, 'put back once');

    // exchanges that took nothing, with every result sent, leave nothing to put back
    const works = new RedisStore(redis, { skipOwn: true });
    assert.deepEqual((await works.sync(snap.version, 10, [])).requests, ['q1', 'q2', 'q3', 'q4', 'q5']);
    await works.sync(snap.version, 10, ['r1']); // q1..q5 placed, their results out, nothing taken
    await works.sync(snap.version, 10, []);
    // a store that gives back (a replica stopping) leaves nothing either
    await redis.call('RPUSH', KEYS.queue, 'q6', 'q7');
    const leaves = new RedisStore(redis, { skipOwn: true });
    const held = (await leaves.sync(snap.version, 5, [])).requests;
    await leaves.giveBack(held, []);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(await sweeper.sweep(20), 0);
    assert.deepEqual(await redis.call('LRANGE', KEYS.queue, 0, -1), ['q6', 'q7']);
    await redis.call('DEL', KEYS.queue, KEYS.results);
  });

  it('fences a store swept while alive: its commit, results, take and give-back are refused whole', async () => {
    const sweeper = new RedisStore(redis, { skipOwn: true });
    await sweeper.sweep(0); // the stores of the tests above are done with theirs
    await redis.call('DEL', KEYS.queue, KEYS.results);
    await redis.call('RPUSH', KEYS.queue, 'f1', 'f2', 'f3');
    await registerHosts(redis, [host('h9', 1000)]);
    const silent = new RedisStore(redis, { skipOwn: true });
    const snap = await silent.snapshot();
    const h9 = () => snap.hosts.find((h) => h.spec.id === 'h9')!.use;
    assert.deepEqual((await silent.sync(snap.version, 2, [])).requests, ['f1', 'f2']);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(await sweeper.sweep(20), 2, 'silent for longer than the window: swept');
    assert.equal(await redis.call('HGET', KEYS.leases, silent['id']), null, 'its lease is gone');
    const version = await redis.call('GET', KEYS.version);
    // the commit and the exchange carrying its results are refused in one round trip
    await assert.rejects(silent.commitThenSync([item('f1', 'h9', h9().v, 100)], snap.version, 2, ['{"id":"f1"}']), FencedError);
    assert.equal(await redis.call('GET', KEYS.version), version, 'nothing committed');
    assert.equal(await redis.call('HGET', KEYS.placements, 'f1'), null);
    assert.equal(await redis.call('LLEN', KEYS.results), 0, 'no result pushed');
    assert.deepEqual(await redis.call('LRANGE', KEYS.queue, 0, -1), ['f1', 'f2', 'f3'], 'nothing taken: the swept requests wait for another replica');
    // fenced once, it starts over: a new lease with its next taking exchange
    assert.deepEqual((await silent.sync(snap.version, 1, [])).requests, ['f1']);
    const lease = await redis.call('HGET', KEYS.leases, silent['id']);
    assert.equal(lease, silent['epoch']);
    // swept again: a lone commit is refused, and a give-back on stop puts nothing back twice
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(await sweeper.sweep(20), 1);
    await assert.rejects(silent.commit([item('f1', 'h9', h9().v, 100)]), FencedError);
    const again = new RedisStore(redis, { skipOwn: true });
    assert.deepEqual((await again.sync(snap.version, 1, [])).requests, ['f1']);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(await sweeper.sweep(20), 1);
    await again.giveBack(['f1'], ['{"id":"f0"}']);
    assert.deepEqual(await redis.call('LRANGE', KEYS.queue, 0, -1), ['f1', 'f2', 'f3'], 'f1 once');
    assert.equal(await redis.call('LLEN', KEYS.results), 0);
    await redis.call('DEL', KEYS.queue, KEYS.results);
  });

  it('an idle replica waits for a request without taking it', async () => {
    await redis.call('DEL', KEYS.queue);
    const blocking = new Redis({ host: redisIp, port: 6379 });
    const waiter = new RedisStore(redis, { skipOwn: true, blocking });
    try {
      assert.equal(await waiter.waitRequest(50), false, 'nothing queued: the timeout');
      const woke = waiter.waitRequest(5000);
      await new Promise((r) => setTimeout(r, 50));
      await redis.call('RPUSH', KEYS.queue, 'w1', 'w2');
      assert.equal(await woke, true);
      assert.deepEqual(await redis.call('LRANGE', KEYS.queue, 0, -1), ['w1', 'w2'], 'the queue as it was: nothing taken outside an exchange');
    } finally {
      blocking.close();
      await redis.call('DEL', KEYS.queue);
    }
  });
});

// The meeting template's scheduler: constraints, ranking, shuffling, flow control, and
// two replicas sharing one store (in memory here; Redis in the e2e test and the benchmark).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HostCache } from '@kdev/templates/meeting/src/scheduler/cache.js';
import { makeFleet, makeRequests } from '@kdev/templates/meeting/src/scheduler/fleet.js';
import { MemoryStore } from '@kdev/templates/meeting/src/scheduler/memory-store.js';
import { applyUsage, candidates, emptyUsage, feasible, score, seededRng, violation, type Host, type HostSpec, type PlacementRequest } from '@kdev/templates/meeting/src/scheduler/placement.js';
import { FlowQueue, QueueFullError } from '@kdev/templates/meeting/src/scheduler/queue.js';
import { Scheduler } from '@kdev/templates/meeting/src/scheduler/scheduler.js';
import { decodeEntry, encodeEntry, type UsageDelta } from '@kdev/templates/meeting/src/scheduler/store.js';

const spec = (id: string, over: Partial<HostSpec> = {}): HostSpec => ({ id, zone: 'zone-a', cpu: 8000, mem: 16384, gpu: 0, features: ['h264-hw'], images: [], ...over });
const host = (s: HostSpec, use = emptyUsage()): Host => ({ spec: s, use });
const req = (over: Partial<PlacementRequest> = {}): PlacementRequest => ({ id: 'r', tenant: 't1', cpu: 1000, mem: 1024, gpu: 0, zone: '', features: [], image: 'img', ...over });

describe('hard constraints', () => {
  it('filters on cpu, memory, GPU, zone and features', () => {
    const h = host(spec('h', { gpu: 1 }), { v: 1, cpu: 7000, mem: 0, gpu: 0, ten: {} });
    assert.equal(feasible(h, req()), true);
    assert.equal(violation(h.spec, h.use, req({ cpu: 1001 })), 'cpu');
    assert.equal(violation(h.spec, h.use, req({ mem: 16385 })), 'memory');
    assert.equal(violation(h.spec, h.use, req({ gpu: 2 })), 'gpu');
    assert.equal(violation(h.spec, h.use, req({ zone: 'zone-b' })), 'zone');
    assert.equal(violation(h.spec, h.use, req({ features: ['av1'] })), 'feature av1');
    assert.equal(feasible(h, req({ zone: 'zone-a', features: ['h264-hw'], gpu: 1 })), true);
  });
});

describe('soft constraints', () => {
  it('prefer a cached image, fewer instances of the tenant, and balanced utilisation', () => {
    const base = score(host(spec('a')), req());
    assert.ok(score(host(spec('b', { images: ['img'] })), req()) > base, 'cached image ranks higher');
    assert.ok(score(host(spec('c'), { v: 1, cpu: 0, mem: 0, gpu: 0, ten: { t1: 2 } }), req()) < base, 'same tenant ranks lower');
    const busy = host(spec('d'), { v: 1, cpu: 6000, mem: 2000, gpu: 0, ten: {} });
    assert.ok(score(busy, req()) < base, 'a fuller host ranks lower');
  });

  it('shuffles only the top k, and different seeds pick different first hosts', () => {
    const pool = Array.from({ length: 50 }, (_, i) => host(spec(`h${i}`, { images: i < 10 ? ['img'] : [] })));
    const firsts = new Set<string>();
    for (let s = 1; s <= 30; s++) {
      const c = candidates(pool, req(), seededRng(s), { sample: 50, topK: 5 });
      assert.equal(c.length, 50);
      assert.ok(c.slice(0, 5).every((h) => h.spec.images.includes('img')), 'the top 5 are the best-ranked ones');
      firsts.add(c[0]!.spec.id);
    }
    assert.ok(firsts.size >= 3, `top-k shuffle spreads first choices (${firsts.size})`);
  });

  it('stops after `sample` feasible hosts and skips excluded ones', () => {
    const pool = Array.from({ length: 1000 }, (_, i) => host(spec(`h${i}`)));
    const c = candidates(pool, req(), seededRng(1), { sample: 20, topK: 5, exclude: new Set(['h1', 'h2']) });
    assert.equal(c.length, 20);
    assert.ok(!c.some((h) => h.spec.id === 'h1' || h.spec.id === 'h2'));
  });
});

describe('flow control', () => {
  it('a full queue makes producers wait, then admits them as consumers take', async () => {
    const q = new FlowQueue<number>(2);
    await q.push(1);
    await q.push(2);
    let third = false;
    const p = q.push(3, 5000).then(() => (third = true));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(third, false, 'the third push waits');
    assert.deepEqual(q.take(1), [1]);
    await p;
    assert.equal(third, true);
    assert.deepEqual(q.take(5), [2, 3]);
    assert.equal(q.stats.waited, 1);
  });

  it('rejects after the deadline with a retry hint', async () => {
    const q = new FlowQueue<number>(1);
    await q.push(1);
    await assert.rejects(q.push(2, 30), (e: unknown) => e instanceof QueueFullError && e.retryAfterS >= 1);
  });
});

describe('replicas sharing a store', () => {
  it('two replicas place 3000 requests on a small fleet without over-committing, resolving conflicts', async () => {
    const store = new MemoryStore();
    // 100 hosts: 3000 requests fill about 80 % of their cpu, so hosts fill up under stale views
    const fleet = makeFleet(100, 7);
    store.addHosts(fleet);
    const requests = makeRequests(3000, 8);
    store.queue.push(...requests.map((r) => JSON.stringify(r)));
    const a = new Scheduler(store, { replica: 'a', batch: 32, seed: 1, pick: { sample: 16, topK: 3 } });
    const b = new Scheduler(store, { replica: 'b', batch: 32, seed: 2, pick: { sample: 16, topK: 3 } });
    await a.init();
    await b.init();
    // interleave the two replicas' steps so that each plans against a stale cache
    for (let i = 0; i < 200 && store.queue.length + a['pendingResults'].length + b['pendingResults'].length > 0; i++) {
      await Promise.all([a.step(), b.step()]);
    }
    await a.step();
    await b.step();
    const results = store.results.map((r) => JSON.parse(r) as { id: string; ok: boolean; host?: string; conflicts: number; replica: string });
    assert.equal(results.length, 3000);
    const byId = new Map(requests.map((r) => [r.id, r]));
    const used = new Map<string, { cpu: number; mem: number; gpu: number }>();
    const specs = new Map(fleet.map((h) => [h.id, h]));
    for (const r of results.filter((x) => x.ok)) {
      const q = byId.get(r.id)!;
      const s = specs.get(r.host!)!;
      const u = used.get(s.id) ?? { cpu: 0, mem: 0, gpu: 0 };
      assert.equal(violation(s, { cpu: 0, mem: 0, gpu: 0 }, q), undefined, `${r.id} on ${s.id} breaks a hard constraint`);
      u.cpu += q.cpu;
      u.mem += q.mem;
      u.gpu += q.gpu;
      used.set(s.id, u);
    }
    for (const [id, u] of used) {
      const s = specs.get(id)!;
      assert.ok(u.cpu <= s.cpu && u.mem <= s.mem && u.gpu <= s.gpu, `host ${id} is over-committed`);
    }
    const placed = results.filter((r) => r.ok).length;
    assert.ok(placed > 2000, `most requests fit (${placed})`);
    assert.ok(a.stats.conflicts + b.stats.conflicts > 0, 'stale caches did conflict');
    assert.ok(a.stats.changed + b.stats.changed > 0, 'hosts changed since a replica\'s view took placements that fitted');
    assert.ok(results.some((r) => r.ok && r.conflicts > 0), 'a conflicting request was placed on a later candidate');
    assert.ok(new Set(results.map((r) => r.replica)).size === 2);
    // each cache, brought up to the store's version, holds exactly the store's usage of
    // every host (what its own commits answered, whole or as one change, drifts nowhere)
    for (const r of [a, b]) {
      r.cache.apply(store.changesSince(r.cache.version), store.version);
      const drift = fleet.filter((h) => {
        const [c, u] = [r.cache.hosts.get(h.id)!.use, store.uses.get(h.id)!];
        return c.cpu !== u.cpu || c.mem !== u.mem || c.gpu !== u.gpu || JSON.stringify({ ...c.ten }) !== JSON.stringify(u.ten);
      });
      assert.deepEqual(drift.map((h) => h.id), [], `replica ${r.opts.replica}'s cache`);
    }
    // every failure says why
    for (const r of results.filter((x) => !x.ok)) assert.match((r as { error?: string }).error ?? '', /unschedulable|gave up/);
  });

  it('refreshes the cache incrementally by version', async () => {
    const store = new MemoryStore();
    store.addHosts([spec('h1'), spec('h2')]);
    const a = new Scheduler(store, { replica: 'a', seed: 1 });
    await a.init();
    const before = a.cache.version;
    await store.commit([{ placement: 'p', host: 'h1', expect: store.uses.get('h1')!.v, cpu: 500, mem: 100, gpu: 0, tenant: 't' }]);
    await a.step();
    assert.equal(a.cache.stats.full, 1, 'no full reload');
    assert.equal(a.cache.hosts.get('h1')!.use.cpu, 500);
    assert.ok(a.cache.version > before);
    assert.equal(a.cache.stats.changesApplied, 1);
  });

  it('needs one exchange with the store per batch in steady state', async () => {
    const store = new MemoryStore();
    store.addHosts(makeFleet(100, 3));
    const requests = makeRequests(64 * 5, 4);
    store.queue.push(...requests.map((r) => JSON.stringify(r)));
    // count the scheduler's calls (not the memory store's own, inside commitThenSync)
    const calls = { sync: 0, commit: 0, commitThenSync: 0 };
    let inside = false;
    for (const name of Object.keys(calls) as Array<keyof typeof calls>) {
      const real = (store[name] as (...a: unknown[]) => Promise<unknown>).bind(store);
      (store as unknown as Record<string, unknown>)[name] = async (...a: unknown[]) => {
        if (inside) return real(...a);
        calls[name]++;
        inside = name === 'commitThenSync';
        try {
          return await real(...a);
        } finally {
          inside = false;
        }
      };
    }
    const a = new Scheduler(store, { replica: 'a', batch: 64, seed: 1 });
    await a.init();
    let placed = 0;
    for (let i = 0; i < 5; i++) placed += await a.step();
    assert.equal(placed, 64 * 5);
    // the first step syncs to get requests; after that each batch's commit carries the sync
    assert.deepEqual(calls, { sync: 1, commit: 0, commitThenSync: 5 });
    assert.equal(store.queue.length, 0);
    // the results of the last batch leave with the next exchange; stop() sends them
    await a.stop();
    assert.equal(store.results.length, 64 * 5);
  });

  it('answers an unschedulable request with the reason', async () => {
    const store = new MemoryStore();
    store.addHosts([spec('h1')]);
    const a = new Scheduler(store, { replica: 'a', seed: 1, shared: false });
    await a.init();
    a.start();
    const p = await a.schedule(req({ gpu: 1 }));
    await a.stop();
    assert.equal(p.ok, false);
    assert.match(p.error!, /no host satisfies the hard constraints/);
  });
});

describe('shutdown', () => {
  it('gives back a request taken from the shared queue but not placed, and sends pending results', async () => {
    const store = new MemoryStore();
    store.addHosts([spec('h1')]);
    store.queue.push('{"id":"next"}');
    const a = new Scheduler(store, { replica: 'a', seed: 1 });
    await a.init();
    a['sharedBuffer'].push('{"id":"taken"}');
    a['pendingResults'].push('{"id":"done"}');
    await a.stop();
    assert.deepEqual(store.queue, ['{"id":"taken"}', '{"id":"next"}'], 'back at the head, in order');
    assert.deepEqual(store.results, ['{"id":"done"}']);
  });
});

describe('the cache\'s packed candidates', () => {
  it('claims made before a reload still exclude their hosts after it', () => {
    const fleet = makeFleet(50, 5);
    const cache = new HostCache();
    const load = (order: HostSpec[]) => cache.load(1, order.map((s) => ({ spec: s, use: emptyUsage() })));
    load(fleet);
    const claims = cache.claims();
    const all = (): string[] => cache.candidates(req({ cpu: 1, mem: 1 }), seededRng(1), { sample: 50, topK: 1, exclude: claims }).map((h) => h.spec.id);
    claims.add('host-00003');
    assert.ok(!all().includes('host-00003'));
    load([...fleet].reverse()); // every host moves to another slot
    assert.ok(!all().includes('host-00003'), 'excluded by id after the reload');
    claims.add('host-00007');
    assert.deepEqual(['host-00003', 'host-00007'].filter((id) => all().includes(id)), []);
    claims.clear();
    assert.equal(all().length, 50);
  });

  it('equal candidates() over the same pool, with usage, tenants, exclusions and names past 31 bits', () => {
    const fleet = makeFleet(1500, 3);
    // hosts 0..39 carry extra features and images, so the bit tables overflow to the slow path
    fleet.slice(0, 40).forEach((h, i) => {
      h.features = [...h.features, `feat-${i}`];
      h.images = [...h.images, `img-${i}`];
    });
    const rng0 = seededRng(9);
    const cache = new HostCache();
    cache.load(
      1,
      fleet.map((s) => ({ spec: s, use: emptyUsage() })),
    );
    // some placements through set() (own commits, conflicts) and apply() (the change log)
    const reqs = makeRequests(3000, 4);
    let v = 2;
    reqs.slice(0, 1500).forEach((r, j) => {
      const h = cache.hosts.get(fleet[Math.floor(rng0() * fleet.length)]!.id)!;
      if (j % 2 === 0) {
        const use = applyUsage(h.use, r);
        use.v = v++;
        cache.set(h.spec.id, use);
      } else cache.apply([{ v: v++, host: h.spec.id, cpu: r.cpu, mem: r.mem, gpu: r.gpu, tenant: r.tenant, n: 1 }]);
    });
    const extra = [...reqs.slice(1500), { ...reqs[0]!, id: 'x1', features: ['feat-39'], zone: '', cpu: 250, mem: 512, gpu: 0 }, { ...reqs[1]!, id: 'x2', image: 'img-7', zone: '' }, { ...reqs[2]!, id: 'x3', features: ['nope'] }];
    for (const [j, r] of extra.entries()) {
      const exclude = new Set(j % 3 === 0 ? fleet.slice(0, 300).map((h) => h.id) : []);
      const opts = { sample: 48, topK: 5, exclude };
      const want = candidates(cache.pool(r.zone), r, seededRng(j), opts).map((h) => h.spec.id);
      const got = cache.candidates(r, seededRng(j), opts).map((h) => h.spec.id);
      assert.deepEqual(got, want, `request ${r.id}`);
      // the same exclusions as claims, looked up by slot
      const claims = cache.claims();
      for (const id of exclude) claims.add(id);
      assert.deepEqual(cache.candidates(r, seededRng(j), { ...opts, exclude: claims }).map((h) => h.spec.id), want, `request ${r.id}, claims`);
    }
    assert.deepEqual(cache.candidates(extra.at(-3)!, seededRng(1), { sample: 48, topK: 5 }).map((h) => h.spec.id), ['host-00039'], 'a feature past the bits is found on its host');
  });
});

describe('the change log', () => {
  it('encodes a commit as one entry and decodes it in one pass, leaving out its own writer', () => {
    const changes = [
      { host: 'h-1', cpu: 250, mem: 512, gpu: 0, n: 1 as const, tenant: 'tenant-3' },
      { host: 'h-2', cpu: 0.5, mem: 1e6, gpu: 1, n: 1 as const, tenant: 'a.b:c' },
    ];
    const entry = encodeEntry(42, 'w1', changes);
    assert.equal(entry, '42|w1|h-1,250,512,0,1,tenant-3;h-2,0.5,1000000,1,1,a.b:c');
    const out: UsageDelta[] = [];
    assert.equal(decodeEntry(entry, 'other', out), 42);
    assert.deepEqual(out, changes.map((c) => ({ v: 42, ...c })));
    // the writer's own entry: its version, no changes
    const own: UsageDelta[] = [];
    assert.equal(decodeEntry(entry, 'w1', own), 42);
    assert.deepEqual(own, []);
    // a release (no writer), read by everyone
    const rel: UsageDelta[] = [];
    assert.equal(decodeEntry('43||h-1,250,512,0,-1,tenant-3', 'w1', rel), 43);
    assert.deepEqual(rel, [{ v: 43, host: 'h-1', cpu: 250, mem: 512, gpu: 0, n: -1, tenant: 'tenant-3' }]);
  });

  it('rejects a malformed entry whole: NaN, and nothing added', () => {
    for (const bad of ['', 'x|w|h,1,1,0,1,t', '5', '5|w', '5|w|h,1,1,0,1,t;h2,1,1', '5|w|h,1,x,0,1,t', '5|w|,1,1,0,1,t', '5|w|h,1,1,0,1,t;']) {
      const out: UsageDelta[] = [{ v: 1, host: 'keep', cpu: 1, mem: 1, gpu: 0, n: 1, tenant: 't' }];
      const v = decodeEntry(bad, undefined, out);
      // '5|w|h,...;' ends in an empty change: malformed too
      assert.ok(Number.isNaN(v), `${JSON.stringify(bad)} → ${v}`);
      assert.equal(out.length, 1, `${JSON.stringify(bad)} added nothing`);
    }
  });

  it('adds every change of one commit to a host (one version), and none of a commit it holds already', () => {
    const cache = new HostCache();
    cache.load(10, [{ spec: spec('h1'), use: { ...emptyUsage(), v: 10 } }, { spec: spec('h2'), use: { ...emptyUsage(), v: 10 } }]);
    const entry: UsageDelta[] = [];
    decodeEntry(encodeEntry(12, 'w', [
      { host: 'h1', cpu: 100, mem: 1, gpu: 0, n: 1, tenant: 'a' },
      { host: 'h2', cpu: 5, mem: 1, gpu: 0, n: 1, tenant: 'a' },
      { host: 'h1', cpu: 200, mem: 1, gpu: 0, n: 1, tenant: 'b' },
    ]), undefined, entry);
    assert.equal(cache.apply(entry, 12), 3);
    assert.deepEqual([cache.hosts.get('h1')!.use.cpu, { ...cache.hosts.get('h1')!.use.ten }], [300, { a: 1, b: 1 }]);
    // read again (or held already from a commit's answer): nothing added twice
    assert.equal(cache.apply(entry, 12), 0);
    assert.equal(cache.hosts.get('h1')!.use.cpu, 300);
  });

  it('moves the cache to the version the answer covered, changes left out included', () => {
    const cache = new HostCache();
    cache.load(10, [{ spec: spec('h1'), use: { ...emptyUsage(), v: 10 } }]);
    cache.apply([], 17); // only this replica's own commits up to 17: nothing to apply
    assert.equal(cache.version, 17);
    cache.apply([{ v: 18, host: 'h1', cpu: 100, mem: 10, gpu: 0, n: 1, tenant: 't' }], 18);
    assert.equal(cache.version, 18);
    assert.equal(cache.hosts.get('h1')!.use.cpu, 100);
  });
});

describe('commit with alternates', () => {
  it('tries the next candidate in the same commit when the host planned on refuses', async () => {
    const store = new MemoryStore();
    store.addHosts([spec('h1', { cpu: 400 }), spec('h2'), spec('h3', { cpu: 100 })]);
    const v = (id: string) => store.uses.get(id)!.v;
    const item = { placement: 'p1', host: 'h1', expect: v('h1'), alternates: [{ host: 'h3', expect: v('h3') }, { host: 'h2', expect: v('h2') }], cpu: 500, mem: 100, gpu: 0, tenant: 't' };
    const [o] = await store.commit([item]);
    assert.ok(o!.ok);
    assert.equal(o!.ok && o!.at, 2, 'placed on the second alternate');
    assert.deepEqual(o!.refused.map((f) => [f.host, f.reason, f.use?.v]), [['h1', 'capacity', v('h1')], ['h3', 'capacity', v('h3')]]);
    assert.equal(store.placements.get('p1')!.host, 'h2');
    assert.equal(o!.ok && o!.use, undefined, 'h2 had not changed since the plan: no usage sent back');
    // none left: refused, with the last reason
    const [none] = await store.commit([{ ...item, placement: 'p2', alternates: [] }]);
    assert.deepEqual(none!.ok ? undefined : [none!.reason, none!.refused.length], ['capacity', 1]);
  });

  it('re-checks capacity only: a host changed since the plan takes the item if it fits, and sends its whole usage back', async () => {
    const store = new MemoryStore();
    store.addHosts([spec('h1', { cpu: 1000 }), spec('h2')]);
    const planned = store.uses.get('h1')!.v;
    // another writer places 600 on h1 after the plan
    await store.commit([{ placement: 'x', host: 'h1', expect: planned, cpu: 600, mem: 10, gpu: 0, tenant: 'o' }]);
    // planned with the old version, still fits: placed, answered with h1's usage after it
    const [fits] = await store.commit([{ placement: 'p1', host: 'h1', expect: planned, cpu: 300, mem: 10, gpu: 0, tenant: 't' }]);
    assert.ok(fits!.ok && fits!.at === 0 && fits!.refused.length === 0);
    assert.deepEqual(fits!.ok && fits!.use && [fits!.use.v, fits!.use.cpu, fits!.use.ten], [fits!.v, 900, { o: 1, t: 1 }]);
    // planned with the old version, no longer fits: refused on capacity, never over capacity
    const [full] = await store.commit([{ placement: 'p2', host: 'h1', expect: planned, alternates: [{ host: 'h2', expect: store.uses.get('h2')!.v }], cpu: 200, mem: 10, gpu: 0, tenant: 't' }]);
    assert.deepEqual(full!.ok && [full!.at, full!.refused.map((f) => [f.host, f.reason, f.use?.cpu])], [1, [['h1', 'capacity', 900]]]);
    // two items of one commit on one host: the second checked against what the first left
    const v2 = store.uses.get('h2')!.v;
    const [a, b] = await store.commit([
      { placement: 'p3', host: 'h2', expect: v2, cpu: 7000, mem: 10, gpu: 0, tenant: 't' },
      { placement: 'p4', host: 'h2', expect: v2, cpu: 1000, mem: 10, gpu: 0, tenant: 't' },
    ]);
    assert.equal(a!.ok, true);
    assert.deepEqual(b!.ok ? undefined : [b!.reason, b!.use?.cpu], ['capacity', 7200]);
    assert.equal(store.uses.get('h2')!.cpu, 7200);
  });

  /**
   * A replica whose copy of h1 (much larger than h2, so the best-balanced choice) is stale:
   * another writer places `otherCpu` on h1 after its snapshot. Then one request through it.
   */
  async function staleReplica(otherCpu: number) {
    const store = new MemoryStore();
    store.addHosts([spec('h1', { cpu: 64_000, mem: 262_144 }), spec('h2')]);
    const a = new Scheduler(store, { replica: 'a', batch: 4, seed: 1, pick: { sample: 2, topK: 1 }, shared: false });
    await a.init();
    await store.commit([{ placement: 'x', host: 'h1', expect: store.uses.get('h1')!.v, cpu: otherCpu, mem: 10, gpu: 0, tenant: 'o' }]);
    const commitsBefore = store.commits;
    const p = a.schedule(req({ id: 'r1' }));
    await a.step();
    return { store, a, placed: await p, commits: store.commits - commitsBefore };
  }

  it('a replica places on a host changed since its view in one commit, and its cache takes the host whole', async () => {
    const { store, a, placed, commits } = await staleReplica(100);
    assert.deepEqual([placed.ok, placed.host, placed.conflicts, placed.attempts], [true, 'h1', 0, 1]);
    assert.equal(commits, 1);
    // the other writer's placement is in the cache too, not only a's own
    assert.deepEqual([a.cache.hosts.get('h1')!.use.cpu, { ...a.cache.hosts.get('h1')!.use.ten }], [1100, { o: 1, t1: 1 }]);
    assert.equal(a.stats.changed, 1);
    // the other writer's change log entry (below the version a now holds for h1) adds nothing twice
    a.cache.apply(store.changesSince(0), store.version);
    assert.equal(a.cache.hosts.get('h1')!.use.cpu, 1100);
  });

  it('two items of one commit placed on the same alternate: the cache holds both', async () => {
    const store = new MemoryStore();
    // h1 and h2 rank first; after a's snapshot another writer fills both
    store.addHosts([spec('h1', { cpu: 64_000, mem: 262_144 }), spec('h2', { cpu: 64_000, mem: 262_144 }), spec('h3')]);
    const a = new Scheduler(store, { replica: 'a', batch: 2, seed: 1, pick: { sample: 3, topK: 1 }, alternates: 2, shared: false });
    await a.init();
    for (const h of ['h1', 'h2']) await store.commit([{ placement: `x-${h}`, host: h, expect: store.uses.get(h)!.v, cpu: 63_500, mem: 10, gpu: 0, tenant: 'o' }]);
    const ps = [a.schedule(req({ id: 'r1' })), a.schedule(req({ id: 'r2' }))];
    await a.step();
    const placed = await Promise.all(ps);
    assert.deepEqual(placed.map((p) => [p.host, p.conflicts]), [['h3', 1], ['h3', 1]]);
    // the second answer (h3 changed by the first item, at the same version) is taken whole
    assert.deepEqual([a.cache.hosts.get('h3')!.use.cpu, a.cache.hosts.get('h3')!.use.v], [2000, store.uses.get('h3')!.v]);
  });

  it('a replica places on an alternate without another round trip when its host filled up, and counts the conflict', async () => {
    const { a, placed, commits } = await staleReplica(63_500);
    assert.deepEqual([placed.ok, placed.host, placed.conflicts, placed.attempts], [true, 'h2', 1, 2]);
    assert.equal(commits, 1, 'one commit, its alternate tried inside it');
    // the refusal brought h1's current state into the cache
    assert.equal(a.cache.hosts.get('h1')!.use.cpu, 63_500);
  });
});

describe('the shared queue', () => {
  it('answers a request that breaks the rules with a failed result, and drops what is not JSON', async () => {
    const store = new MemoryStore();
    store.addHosts([spec('h1')]);
    store.queue.push('{not json', JSON.stringify(req({ id: 'bad', tenant: 'a;b' })), JSON.stringify(req({ id: 'good' })));
    const a = new Scheduler(store, { replica: 'a', seed: 1 });
    await a.init();
    await a.step();
    await a.step();
    const results = store.results.map((r) => JSON.parse(r) as { id: string; ok: boolean; error?: string });
    assert.deepEqual(results.map((r) => [r.id, r.ok]).sort(), [['bad', false], ['good', true]]);
    assert.match(results.find((r) => r.id === 'bad')!.error!, /invalid request: tenant has an invalid format/);
  });
});

describe('a lost answer from the store', () => {
  it('does not place one id twice: a repeated commit answers with the earlier placement', async () => {
    const store = new MemoryStore();
    store.addHosts([spec('h1'), spec('h2')]);
    const item = { placement: 'p', host: 'h1', expect: store.uses.get('h1')!.v, cpu: 500, mem: 100, gpu: 0, tenant: 't' };
    const [first] = await store.commit([item]);
    assert.equal(first!.ok && first!.earlier, undefined);
    // planned again (other host, stale version): nothing new is placed
    const [again] = await store.commit([{ ...item, host: 'h2', expect: store.uses.get('h2')!.v }]);
    assert.ok(again!.ok && again!.earlier);
    assert.equal(again!.ok && again!.at, -1);
    assert.equal(again!.ok && again!.earlier?.host, 'h1');
    assert.equal(again!.ok && again!.earlier?.use.cpu, 500);
    assert.deepEqual([store.uses.get('h1')!.cpu, store.uses.get('h2')!.cpu], [500, 0]);
    assert.equal(store.placements.size, 1);
  });

  it('a replica whose exchange ran but whose answer was lost places every request once and loses none', async () => {
    // the store runs the exchange, then the connection drops: commits made, requests taken
    class LosesAnAnswer extends MemoryStore {
      loseNext = false;
      private lost: string[] | undefined;
      override async commitThenSync(...args: Parameters<MemoryStore['commitThenSync']>) {
        const r = await super.commitThenSync(...args);
        if (!this.loseNext) return r;
        this.loseNext = false;
        this.lost = [...this.lastTaken];
        throw new Error('connection closed');
      }
      override async reclaim(): Promise<string[]> {
        const l = this.lost ?? [];
        this.lost = undefined;
        return l;
      }
    }
    const store = new LosesAnAnswer();
    const fleet = makeFleet(20, 2);
    store.addHosts(fleet);
    const requests = makeRequests(300, 4, 'lost');
    store.queue.push(...requests.map((r) => JSON.stringify(r)));
    const a = new Scheduler(store, { replica: 'a', batch: 16, seed: 1, pick: { sample: 8, topK: 3 } });
    await a.init();
    let errors = 0;
    for (let i = 0; i < 200 && (store.queue.length > 0 || a['retry'].length > 0 || a['sharedBuffer'].length > 0); i++) {
      if (i % 3 === 2) store.loseNext = true;
      try {
        await a.step();
      } catch {
        errors++;
      }
    }
    await a.stop(); // sends the last results
    assert.ok(errors >= 5, `answers lost: ${errors}`);
    const results = store.results.map((r) => JSON.parse(r) as { id: string; ok: boolean; host?: string });
    // every request answered (a result sent in a lost exchange may arrive twice, the same)
    const byId = new Map<string, { ok: boolean; host?: string }>();
    for (const r of results) {
      const seen = byId.get(r.id);
      if (seen) assert.deepEqual({ ok: r.ok, host: r.host }, { ok: seen.ok, host: seen.host }, `${r.id} answered twice, differently`);
      byId.set(r.id, r);
    }
    assert.deepEqual([...byId.keys()].sort(), requests.map((r) => r.id).sort());
    // each placed request is placed once, where its result says; no host carries more than
    // the requests placed on it
    const placed = [...byId].filter(([, r]) => r.ok);
    assert.equal(store.placements.size, placed.length);
    for (const [id, r] of placed) assert.equal(store.placements.get(id)?.host, r.host);
    const want = new Map<string, number>();
    const cpuOf = new Map(requests.map((r) => [r.id, r.cpu]));
    for (const [id, r] of placed) want.set(r.host!, (want.get(r.host!) ?? 0) + cpuOf.get(id)!);
    for (const s of fleet) assert.equal(store.uses.get(s.id)!.cpu, want.get(s.id) ?? 0, `usage of ${s.id}`);
  });
});

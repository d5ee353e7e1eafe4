// Fencing of a silent scheduler replica (the memory store keeps the Redis store's lease
// semantics; the e2e test meeting-fencing runs the same on the cluster's Redis): a replica
// silent past the sweep window loses its lease, and with it every shared-queue request and
// result it held, so each request is answered exactly once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeFleet, makeRequests } from '@kdev/templates/meeting/src/scheduler/fleet.js';
import { MemoryStore } from '@kdev/templates/meeting/src/scheduler/memory-store.js';
import { Scheduler } from '@kdev/templates/meeting/src/scheduler/scheduler.js';
import { FencedError } from '@kdev/templates/meeting/src/scheduler/store.js';

const item = (store: MemoryStore, placement: string, host: string) => ({ placement, host, expect: store.uses.get(host)!.v, cpu: 100, mem: 10, gpu: 0, tenant: 't' });

describe('the lease of a store on the shared queue', () => {
  it('a swept store is refused whole: no commit, no result, nothing taken, nothing given back', async () => {
    let now = 0;
    const a = new MemoryStore({ now: () => now });
    const b = a.connect();
    a.addHosts(makeFleet(4, 1));
    a.queue.push('q1', 'q2', 'q3');
    const first = await a.sync(0, 2, []);
    assert.deepEqual(first.requests, ['q1', 'q2']);
    now = 20_000;
    assert.equal(await b.sweep(15_000), 2, 'the silent store\'s requests go back');
    assert.deepEqual(a.queue, ['q1', 'q2', 'q3']);
    await assert.rejects(a.sync(0, 2, ['{"id":"q1"}']), FencedError);
    assert.deepEqual(a.results, [], 'no result pushed');
    assert.deepEqual(a.queue, ['q1', 'q2', 'q3'], 'nothing taken');
    // once refused, the store has no lease (its replica dropped what it held): its next
    // taking exchange gets a new one
    assert.deepEqual((await a.sync(0, 1, [])).requests, ['q1']);
    const [o] = await a.commit([item(a, 'p1', 'host-00000')]);
    assert.equal(o!.ok, true);
    // swept again: a commit is refused like the rest
    now = 40_000;
    assert.equal(await b.sweep(15_000), 1);
    const version = a.version;
    await assert.rejects(a.commit([item(a, 'p2', 'host-00000')]), FencedError);
    assert.equal(a.version, version, 'nothing committed');
    assert.equal(a.placements.has('p2'), false);
  });

  it('a store that was not swept keeps its lease; a fenced store gives nothing back on stop', async () => {
    let now = 0;
    const a = new MemoryStore({ now: () => now });
    const b = a.connect();
    a.addHosts(makeFleet(4, 1));
    a.queue.push('q1', 'q2');
    await a.sync(0, 1, []);
    now = 10_000;
    assert.equal(await b.sweep(15_000), 0, 'not silent long enough');
    await a.sync(0, 0, []);
    assert.equal((await a.commit([item(a, 'p1', 'host-00001')]))[0]!.ok, true);
    now = 30_000;
    assert.equal(await b.sweep(15_000), 1);
    await a.giveBack(['q1'], ['{"id":"q1"}']);
    assert.deepEqual(a.queue, ['q1', 'q2'], 'q1 once: put back by the sweep, not again by the give-back');
    assert.deepEqual(a.results, []);
  });
});

describe('a replica silent past the sweep window', () => {
  it('answers nothing another replica now owns: every request is answered exactly once', async () => {
    let now = 0;
    const sa = new MemoryStore({ now: () => now });
    const sb = sa.connect();
    const fleet = makeFleet(50, 3);
    sa.addHosts(fleet);
    const requests = makeRequests(640, 5, 'fence');
    sa.queue.push(...requests.map((r) => JSON.stringify(r)));
    const a = new Scheduler(sa, { replica: 'a', batch: 32, seed: 1, pick: { sample: 8, topK: 3 } });
    const b = new Scheduler(sb, { replica: 'b', batch: 32, seed: 2, pick: { sample: 8, topK: 3 } });
    await a.init();
    await b.init();
    await a.step();
    await a.step();
    // a holds one batch's results (placed, not sent) and the next batch's requests; it stops
    // exchanging (a long GC pause, SIGSTOP) for longer than the sweep window
    assert.ok(a['pendingResults'].length > 0 && a['sharedBuffer'].length > 0);
    now += 16_000;
    const requeued = await sb.sweep(15_000);
    assert.equal(requeued, 64, 'the two batches a held went back');
    for (let i = 0; i < 100 && sa.queue.length + b['sharedBuffer'].length > 0; i++) await b.step();
    // an HTTP request reaches a while it is fenced: it is still a's to answer
    const http = a.schedule({ ...requests[0]!, id: 'http-1' });
    await assert.rejects(a.step(), FencedError);
    assert.equal(a.stats.fenced, 1);
    assert.deepEqual([a['pendingResults'].length, a['sharedBuffer'].length], [0, 0], 'a dropped what is b\'s now');
    await a.step();
    assert.equal((await http).ok, true);
    await a.stop();
    await b.stop();

    const results = sa.results.map((r) => JSON.parse(r) as { id: string; ok: boolean; host?: string; replica: string });
    const count = new Map<string, number>();
    for (const r of results) count.set(r.id, (count.get(r.id) ?? 0) + 1);
    assert.deepEqual([...count.keys()].sort(), requests.map((r) => r.id).sort(), 'every request answered');
    assert.deepEqual([...count.values()].filter((n) => n > 1), [], 'none answered twice');
    // a placed some of the swept requests before it went silent: b answered those from the store
    const placed = results.filter((r) => r.ok);
    assert.equal(sa.placements.size, placed.length + 1, 'each placed once (and the HTTP request)');
    for (const r of placed) assert.equal(sa.placements.get(r.id)?.host, r.host);
    const want = new Map<string, number>();
    const cpuOf = new Map(requests.map((r) => [r.id, r.cpu]));
    for (const r of placed) want.set(r.host!, (want.get(r.host!) ?? 0) + cpuOf.get(r.id)!);
    const httpHost = sa.placements.get('http-1')!.host;
    want.set(httpHost, (want.get(httpHost) ?? 0) + requests[0]!.cpu);
    for (const s of fleet) assert.equal(sa.uses.get(s.id)!.cpu, want.get(s.id) ?? 0, `usage of ${s.id}`);
  });
});

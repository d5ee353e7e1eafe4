// The quality stack's logic: report validation, smooth memory throttling, the queue's
// entries, and the search engine's queries and answers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpError } from '@kdev/templates/meeting/src/lib/http.js';
import { parseReport, reportsOf } from '@kdev/templates/meeting/src/quality-ingest/report.js';
import { SmoothThrottle, targetRate } from '@kdev/templates/meeting/src/quality-ingest/throttle.js';
import { aggregateQuery, bulkBody, entityQuery, shapeAggregate, shapeEntity } from '@kdev/templates/meeting/src/quality-indexer/search.js';
import { entries } from '@kdev/templates/meeting/src/quality-indexer/stream.js';
import { window } from '@kdev/templates/meeting/src/quality-query/params.js';

const good = { user: 'u-1', room: 'r-1', region: 'eu-west', network: 'wifi', bitrateKbps: 1200, lossPct: 0.5, jitterMs: 12, cpuPct: 30, memMb: 512, os: 'macOS 14', appVersion: '5.1.0' };

describe('reports', () => {
  it('validates and normalises', () => {
    const r = parseReport({ ...good, ts: 1_700_000_000_000 }, 1_700_000_100_000);
    assert.equal(r.ts, new Date(1_700_000_000_000).toISOString());
    assert.equal(r.rttMs, 0);
    for (const bad of [{ lossPct: 101 }, { network: '5g' }, { user: '' }, { bitrateKbps: 'x' }, { ts: 'never' }, { os: '<script>' }]) {
      assert.throws(() => parseReport({ ...good, ...bad }), (e: unknown) => e instanceof HttpError && e.status === 400, JSON.stringify(bad));
    }
    assert.equal(reportsOf({ reports: [1, 2] }).length, 2);
    assert.throws(() => reportsOf({ reports: new Array(1001).fill(good) }), (e: unknown) => e instanceof HttpError && e.status === 413);
  });
});

describe('smooth throttling', () => {
  it('the target falls smoothly from 1 at the low watermark to 0 at the high one', () => {
    assert.equal(targetRate(50, 100, 200), 1);
    assert.equal(targetRate(250, 100, 200), 0);
    assert.equal(targetRate(150, 100, 200), 0.5);
    let prev = 1;
    for (let m = 100; m <= 200; m += 5) {
      const t = targetRate(m, 100, 200);
      assert.ok(t <= prev && prev - t < 0.08, `no jump at ${m}`);
      prev = t;
    }
  });

  it('the applied rate moves gradually down and back up, and admits that fraction', () => {
    let mem = 0;
    let now = 0;
    const t = new SmoothThrottle({ lowBytes: 100, highBytes: 200, tauS: 1, memory: () => mem, now: () => now });
    mem = 250; // over the high watermark
    const down: number[] = [];
    for (let i = 0; i < 30; i++) {
      now += 100;
      down.push(t.update());
    }
    assert.ok(down[0]! < 1 && down[0]! > 0.8, `first step is small (${down[0]})`);
    assert.ok(down.every((v, i) => i === 0 || v <= down[i - 1]!), 'falls monotonically');
    assert.ok(down.at(-1)! < 0.1, 'reaches ~0');
    mem = 150; // between the watermarks: target 0.5
    for (let i = 0; i < 60; i++) {
      now += 100;
      t.update();
    }
    assert.ok(Math.abs(t.currentRate - 0.5) < 0.02, `settles at 0.5 (${t.currentRate})`);
    let admitted = 0;
    for (let i = 0; i < 1000; i++) if (t.admit()) admitted++;
    assert.ok(Math.abs(admitted - 500) <= 20, `admits about half (${admitted})`);
    mem = 0;
    now += 100;
    const firstUp = t.update();
    assert.ok(firstUp < 0.6, 'rises gradually, not at once');
  });
});

describe('queue and search', () => {
  it('reads stream entries, skipping deleted and malformed ones', () => {
    const reply = [['quality:reports', [['1-0', ['r', JSON.stringify(good), 'rid', 'x']], ['2-0', null], ['3-0', ['r', '{bad']]]]];
    const out = entries(reply);
    assert.deepEqual(out.map((e) => e.id), ['1-0']);
  });

  it('builds bulk bodies and queries', () => {
    const doc = parseReport(good);
    const body = bulkBody([{ id: '1-0', doc }]).split('\n');
    assert.deepEqual(JSON.parse(body[0]!), { index: { _index: 'quality-reports', _id: '1-0' } });
    assert.equal(body.length, 3);
    const q = entityQuery('room', 'r-1', 1000, 10) as { query: { bool: { filter: Array<Record<string, unknown>> } }; aggs: Record<string, unknown> };
    assert.deepEqual(q.query.bool.filter[0], { term: { room: 'r-1' } });
    assert.ok('byUser' in q.aggs);
    const a = aggregateQuery('version', 60, 0) as { aggs: { groups: { terms: { field: string } } } };
    assert.equal(a.aggs.groups.terms.field, 'appVersion');
  });

  it('shapes answers', () => {
    const series = shapeAggregate({ aggregations: { groups: { buckets: [{ key: 'eu', doc_count: 3, over: { buckets: [{ key: 60000, doc_count: 3, bitrateKbps: { value: 1000.456 }, lossPct: { value: null } }] } }] } } });
    assert.deepEqual(series, [{ key: 'eu', count: 3, points: [{ t: 60000, count: 3, avg: { bitrateKbps: 1000.46 } }] }]);
    const e = shapeEntity({ hits: { total: { value: 5 }, hits: [] }, aggregations: { lossPct: { value: 1 }, byUser: { buckets: [{ key: 'u', doc_count: 5 }] }, byNetwork: { buckets: [{ key: 'wifi', doc_count: 5 }] } } });
    assert.equal(e.total, 5);
    assert.deepEqual(e.networks, { wifi: 5 });
    assert.equal(e.breakdown[0]!.key, 'u');
  });

  it('bounds query windows', () => {
    assert.equal(window(new URLSearchParams('since=60&interval=10')).intervalS, 10);
    for (const bad of ['since=0', 'interval=abc', 'limit=9999', 'since=86400&interval=1']) {
      assert.throws(() => window(new URLSearchParams(bad)), (e: unknown) => e instanceof HttpError && e.status === 400, bad);
    }
  });
});

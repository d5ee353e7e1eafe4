// The scheduler simulation (templates/tools/sim.ts): deterministic, and its accounting adds
// up against the store it ran the real commits on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_SIM, simulate, type SimConfig } from '@kdev/templates/tools/sim.js';

// 60 hosts, 2,400 requests: the fleet ends nearly full, so hosts fill up under stale views
const small = (over: Partial<SimConfig> = {}): SimConfig => ({ ...DEFAULT_SIM, hosts: 60, requests: 2400, sample: 8, consumers: 8, topK: 3, alternates: 2, ...over });

describe('scheduler simulation', () => {
  it('gives the same figures for the same configuration, other figures for another seed', async () => {
    const a = await simulate(small());
    const b = await simulate(small());
    assert.deepEqual(a, b);
    const c = await simulate(small({ seed: 2 }));
    assert.notDeepEqual(c, a);
  });

  it('accounts for every request: placed or refused once, each placement in the store, no host over capacity', async () => {
    const r = await simulate(small({ consumers: 16 }));
    assert.equal(r.placed + r.unschedulable, 2400);
    assert.equal(r.store_placements, r.placed);
    assert.equal(r.over_committed_hosts, 0);
    assert.ok(r.conflict_rate > 0, `16 consumers on 60 hosts conflict (${r.conflict_rate})`);
    assert.ok(r.changed_host_rate > r.conflict_rate, `most stale views still fit: placed on the changed host (${r.changed_host_rate})`);
    // a conflict settled on an alternate or by another round, never both for one request
    assert.ok(r.alternates_used + r.retried >= r.requests_with_conflict - r.unschedulable, JSON.stringify(r));
    assert.ok(r.alternates_used <= r.requests_with_conflict);
    assert.ok(r.commits >= Math.ceil((2400 - r.unschedulable) / DEFAULT_SIM.batch), 'one commit per batch at least (a request no host fits commits nothing)');
    assert.equal(r.no_full_reschedule, Math.round((1 - (r.full_reschedules + r.gave_up) / 2400) * 10_000) / 10_000);
    assert.ok(r.gave_up <= r.unschedulable);
  });

  it('one consumer never conflicts; without alternates a conflict always costs another round', async () => {
    const one = await simulate(small({ consumers: 1 }));
    assert.deepEqual([one.conflict_rate, one.alternates_used, one.retried, one.requests_with_conflict, one.changed_host_rate], [0, 0, 0, 0, 0]);
    assert.equal(one.commits, one.placed, "one commit per placement (an unschedulable request commits nothing)");
    const none = await simulate(small({ consumers: 16, alternates: 0 }));
    assert.equal(none.alternates_used, 0);
    assert.ok(none.retried > 0 && none.retried >= none.requests_with_conflict - none.unschedulable);
    assert.ok(none.commits >= 2400 + none.retried - none.unschedulable, 'each retried request cost at least one more commit');
  });

  it('more lag means more placements on changed hosts and more conflicts (the model\'s time is used)', async () => {
    const fresh = await simulate(small({ consumers: 16, lagUs: 0 }));
    const stale = await simulate(small({ consumers: 16, lagUs: 20_000 }));
    assert.ok(stale.changed_host_rate > fresh.changed_host_rate, `${stale.changed_host_rate} > ${fresh.changed_host_rate}`);
    assert.ok(stale.conflict_rate > fresh.conflict_rate, `${stale.conflict_rate} > ${fresh.conflict_rate}`);
  });
});


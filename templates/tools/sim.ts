// A deterministic discrete-event simulation of many scheduler consumers sharing one store,
// running the real code: each consumer is a Scheduler (its HostCache, candidates(), the top-k
// shuffle, the alternates sent with each item, the retry from the next candidate, the rescan
// when the list runs out) and every commit is the MemoryStore's (the Redis script's rule:
// capacity re-checked against what is placed now, alternates tried in the same transaction).
// What is modelled is time: planning costs `planUs` per request, a commit reaches the store
// `commitUs / 2` after it is sent and its answer comes back `commitUs / 2` later, and a
// consumer's cache sees the store as it was `lagUs` ago (the change log read one exchange
// behind). Virtual time only: a run's figures do not depend on the machine, and the same
// configuration gives the same figures every time.
import { makeFleet, makeRequests } from '../meeting/src/scheduler/fleet.js';
import { MemoryStore } from '../meeting/src/scheduler/memory-store.js';
import type { HostSpec, HostUsage, PlacementRequest } from '../meeting/src/scheduler/placement.js';
import { Scheduler, type Placement } from '../meeting/src/scheduler/scheduler.js';
import type { CommitItem, CommitOutcome, Store, SyncResult } from '../meeting/src/scheduler/store.js';

export interface SimConfig {
  consumers: number;
  /** The shuffle width (PickOptions.topK); 1 = no shuffle, every consumer takes its best host. */
  topK: number;
  /** Candidates sent with each item (SchedulerOptions.alternates); 0 = a conflict costs a round trip. */
  alternates: number;
  hosts: number;
  requests: number;
  /** Requests per consumer batch. */
  batch: number;
  /** Feasible hosts a scan stops at (PickOptions.sample). */
  sample: number;
  /** Planning time per request (µs of virtual time). */
  planUs: number;
  /** A commit's round trip (µs): it runs in the store half-way. */
  commitUs: number;
  /** How old the store state a consumer's cache shows is (µs). */
  lagUs: number;
  seed: number;
}

export const DEFAULT_SIM: Omit<SimConfig, 'consumers' | 'topK' | 'alternates'> = {
  hosts: 10_000,
  requests: 20_000,
  batch: 1,
  sample: 24,
  planUs: 20,
  commitUs: 1000,
  lagUs: 2000,
  seed: 1,
};

export interface SimResult {
  placed: number;
  unschedulable: number;
  /** Refused attempts / attempts (as the benchmark counts them). */
  conflict_rate: number;
  /** Placements made on an alternate sent with the item (a conflict settled in the same commit). */
  alternates_used: number;
  /** Requests that needed another commit round (every host sent refused). */
  retried: number;
  /** Requests whose candidate list ran out, so the fleet was scanned again: full reschedules. */
  full_reschedules: number;
  /**
   * Requests refused after conflicts (maxAttempts hosts tried, every one refused): their
   * sender has to schedule them again from scratch, a full reschedule too.
   */
  gave_up: number;
  /** Share of requests settled without a full reschedule (rescan or give-up). */
  no_full_reschedule: number;
  /**
   * Requests that met at least one conflict: what a scheduler without the next-candidate
   * fallback would have rescheduled from scratch.
   */
  requests_with_conflict: number;
  commits: number;
  /** Host cpu utilisation across the fleet at the end: standard deviation and maximum. */
  utilisation_stddev: number;
  utilisation_max: number;
  /** Virtual seconds from the first request to the last answer. */
  virtual_s: number;
  /**
   * Placements committed on a host that had changed since the consumer's view (others placed
   * or released there) and still fitted, per placement: what a commit checking the host's
   * version (compare-and-set on the whole host) would have refused as conflicts.
   */
  changed_host_rate: number;
  /** Held by the store at the end: placements (must equal placed) and hosts over capacity (must be 0). */
  store_placements: number;
  over_committed_hosts: number;
}

/** A binary heap of events by (time, sequence): ties run in the order they were scheduled. */
class Events {
  private readonly heap: Array<{ t: number; seq: number; fn: () => void }> = [];
  private seq = 0;
  now = 0;

  at(t: number, fn: () => void): void {
    const h = this.heap;
    h.push({ t, seq: this.seq++, fn });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private less(a: { t: number; seq: number }, b: { t: number; seq: number }): boolean {
    return a.t < b.t || (a.t === b.t && a.seq < b.seq);
  }

  pop(): (() => void) | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    this.now = top.t;
    return top.fn;
  }

  /** A promise resolved at time t (virtual). */
  until<T>(t: number, value: () => T): Promise<T> {
    return new Promise((resolve) => this.at(t, () => resolve(value())));
  }
}

/**
 * One consumer's connection: commit() runs the MemoryStore's commit at the store's moment
 * (half the round trip after it is sent, planning time first) and answers at the end of the
 * round trip. The scheduler calls nothing else during placeBatch.
 */
class SimStore implements Store {
  constructor(
    private readonly store: MemoryStore,
    private readonly events: Events,
    private readonly cfg: SimConfig,
    private readonly committed: (v: number, t: number) => void,
  ) {}

  commit(items: readonly CommitItem[]): Promise<CommitOutcome[]> {
    const sent = this.events.now + this.cfg.planUs * items.length;
    let outcomes: Promise<CommitOutcome[]> | undefined;
    this.events.at(sent + this.cfg.commitUs / 2, () => {
      outcomes = this.store.commit(items);
      this.committed(this.store.version, this.events.now);
    });
    return this.events.until(sent + this.cfg.commitUs, () => outcomes!).then((o) => o);
  }

  private unused(): never {
    throw new Error('not used by the simulation');
  }
  snapshot(): Promise<{ version: number; hosts: Array<{ spec: HostSpec; use: HostUsage }> }> {
    return this.unused();
  }
  sync(): Promise<SyncResult> {
    return this.unused();
  }
  commitThenSync(): Promise<{ outcomes: CommitOutcome[]; sync: SyncResult }> {
    return this.unused();
  }
  release(): Promise<boolean> {
    return this.unused();
  }
  giveBack(): Promise<void> {
    return this.unused();
  }
  waitRequest(): Promise<boolean> {
    return this.unused();
  }
  reclaim(): Promise<string[]> {
    return this.unused();
  }
  placedAlready(): Promise<Map<string, { host: string; use: HostUsage }>> {
    return this.unused();
  }
  sweep(): Promise<number> {
    return this.unused();
  }
  close(): void {}
}

/** Utilisation spread of the fleet: cpu used / capacity per host. */
function spread(store: MemoryStore): { stddev: number; max: number } {
  const u = [...store.specs.values()].map((s) => store.uses.get(s.id)!.cpu / s.cpu);
  const mean = u.reduce((a, b) => a + b, 0) / u.length;
  const sd = Math.sqrt(u.reduce((a, b) => a + (b - mean) ** 2, 0) / u.length);
  return { stddev: sd, max: Math.max(...u) };
}

const r4 = (x: number) => Math.round(x * 10_000) / 10_000;

/** Runs one configuration to the end; the same configuration gives the same result. */
export async function simulate(cfg: SimConfig): Promise<SimResult> {
  const events = new Events();
  const store = new MemoryStore({ now: () => events.now });
  const fleet = makeFleet(cfg.hosts, cfg.seed);
  store.addHosts(fleet);
  // the store's version after each commit, and when: what a cache lagUs behind has seen
  const times: number[] = [0];
  const versions: number[] = [store.version];
  const committed = (v: number, t: number) => {
    times.push(t);
    versions.push(v);
  };
  const versionAt = (t: number): number => {
    let lo = 0;
    let hi = times.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (times[mid]! <= t) lo = mid;
      else hi = mid - 1;
    }
    return versions[lo]!;
  };
  const queue: PlacementRequest[] = makeRequests(cfg.requests, cfg.seed + 1, 'sim');
  let next = 0;
  const results: Placement[] = [];
  const snapshot = await store.snapshot();
  const consumers = Array.from({ length: cfg.consumers }, (_, i) => {
    const s = new Scheduler(new SimStore(store, events, cfg, committed), { replica: `c${i}`, batch: cfg.batch, seed: cfg.seed * 100_003 + i + 1, pick: { sample: cfg.sample, topK: cfg.topK }, alternates: cfg.alternates, shared: false });
    s.cache.load(snapshot.version, snapshot.hosts.map((h) => ({ spec: h.spec, use: { ...h.use, ten: { ...h.use.ten } } })));
    return s;
  });
  const run = async (s: Scheduler, start: number): Promise<void> => {
    await events.until(start, () => undefined);
    while (next < queue.length) {
      // the cache catches up with the store as it was lagUs ago
      const v = versionAt(events.now - cfg.lagUs);
      if (v > s.cache.version) s.cache.apply(store.changesSince(s.cache.version, v), v);
      const jobs = queue.slice(next, next + cfg.batch).map((req) => ({ req }));
      next += jobs.length;
      results.push(...(await s.placeBatch(jobs)));
    }
  };
  // consumers start spread over one cycle, not all at the same instant
  const cycle = cfg.planUs * cfg.batch + cfg.commitUs;
  const done = Promise.all(consumers.map((s, i) => run(s, (i * cycle) / cfg.consumers)));
  let finished = false;
  void done.then(() => (finished = true));
  for (;;) {
    const fn = events.pop();
    if (!fn) break;
    fn();
    // let every consumer woken by this event run until it waits on its next event
    await new Promise<void>((r) => setImmediate(r));
  }
  await done;
  if (!finished) throw new Error('simulation ended with consumers still waiting');
  return tally(results, consumers, store, events.now);
}

function tally(results: readonly Placement[], consumers: readonly Scheduler[], store: MemoryStore, end: number): SimResult {
  const sum = (k: 'alternates' | 'retried' | 'rescans' | 'commits' | 'changed') => consumers.reduce((a, s) => a + s.stats[k], 0);
  const placed = results.filter((r) => r.ok).length;
  const attempts = results.reduce((a, r) => a + r.attempts, 0);
  const conflicts = results.reduce((a, r) => a + r.conflicts, 0);
  const rescans = sum('rescans');
  const gaveUp = results.filter((r) => !r.ok && r.conflicts > 0).length;
  const { stddev, max } = spread(store);
  return {
    placed,
    unschedulable: results.length - placed,
    conflict_rate: attempts === 0 ? 0 : r4(conflicts / attempts),
    alternates_used: sum('alternates'),
    retried: sum('retried'),
    full_reschedules: rescans,
    gave_up: gaveUp,
    no_full_reschedule: r4(1 - (rescans + gaveUp) / results.length),
    requests_with_conflict: results.filter((r) => r.conflicts > 0).length,
    commits: sum('commits'),
    utilisation_stddev: r4(stddev),
    utilisation_max: r4(max),
    virtual_s: r4(end / 1e6),
    changed_host_rate: placed === 0 ? 0 : r4(sum('changed') / placed),
    store_placements: store.placements.size,
    over_committed_hosts: [...store.specs.values()].filter((h) => {
      const u = store.uses.get(h.id)!;
      return u.cpu > h.cpu || u.mem > h.mem || u.gpu > h.gpu;
    }).length,
  };
}

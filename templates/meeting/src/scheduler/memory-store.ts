// The Store's semantics in memory (unit tests, the simulation): per-host versions, commits
// that re-check capacity only (COMMIT_LUA's rule), a change log by version, a request
// queue, and the shared queue's bookkeeping (taken lists, last-exchange times, leases,
// sweeps, fencing) as the Redis store keeps it. One MemoryStore is one replica's connection; connect() gives another replica its
// own connection to the same state.
import type { HostSpec, HostUsage } from './placement.js';
import { applyUsage } from './placement.js';
import { FencedError, type CommitItem, type CommitOutcome, type Refusal, type Store, type SyncResult, type UsageDelta } from './store.js';

/** What every connection of a memory store shares (what Redis holds). */
class MemoryState {
  version = 0;
  readonly specs = new Map<string, HostSpec>();
  readonly uses = new Map<string, HostUsage>();
  readonly placements = new Map<string, CommitItem>();
  readonly queue: string[] = [];
  readonly results: string[] = [];
  /** The change log, in version order. */
  readonly log: UsageDelta[] = [];
  commits = 0;
  /** Store id → the requests its last taking exchange took, and the one's before. */
  readonly taken = new Map<string, { cur: string[]; prev: string[] }>();
  /** Store id → time of its last exchange, while it holds taken requests. */
  readonly takers = new Map<string, number>();
  /** Store id → lease epoch. */
  readonly leases = new Map<string, number>();
  epoch = 0;
  ids = 0;
  constructor(readonly now: () => number) {}
}

export interface MemoryStoreOptions {
  /** The clock of last-exchange times and sweeps (ms); Date.now by default. */
  now?: () => number;
}

export class MemoryStore implements Store {
  private readonly state: MemoryState;
  /** This connection's id (its taken lists, its lease). */
  readonly id: string;
  /** This connection's lease epoch (0: none yet). */
  private epoch = 0;
  /** What the last sync took from the queue (for tests that lose an answer on purpose). */
  lastTaken: string[] = [];

  constructor(opts: MemoryStoreOptions = {}, shared?: MemoryState) {
    this.state = shared ?? new MemoryState(opts.now ?? Date.now);
    this.id = `m${++this.state.ids}`;
  }

  /** Another replica's connection to the same state. */
  connect(): MemoryStore {
    return new MemoryStore({}, this.state);
  }

  get version(): number {
    return this.state.version;
  }
  get specs(): Map<string, HostSpec> {
    return this.state.specs;
  }
  get uses(): Map<string, HostUsage> {
    return this.state.uses;
  }
  get placements(): Map<string, CommitItem> {
    return this.state.placements;
  }
  get queue(): string[] {
    return this.state.queue;
  }
  get results(): string[] {
    return this.state.results;
  }
  get log(): UsageDelta[] {
    return this.state.log;
  }
  get commits(): number {
    return this.state.commits;
  }

  addHosts(specs: readonly HostSpec[]): void {
    for (const s of specs) {
      this.specs.set(s.id, s);
      this.uses.set(s.id, { v: ++this.state.version, cpu: 0, mem: 0, gpu: 0, ten: {} });
    }
  }

  async snapshot() {
    return { version: this.version, hosts: [...this.specs.values()].map((spec) => ({ spec, use: structuredClone(this.uses.get(spec.id)!) })) };
  }

  /** The lease check of every exchange (Redis: fenced() in the scripts). */
  private checkLease(): void {
    if (this.epoch !== 0 && this.state.leases.get(this.id) !== this.epoch) {
      this.epoch = 0;
      throw new FencedError(this.id);
    }
  }

  async sync(since: number, pop: number, results: readonly string[]): Promise<SyncResult> {
    const s = this.state;
    const deltas = this.changesSince(since);
    if (pop > 0) this.take(pop, results);
    else s.results.push(...results);
    return { floor: 0, deltas, top: Math.max(since, s.log.at(-1)?.v ?? 0), requests: pop > 0 ? [...this.lastTaken] : [] };
  }

  /** The log's changes in (since, upTo] (copies), found by binary search: versions only grow. */
  changesSince(since: number, upTo = Infinity): UsageDelta[] {
    const log = this.state.log;
    const after = (v: number): number => {
      let lo = 0;
      let hi = log.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (log[mid]!.v <= v) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    return log.slice(after(since), upTo === Infinity ? log.length : after(upTo)).map((d) => ({ ...d }));
  }

  /** TAKE_LUA: lease, results, the taken lists moved on, requests taken, last-exchange time. */
  private take(pop: number, results: readonly string[]): void {
    const s = this.state;
    this.checkLease();
    if (this.epoch === 0) s.leases.set(this.id, (this.epoch = ++s.epoch));
    s.results.push(...results);
    const lists = s.taken.get(this.id) ?? { cur: [], prev: [] };
    lists.prev = lists.cur;
    lists.cur = s.queue.splice(0, pop);
    s.taken.set(this.id, lists);
    this.lastTaken = lists.cur;
    if (lists.cur.length > 0 || lists.prev.length > 0) s.takers.set(this.id, s.now());
    else s.takers.delete(this.id);
  }

  async commitThenSync(items: readonly CommitItem[], since: number, pop: number, results: readonly string[]): Promise<{ outcomes: CommitOutcome[]; sync: SyncResult }> {
    const outcomes = await this.commit(items);
    return { outcomes, sync: await this.sync(since, pop, results) };
  }

  async commit(items: readonly CommitItem[]): Promise<CommitOutcome[]> {
    this.checkLease();
    this.state.commits++;
    // one version for the whole commit, as COMMIT_LUA takes it (on its first placement)
    const commit: { v?: number } = {};
    return items.map((it) => this.commitOne(it, commit));
  }

  private commitOne(it: CommitItem, commit: { v?: number }): CommitOutcome {
    const s = this.state;
    const earlier = this.placedOn(it.placement);
    if (earlier) return { ok: true, v: earlier.use.v, at: -1, refused: [], earlier };
    const refused: Refusal[] = [];
    const hosts = [{ host: it.host, expect: it.expect }, ...(it.alternates ?? [])];
    for (const [at, { host, expect }] of hosts.entries()) {
      const use = s.uses.get(host);
      const spec = s.specs.get(host);
      if (!use || !spec) refused.push({ host, reason: 'unknown-host' });
      else if (use.cpu + it.cpu > spec.cpu || use.mem + it.mem > spec.mem || use.gpu + it.gpu > spec.gpu) refused.push({ host, reason: 'capacity', use: structuredClone(use) });
      else {
        // capacity is the only check: a host that changed since `expect` and still fits takes it
        const next = applyUsage(use, it);
        next.v = commit.v ??= ++s.version;
        s.uses.set(host, next);
        s.log.push({ v: next.v, host, cpu: it.cpu, mem: it.mem, gpu: it.gpu, tenant: it.tenant, n: 1 });
        s.placements.set(it.placement, { ...it, host });
        return { ok: true, v: next.v, at, refused, ...(use.v !== expect ? { use: structuredClone(next) } : {}) };
      }
    }
    const last = refused.at(-1)!;
    return { ok: false, reason: last.reason, ...(last.use ? { use: last.use } : {}), refused };
  }

  async release(placement: string): Promise<boolean> {
    const s = this.state;
    const it = s.placements.get(placement);
    if (!it) return false;
    s.placements.delete(placement);
    const next = applyUsage(s.uses.get(it.host)!, it, -1);
    next.v = ++s.version;
    s.uses.set(it.host, next);
    s.log.push({ v: next.v, host: it.host, cpu: it.cpu, mem: it.mem, gpu: it.gpu, tenant: it.tenant, n: -1 });
    return true;
  }

  /** GIVE_BACK_LUA: nothing from a fenced store (its sweep put everything back). */
  async giveBack(requests: readonly string[], results: readonly string[]): Promise<void> {
    const s = this.state;
    if (this.epoch !== 0 && s.leases.get(this.id) !== this.epoch) return;
    s.queue.unshift(...requests);
    s.results.push(...results);
    s.taken.delete(this.id);
    s.takers.delete(this.id);
    s.leases.delete(this.id);
    this.epoch = 0;
  }

  async waitRequest(): Promise<boolean> {
    return this.queue.length > 0;
  }

  /** Where placement `id` is, and that host's usage now (a copy). */
  private placedOn(id: string): { host: string; use: HostUsage } | undefined {
    const p = this.placements.get(id);
    return p && { host: p.host, use: structuredClone(this.uses.get(p.host)!) };
  }

  async placedAlready(ids: readonly string[]): Promise<Map<string, { host: string; use: HostUsage }>> {
    const out = new Map<string, { host: string; use: HostUsage }>();
    for (const id of ids) {
      const p = this.placedOn(id);
      if (p) out.set(id, p);
    }
    return out;
  }

  /** SWEEP_LUA: the lists of stores silent for staleMs go back to the queue's head; their leases go. */
  async sweep(staleMs: number): Promise<number> {
    const s = this.state;
    let back = 0;
    const now = s.now();
    for (const [id, at] of [...s.takers]) {
      if (at > now - staleMs) continue;
      const lists = s.taken.get(id);
      const items = lists ? [...lists.prev, ...lists.cur] : [];
      s.queue.unshift(...items);
      back += items.length;
      s.taken.delete(id);
      s.takers.delete(id);
      s.leases.delete(id);
    }
    return back;
  }

  /** Nothing to reclaim: an exchange with memory never loses its answer. */
  async reclaim(): Promise<string[]> {
    return [];
  }

  close(): void {}
}

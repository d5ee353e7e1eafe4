// The Store's semantics in memory (unit tests, local experiments): per-host versions,
// compare-and-set commits, a change log by version, a request queue.
import type { HostSpec, HostUsage } from './placement.js';
import { applyUsage } from './placement.js';
import type { CommitItem, CommitOutcome, Refusal, Store, SyncResult, UsageDelta } from './store.js';

export class MemoryStore implements Store {
  version = 0;
  readonly specs = new Map<string, HostSpec>();
  readonly uses = new Map<string, HostUsage>();
  readonly placements = new Map<string, CommitItem>();
  readonly queue: string[] = [];
  readonly results: string[] = [];
  /** The change log, in version order. */
  readonly log: UsageDelta[] = [];
  commits = 0;
  /** What the last sync took from the queue (for tests that lose an answer on purpose). */
  lastTaken: string[] = [];

  addHosts(specs: readonly HostSpec[]): void {
    for (const s of specs) {
      this.specs.set(s.id, s);
      this.uses.set(s.id, { v: ++this.version, cpu: 0, mem: 0, gpu: 0, ten: {} });
    }
  }

  async snapshot() {
    return { version: this.version, hosts: [...this.specs.values()].map((spec) => ({ spec, use: structuredClone(this.uses.get(spec.id)!) })) };
  }

  async sync(since: number, pop: number, results: readonly string[]): Promise<SyncResult> {
    this.results.push(...results);
    const deltas = this.log.filter((d) => d.v > since).map((d) => ({ ...d }));
    this.lastTaken = this.queue.splice(0, pop);
    return { floor: 0, deltas, top: Math.max(since, this.log.at(-1)?.v ?? 0), requests: [...this.lastTaken] };
  }

  async commitThenSync(items: readonly CommitItem[], since: number, pop: number, results: readonly string[]): Promise<{ outcomes: CommitOutcome[]; sync: SyncResult }> {
    const outcomes = await this.commit(items);
    return { outcomes, sync: await this.sync(since, pop, results) };
  }

  async commit(items: readonly CommitItem[]): Promise<CommitOutcome[]> {
    this.commits++;
    return items.map((it): CommitOutcome => {
      const earlier = this.placedOn(it.placement);
      if (earlier) return { ok: true, v: earlier.use.v, at: -1, refused: [], earlier };
      const refused: Refusal[] = [];
      const hosts = [{ host: it.host, expect: it.expect }, ...(it.alternates ?? [])];
      for (const [at, { host, expect }] of hosts.entries()) {
        const use = this.uses.get(host);
        const spec = this.specs.get(host);
        if (!use || !spec) refused.push({ host, reason: 'unknown-host' });
        else if (use.v !== expect) refused.push({ host, reason: 'conflict', use: structuredClone(use) });
        else if (use.cpu + it.cpu > spec.cpu || use.mem + it.mem > spec.mem || use.gpu + it.gpu > spec.gpu) refused.push({ host, reason: 'capacity', use: structuredClone(use) });
        else {
          const next = applyUsage(use, it);
          next.v = ++this.version;
          this.uses.set(host, next);
          this.log.push({ v: next.v, host, cpu: it.cpu, mem: it.mem, gpu: it.gpu, tenant: it.tenant, n: 1 });
          this.placements.set(it.placement, { ...it, host });
          return { ok: true, v: next.v, at, refused };
        }
      }
      const last = refused.at(-1)!;
      return { ok: false, reason: last.reason, ...(last.use ? { use: last.use } : {}), refused };
    });
  }

  async release(placement: string): Promise<boolean> {
    const it = this.placements.get(placement);
    if (!it) return false;
    this.placements.delete(placement);
    const next = applyUsage(this.uses.get(it.host)!, it, -1);
    next.v = ++this.version;
    this.uses.set(it.host, next);
    this.log.push({ v: next.v, host: it.host, cpu: it.cpu, mem: it.mem, gpu: it.gpu, tenant: it.tenant, n: -1 });
    return true;
  }

  async giveBack(requests: readonly string[], results: readonly string[]): Promise<void> {
    this.queue.unshift(...requests);
    this.results.push(...results);
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

  /** Nothing to sweep: the replicas of a memory store live in its process. */
  async sweep(): Promise<number> {
    return 0;
  }

  /** Nothing to reclaim: an exchange with memory never loses its answer. */
  async reclaim(): Promise<string[]> {
    return [];
  }

  close(): void {}
}

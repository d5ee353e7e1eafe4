// One scheduler replica: takes requests in batches (its own HTTP queue first, then the
// shared queue in the store), plans each against its private cache and commits the batch
// in one round trip. The store re-checks capacity only: a host others placed on since this
// replica's view still takes the item if it fits. Each item carries its host and the next
// candidates after it: when a host no longer fits, the store moves to the next candidate
// inside the same transaction, and only a request whose every candidate refused goes round
// again. In steady state a batch costs one exchange with the store: its commit travels with
// the sync for the next batch (results out, changes and the next requests in).
import { HostCache, type HostClaims } from './cache.js';
import { DEFAULT_PICK, feasible, seededRng, type Host, type HostUsage, type PickOptions, type PlacementRequest, type Rng } from './placement.js';
import { FencedError, type CommitItem, type CommitOutcome, type Store, type SyncResult } from './store.js';
import { FlowQueue } from './queue.js';
import { parsePlacementRequest } from './request.js';

export interface Placement {
  id: string;
  ok: boolean;
  host?: string;
  zone?: string;
  error?: string;
  attempts: number;
  conflicts: number;
  replica: string;
}

export interface SchedulerOptions {
  replica: string;
  batch: number;
  pick: PickOptions;
  /** Attempts (hosts tried) per request before giving up. */
  maxAttempts: number;
  /** Candidates sent along with each item's host, tried by the store if that host refuses. */
  alternates: number;
  /** Take requests from the store's shared queue too. */
  shared: boolean;
  queueCapacity: number;
  seed?: number;
  /** Told about a failed step (the store away, a bug): the loop backs off and goes on. */
  onError?: (err: unknown) => void;
  /**
   * How often the loop sweeps the store for requests held by replicas that stopped
   * exchanging for `staleMs` (Store.sweep): they go back to the shared queue.
   */
  sweepEveryMs: number;
  staleMs: number;
}

export const DEFAULT_OPTIONS: SchedulerOptions = { replica: 'r0', batch: 64, pick: DEFAULT_PICK, maxAttempts: 8, alternates: 2, shared: true, queueCapacity: 1000, sweepEveryMs: 5000, staleMs: 15_000 };

interface Job {
  req: PlacementRequest;
  /** Set for requests from the local queue (HTTP). */
  resolve?: (p: Placement) => void;
}

interface Plan {
  job: Job;
  cands: Host[];
  next: number;
  host?: Host;
  /** The next candidates after `host`, sent along for the store to try if `host` refuses. */
  alternates: Host[];
  attempts: number;
  conflicts: number;
  done?: Placement;
}

export class Scheduler {
  readonly cache = new HostCache();
  /**
   * The hosts claimed by the current commit round. One set for the replica's life (batches
   * run one at a time): its slot marks are made once per cache load, not once per batch.
   */
  private readonly claimed: HostClaims = this.cache.claims();
  readonly local: FlowQueue<Job>;
  readonly opts: SchedulerOptions;
  private readonly rng: Rng;
  private running = false;
  private pendingResults: string[] = [];
  private sharedBuffer: string[] = [];
  /** The jobs of a step whose exchange with the store failed: placed first by the next step. */
  private retry: Job[] = [];
  /** A step failed: the store may hold requests its exchange took (Store.reclaim). */
  private reclaimNext = false;
  private blockingWait: Promise<void> | undefined;
  private loopDone: Promise<void> | undefined;
  /**
   * retried: requests that needed another commit round (every candidate sent refused);
   * rescans: requests whose candidate list ran out, so the fleet was scanned again (a full
   * reschedule); alternates: placements made on a candidate sent along, not the host
   * planned; fenced: times this replica's lease was taken away (Store FencedError);
   * changed: placements committed on a host others had changed since this replica's view
   * (a whole-host version check would have refused them).
   */
  stats = { placed: 0, failed: 0, conflicts: 0, commits: 0, attempts: 0, batches: 0, errors: 0, requeued: 0, retried: 0, rescans: 0, alternates: 0, fenced: 0, changed: 0 };
  private nextSweep = 0;

  constructor(
    readonly store: Store,
    opts: Partial<SchedulerOptions> = {},
  ) {
    this.opts = { ...DEFAULT_OPTIONS, ...opts };
    this.local = new FlowQueue<Job>(this.opts.queueCapacity);
    this.rng = seededRng(this.opts.seed ?? Math.floor(Math.random() * 2 ** 31));
  }

  async init(): Promise<void> {
    const snap = await this.store.snapshot();
    this.cache.load(snap.version, snap.hosts);
  }

  /** Schedules one request through the local queue (waits for room when it is full). */
  async schedule(req: PlacementRequest, waitMs?: number): Promise<Placement> {
    let resolve!: (p: Placement) => void;
    const result = new Promise<Placement>((r) => (resolve = r));
    await this.local.push({ req, resolve }, waitMs);
    return result;
  }

  /**
   * Plans and commits one batch; returns the placements. With `next`, the first commit
   * round also syncs (see Store.commitThenSync): the changes are applied to the cache and
   * the requests popped are kept for the next step. Exposed for tests.
   */
  async placeBatch(jobs: Job[], next?: { pop: number; results: string[] }): Promise<Placement[]> {
    this.stats.batches++;
    const claimed = this.claimed;
    claimed.clear();
    const plans: Plan[] = jobs.map((job) => ({ job, cands: [], next: 0, alternates: [], attempts: 0, conflicts: 0 }));
    for (const p of plans) {
      p.cands = this.cache.candidates(p.job.req, this.rng, { ...this.opts.pick, exclude: claimed });
      this.choose(p, claimed);
    }
    for (;;) {
      const round = plans.filter((p) => !p.done && p.host);
      for (const p of plans) if (!p.done && !p.host) p.done = this.fail(p, p.attempts === 0 ? 'unschedulable: no host satisfies the hard constraints' : 'unschedulable after conflicts');
      if (round.length === 0 && !next) break;
      const items: CommitItem[] = round.map((p) => {
        this.pickAlternates(p, claimed);
        return {
          placement: p.job.req.id,
          host: p.host!.spec.id,
          expect: p.host!.use.v,
          alternates: p.alternates.map((h) => ({ host: h.spec.id, expect: h.use.v })),
          cpu: p.job.req.cpu,
          mem: p.job.req.mem,
          gpu: p.job.req.gpu,
          tenant: p.job.req.tenant,
        };
      });
      let outcomes: CommitOutcome[];
      let sync: SyncResult | undefined;
      if (next) {
        ({ outcomes, sync } = await this.store.commitThenSync(items, this.cache.version, next.pop, next.results));
        next = undefined;
      } else outcomes = await this.store.commit(items);
      this.stats.commits++;
      claimed.clear();
      const retry: Plan[] = [];
      round.forEach((p, i) => {
        const o = outcomes[i]!;
        // every refusal was an attempt that conflicted; its host's current state refreshes the cache
        for (const f of o.refused) if (f.use) this.cache.set(f.host, f.use);
        const tried = o.refused.length + (o.ok ? 1 : 0);
        p.attempts += tried;
        p.conflicts += o.refused.length;
        this.stats.attempts += tried;
        this.stats.conflicts += o.refused.length;
        if (o.ok && o.earlier) {
          // placed by an earlier commit whose answer was lost: that placement stands
          this.cache.set(o.earlier.host, o.earlier.use);
          p.done = this.success(p.job.req.id, o.earlier.host, p.attempts, p.conflicts);
          this.stats.placed++;
        } else if (o.ok) {
          const h = o.at === 0 ? p.host! : p.alternates[o.at - 1]!;
          if (o.at > 0) this.stats.alternates++;
          const r = p.job.req;
          // a host changed since this plan (by others, or by an earlier item of this
          // commit, at this commit's version) comes back whole: every change is in it
          if (o.use) {
            this.stats.changed++;
            this.cache.set(h.spec.id, o.use, true);
          }
          else this.cache.placed({ v: o.v, host: h.spec.id, cpu: r.cpu, mem: r.mem, gpu: r.gpu, tenant: r.tenant, n: 1 });
          p.done = this.success(p.job.req.id, h.spec.id, p.attempts, p.conflicts);
          this.stats.placed++;
        } else {
          p.host = undefined;
          if (p.attempts >= this.opts.maxAttempts) p.done = this.fail(p, `gave up after ${p.attempts} conflicting attempts`);
          else {
            if (p.conflicts === o.refused.length) this.stats.retried++; // counted once per request
            retry.push(p);
          }
        }
        p.alternates = [];
      });
      // after this replica's own outcomes (a delta at or below a host's version is skipped)
      if (sync) await this.applySync(sync);
      for (const p of retry) {
        // the next candidate, not a full reschedule; only when the list runs out, rescan
        if (!this.choose(p, claimed)) {
          this.stats.rescans++;
          p.cands = this.cache.candidates(p.job.req, this.rng, { ...this.opts.pick, exclude: claimed });
          p.next = 0;
          this.choose(p, claimed);
        }
      }
    }
    return plans.map((p) => p.done!);
  }

  /** Brings the cache up to date and keeps the requests popped for the next step. */
  private async applySync(sync: SyncResult): Promise<void> {
    if (this.cache.version < sync.floor) await this.init(); // the log no longer reaches back this far
    else this.cache.apply(sync.deltas, sync.top);
    this.sharedBuffer.push(...sync.requests);
  }

  /**
   * The next feasible candidates after the plan's host, up to `alternates` of them and
   * within its attempts left. They are not claimed: if another plan of this commit takes
   * one first, the store re-checks its capacity with that placement counted.
   */
  private pickAlternates(p: Plan, claimed: HostClaims): void {
    const max = Math.min(this.opts.alternates, this.opts.maxAttempts - p.attempts - 1);
    while (p.alternates.length < max && p.next < p.cands.length) {
      const h = p.cands[p.next++]!;
      if (!claimed.has(h.spec.id) && feasible(h, p.job.req)) p.alternates.push(h);
    }
  }

  private choose(p: Plan, claimed: HostClaims): boolean {
    while (p.next < p.cands.length) {
      const h = p.cands[p.next++]!;
      if (claimed.has(h.spec.id) || !feasible(h, p.job.req)) continue;
      p.host = h;
      claimed.add(h.spec.id);
      return true;
    }
    return false;
  }

  private fail(p: Plan, error: string): Placement {
    this.stats.failed++;
    return this.refusal(p.job.req.id, error, p.attempts, p.conflicts);
  }

  /** A request's result: placed on `host`. */
  private success(id: string, host: string, attempts: number, conflicts: number): Placement {
    return { id, ok: true, host, zone: this.cache.hosts.get(host)?.spec.zone, attempts, conflicts, replica: this.opts.replica };
  }

  /** A request's failed result. */
  private refusal(id: string, error: string, attempts = 0, conflicts = 0): Placement {
    return { id, ok: false, error, attempts, conflicts, replica: this.opts.replica };
  }

  /**
   * One iteration: place and commit a batch. Its requests were popped by the previous
   * step's exchange; when there are none (the first step, or after idling) a sync round
   * fetches them first.
   */
  async step(): Promise<number> {
    if (this.reclaimNext) {
      this.sharedBuffer.unshift(...(await this.store.reclaim()));
      this.reclaimNext = false;
    }
    const jobs: Job[] = this.retry.splice(0, this.opts.batch);
    const answered = await this.answerPlaced(jobs);
    jobs.push(...this.local.take(this.opts.batch - jobs.length));
    const take = (): void => {
      for (const raw of this.sharedBuffer.splice(0, this.opts.batch - jobs.length)) {
        let body: unknown;
        try {
          body = JSON.parse(raw);
        } catch {
          continue; // not JSON: dropped, not retried forever (there is no id to answer)
        }
        try {
          jobs.push({ req: parsePlacementRequest(body) });
        } catch (err) {
          // the same rules as over HTTP (names also keep the change log's separators out)
          const id = (body as { id?: unknown } | null)?.id;
          if (typeof id === 'string') this.pendingResults.push(JSON.stringify(this.refusal(id, `invalid request: ${err instanceof Error ? err.message : String(err)}`)));
        }
      }
    };
    take();
    let placements: Placement[];
    const want = this.opts.shared ? this.opts.batch : 0;
    let results: string[] = [];
    try {
      if (jobs.length === 0) {
        results = this.pendingResults.splice(0);
        await this.applySync(await this.store.sync(this.cache.version, want, results));
        results = [];
        take();
        if (jobs.length === 0) return answered;
      }
      results = this.pendingResults.splice(0);
      placements = await this.placeBatch(jobs, { pop: want, results });
    } catch (err) {
      if (err instanceof FencedError) {
        this.fenced(jobs);
        throw err;
      }
      // Nothing is dropped: the results go again (a result may then arrive twice, each the
      // same), the jobs are placed by the next step (a commit of theirs that did run is
      // found by its id, not placed twice), and what the exchange took from the shared
      // queue is reclaimed from the store.
      this.pendingResults.unshift(...results);
      this.retry.unshift(...jobs);
      this.reclaimNext = true;
      throw err;
    }
    placements.forEach((p, i) => this.deliver(jobs[i]!, p));
    return answered + jobs.length;
  }

  /**
   * This replica's lease was taken away (it was silent past the sweep window): every request
   * from the shared queue it holds, and every result of one, went back to the queue with the
   * sweep and is someone else's now, so it drops them; its own HTTP requests (never in the
   * shared queue) are placed by the next step, looked up first in case their commit ran.
   */
  private fenced(jobs: Job[]): void {
    this.stats.fenced++;
    this.pendingResults.length = 0;
    this.sharedBuffer.length = 0;
    this.retry = [...jobs, ...this.retry].filter((j) => j.resolve);
    this.reclaimNext = false;
  }

  /**
   * Jobs of a failed exchange whose commit did run: answered from the store's placements
   * (and taken out of `jobs`) instead of being planned again. Returns how many.
   */
  private async answerPlaced(jobs: Job[]): Promise<number> {
    if (jobs.length === 0) return 0;
    let placed: Map<string, { host: string; use: HostUsage }>;
    try {
      placed = await this.store.placedAlready(jobs.map((j) => j.req.id));
    } catch (err) {
      this.retry.unshift(...jobs);
      throw err;
    }
    const open = jobs.filter((j) => {
      const p = placed.get(j.req.id);
      if (!p) return true;
      this.cache.set(p.host, p.use);
      this.stats.placed++;
      this.deliver(j, this.success(j.req.id, p.host, 1, 0));
      return false;
    });
    const n = jobs.length - open.length;
    jobs.splice(0, jobs.length, ...open);
    return n;
  }

  private deliver(job: Job, p: Placement): void {
    if (job.resolve) job.resolve(p);
    else this.pendingResults.push(JSON.stringify(p));
  }

  /** Runs until stop(): batches back to back while there is work, blocks when idle. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = (async () => {
      while (this.running) {
        let n = 0;
        try {
          if (this.opts.shared && Date.now() >= this.nextSweep) {
            this.nextSweep = Date.now() + this.opts.sweepEveryMs;
            this.stats.requeued += await this.store.sweep(this.opts.staleMs);
          }
          n = await this.step();
        } catch (err) {
          this.stats.errors++;
          this.opts.onError?.(err);
          await new Promise((r) => setTimeout(r, 200)); // the store is away: back off, keep the queue
          continue;
        }
        if (n === 0 && this.pendingResults.length === 0) await this.idle();
      }
    })();
  }

  private idle(): Promise<void> {
    const waits: Array<Promise<void>> = [this.local.nonEmpty()];
    if (this.opts.shared) {
      if (!this.blockingWait) {
        // the wait takes nothing: the next step's sync takes what arrived
        this.blockingWait = this.store
          .waitRequest(1000)
          .then(() => undefined)
          .catch(() => new Promise<void>((r) => setTimeout(r, 200)))
          .finally(() => (this.blockingWait = undefined));
      }
      waits.push(this.blockingWait);
    } else waits.push(new Promise((r) => setTimeout(r, 1000)));
    return Promise.race(waits);
  }

  /**
   * Stops the loop after its current step; requests taken from the shared queue but not
   * placed go back to its head, and results not yet sent are sent, so a replica going away
   * loses nothing.
   */
  async stop(): Promise<void> {
    this.running = false;
    await this.loopDone;
    await this.blockingWait;
    if (this.reclaimNext) this.sharedBuffer.unshift(...(await this.store.reclaim().catch(() => [])));
    const requests: string[] = [];
    for (const j of this.retry.splice(0)) {
      if (j.resolve) j.resolve(this.refusal(j.req.id, 'the scheduler replica stopped before it could place this request'));
      else requests.push(JSON.stringify(j.req));
    }
    requests.push(...this.sharedBuffer.splice(0));
    // always: the store also forgets what this replica took (nothing left to sweep)
    await this.store.giveBack(requests, this.pendingResults.splice(0));
  }
}

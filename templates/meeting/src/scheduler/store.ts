// The shared state of every scheduler replica. The real one is Redis (redis-store.ts);
// the in-memory one (memory-store.ts) has the same semantics for unit tests.
import type { HostSpec, HostUsage } from './placement.js';

/**
 * How many entries the log keeps (an entry is one commit: up to a batch of changes, or one
 * release); trimmed in chunks of LOG_TRIM past that.
 */
export const LOG_KEEP = 5_000;
export const LOG_TRIM = 500;

/** Characters that separate the fields of a log entry: host ids and tenants cannot hold them. */
export const LOG_SEPARATORS = /[|;,]/;

/**
 * One log entry as the store keeps it: `v|writer|change;change;...`, where every change is
 * `host,cpu,mem,gpu,n,tenant` (n = 1 placed, -1 released) and every change of the entry
 * has version v (one commit, one version). `writer` names the store connection that
 * committed it ('' for releases), so a replica can leave out its own commits.
 */
export function encodeEntry(v: number, writer: string, deltas: ReadonlyArray<Omit<UsageDelta, 'v'>>): string {
  return `${v}|${writer}|${deltas.map((d) => `${d.host},${d.cpu},${d.mem},${d.gpu},${d.n},${d.tenant}`).join(';')}`;
}

/**
 * Decodes one log entry into `out` (unless its writer is `skip`); returns the entry's
 * version, NaN if the entry is malformed (nothing is added then). This runs for every
 * change every replica reads, so it walks the string once and reads integers from their
 * characters (Number() on a substring is the fallback for anything else).
 */
export function decodeEntry(s: string, skip: string | undefined, out: UsageDelta[]): number {
  const bar1 = s.indexOf('|');
  const bar2 = bar1 < 0 ? -1 : s.indexOf('|', bar1 + 1);
  if (bar2 < 0) return NaN;
  const v = numberAt(s, 0, bar1);
  if (!Number.isFinite(v)) return NaN;
  if (skip !== undefined && skip !== '' && bar2 - bar1 - 1 === skip.length && s.startsWith(skip, bar1 + 1)) return v;
  const mark = out.length;
  let pos = bar2 + 1;
  while (pos < s.length) {
    let end = s.indexOf(';', pos);
    if (end < 0) end = s.length;
    const c1 = s.indexOf(',', pos);
    const c2 = c1 < 0 ? -1 : s.indexOf(',', c1 + 1);
    const c3 = c2 < 0 ? -1 : s.indexOf(',', c2 + 1);
    const c4 = c3 < 0 ? -1 : s.indexOf(',', c3 + 1);
    const c5 = c4 < 0 ? -1 : s.indexOf(',', c4 + 1);
    if (c5 < 0 || c5 >= end || c1 === pos) {
      out.length = mark;
      return NaN;
    }
    const cpu = numberAt(s, c1 + 1, c2);
    const mem = numberAt(s, c2 + 1, c3);
    const gpu = numberAt(s, c3 + 1, c4);
    const n = numberAt(s, c4 + 1, c5);
    if (!Number.isFinite(cpu + mem + gpu + n)) {
      out.length = mark;
      return NaN;
    }
    out.push({ v, host: s.slice(pos, c1), cpu, mem, gpu, n: n < 0 ? -1 : 1, tenant: s.slice(c5 + 1, end) });
    if (end === s.length) break;
    pos = end + 1;
    if (pos === s.length) {
      out.length = mark; // a trailing ';': an empty change
      return NaN;
    }
  }
  return v;
}

/** The number written in s[from, to): plain digits read in place, anything else by Number(). */
function numberAt(s: string, from: number, to: number): number {
  if (to <= from) return NaN;
  let neg = false;
  let i = from;
  if (s.charCodeAt(i) === 45 /* - */) {
    neg = true;
    i++;
  }
  let x = 0;
  if (i === to || to - i > 15) return Number(s.slice(from, to));
  for (; i < to; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return Number(s.slice(from, to));
    x = x * 10 + c;
  }
  return neg ? -x : x;
}

export interface CommitItem {
  placement: string;
  host: string;
  /**
   * The host version the replica planned against. The commit does not refuse a host that
   * changed since (others placed or released there): it re-checks capacity only, and when
   * the version differs it answers the host's whole usage, so the replica's cache takes in
   * the changes it had not read yet.
   */
  expect: number;
  /**
   * The next candidates, tried in order in the same transaction when `host` refuses (it no
   * longer fits): a conflict moves to the next candidate without another round trip.
   */
  alternates?: ReadonlyArray<{ host: string; expect: number }>;
  cpu: number;
  mem: number;
  gpu: number;
  tenant: string;
}

/**
 * A host that refused an item: the item no longer fits it (capacity: what others placed
 * since the replica's view filled it), or it is unknown. A host that changed since the
 * version planned with but still fits is not refused.
 */
export interface Refusal {
  host: string;
  reason: 'capacity' | 'unknown-host';
  /** The host's current usage (capacity), for the replica's cache. */
  use?: HostUsage;
}

export type CommitOutcome =
  /**
   * Committed on [host, ...alternates][at], at the host's new version v, after `refused`.
   * With `earlier`, nothing was committed now: a placement with this id exists already (an
   * earlier commit of it ran, its answer lost) on earlier.host, whose usage is earlier.use;
   * `at` is then -1 and `v` that usage's version. A commit never places one id twice.
   * With `use`, the host had changed since the version planned with (`expect`): its whole
   * usage after this commit (version v), for the replica's cache, instead of the one change.
   */
  | { ok: true; v: number; at: number; refused: Refusal[]; earlier?: { host: string; use: HostUsage }; use?: HostUsage }
  /** Every host refused; reason and use are the last refusal's. */
  | { ok: false; reason: Refusal['reason']; use?: HostUsage; refused: Refusal[] };

/**
 * One change to one host's usage, as the store's change log records it: a placement
 * (n = 1) or a release (n = -1) of cpu/mem/gpu for a tenant, at version v. Replicas apply
 * these to their cache (a few additions) instead of decoding each changed host in full.
 */
export interface UsageDelta {
  v: number;
  host: string;
  cpu: number;
  mem: number;
  gpu: number;
  tenant: string;
  n: 1 | -1;
}

export interface SyncResult {
  /** The change log holds every change after this version; a cache older than it must reload. */
  floor: number;
  /**
   * The changes after the `since` asked for, in version order. A store may leave out the
   * changes its own replica committed (that replica's cache applied them already).
   */
  deltas: UsageDelta[];
  /** The highest version this answer covers, changes left out included (`since` if none). */
  top: number;
  /** Requests taken from the shared queue (JSON). */
  requests: string[];
}

/**
 * The store refused an exchange because this store's lease was taken away: it was silent
 * for longer than the sweep window, and a sweep put the requests it held back in the shared
 * queue for others to answer. Nothing of the refused exchange ran (no commit, no result
 * pushed, nothing taken). The store drops its lease; its next taking exchange gets a new
 * one. The replica must drop every shared-queue request and result it holds (they are
 * someone else's now) and keep only its own HTTP requests.
 */
export class FencedError extends Error {
  constructor(readonly store: string) {
    super(`store ${store} was fenced: silent past the sweep window, its requests were put back in the shared queue`);
    this.name = 'FencedError';
  }
}

export interface Store {
  snapshot(): Promise<{ version: number; hosts: Array<{ spec: HostSpec; use: HostUsage }> }>;
  /** One round trip: pushes finished results, reads the change log after `since`, pops up to `pop` queued requests. */
  sync(since: number, pop: number, results: readonly string[]): Promise<SyncResult>;
  /** Each item is its own optimistic transaction; the batch runs atomically in the store. */
  commit(items: readonly CommitItem[]): Promise<CommitOutcome[]>;
  /**
   * commit(), then sync(), in one round trip: a replica's steady state is one exchange with
   * the store per batch (this batch's commit, the next batch's requests and the changes).
   */
  commitThenSync(items: readonly CommitItem[], since: number, pop: number, results: readonly string[]): Promise<{ outcomes: CommitOutcome[]; sync: SyncResult }>;
  release(placement: string): Promise<boolean>;
  /** On shutdown: puts requests taken but not placed back at the head of the shared queue, pushes unsent results. */
  giveBack(requests: readonly string[], results: readonly string[]): Promise<void>;
  /**
   * Blocks until a request is queued (true) or the timeout (false). It takes nothing: the
   * replica's next sync takes it, and keeps it where a sweep or a reclaim can find it.
   */
  waitRequest(timeoutMs: number): Promise<boolean>;
  /**
   * After a sync or commitThenSync failed: the requests that exchange took from the shared
   * queue when it did run in the store and only its answer was lost (none when it did not
   * run). Each taking exchange keeps what it took in the store until the next one, so a
   * dropped connection loses no request.
   */
  reclaim(): Promise<string[]>;
  /**
   * Which of these placement ids are placed already, where, and that host's usage now: after
   * a failed exchange, its requests are looked up before they are planned again (their
   * commit may have run).
   */
  placedAlready(ids: readonly string[]): Promise<Map<string, { host: string; use: HostUsage }>>;
  /**
   * Puts back at the head of the shared queue the requests held by stores that have not
   * exchanged for `staleMs` (a replica that died with requests in hand); returns how many.
   * A request put back that was placed already is answered with its placement (commits
   * never place one id twice).
   */
  sweep(staleMs: number): Promise<number>;
  close(): void;
}

export const KEYS = {
  version: 'sched:ver',
  /** host → its HostSpec as JSON (read by replicas' snapshots). */
  spec: 'sched:spec',
  /** host → `cpu|mem|gpu` capacity (read by the commit script). */
  cap: 'sched:cap',
  /** host → `v|cpu|mem|gpu`: the host's version and what is placed on it. */
  use: 'sched:use',
  /** `sched:ten:<host>`: tenant → instances on that host (anti-affinity). */
  tenantsPrefix: 'sched:ten:',
  /** The change log: a sorted set of entries (encodeEntry: one per commit) scored by version. */
  log: 'sched:log',
  /** The log was trimmed up to this version. */
  logFloor: 'sched:logfloor',
  placements: 'sched:placements',
  queue: 'sched:queue',
  /**
   * `sched:taken:<store id>`: the requests one store's last exchange took, after its number;
   * `…:prev` the exchange's before (committed, results not yet sent).
   */
  takenPrefix: 'sched:taken:',
  /** Store id → time (ms, Redis's clock) of its last exchange, while it holds taken requests. */
  takers: 'sched:takers',
  /**
   * Store id → its lease epoch (from sched:epoch). A store's first taking exchange gets one;
   * a sweep of the store deletes it, and every later exchange of the store that carries
   * the old epoch (commit, results, take, give-back) is refused whole: fencing.
   */
  leases: 'sched:leases',
  epoch: 'sched:epoch',
  results: 'sched:results',
} as const;

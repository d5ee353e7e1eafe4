// The shared state of every scheduler replica. The real one is Redis (redis-store.ts);
// the in-memory one (memory-store.ts) has the same semantics for unit tests.
import type { HostSpec, HostUsage } from './placement.js';

/** How many changes the log keeps; trimmed in chunks of LOG_TRIM past that. */
export const LOG_KEEP = 200_000;
export const LOG_TRIM = 10_000;

/** A delta as stored in the log: `v|host|cpu|mem|gpu|n|tenant` (host ids have no `|`). */
export function encodeDelta(d: UsageDelta): string {
  return `${d.v}|${d.host}|${d.cpu}|${d.mem}|${d.gpu}|${d.n}|${d.tenant}`;
}

export function decodeDelta(s: string): UsageDelta | undefined {
  const f = s.split('|');
  if (f.length < 7) return undefined;
  const n = Number(f[5]);
  return { v: Number(f[0]), host: f[1]!, cpu: Number(f[2]), mem: Number(f[3]), gpu: Number(f[4]), n: n < 0 ? -1 : 1, tenant: f.length === 7 ? f[6]! : f.slice(6).join('|') };
}

export interface CommitItem {
  placement: string;
  host: string;
  /** The host version the replica planned against (optimistic concurrency). */
  expect: number;
  cpu: number;
  mem: number;
  gpu: number;
  tenant: string;
}

export type CommitOutcome =
  /** Committed; the host's new version. */
  | { ok: true; v: number }
  /** The host changed since `expect` (conflict) or no longer fits: its current usage. */
  | { ok: false; reason: 'conflict' | 'capacity' | 'unknown-host'; use?: HostUsage };

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
  /** The changes after the `since` asked for, in version order. */
  deltas: UsageDelta[];
  /** Requests taken from the shared queue (JSON). */
  requests: string[];
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
  /** Blocks until a request is queued (or the timeout); undefined on timeout. */
  waitRequest(timeoutMs: number): Promise<string | undefined>;
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
  /** The change log: a sorted set of encoded UsageDeltas scored by version. */
  log: 'sched:log',
  /** The log was trimmed up to this version. */
  logFloor: 'sched:logfloor',
  placements: 'sched:placements',
  queue: 'sched:queue',
  results: 'sched:results',
} as const;

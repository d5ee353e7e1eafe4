// The shared state of every scheduler replica. The real one is Redis (redis-store.ts);
// the in-memory one (memory-store.ts) has the same semantics for unit tests.
import type { HostSpec, HostUsage } from './placement.js';

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

export interface SyncResult {
  version: number;
  changes: Array<{ id: string; use: HostUsage }>;
  /** Requests taken from the shared queue (JSON). */
  requests: string[];
}

export interface Store {
  snapshot(): Promise<{ version: number; hosts: Array<{ spec: HostSpec; use: HostUsage }> }>;
  /** One round trip: pushes finished results, reads changes since `since`, pops up to `pop` queued requests. */
  sync(since: number, pop: number, results: readonly string[]): Promise<SyncResult>;
  /** Each item is its own optimistic transaction; the batch runs atomically in the store. */
  commit(items: readonly CommitItem[]): Promise<CommitOutcome[]>;
  release(placement: string): Promise<boolean>;
  /** Blocks until a request is queued (or the timeout); undefined on timeout. */
  waitRequest(timeoutMs: number): Promise<string | undefined>;
  close(): void;
}

export const KEYS = {
  version: 'sched:ver',
  spec: 'sched:spec',
  use: 'sched:use',
  changed: 'sched:changed',
  placements: 'sched:placements',
  queue: 'sched:queue',
  results: 'sched:results',
} as const;

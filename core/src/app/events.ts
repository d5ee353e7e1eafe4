// The one typed event stream of a dev session (DevLoop.on). Every state change of every
// workload of the session is an event: dev-mode phases and warnings, sync states, forwards,
// runs and debuggers, lease loss, attach/detach/end. UIs render these; none polls status().
import type { DevEvent } from '../devmode/events.js';
import type { DevSession, EndResult } from '../devmode/engine.js';
import type { SessionEvent } from '../session/events.js';
import type { SyncState, SyncStatus } from '../sync/session.js';
import type { Resolved } from './resolve.js';

export type SyncEvent =
  | { type: 'sync'; state: SyncState; status: SyncStatus; /** files in the batch being sent (state syncing) */ batchFiles?: number }
  | { type: 'sync-progress'; files: number; totalFiles: number; bytes: number; totalBytes: number }
  | { type: 'sync-error'; message: string; hint?: string };

export type LifecycleEvent =
  | { type: 'resolved'; resolved: Resolved }
  | { type: 'started'; session: DevSession }
  | { type: 'attached'; localRoot?: string; forwards: number }
  /** Another process already syncs this workload; its batches serve this session too. */
  | { type: 'sync-elsewhere'; pid: number; ui: string; localRoot?: string }
  | { type: 'lease-lost'; message: string }
  | { type: 'detached' }
  | { type: 'ended'; result: EndResult };

/** Every event names the workload ("kind/name") and namespace it is about. */
export type AppEvent = (DevEvent | SessionEvent | SyncEvent | LifecycleEvent) & { workload: string; namespace: string };

export type AppEventHandler = (event: AppEvent) => void;

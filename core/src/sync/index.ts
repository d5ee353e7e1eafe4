export * from './sidecar.js';
export * from './ignore.js';
export * from './scan.js';
export { FaultLog, type FaultKind } from './faults.js';
export { pruneHashCaches, type PruneOptions } from './cache-files.js';
export { SyncSession, portForwardTransport, type SyncEvents, type SyncState, type SyncStatus, type SyncSessionOptions, type SyncTransport, type TransportFactory, type MassDeleteInfo } from './session.js';
export { notifySupervisor, PROTOCOL_VERSION, DEFAULT_PORT as SYNC_PORT, type Entry as SyncEntry } from '@kdev/sync-sidecar';
// The sync client's parts, each testable on its own (docs/sync-client.md).
export { DeletionGuard, countUnder, under, DELETE_BURST_GAP_MS, type DeletionGuardOptions } from './guard.js';
export { planHandshake, hashDiffering, slices, sendPipelined, type HandshakePlan } from './handshake.js';
export { planBatch, takePending, settleDeletes, topmostGone, fillBatch, reconcile } from './batch.js';
export { remoteChanges, recordPulled } from './pull.js';
export { backoffDelay, attemptFailure, Pause } from './reconnect.js';
export { RecheckQueue, watchFolder, type WatchSink } from './watcher.js';
export { syncedFileCount, forgetUnder, type SyncTree } from './tree.js';
export { HashCacheFile, defaultHashCacheFile } from './cache-files.js';

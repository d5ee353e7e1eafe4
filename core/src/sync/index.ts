export * from './sidecar.js';
export * from './ignore.js';
export * from './scan.js';
export { FaultLog, type FaultKind } from './faults.js';
export { pruneHashCaches, type PruneOptions } from './cache-files.js';
export { SyncSession, portForwardTransport, type SyncEvents, type SyncState, type SyncStatus, type SyncSessionOptions, type SyncTransport, type TransportFactory, type MassDeleteInfo } from './session.js';
export { notifySupervisor, PROTOCOL_VERSION, DEFAULT_PORT as SYNC_PORT, type Entry as SyncEntry } from '@kdev/sync-sidecar';

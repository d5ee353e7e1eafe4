// @kdev/sync-sidecar: the in-pod sync server and the protocol pieces the client shares.
export * from './protocol.js';
export * from './tree.js';
export * from './apply.js';
export * from './send.js';
export * from './notify.js';
export * from './fsfd.js';
export * from './tar.js';
export * from './diff.js';
export { SidecarState, serveConnection, DEFAULT_LIMITS, type ServerOptions, type SidecarLimits } from './server.js';

// @kdev/sync-sidecar: the in-pod sync server and the protocol pieces the client shares.
export * from './protocol.js';
export * from './tree.js';
export * from './apply.js';
export * from './send.js';
export * from './notify.js';
export { SidecarState, serveConnection, type ServerOptions } from './server.js';

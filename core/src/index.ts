// @kdev/core: the engine shared by the CLI and the VS Code extension. No UI here.
export { KdevError, isKdevError, type KdevErrorCode } from './errors.js';
export { Cluster, connect, type ClusterOptions } from './kube/client.js';
export { kubeError, apiStatus, isNotFound, isConflict } from './kube/errors.js';
export { watchUntil, collectionPath, type ResourcePath, type Verdict, type WatchEventType, type WatchUntilOptions } from './kube/watch.js';
export { applyObject, applyAll, FIELD_MANAGER } from './kube/apply.js';
export { listNodes, listNamespaces, type NodeInfo, type NamespaceInfo } from './kube/info.js';
export { substitute, parseManifests } from './kube/manifests.js';
export { execCapture, exitCodeOf, type ExecResult } from './session/exec.js';
export { forwardPort, type Forward, type ForwardOptions } from './session/portforward.js';
export * from './config/index.js';
export * from './devmode/index.js';
export { raw, objectPath, type RawObject, type ObjectPath } from './kube/raw.js';
export * from './env/index.js';
export * from './sync/index.js';

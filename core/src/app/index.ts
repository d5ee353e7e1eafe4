// The use-case layer: the API the CLI and the extension call for dev work.
export { DevLoop, type DevLoopOptions, type Holding } from './loop.js';
export { DevWorkload, type StartRequest, type AttachRequest, type RunRequest, type RunHandle } from './workload.js';
export { decide, pickWorkload, resolveDev, sourceText, inspectConfig, type ResolveRequest, type Resolved, type ResolveFacts, type EntrySource } from './resolve.js';
export { listSessions, stopForwards, watchSessions, stateDir, Registration, type ProcessRecord, type SessionRecord, type SyncRecord, type RegistryWatch, type RegistrySource } from './registry.js';
export type { AppEvent, AppEventHandler, SyncEvent, LifecycleEvent } from './events.js';
export { duration, since, ago, kindName, table, describeEvent } from './format.js';
export { KubeModel, ContextModel, NamespaceModel, Collection, controllerOf, type Scope, type Listener } from './model.js';
export { completionNames, workloadWords, type CompletionKind } from './complete.js';
export { curlLine, type FrontService } from '../route/spec.js';

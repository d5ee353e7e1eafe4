// @kdev/core/internals: every module of core, for tests, benchmarks and tools (not the UIs: they use @kdev/core).
export { KdevError, isKdevError, type KdevErrorCode } from './errors.js';
export { checkName, checkNamespace, nameProblem, parseNumberFlag, parseSecondsFlag, parsePortFlag, parseCountFlag, checkTimeoutMs, MAX_WAIT_SECONDS, type NameRule } from './input.js';
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
export * from './route/index.js';
export { raw, objectPath, type RawObject, type ObjectPath } from './kube/raw.js';
export { FATAL_REASONS, podProblem, selectorString, type PodProblem } from './kube/pods.js';
export { crashSince, restartCounts, settleWindow, settleNote, type SettleCrash } from './kube/settle.js';
export { serverIdentity } from './kube/identity.js';
export { type KindObject, type Readiness } from './kube/kinds.js';
export * from './env/index.js';
export * from './sync/index.js';
export {
  resolveDevTarget, resolveWorkloadTarget, devSelector, waitReadyPod, isPodReady, notInDevMode, type SessionTarget,
  openTerminal, DEFAULT_SHELL, PLAIN_SHELL, type TerminalOptions,
  streamLogs, sinceFilter, type LogOptions,
  ForwardManager, PodTracker, parsePortPair, backoffMs, type PortPair, type ForwardTarget, type ForwardInfo, type ForwardManagerOptions, type AddForwardOptions,
  portHolder, listeningInodes, type PortHolder,
  startRun, stopRun, runStatus, followRun, parseRunStatus, noCommand, type RunOptions, type RunStatus,
  startDebug, probeDebugger, waitForDebugger, attachConfig, dapMessage, dapMessages, type DebuggerType, type DebugSpec, type AttachConfig, type DebugOptions, type DebugSession,
  type SessionEvent, type SessionEventHandler, type ForwardState,
} from './session/index.js';
export * from './app/index.js';
export { runDoctor, checkInotify, type DoctorOptions, type DoctorReport, type CheckResult, type CheckStatus } from './doctor/index.js';
export { NEEDED_RIGHTS, allows, missingRights, describeRight, type Need, type MissingRight, type ResourceRule } from './doctor/rights.js';
export { countFolders, judgeWatchLimit, readWatchLimit, HEADROOM } from './doctor/inotify.js';
export { checkImage, checkPortForward, checkRights, serverVersion } from './doctor/checks.js';

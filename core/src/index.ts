// @kdev/core: what the UIs (the CLI and the VS Code extension) use. Dev work goes through
// the use-case layer (app/: DevLoop, resolve, the registry of sessions, formatting);
// environments, listings and the tree's live model are their own small APIs. Tests,
// benchmarks and tools reach every module through '@kdev/core/internals'.
export { KdevError, isKdevError, type KdevErrorCode } from './errors.js';
export { checkName, checkNamespace, nameProblem, parseNumberFlag, parseSecondsFlag, parsePortFlag, parseCountFlag, checkTimeoutMs, MAX_WAIT_SECONDS, type NameRule } from './input.js';
export { Cluster, connect, type ClusterOptions } from './kube/client.js';
export { kubeError } from './kube/errors.js';
export * from './app/index.js';
export type { DevEvent, DevPhase } from './devmode/events.js';
export type { SessionEvent, ForwardState } from './session/events.js';
export type { DevSession, EndResult } from './devmode/engine.js';
export type { SyncSession, SyncState, SyncStatus, MassDeleteInfo } from './sync/session.js';
export type { ForwardInfo } from './session/forwards.js';
export type { DebugSession, AttachConfig } from './session/debug.js';
export type { RunStatus } from './session/run.js';
export type { SessionTarget } from './session/target.js';
export type { DevEntry } from './config/schema.js';
export { configJsonSchema } from './config/schema.js';
export { listWorkloads, devStatus, type WorkloadInfo } from './devmode/list.js';
export {
  createEnvironment,
  deleteEnvironment,
  environmentEndpoints,
  environmentKubeconfig,
  gcEnvironments,
  getEnvironment,
  listEnvironments,
  planEnvironment,
  renderEnvironment,
  sleepEnvironment,
  validateEnvName,
  wakeEnvironment,
  type CreatedEnvironment,
  type SleepResult,
} from './env/environment.js';
export { describeTemplate, listTemplates, loadTemplate, parseSets, templateFrom, type TemplateSummary } from './env/template.js';
export { parseDuration } from './env/schema.js';
export { TOKEN_SECONDS } from './env/environment.js';
export { sleepIdleEnvironments, useEnvironment, withDevActivity } from './env/idle.js';
export { yamlStream } from './env/render.js';
export { resolveOwner } from './env/access.js';
export { describeNetwork } from './env/network.js';
export type { EnvironmentInfo, EnvProgress, WorkloadState } from './env/types.js';
export type { WorkloadKind } from './env/schema.js';
// What the tree reads from the objects it watches.
export { KINDS, type KindSpec } from './devmode/kinds.js';
export { parseLease, type Lease } from './devmode/lease.js';
export { LEASE_ANNOTATION } from './devmode/patch.js';
export { ENV_LABEL, STATE_ANNOTATION, EXPIRES_ANNOTATION, OWNER_ANNOTATION, TEMPLATE_LABEL } from './env/types.js';
export type { KubernetesObject, V1Pod, V1ContainerStatus } from '@kubernetes/client-node';
export { runDoctor, checkInotify, NEEDED_RIGHTS, type DoctorOptions, type DoctorReport, type CheckResult, type CheckStatus, type MissingRight } from './doctor/index.js';
export { serverVersion } from './doctor/checks.js';

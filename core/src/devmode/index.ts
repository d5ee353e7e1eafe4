export * from './kinds.js';
export * from './events.js';
export { type Lease, whoAmI, parseLease } from './lease.js';
export {
  DEV_LABEL,
  DUPLICATE_LABEL,
  LEASE_ANNOTATION,
  ORIGINAL_ANNOTATION,
  SOURCE_VOLUME,
  CONTROL_VOLUME,
  CONTROL_DIR,
  BIN_DIR,
  devPodSpec,
  devTemplate,
  chooseContainer,
  type DevPatchOptions,
} from './patch.js';
export { SUPERVISOR_SCRIPT, SUPERVISOR_PATH, SUPERVISOR_CONFIGMAP } from './supervisor.js';
export {
  startDevMode,
  endDevMode,
  renewLease,
  devOfValue,
  routeTarget,
  generatedName,
  duplicateName,
  DEV_SETTLE_SECONDS,
  type StartOptions,
  type EndOptions,
  type EndResult,
  type DevSession,
  type SidecarInjection,
} from './engine.js';
export { listWorkloads, devStatus, type WorkloadInfo } from './list.js';
export { podPhase } from './wait.js';
export { syncSidecarInjection } from './sidecar.js';
export { currentDevPod, syncSessionFor, keepLease, type AttachSyncOptions } from './attach.js';

// Environments: the labels and annotations that mark a namespace as kdev's, and the typed
// progress events that the CLI and the extension render.
import type { NetworkSpec, WorkloadKind } from './schema.js';

/** On the namespace and on every object of an environment: the environment's name. */
export const ENV_LABEL = 'kdev.dev/environment';
export const OWNER_LABEL = 'kdev.dev/owner';
export const TEMPLATE_LABEL = 'kdev.dev/template';
/** Unix seconds, so that label selectors can compare them. */
export const CREATED_LABEL = 'kdev.dev/created';
/** Unix seconds, or "never". */
export const EXPIRES_LABEL = 'kdev.dev/expires';

export const OWNER_ANNOTATION = 'kdev.dev/owner';
export const CREATED_ANNOTATION = 'kdev.dev/created';
export const EXPIRES_ANNOTATION = 'kdev.dev/expires';
export const STATE_ANNOTATION = 'kdev.dev/state';
export const PARAMS_ANNOTATION = 'kdev.dev/parameters';
/** JSON {egress, allowFrom, allowTo}: the isolation it was created with (env show). */
export const NETWORK_ANNOTATION = 'kdev.dev/network';
/** ISO time of the last kdev command against the environment (create, wake, kubeconfig, dev start). */
export const ACTIVITY_ANNOTATION = 'kdev.dev/last-activity';
/** JSON [{name, kind, dependsOn}]: the start order, kept for wake. */
export const WORKLOADS_ANNOTATION = 'kdev.dev/workloads';
/** On a Deployment/StatefulSet put to sleep: the replicas to restore. */
export const SLEEP_REPLICAS_ANNOTATION = 'kdev.dev/sleep-replicas';
/** On a CronJob put to sleep: its suspend value before ("true"/"false"). */
export const SLEEP_SUSPEND_ANNOTATION = 'kdev.dev/sleep-suspend';

/** Names of what create makes in the namespace besides the template's objects. */
export const ENV_SERVICE_ACCOUNT = 'kdev-env';
export const ENV_ROLE = 'kdev-env-owner';
export const ENV_QUOTA = 'kdev-quota';
export const ENV_LIMITS = 'kdev-limits';
export const ENV_NETWORK_POLICY = 'kdev-isolate';

export type EnvState = 'creating' | 'ready' | 'sleeping' | 'terminating';

export interface EnvWorkloadRef {
  name: string;
  kind: WorkloadKind;
  dependsOn: string[];
}

export interface EnvironmentInfo {
  name: string;
  namespace: string;
  owner: string;
  template: string;
  created: Date;
  /** undefined: never expires. */
  expires?: Date;
  expired: boolean;
  state: EnvState;
  workloads: EnvWorkloadRef[];
  /** The --set values it was created with. */
  parameters: Record<string, string>;
  /** Its isolation: egress mode and the template's exceptions. */
  network: NetworkSpec;
  /**
   * The last use recorded on the namespace (a kdev command against it), else its creation;
   * idle.ts adds the dev sessions' lease renewals.
   */
  lastActivity: Date;
}

export interface Endpoint {
  service: string;
  /** The in-cluster DNS name. */
  host: string;
  clusterIP?: string;
  ports: { name?: string; port: number; protocol: string; address: string }[];
}

export type WorkloadState = 'pending' | 'applying' | 'waiting' | 'ready' | 'failed';

export type EnvProgress =
  | { type: 'plan'; env: string; template: string; workloads: EnvWorkloadRef[] }
  | { type: 'step'; step: EnvStep; state: 'start' | 'done' | 'failed'; detail?: string }
  | {
      type: 'workload';
      name: string;
      kind: WorkloadKind;
      state: WorkloadState;
      /** e.g. "1/2 ready", "CrashLoopBackOff". */
      message?: string;
      /** On failure: the failing pod's Warning events ("Reason: message"). */
      events?: string[];
      /** On failure: the last lines of the failing container's log. */
      logs?: string[];
      /** Since the create began. */
      elapsedMs: number;
    };

export type EnvStep = 'validate' | 'namespace' | 'access' | 'isolation' | 'objects' | 'workloads' | 'kubeconfig' | 'rollback' | 'delete' | 'sleep' | 'wake';

export type ProgressListener = (event: EnvProgress) => void;

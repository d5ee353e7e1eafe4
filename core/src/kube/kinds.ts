// THE workload kinds table: every fact kdev knows about a kind (API version, plural, names,
// where its pod template lives, how it scales, how dev mode takes it over, which pods are its
// own, when it is Ready, its one-line status). Dev mode, environments, `kdev ls` and the
// extension's tree all read this table; a new kind is a row here, not new code.
import type { V1LabelSelector, V1Pod } from '@kubernetes/client-node';
import { KdevError } from '../errors.js';
import { checkName } from '../input.js';
import { isPodReady, selectorString } from './pods.js';

/**
 * How dev mode takes over a kind:
 * - in-place: the pod template of the object itself is patched (and scaled to one);
 * - generate: a Deployment is generated from the pod template; the original is paused
 *   (`pause` says how) and restored on end;
 * - replace-pod: a bare Pod is deleted and recreated patched; recreated as it was on end.
 */
export type Strategy = 'in-place' | 'generate' | 'replace-pod';

/** Any object of a kind (typed or raw JSON): what the table's functions read. */
export interface KindObject {
  metadata?: { name?: string; generation?: number };
  spec?: object;
  status?: object;
}

export interface Readiness {
  ready: boolean;
  /** The kind's status line ("1/2 ready"). */
  detail: string;
  /** Set when the workload itself reports a failure (a Job's Failed condition). */
  failed?: string;
}

export interface KindSpec {
  kind: string;
  apiVersion: string;
  plural: string;
  /** Names accepted on the command line besides the lower-case kind. */
  aliases: readonly string[];
  /** Path from the object to its pod template ({metadata, spec}); empty for a Pod itself. */
  templatePath: readonly string[];
  strategy: Strategy;
  /** Path of the replica count, for kinds that have one. */
  replicasPath?: readonly string[];
  /**
   * After the template change, delete the old pods at once (no grace period). A ReplicaSet
   * needs it (its pods never follow a template change); for a Deployment it means the dev
   * pod starts without waiting for the old pods' graceful shutdown under Recreate.
   */
  replaceOldPods?: boolean;
  /** Switch to the Recreate strategy so that old and dev pod never run side by side. */
  recreateStrategyPath?: readonly string[];
  /** A merge patch that stops the original from running pods while a generated copy runs. */
  pause?: Record<string, unknown>;
  /** The API server's limit on the name's length when below 253 (an RFC 1123 subdomain). */
  nameMaxLength?: number;
  /** The label selector of the workload's own pods; undefined when it has none (a CronJob, a bare Pod). */
  podSelector: (obj: KindObject) => string | undefined;
  /** Rolled out and Ready (the whole of it, at its current generation). */
  readiness: (obj: KindObject) => Readiness;
  /** One line for people, the same in `kdev ls`, the tree and progress: "1/2 ready", "suspended". */
  statusText: (obj: KindObject) => string;
}

type Fields = Record<string, unknown>;
const specOf = (o: KindObject): Fields => (o.spec ?? {}) as Fields;
const statusOf = (o: KindObject): Fields => (o.status ?? {}) as Fields;

function num(v: unknown, fallback = 0): number {
  return typeof v === 'number' ? v : fallback;
}

function generationSeen(o: KindObject): boolean {
  return num(statusOf(o).observedGeneration, -1) >= num(o.metadata?.generation, 0);
}

const bySelector = (o: KindObject): string | undefined => selectorString(specOf(o).selector as V1LabelSelector | undefined);

/** "ready/desired ready" for kinds with replicas (Deployment, StatefulSet, ReplicaSet). */
const replicasText = (o: KindObject): string => `${num(statusOf(o).readyReplicas)}/${num(specOf(o).replicas, 1)} ready`;

function podText(o: KindObject): string {
  const pod = o as V1Pod;
  const statuses = pod.status?.containerStatuses ?? [];
  const waiting = statuses.find((s) => s.state?.waiting?.reason)?.state?.waiting?.reason;
  if (pod.metadata?.deletionTimestamp) return 'Terminating';
  if (waiting) return waiting;
  return `${pod.status?.phase ?? 'Unknown'} ${statuses.filter((s) => s.ready).length}/${pod.spec?.containers.length ?? 0}`;
}

function jobReadiness(o: KindObject): Readiness {
  const conditions = (statusOf(o).conditions ?? []) as { type: string; status: string; message?: string; reason?: string }[];
  const failed = conditions.find((c) => c.type === 'Failed' && c.status === 'True');
  const detail = jobText(o);
  if (failed) return { ready: false, detail, failed: `job failed: ${failed.reason ?? ''} ${failed.message ?? ''}`.trim() };
  return { ready: conditions.some((c) => c.type === 'Complete' && c.status === 'True'), detail };
}

const jobText = (o: KindObject): string => `${num(statusOf(o).succeeded)}/${num(specOf(o).completions, 1)} succeeded`;
const daemonText = (o: KindObject): string => `${num(statusOf(o).numberReady)}/${num(statusOf(o).desiredNumberScheduled)} ready`;
const cronText = (o: KindObject): string => (specOf(o).suspend === true ? 'suspended' : `scheduled ${String(specOf(o).schedule ?? '')}`);

/** What the kinds with a replica count (Deployment, StatefulSet, ReplicaSet) share. */
const REPLICATED = {
  apiVersion: 'apps/v1',
  templatePath: ['spec', 'template'],
  strategy: 'in-place',
  replicasPath: ['spec', 'replicas'],
  podSelector: bySelector,
  statusText: replicasText,
} as const satisfies Partial<KindSpec>;

export const KINDS: readonly KindSpec[] = [
  {
    kind: 'Deployment',
    plural: 'deployments',
    aliases: ['deploy', 'deployments'],
    ...REPLICATED,
    recreateStrategyPath: ['spec', 'strategy'],
    replaceOldPods: true,
    readiness: (o) => {
      const want = num(specOf(o).replicas, 1);
      const done = num(statusOf(o).readyReplicas) >= want && num(statusOf(o).updatedReplicas) >= want;
      return { ready: generationSeen(o) && done, detail: replicasText(o) };
    },
  },
  {
    kind: 'StatefulSet',
    plural: 'statefulsets',
    aliases: ['sts', 'statefulsets'],
    ...REPLICATED,
    readiness: (o) => {
      const want = num(specOf(o).replicas, 1);
      const st = statusOf(o);
      const current = st.updateRevision === undefined || st.updateRevision === st.currentRevision || want === 0;
      return { ready: generationSeen(o) && num(st.readyReplicas) >= want && current, detail: replicasText(o) };
    },
  },
  {
    kind: 'ReplicaSet',
    plural: 'replicasets',
    aliases: ['rs', 'replicasets'],
    ...REPLICATED,
    replaceOldPods: true,
    readiness: (o) => ({ ready: generationSeen(o) && num(statusOf(o).readyReplicas) >= num(specOf(o).replicas, 1), detail: replicasText(o) }),
  },
  {
    kind: 'DaemonSet',
    apiVersion: 'apps/v1',
    plural: 'daemonsets',
    aliases: ['ds', 'daemonsets'],
    templatePath: ['spec', 'template'],
    strategy: 'generate',
    // No node carries this label: the DaemonSet's pods go away until end restores it.
    pause: { spec: { template: { spec: { nodeSelector: { 'kdev.dev/paused-for-dev': 'true' } } } } },
    podSelector: bySelector,
    readiness: (o) => {
      const st = statusOf(o);
      const want = num(st.desiredNumberScheduled);
      const done = num(st.numberReady) >= want && num(st.updatedNumberScheduled) >= want;
      return { ready: generationSeen(o) && st.observedGeneration !== undefined && done, detail: daemonText(o) };
    },
    statusText: (o) => daemonText(o),
  },
  {
    kind: 'Job',
    apiVersion: 'batch/v1',
    plural: 'jobs',
    aliases: ['jobs'],
    templatePath: ['spec', 'template'],
    strategy: 'generate',
    pause: { spec: { suspend: true } },
    // Its pods carry the name in the job-name label.
    nameMaxLength: 63,
    podSelector: (o) => `batch.kubernetes.io/job-name=${o.metadata?.name}`,
    readiness: jobReadiness,
    statusText: jobText,
  },
  {
    kind: 'CronJob',
    apiVersion: 'batch/v1',
    plural: 'cronjobs',
    aliases: ['cj', 'cronjobs'],
    templatePath: ['spec', 'jobTemplate', 'spec', 'template'],
    strategy: 'generate',
    pause: { spec: { suspend: true } },
    // Its Jobs get an 11-character suffix.
    nameMaxLength: 52,
    // its pods belong to its Jobs
    podSelector: () => undefined,
    readiness: (o) => ({ ready: true, detail: cronText(o) }),
    statusText: cronText,
  },
  {
    kind: 'Pod',
    apiVersion: 'v1',
    plural: 'pods',
    aliases: ['po', 'pods'],
    templatePath: [],
    strategy: 'replace-pod',
    // a bare Pod is selected by its name
    podSelector: () => undefined,
    readiness: (o) => ({ ready: isPodReady(o as V1Pod), detail: podText(o) }),
    statusText: podText,
  },
];

export function kindSpec(name: string): KindSpec {
  const n = name.toLowerCase();
  const spec = KINDS.find((k) => k.kind.toLowerCase() === n || k.aliases.includes(n));
  if (!spec) {
    throw new KdevError('INVALID', `unknown workload kind "${name}"`, `Known kinds: ${KINDS.map((k) => k.kind.toLowerCase()).join(', ')}.`);
  }
  return spec;
}

export interface WorkloadRef {
  kind: KindSpec;
  name: string;
}

/** "deployment/web", "deploy/web" or just "web" (a Deployment). */
export function parseWorkloadRef(ref: string): WorkloadRef {
  const parts = ref.split('/');
  if (parts.length > 2 || parts.some((p) => p === '')) {
    throw new KdevError('INVALID', `"${ref}" is not a workload reference`, 'Write kind/name, for example deployment/web.');
  }
  const [kind, name] = parts.length === 2 ? [parts[0]!, parts[1]!] : ['deployment', parts[0]!];
  const spec = kindSpec(kind);
  checkName(`${spec.kind.toLowerCase()} name`, name, 'subdomain', spec.nameMaxLength);
  return { kind: spec, name };
}

export function refString(ref: WorkloadRef): string {
  return `${ref.kind.kind.toLowerCase()}/${ref.name}`;
}

/** Reads a nested field by path. */
export function getPath(obj: unknown, path: readonly string[]): unknown {
  let cur: unknown = obj;
  for (const key of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** Sets a nested field by path, creating objects on the way. */
export function setPath(obj: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let cur = obj;
  for (const key of path.slice(0, -1)) {
    if (typeof cur[key] !== 'object' || cur[key] === null) cur[key] = {};
    cur = cur[key] as Record<string, unknown>;
  }
  cur[path[path.length - 1]!] = value;
}

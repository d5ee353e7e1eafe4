// The workload kinds dev mode knows, as data. A new kind is a row here, not new code.
import { KdevError } from '../errors.js';
import { checkName } from '../input.js';

/**
 * How dev mode takes over a kind:
 * - in-place: the pod template of the object itself is patched (and scaled to one);
 * - generate: a Deployment is generated from the pod template; the original is paused
 *   (`pause` says how) and restored on end;
 * - replace-pod: a bare Pod is deleted and recreated patched; recreated as it was on end.
 */
export type Strategy = 'in-place' | 'generate' | 'replace-pod';

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
}

export const KINDS: readonly KindSpec[] = [
  {
    kind: 'Deployment',
    apiVersion: 'apps/v1',
    plural: 'deployments',
    aliases: ['deploy', 'deployments'],
    templatePath: ['spec', 'template'],
    strategy: 'in-place',
    replicasPath: ['spec', 'replicas'],
    recreateStrategyPath: ['spec', 'strategy'],
    replaceOldPods: true,
  },
  {
    kind: 'StatefulSet',
    apiVersion: 'apps/v1',
    plural: 'statefulsets',
    aliases: ['sts', 'statefulsets'],
    templatePath: ['spec', 'template'],
    strategy: 'in-place',
    replicasPath: ['spec', 'replicas'],
  },
  {
    kind: 'ReplicaSet',
    apiVersion: 'apps/v1',
    plural: 'replicasets',
    aliases: ['rs', 'replicasets'],
    templatePath: ['spec', 'template'],
    strategy: 'in-place',
    replicasPath: ['spec', 'replicas'],
    replaceOldPods: true,
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
  },
  {
    kind: 'Pod',
    apiVersion: 'v1',
    plural: 'pods',
    aliases: ['po', 'pods'],
    templatePath: [],
    strategy: 'replace-pod',
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

/** "deployment/web", "deploy/web" or just "web" (a Deployment). The name must be a valid name of the kind. */
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

// The pod template change that turns a workload into a dev container. Pure functions:
// only the chosen container changes; every env, envFrom, volume and mount is kept.
import type { V1Container, V1PodSpec, V1PodTemplateSpec, V1ResourceRequirements, V1Volume } from '@kubernetes/client-node';
import { KdevError } from '../errors.js';
import { SUPERVISOR_CONFIGMAP, SUPERVISOR_PATH } from './supervisor.js';
import { SRC_VOLUME as SOURCE_VOLUME, CTL_VOLUME as CONTROL_VOLUME, CTL_DIR as CONTROL_DIR } from '../sync/sidecar.js';

export const LEASE_ANNOTATION = 'kdev.dev/lease';
export const ORIGINAL_ANNOTATION = 'kdev.dev/original';
export const ORIGINAL_SECRET_ANNOTATION = 'kdev.dev/original-secret';
/** On the pods of a dev workload: which container is the dev container. */
export const DEV_CONTAINER_ANNOTATION = 'kdev.dev/dev-container';
/** Label on dev pods (and generated copies), value: the workload "kind.name". */
export const DEV_LABEL = 'kdev.dev/dev-of';
/** Label on a duplicate's Deployment and pods, value: the workload "kind.name". */
export const DUPLICATE_LABEL = 'kdev.dev/duplicate-of';
/** On a generated Deployment (CronJob, Job, DaemonSet dev copies): the workload it stands for. */
export const COPY_OF_ANNOTATION = 'kdev.dev/copy-of';
/** On a pinned HPA: its original bounds. */
export const HPA_ANNOTATION = 'kdev.dev/original-hpa';

/**
 * The keys dev mode itself writes on objects. Other `kdev.dev/` keys on a workload belong to
 * someone else (an environment's labels, its sleep record) and stay through a dev round trip.
 */
const DEV_MODE_KEYS = new Set([LEASE_ANNOTATION, ORIGINAL_ANNOTATION, ORIGINAL_SECRET_ANNOTATION, DEV_CONTAINER_ANNOTATION, DEV_LABEL, DUPLICATE_LABEL, COPY_OF_ANNOTATION, HPA_ANNOTATION]);

/** Labels or annotations without dev mode's own keys. */
export function withoutOurs(map: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(map ?? {}).filter(([k]) => !DEV_MODE_KEYS.has(k)));
}

// The source and control volumes are shared with the sync sidecar: one definition.
export { SRC_VOLUME as SOURCE_VOLUME, CTL_VOLUME as CONTROL_VOLUME, CTL_DIR as CONTROL_DIR } from '../sync/sidecar.js';
export const BIN_VOLUME = 'kdev-bin';
export const BIN_DIR = '/kdev/bin';

export interface DevPatchOptions {
  container: string;
  image: string;
  workDir: string;
  /** Extra env; a name that exists already is overridden, the rest is kept. */
  env?: Readonly<Record<string, string>>;
  resources?: V1ResourceRequirements;
  /** Extra containers (the sync sidecar) and volumes they need. */
  sidecars?: readonly V1Container[];
  sidecarVolumes?: readonly V1Volume[];
  /** Extra pod annotations (the sidecar's content hash). */
  podAnnotations?: Readonly<Record<string, string>>;
  /** Label value for DEV_LABEL. */
  devOf: string;
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

export function containerNames(spec: V1PodSpec): string[] {
  return spec.containers.map((c) => c.name);
}

/** The dev container's name: the one asked for, else the first. Throws on a wrong name. */
export function chooseContainer(spec: V1PodSpec, asked: string | undefined, what: string): string {
  const names = containerNames(spec);
  if (asked === undefined) return names[0]!;
  if (!names.includes(asked)) {
    throw new KdevError('NOT_FOUND', `container "${asked}" is not in ${what}`, `Its containers: ${names.join(', ')}. Pass one with -c.`);
  }
  return asked;
}

export function devPodSpec(original: V1PodSpec, opts: DevPatchOptions): V1PodSpec {
  const spec = clone(original);
  const target = spec.containers.find((c) => c.name === opts.container);
  if (!target) throw new KdevError('NOT_FOUND', `container "${opts.container}" is not in the pod template`);

  target.image = opts.image;
  target.imagePullPolicy = 'IfNotPresent';
  target.command = ['/bin/sh', SUPERVISOR_PATH];
  delete target.args;
  target.workingDir = opts.workDir;
  delete target.livenessProbe;
  delete target.readinessProbe;
  delete target.startupProbe;
  delete target.lifecycle;
  if (opts.resources) target.resources = opts.resources;

  const env = (target.env ?? []).filter((e) => !(opts.env && e.name in opts.env) && !e.name.startsWith('KDEV_'));
  for (const [name, value] of Object.entries(opts.env ?? {})) env.push({ name, value });
  env.push({ name: 'KDEV_WORKDIR', value: opts.workDir }, { name: 'KDEV_CTL', value: CONTROL_DIR });
  target.env = env;

  const ours = new Set([SOURCE_VOLUME, CONTROL_VOLUME, BIN_VOLUME]);
  target.volumeMounts = [
    ...(target.volumeMounts ?? []).filter((m) => !ours.has(m.name) && m.mountPath !== opts.workDir),
    { name: SOURCE_VOLUME, mountPath: opts.workDir },
    { name: CONTROL_VOLUME, mountPath: CONTROL_DIR },
    { name: BIN_VOLUME, mountPath: BIN_DIR, readOnly: true },
  ];

  // The sidecar shares the source and control volumes, which are ours already.
  const sidecarVolumes = (opts.sidecarVolumes ?? []).filter((v) => !ours.has(v.name));
  const sidecarVolumeNames = new Set(sidecarVolumes.map((v) => v.name));
  spec.volumes = [
    ...(spec.volumes ?? []).filter((v) => !ours.has(v.name) && !sidecarVolumeNames.has(v.name)),
    { name: SOURCE_VOLUME, emptyDir: {} },
    { name: CONTROL_VOLUME, emptyDir: {} },
    { name: BIN_VOLUME, configMap: { name: SUPERVISOR_CONFIGMAP, defaultMode: 0o755 } },
    ...sidecarVolumes,
  ];
  const sidecarNames = new Set((opts.sidecars ?? []).map((c) => c.name));
  spec.containers = [...spec.containers.filter((c) => !sidecarNames.has(c.name)), ...(opts.sidecars ?? [])];
  // A Job's pods may say Never/OnFailure; a dev pod lives until dev mode ends.
  spec.restartPolicy = 'Always';
  return spec;
}

/** Labels a controller puts on pods; a generated copy must not carry them. */
const CONTROLLER_LABELS = [/controller-uid$/, /^job-name$/, /job-name$/, /^pod-template-hash$/, /^controller-revision-hash$/, /^pod-template-generation$/];

export function devTemplate(original: V1PodTemplateSpec, opts: DevPatchOptions, generated = false): V1PodTemplateSpec {
  const template = clone(original);
  const labels = { ...(template.metadata?.labels ?? {}) };
  if (generated) for (const key of Object.keys(labels)) if (CONTROLLER_LABELS.some((r) => r.test(key))) delete labels[key];
  labels[DEV_LABEL] = opts.devOf;
  template.metadata = {
    ...template.metadata,
    labels,
    annotations: { ...(template.metadata?.annotations ?? {}), ...(opts.podAnnotations ?? {}), [DEV_CONTAINER_ANNOTATION]: opts.container },
  };
  template.spec = devPodSpec(original.spec!, opts);
  return template;
}

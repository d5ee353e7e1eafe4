// Dev mode: start, end and status of a workload. See ARCHITECTURE.md, "Dev mode".
//
// Crash safety comes from the order of writes: every change to a workload is ONE write
// that carries the lease, the saved original and the patch together (compare-and-swap
// on resourceVersion). Whatever was written can be undone by `end` from the cluster alone.
import { createHash } from 'node:crypto';
import type { V1Container, V1PodSpec, V1PodTemplateSpec, V1ResourceRequirements, V1Volume } from '@kubernetes/client-node';
import { KdevError } from '../errors.js';
import type { Cluster } from '../kube/client.js';
import { isConflict, isNotFound, kubeError } from '../kube/errors.js';
import { raw, type ObjectPath, type RawObject } from '../kube/raw.js';
import { watchUntil } from '../kube/watch.js';
import type { DevEventHandler } from './events.js';
import { getPath, parseWorkloadRef, refString, setPath, type KindSpec, type WorkloadRef } from './kinds.js';
import { clientId, inUseError, parseLease, whoAmI, type Lease } from './lease.js';
import { COPY_OF_ANNOTATION, DEV_LABEL, DUPLICATE_LABEL, LEASE_ANNOTATION, ORIGINAL_ANNOTATION, ORIGINAL_SECRET_ANNOTATION, chooseContainer, withoutOurs, devPodSpec, devTemplate, type DevPatchOptions } from './patch.js';
import {
  captureOriginal,
  deleteOriginalSecret,
  hpasFor,
  loadOriginal,
  originalSecretName,
  pinHpas,
  restoreHpas,
  storeOriginal,
  type SavedOriginal,
} from './state.js';
import { checkTimeoutMs } from '../input.js';
import { ensureSupervisorConfigMap } from './supervisor.js';
import { syncSidecarInjection } from './sidecar.js';
import { waitDevPod, waitNoPods } from './wait.js';
import { addRoute, checkRoute, hasRouting, removeRoutes, type RouteTarget } from '../route/takeover.js';
import { parseRouteSpec, type HeldRoute, type RouteSpec } from '../route/spec.js';

/**
 * The dev pod's default settle window: none. The dev container's PID 1 is kdev's supervisor,
 * so the user's process crashing never restarts it; what a window could catch is the rest of
 * the pod (the sync sidecar, the workload's own sidecars), at the price of its length added
 * to every `dev start` (about 1 s today, so a 2 s window would triple it). A workload whose
 * other containers may fail soon after start sets `settle` in its `.kdev.yaml` entry.
 */
export const DEV_SETTLE_SECONDS = 0;

/** What dev mode injects besides the patch (the sync sidecar), prepared per namespace. */
export interface SidecarInjection {
  containers: V1Container[];
  volumes: V1Volume[];
  /** Pod annotations (a content hash, so that a new sidecar version rolls the pod). */
  annotations?: Record<string, string>;
  /** Creates what the sidecar needs in the namespace (its ConfigMap). */
  prepare?: (cluster: Cluster, namespace: string) => Promise<void>;
}

export interface StartOptions {
  /** "kind/name" or a Deployment's name. */
  workload: string;
  container?: string;
  /** Dev image; default: the container's current image. */
  image?: string;
  workDir?: string;
  mode?: 'replace' | 'duplicate';
  env?: Record<string, string>;
  resources?: V1ResourceRequirements;
  /** Take over a lease held by someone else. */
  force?: boolean;
  timeoutMs?: number;
  /**
   * How long the dev pod must stay Ready without a restart before start returns (the settle
   * rule environments use, kube/settle.ts); a crash in it fails start. Default
   * DEV_SETTLE_SECONDS; 0: Ready once is enough.
   */
  settleMs?: number;
  /** What is injected besides the dev container; default: the sync sidecar. Null: nothing. */
  sidecar?: SidecarInjection | null;
  /**
   * Duplicate mode only: the copy receives the requests that carry this header, through
   * kdev's router in front of the workload's Services. `[<header>=]<value>`; true: the
   * default header (x-kdev-route) with the developer's user name.
   */
  route?: string | true;
  onEvent?: DevEventHandler;
  signal?: AbortSignal;
}

export interface DevSession {
  workload: string;
  namespace: string;
  mode: 'replace' | 'duplicate';
  owner: string;
  /** The pod running the dev container, and the container's name. */
  pod: string;
  container: string;
  image: string;
  workDir: string;
  /** Selects the dev pods (for reconnects: the pod may be replaced). */
  podSelector: string;
  startedAt: string;
  /** A routed duplicate: the header and value that reach it. */
  route?: RouteSpec;
}

const pathOf = (kind: KindSpec, namespace: string, name?: string): ObjectPath => ({ apiVersion: kind.apiVersion, plural: kind.plural, namespace, name });
const deploymentPath = (namespace: string, name?: string): ObjectPath => ({ apiVersion: 'apps/v1', plural: 'deployments', namespace, name });

function labelValue(text: string): string {
  const v = text.replace(/[^A-Za-z0-9._-]/g, '-');
  return v.length <= 63 ? v : `${v.slice(0, 50)}-${createHash('sha256').update(v).digest('hex').slice(0, 12)}`;
}

/** The DEV_LABEL value of a workload's dev pods. */
export function devOfValue(ref: WorkloadRef, duplicateOwner?: string): string {
  const base = `${ref.kind.kind.toLowerCase()}.${ref.name}`;
  return labelValue(duplicateOwner ? `${base}.dup-${shortHash(duplicateOwner)}` : base);
}

const shortHash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 6);

export function dnsName(text: string): string {
  const v = text.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  return v.length <= 63 ? v : `${v.slice(0, 50)}-${shortHash(v)}`;
}

export function generatedName(ref: WorkloadRef): string {
  return dnsName(`${ref.name}-kdev`);
}

export function duplicateName(ref: WorkloadRef, owner: string): string {
  return dnsName(`${ref.name}-kdev-${shortHash(owner)}`);
}

/** The names and facts the router needs for a workload (route/takeover.ts). */
export function routeTarget(ref: WorkloadRef, namespace: string): RouteTarget {
  return {
    what: refString(ref),
    namespace,
    path: { apiVersion: ref.kind.apiVersion, plural: ref.kind.plural, name: ref.name },
    templatePath: ref.kind.templatePath,
    routerOf: devOfValue(ref),
    router: dnsName(`${ref.name}-kdev-router`),
    table: dnsName(`${ref.name}-kdev-routes`),
    origin: dnsName(`${ref.name}-kdev-origin`),
    fallback: (service) => dnsName(`${service}-kdev-fallback`),
  };
}

async function readObject(cluster: Cluster, kind: KindSpec, namespace: string, name: string): Promise<RawObject | undefined> {
  try {
    return await raw.get(cluster, pathOf(kind, namespace, name));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw kubeError(err, `reading ${kind.kind.toLowerCase()}/${name}`, cluster.server);
  }
}

function notFound(ref: WorkloadRef, namespace: string): KdevError {
  return new KdevError('NOT_FOUND', `${refString(ref)} not found in namespace ${namespace}`, '`kdev ls` lists the workloads of the namespace; -n selects another namespace.');
}

function templateOf(kind: KindSpec, obj: { metadata?: RawObject['metadata']; spec?: Record<string, unknown> }): V1PodTemplateSpec {
  if (kind.templatePath.length === 0) {
    return { metadata: { labels: obj.metadata?.labels, annotations: obj.metadata?.annotations }, spec: obj.spec as unknown as V1PodSpec };
  }
  return getPath(obj, kind.templatePath) as V1PodTemplateSpec;
}

function leaseOf(obj: RawObject | undefined): Lease | undefined {
  return parseLease(obj?.metadata?.annotations?.[LEASE_ANNOTATION]);
}

function newLease(owner: string, container: string, image: string, workDir: string, mode: Lease['mode'], previous?: Lease, copy?: string, route?: Lease['route']): Lease {
  const now = new Date().toISOString();
  const same = previous && previous.owner === owner;
  return { owner, clientId: clientId(), startedAt: same ? previous.startedAt : now, renewedAt: now, container, image, workDir, mode, ...(copy ? { copy } : {}), ...(route ? { route } : {}) };
}

function currentImage(template: V1PodTemplateSpec, container: string): string {
  return template.spec?.containers.find((c) => c.name === container)?.image ?? '';
}

/** Writes with compare-and-swap; on a conflict re-reads and lets `build` decide again. */
async function casUpdate(cluster: Cluster, path: ObjectPath, what: string, build: (current: RawObject) => Promise<RawObject | undefined>): Promise<RawObject | undefined> {
  for (let attempt = 0; ; attempt++) {
    const current = await raw.get(cluster, path).catch((err: unknown) => {
      throw kubeError(err, `reading ${what}`, cluster.server);
    });
    const next = await build(current);
    if (next === undefined) return current;
    try {
      return await raw.replace(cluster, path, next);
    } catch (err) {
      if (isConflict(err) && attempt < 4) continue;
      throw kubeError(err, `updating ${what}`, cluster.server);
    }
  }
}

export async function startDevMode(cluster: Cluster, opts: StartOptions): Promise<DevSession> {
  checkTimeoutMs('dev start', opts.timeoutMs);
  if (opts.settleMs !== undefined && !(Number.isFinite(opts.settleMs) && opts.settleMs >= 0 && opts.settleMs <= 600_000)) {
    throw new KdevError('INVALID', `dev start: ${String(opts.settleMs)} ms is not a valid settle window`, 'Give 0 to 600 seconds (settle in .kdev.yaml); 0: Ready once is enough.');
  }
  const ref = parseWorkloadRef(opts.workload);
  const namespace = cluster.namespace;
  const what = refString(ref);
  const emit = opts.onEvent ?? (() => undefined);
  const mode = opts.mode ?? 'replace';
  const timeoutMs = opts.timeoutMs ?? 180_000;

  emit({ type: 'phase', phase: 'resolving', message: `reading ${what} in ${namespace}` });
  const owner = await whoAmI(cluster);
  const route = opts.route === undefined ? undefined : await routeFor(cluster, ref, namespace, owner, mode, opts.route);
  let obj = await readObject(cluster, ref.kind, namespace, ref.name);

  // A bare Pod in dev mode may be missing for a moment (or after a crash between delete
  // and create): its original is in the Secret then.
  let saved: SavedOriginal | undefined;
  if (ref.kind.strategy === 'replace-pod') {
    saved = await loadOriginal(cluster, namespace, {}, originalSecretName(ref.kind, ref.name));
  } else if (obj) {
    saved = await loadOriginal(cluster, namespace, obj.metadata?.annotations ?? {});
  }
  if (!obj && !saved) throw notFound(ref, namespace);

  const baseTemplate = templateOf(ref.kind, saved ? { metadata: { labels: saved.labels, annotations: saved.annotations }, spec: saved.spec } : obj!);
  if (!baseTemplate?.spec) throw new KdevError('INVALID', `${what} has no pod template`);
  const container = chooseContainer(baseTemplate.spec, opts.container, what);
  const image = opts.image ?? currentImage(baseTemplate, container);
  const workDir = opts.workDir ?? '/app';

  await ensureSupervisorConfigMap(cluster, namespace);
  const sidecar = opts.sidecar === undefined ? syncSidecarInjection() : (opts.sidecar ?? undefined);
  await sidecar?.prepare?.(cluster, namespace);

  const patchOpts = (devOf: string): DevPatchOptions => ({
    container,
    image,
    workDir,
    env: opts.env,
    resources: opts.resources,
    sidecars: sidecar?.containers,
    sidecarVolumes: sidecar?.volumes,
    podAnnotations: sidecar?.annotations,
    devOf,
  });

  let devOf: string;
  if (mode === 'duplicate') {
    devOf = devOfValue(ref, owner);
    await startDuplicate(cluster, ref, namespace, owner, baseTemplate, patchOpts(devOf), emit, route);
  } else {
    devOf = devOfValue(ref);
    emit({ type: 'phase', phase: 'saving', message: `taking the dev lease on ${what} and saving the original` });
    switch (ref.kind.strategy) {
      case 'in-place':
        await startInPlace(cluster, ref, namespace, owner, patchOpts(devOf), opts.force ?? false, emit);
        break;
      case 'generate':
        await startGenerated(cluster, ref, namespace, owner, patchOpts(devOf), opts.force ?? false, emit);
        break;
      case 'replace-pod':
        await startPod(cluster, ref, namespace, owner, obj, saved, patchOpts(devOf), opts.force ?? false, emit);
        break;
    }
  }

  const podSelector = `${DEV_LABEL}=${devOf}`;
  const settleMs = opts.settleMs ?? DEV_SETTLE_SECONDS * 1000;
  const pod = await waitDevPod(cluster, { namespace, labelSelector: podSelector, container, image, timeoutMs, settleMs, onEvent: emit, signal: opts.signal });
  if (route) await addRoute(cluster, routeTarget(ref, namespace), route, { [DEV_LABEL]: devOf }, { timeoutMs, emit });
  obj = await readObject(cluster, ref.kind, namespace, ref.name);
  return {
    workload: what,
    namespace,
    mode,
    owner,
    pod: pod.metadata!.name!,
    container,
    image,
    workDir,
    podSelector,
    startedAt: leaseOf(obj)?.startedAt ?? new Date().toISOString(),
    ...(route ? { route: { header: route.header, value: route.value } } : {}),
  };
}

/** The route a `start --route` asks for, checked (Services, ports, value not taken) before anything changes. */
async function routeFor(cluster: Cluster, ref: WorkloadRef, namespace: string, owner: string, mode: 'replace' | 'duplicate', text: string | true): Promise<HeldRoute> {
  if (mode !== 'duplicate') throw new KdevError('INVALID', '--route needs --mode duplicate', `Requests are routed to a copy of ${refString(ref)}: kdev dev start ${refString(ref)} --mode duplicate --route ...`);
  const route: HeldRoute = { ...parseRouteSpec(text, owner), owner, service: duplicateName(ref, owner) };
  await checkRoute(cluster, routeTarget(ref, namespace), route);
  return route;
}

function checkLease(what: string, lease: Lease | undefined, owner: string, force: boolean, emit: DevEventHandler): void {
  if (!lease || lease.owner === owner) return;
  if (!force) throw inUseError(what, lease);
  emit({ type: 'warning', reason: 'TakeOver', message: `taking ${what} over from ${lease.owner} (in dev mode since ${lease.startedAt})`, object: what });
}

/**
 * Replace mode in place. Without an HPA: ONE write (lease + saved original + patch). With
 * HPAs, which would scale the dev workload back up: the pins are checked by a dry run
 * (missing rights fail before anything changes), then the lease and the original are
 * written with the spec untouched, then the HPAs are pinned (each pin carries its own
 * undo), then the spec is patched. A crash in any gap leaves a record `end` finds.
 */
async function startInPlace(cluster: Cluster, ref: WorkloadRef, namespace: string, owner: string, patch: DevPatchOptions, force: boolean, emit: DevEventHandler): Promise<void> {
  const kind = ref.kind;
  const what = refString(ref);
  const path = pathOf(kind, namespace, ref.name);
  const hpas = kind.replicasPath ? await hpasFor(cluster, namespace, kind, ref.name) : [];
  let recreate = false;
  const write = (withPatch: boolean) => async (current: RawObject) => {
    const lease = leaseOf(current);
    checkLease(what, lease, owner, force, emit);
    const annotations = current.metadata?.annotations ?? {};
    const { original, record: originalRecord } = await originalFor(cluster, namespace, kind, ref.name, current);
    const next = JSON.parse(JSON.stringify(current)) as RawObject;
    if (withPatch) {
      const originalTemplate = getPath({ spec: original.spec }, kind.templatePath) as V1PodTemplateSpec;
      setPath(next as Record<string, unknown>, kind.templatePath, devTemplate(originalTemplate, patch));
      if (kind.replicasPath) setPath(next as Record<string, unknown>, kind.replicasPath, 1);
      if (kind.recreateStrategyPath) setPath(next as Record<string, unknown>, kind.recreateStrategyPath, { type: 'Recreate' });
    }
    const leaseValue = newLease(owner, patch.container, patch.image, patch.workDir, 'replace', lease);
    next.metadata = {
      ...next.metadata,
      annotations: { ...withoutOurs(annotations), ...originalRecord, [LEASE_ANNOTATION]: JSON.stringify(leaseValue) },
    };
    if (!withPatch) return next;
    const unchanged = sameJson(next.spec, current.spec);
    emit({ type: 'phase', phase: 'patching', message: unchanged ? `${what} is already in dev mode: renewing the lease` : `patching ${what}` });
    recreate = !unchanged && ((kind.replaceOldPods ?? false) || replacedOnlyOnDelete(current));
    return next;
  };
  if (hpas.length > 0) {
    await pinHpas(cluster, namespace, hpas, true);
    await casUpdate(cluster, path, what, write(false));
    emit({ type: 'phase', phase: 'saving', message: `pinning the HorizontalPodAutoscaler of ${what} to one replica` });
    await pinHpas(cluster, namespace, hpas);
  }
  await casUpdate(cluster, path, what, write(true));
  if (recreate) await deleteWorkloadPods(cluster, ref, namespace, false);
}

/**
 * A StatefulSet with `updateStrategy: OnDelete` keeps its pods when its template changes:
 * dev mode deletes them itself, the old ones on start and the dev ones on end, and the
 * controller makes them again from the template of the moment.
 */
function replacedOnlyOnDelete(obj: RawObject | undefined): boolean {
  const strategy = (obj?.spec as { updateStrategy?: { type?: string } } | undefined)?.updateStrategy;
  return obj?.kind === 'StatefulSet' && strategy?.type === 'OnDelete';
}

/**
 * Deletes, without a grace period, the pods the workload controls directly or through its
 * ReplicaSets: the old ones (dev = false) after a takeover, the dev ones (dev = true) on end.
 */
async function deleteWorkloadPods(cluster: Cluster, ref: WorkloadRef, namespace: string, dev: boolean): Promise<void> {
  const obj = await raw.get(cluster, pathOf(ref.kind, namespace, ref.name));
  const owners = new Set([obj.metadata?.uid]);
  if (ref.kind.kind === 'Deployment') {
    const sets = await raw.list(cluster, { apiVersion: 'apps/v1', plural: 'replicasets', namespace });
    for (const rs of sets.items) if (rs.metadata?.ownerReferences?.some((o) => o.uid === obj.metadata?.uid)) owners.add(rs.metadata?.uid);
  }
  const pods = await raw.list(cluster, { apiVersion: 'v1', plural: 'pods', namespace });
  for (const pod of pods.items) {
    const owned = pod.metadata?.ownerReferences?.some((o) => o.controller && owners.has(o.uid));
    const isDev = pod.metadata?.labels?.[DEV_LABEL] !== undefined;
    if (owned && isDev === dev) {
      await raw.delete(cluster, { apiVersion: 'v1', plural: 'pods', namespace, name: pod.metadata!.name! }, { gracePeriodSeconds: 0 }).catch((err: unknown) => {
        if (!isNotFound(err)) throw kubeError(err, `deleting pod/${pod.metadata!.name}`, cluster.server);
      });
    }
  }
}

function deploymentFor(name: string, namespace: string, devOf: string, template: V1PodTemplateSpec, annotations: Record<string, string>, labels: Record<string, string>): RawObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels: { ...labels, [DEV_LABEL]: devOf, 'app.kubernetes.io/managed-by': 'kdev' }, annotations },
    spec: {
      replicas: 1,
      strategy: { type: 'Recreate' },
      selector: { matchLabels: { [DEV_LABEL]: devOf } },
      template,
    },
  };
}

async function createOrReplace(cluster: Cluster, path: ObjectPath, body: RawObject, what: string): Promise<void> {
  try {
    await raw.create(cluster, path, body);
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw kubeError(err, `creating ${what}`, cluster.server);
    await casUpdate(cluster, { ...path, name: body.metadata!.name }, what, async (current) => ({
      ...body,
      metadata: { ...body.metadata, resourceVersion: current.metadata?.resourceVersion },
    }));
  }
}

async function startGenerated(cluster: Cluster, ref: WorkloadRef, namespace: string, owner: string, patch: DevPatchOptions, force: boolean, emit: DevEventHandler): Promise<void> {
  const kind = ref.kind;
  const what = refString(ref);
  const copy = generatedName(ref);
  let template: V1PodTemplateSpec | undefined;
  let leaseValue: Lease | undefined;
  // One write on the original: lease + original + pause.
  await casUpdate(cluster, pathOf(kind, namespace, ref.name), what, async (current) => {
    const lease = leaseOf(current);
    checkLease(what, lease, owner, force, emit);
    const annotations = current.metadata?.annotations ?? {};
    const { original, record: originalRecord } = await originalFor(cluster, namespace, kind, ref.name, current);
    template = getPath({ spec: original.spec }, kind.templatePath) as V1PodTemplateSpec;
    leaseValue = newLease(owner, patch.container, patch.image, patch.workDir, 'replace', lease, copy);
    const next = mergeDeep(JSON.parse(JSON.stringify(current)) as Record<string, unknown>, kind.pause ?? {}) as RawObject;
    next.metadata = { ...next.metadata, annotations: { ...withoutOurs(annotations), ...originalRecord, [LEASE_ANNOTATION]: JSON.stringify(leaseValue) } };
    emit({ type: 'phase', phase: 'patching', message: `pausing ${what} and generating deployment/${copy}` });
    return next;
  });
  const body = deploymentFor(copy, namespace, patch.devOf, devTemplate(template!, patch, true), { [LEASE_ANNOTATION]: JSON.stringify(leaseValue), [COPY_OF_ANNOTATION]: what }, {});
  await createOrReplace(cluster, deploymentPath(namespace), body, `deployment/${copy}`);
}

/**
 * The original of a workload and the annotations that record it: the saved one when the
 * workload is in dev mode already (a repeated start), else the object as it is now.
 */
async function originalFor(cluster: Cluster, namespace: string, kind: KindSpec, name: string, current: RawObject): Promise<{ original: SavedOriginal; record: Record<string, string> }> {
  const annotations = current.metadata?.annotations ?? {};
  const saved = await loadOriginal(cluster, namespace, annotations);
  if (saved) {
    const record = Object.fromEntries(Object.entries(annotations).filter(([k]) => k === ORIGINAL_ANNOTATION || k === ORIGINAL_SECRET_ANNOTATION));
    return { original: saved, record };
  }
  const original = captureOriginal(current);
  return { original, record: await storeOriginal(cluster, namespace, kind, name, original) };
}

/** Deep equality of JSON values, whatever the order of their keys. */
function sameJson(a: unknown, b: unknown): boolean {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(canonical) : typeof v === 'object' && v !== null ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])])) : v;
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function mergeDeep(target: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(patch)) {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const t = typeof target[k] === 'object' && target[k] !== null ? (target[k] as Record<string, unknown>) : {};
      target[k] = mergeDeep(t, v as Record<string, unknown>);
    } else target[k] = v;
  }
  return target;
}

async function startDuplicate(cluster: Cluster, ref: WorkloadRef, namespace: string, owner: string, template: V1PodTemplateSpec, patch: DevPatchOptions, emit: DevEventHandler, route?: RouteSpec): Promise<void> {
  const name = duplicateName(ref, owner);
  emit({ type: 'phase', phase: 'patching', message: `creating deployment/${name}, a copy of ${refString(ref)} that no Service selects` });
  // Only our labels: no Service selector of the original matches the copy.
  const copyTemplate: V1PodTemplateSpec = { metadata: { labels: { [DUPLICATE_LABEL]: devOfValue(ref) }, annotations: template.metadata?.annotations }, spec: template.spec };
  const lease = newLease(owner, patch.container, patch.image, patch.workDir, 'duplicate', undefined, undefined, route && { header: route.header, value: route.value, of: refString(ref) });
  const body = deploymentFor(name, namespace, patch.devOf, devTemplate(copyTemplate, patch, true), { [LEASE_ANNOTATION]: JSON.stringify(lease) }, { [DUPLICATE_LABEL]: devOfValue(ref) });
  await createOrReplace(cluster, deploymentPath(namespace), body, `deployment/${name}`);
}

/** Server-set fields that a recreated Pod must not carry. */
function podForCreate(name: string, namespace: string, labels: Record<string, string>, annotations: Record<string, string>, spec: V1PodSpec): RawObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels, annotations }, spec: spec as unknown as Record<string, unknown> };
}

async function deletePodAndWait(cluster: Cluster, namespace: string, name: string): Promise<void> {
  let rv: string | undefined;
  try {
    const pod = await raw.get(cluster, { apiVersion: 'v1', plural: 'pods', namespace, name });
    rv = pod.metadata?.resourceVersion;
    await raw.delete(cluster, { apiVersion: 'v1', plural: 'pods', namespace, name }, { gracePeriodSeconds: 5 });
  } catch (err) {
    if (isNotFound(err)) return;
    throw kubeError(err, `deleting pod/${name}`, cluster.server);
  }
  await watchUntil(cluster, {
    resource: { apiVersion: 'v1', plural: 'pods', namespace },
    fieldSelector: `metadata.name=${name}`,
    resourceVersion: rv,
    timeoutMs: 60_000,
    what: `pod/${name} to be deleted`,
    onEvent: (type) => (type === 'DELETED' ? { done: true, value: true } : { done: false }),
  });
}

async function startPod(
  cluster: Cluster,
  ref: WorkloadRef,
  namespace: string,
  owner: string,
  current: RawObject | undefined,
  saved: SavedOriginal | undefined,
  patch: DevPatchOptions,
  force: boolean,
  emit: DevEventHandler,
): Promise<void> {
  const what = refString(ref);
  const lease = leaseOf(current);
  checkLease(what, lease, owner, force, emit);
  const isDevPod = current?.metadata?.labels?.[DEV_LABEL] !== undefined;
  const original = saved ?? captureOriginal(current!);
  const record = await storeOriginal(cluster, namespace, ref.kind, ref.name, original);
  const spec = devPodSpec(original.spec as unknown as V1PodSpec, patch);
  delete spec.nodeName;
  const leaseValue = newLease(owner, patch.container, patch.image, patch.workDir, 'replace', lease);
  const body = podForCreate(ref.name, namespace, { ...original.labels, [DEV_LABEL]: patch.devOf }, { ...original.annotations, ...(patch.podAnnotations ?? {}), ...record, [LEASE_ANNOTATION]: JSON.stringify(leaseValue), 'kdev.dev/dev-container': patch.container }, spec);
  if (current && isDevPod && sameJson(current.spec?.containers, (body.spec as { containers: unknown }).containers)) {
    emit({ type: 'phase', phase: 'patching', message: `${what} is already in dev mode: renewing the lease` });
    await raw.patch(cluster, pathOf(ref.kind, namespace, ref.name), { metadata: { annotations: { [LEASE_ANNOTATION]: JSON.stringify(leaseValue) } } });
    return;
  }
  emit({ type: 'phase', phase: 'patching', message: `replacing ${what} with its dev version` });
  if (current) await deletePodAndWait(cluster, namespace, ref.name);
  await raw.create(cluster, pathOf(ref.kind, namespace), body).catch((err: unknown) => {
    throw kubeError(err, `creating the dev ${what}`, cluster.server);
  });
}

export interface EndOptions {
  workload: string;
  /** End someone else's dev mode. */
  force?: boolean;
  /** Every developer's duplicate of the workload, and its routing (an admin's clean-up). */
  all?: boolean;
  timeoutMs?: number;
  onEvent?: DevEventHandler;
}

export interface EndResult {
  workload: string;
  namespace: string;
  restored: boolean;
  message: string;
}

export async function endDevMode(cluster: Cluster, opts: EndOptions): Promise<EndResult> {
  checkTimeoutMs('dev end', opts.timeoutMs);
  const ref = parseWorkloadRef(opts.workload);
  const namespace = cluster.namespace;
  const what = refString(ref);
  const emit = opts.onEvent ?? (() => undefined);
  const timeoutMs = opts.timeoutMs ?? 180_000;
  const owner = await whoAmI(cluster);

  // Routing first: the Services point at the original pods again before any copy goes.
  const target = routeTarget(ref, namespace);
  const routed = opts.all || (await hasRouting(cluster, target)) ? await removeRoutes(cluster, target, opts.all ? undefined : owner, duplicateName(ref, owner), { timeoutMs, emit }) : [];
  if (opts.all) return endAllDuplicates(cluster, ref, namespace, routed, timeoutMs, emit);

  // My duplicate, if I have one, is what `end` ends.
  const dup = duplicateName(ref, owner);
  // (Its generated name is kdev's business: messages speak of "your copy of <workload>".)
  const hasDuplicate = await raw.get(cluster, deploymentPath(namespace, dup)).then(
    () => true,
    (err: unknown) => {
      if (isNotFound(err)) return false;
      throw kubeError(err, `looking for your copy of ${what}`, cluster.server);
    },
  );
  if (hasDuplicate) {
    emit({ type: 'phase', phase: 'restoring', message: `removing your copy of ${what}` });
    await raw.delete(cluster, deploymentPath(namespace, dup), { propagationPolicy: 'Background' }).catch((err: unknown) => {
      if (!isNotFound(err)) throw kubeError(err, `removing your copy of ${what}`, cluster.server);
    });
    await waitNoPods(cluster, namespace, `${DEV_LABEL}=${devOfValue(ref, owner)}`, timeoutMs);
    emit({ type: 'phase', phase: 'done', message: `${what}: copy removed` });
    return { workload: what, namespace, restored: true, message: `deleted the copy of ${what} that you ran; ${what} itself was never changed` };
  }

  const result = ref.kind.strategy === 'replace-pod' ? await endPod(cluster, ref, namespace, owner, opts.force ?? false, timeoutMs, emit) : await endWorkload(cluster, ref, namespace, owner, opts.force ?? false, timeoutMs, emit);
  if (result.restored || routed.length === 0) return result;
  const message = `removed the routing an interrupted kdev left for ${what}: ${routed.join(', ')}`;
  emit({ type: 'phase', phase: 'done', message });
  return { workload: what, namespace, restored: true, message };
}

/** `end --all`: every developer's copy of the workload goes (its routing went already). */
async function endAllDuplicates(cluster: Cluster, ref: WorkloadRef, namespace: string, routed: string[], timeoutMs: number, emit: DevEventHandler): Promise<EndResult> {
  const what = refString(ref);
  const list = await raw.list(cluster, deploymentPath(namespace), `${DUPLICATE_LABEL}=${devOfValue(ref)}`).catch((err: unknown) => {
    throw kubeError(err, `listing the copies of ${what}`, cluster.server);
  });
  // (items of a list carry no kind)
  const copies = list.items.filter((d) => isKdevCopy({ ...d, kind: 'Deployment' }));
  if (copies.length > 0) emit({ type: 'phase', phase: 'restoring', message: `removing ${copies.length} copies of ${what}` });
  for (const d of copies) await deleteCopy(cluster, namespace, d.metadata!.name!, what);
  for (const d of copies) await waitNoPods(cluster, namespace, `${DEV_LABEL}=${d.metadata!.labels![DEV_LABEL]}`, timeoutMs);
  const parts = [...(copies.length > 0 ? [`${copies.length} cop${copies.length === 1 ? 'y' : 'ies'}`] : []), ...routed.filter((r) => r !== 'your route')];
  const message = parts.length > 0 ? `${what}: removed ${parts.join(', ')}` : `${what} has no copies and no routing: nothing to remove`;
  emit({ type: 'phase', phase: 'done', message });
  return { workload: what, namespace, restored: parts.length > 0, message };
}

/**
 * Restores a workload from its saved original. The record (lease + original) goes last:
 * until the restore write removes it, a crash leaves it for the next `end`. What kdev made
 * beside it (a generated copy, HPA pins) is found from the cluster too, record or not.
 */
async function endWorkload(cluster: Cluster, ref: WorkloadRef, namespace: string, owner: string, force: boolean, timeoutMs: number, emit: DevEventHandler): Promise<EndResult> {
  const kind = ref.kind;
  const what = refString(ref);
  const obj = await readObject(cluster, kind, namespace, ref.name);
  // `end` of a generated copy by its own name ends the workload it stands in for.
  const copyOf = obj?.metadata?.annotations?.[COPY_OF_ANNOTATION];
  if (copyOf && copyOf !== what && isKdevCopy(obj)) return endWorkload(cluster, parseWorkloadRef(copyOf), namespace, owner, force, timeoutMs, emit);
  const original = obj ? await loadOriginal(cluster, namespace, obj.metadata?.annotations ?? {}) : undefined;
  if (!original) {
    const undone = await removeLeftovers(cluster, ref, namespace, timeoutMs);
    if (undone.length > 0) {
      const message = `${what} was restored already; removed what an interrupted kdev left: ${undone.join(', ')}`;
      emit({ type: 'phase', phase: 'done', message });
      return { workload: what, namespace, restored: true, message };
    }
    if (!obj) throw notFound(ref, namespace);
    return { workload: what, namespace, restored: false, message: `${what} is not in dev mode: nothing to restore` };
  }
  const lease = leaseOf(obj);
  if (lease && lease.owner !== owner) {
    if (!force) throw inUseError(what, lease);
    emit({ type: 'warning', reason: 'TakeOver', message: `ending the dev mode of ${lease.owner}`, object: what });
  }
  emit({ type: 'phase', phase: 'restoring', message: `restoring ${what} from its saved original` });
  // The copy first: its dev pod stops before the original runs again.
  if (kind.strategy === 'generate') await deleteCopy(cluster, namespace, lease?.copy ?? generatedName(ref), what);
  // Dev pods run only with the dev template (a crash may have come before the patch).
  const devPodsMayRun = !sameJson(getPath(obj, kind.templatePath), getPath({ spec: original.spec }, kind.templatePath));
  const viaZero = (kind.replaceOldPods ?? false) && devPodsMayRun;
  if (viaZero) await scaleToZero(cluster, ref, namespace, timeoutMs);
  // At zero replicas, or without dev pods, an HPA scales up no dev pod: its bounds come back first.
  const hpasFirst = kind.replicasPath !== undefined && (viaZero || !devPodsMayRun);
  if (hpasFirst) await restoreHpas(cluster, namespace, kind, ref.name);
  await casUpdate(cluster, pathOf(kind, namespace, ref.name), what, async (current) => {
    const next = JSON.parse(JSON.stringify(current)) as RawObject;
    next.spec = original.spec;
    next.metadata = { ...next.metadata, labels: original.labels, annotations: original.annotations };
    return next;
  });
  // The dev pods' ReplicaSets want zero of them now: deleting them creates none. Without
  // a rolling update (OnDelete), the controller makes them again from the restored template.
  if (viaZero || (devPodsMayRun && replacedOnlyOnDelete(obj))) await deleteWorkloadPods(cluster, ref, namespace, true);
  if (kind.replicasPath && !hpasFirst) await restoreHpas(cluster, namespace, kind, ref.name);
  const secret = obj?.metadata?.annotations?.[ORIGINAL_SECRET_ANNOTATION];
  if (secret) await deleteOriginalSecret(cluster, namespace, secret);

  emit({ type: 'phase', phase: 'rolling-out', message: `waiting for ${what} to roll out` });
  await waitNoPods(cluster, namespace, `${DEV_LABEL}=${devOfValue(ref)}`, timeoutMs);
  if (kind.replicasPath) await waitRolledOut(cluster, kind, namespace, ref.name, timeoutMs);
  emit({ type: 'phase', phase: 'done', message: `${what} restored` });
  return { workload: what, namespace, restored: true, message: `${what} restored` };
}

function isKdevCopy(obj: RawObject | undefined): boolean {
  return obj?.kind === 'Deployment' && obj.metadata?.labels?.['app.kubernetes.io/managed-by'] === 'kdev' && obj.metadata.labels[DEV_LABEL] !== undefined;
}

async function deleteCopy(cluster: Cluster, namespace: string, copy: string, what: string): Promise<void> {
  await raw.delete(cluster, deploymentPath(namespace, copy), { propagationPolicy: 'Background' }).catch((err: unknown) => {
    if (!isNotFound(err)) throw kubeError(err, `removing the dev copy of ${what}`, cluster.server);
  });
}

/**
 * What kdev made for a workload that has no record any more (a crash after the restore
 * write): its generated copy, its pinned HPAs. Each is re-checked against the workload
 * right before it goes, so that a `start` racing with this `end` keeps what it made.
 */
async function removeLeftovers(cluster: Cluster, ref: WorkloadRef, namespace: string, timeoutMs: number): Promise<string[]> {
  const kind = ref.kind;
  const what = refString(ref);
  const undone: string[] = [];
  const stillFree = async () => leaseOf(await readObject(cluster, kind, namespace, ref.name)) === undefined;
  if (kind.strategy === 'generate') {
    const copy = await raw.get(cluster, deploymentPath(namespace, generatedName(ref))).catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw kubeError(err, `looking for the dev copy of ${what}`, cluster.server);
    });
    if (isKdevCopy(copy) && copy!.metadata?.labels?.[DEV_LABEL] === devOfValue(ref) && (await stillFree())) {
      await deleteCopy(cluster, namespace, generatedName(ref), what);
      undone.push('its dev copy');
    }
  }
  if (kind.replicasPath && (await stillFree())) {
    const n = await restoreHpas(cluster, namespace, kind, ref.name);
    if (n > 0) undone.push(`the replica bounds of its HorizontalPodAutoscaler${n > 1 ? 's' : ''}`);
  }
  // Dev pods still going away (their copy or ReplicaSet deleted before a crash) are gone when `end` returns.
  await waitNoPods(cluster, namespace, `${DEV_LABEL}=${devOfValue(ref)}`, timeoutMs);
  return undone;
}

/**
 * Scales a Deployment or ReplicaSet in dev mode to zero (its record stays) and waits until
 * its ReplicaSets have acted on it. Restoring template and replicas in one write would let
 * the Deployment controller scale the dev ReplicaSet up first (a scaling event is applied
 * to the existing ReplicaSets), and deleting a dev pod its ReplicaSet still wants makes it
 * create another: either way a dev pod would be created during `end`.
 */
async function scaleToZero(cluster: Cluster, ref: WorkloadRef, namespace: string, timeoutMs: number): Promise<void> {
  const kind = ref.kind;
  const what = refString(ref);
  await casUpdate(cluster, pathOf(kind, namespace, ref.name), what, async (current) => {
    if (getPath(current, kind.replicasPath ?? []) === 0) return undefined;
    const next = JSON.parse(JSON.stringify(current)) as RawObject;
    setPath(next as Record<string, unknown>, kind.replicasPath ?? [], 0);
    return next;
  });
  const selector = kind.kind === 'Deployment' ? { labelSelector: `${DEV_LABEL}=${devOfValue(ref)}` } : { fieldSelector: `metadata.name=${ref.name}` };
  await waitReplicaSetsAtZero(cluster, namespace, selector, what, timeoutMs);
}

/** Waits until every ReplicaSet of the selector (those of the workload `what`) wants zero pods and its controller has seen that. */
async function waitReplicaSetsAtZero(cluster: Cluster, namespace: string, selector: { labelSelector?: string; fieldSelector?: string }, what: string, timeoutMs: number): Promise<void> {
  const atZero = (rs: RawObject) => rs.spec?.replicas === 0 && Number(rs.status?.observedGeneration ?? 0) >= (rs.metadata?.generation ?? 0);
  const path = { apiVersion: 'apps/v1', plural: 'replicasets', namespace };
  let items: RawObject[];
  let resourceVersion: string | undefined;
  try {
    if (selector.labelSelector) {
      const list = await raw.list(cluster, path, selector.labelSelector);
      items = list.items;
      resourceVersion = list.metadata?.resourceVersion;
    } else {
      const rs = await raw.get(cluster, { ...path, name: selector.fieldSelector!.replace('metadata.name=', '') });
      items = [rs];
      resourceVersion = rs.metadata?.resourceVersion;
    }
  } catch (err) {
    throw kubeError(err, `reading the ReplicaSets of ${what}`, cluster.server);
  }
  const pending = new Set(items.filter((rs) => !atZero(rs)).map((rs) => rs.metadata!.name!));
  if (pending.size === 0) return;
  await watchUntil<RawObject, true>(cluster, {
    resource: path,
    ...selector,
    resourceVersion,
    timeoutMs,
    what: `the dev pods of ${what} to be scaled to zero`,
    timeoutDetail: () => `${pending.size} ReplicaSet(s) not at zero yet`,
    onEvent: (type, rs) => {
      if (type === 'DELETED' || atZero(rs)) pending.delete(rs.metadata!.name!);
      else pending.add(rs.metadata!.name!);
      return pending.size === 0 ? { done: true, value: true } : { done: false };
    },
  });
}

/** Waits until the controller has acted on the restored spec and its pods are ready. */
async function waitRolledOut(cluster: Cluster, kind: KindSpec, namespace: string, name: string, timeoutMs: number): Promise<void> {
  let detail = '';
  await watchUntil<RawObject, true>(cluster, {
    resource: { apiVersion: kind.apiVersion, plural: kind.plural, namespace },
    fieldSelector: `metadata.name=${name}`,
    timeoutMs,
    what: `${kind.kind.toLowerCase()}/${name} to roll out`,
    timeoutDetail: () => detail,
    onEvent: (_t, obj) => {
      const want = Number(getPath(obj, kind.replicasPath ?? []) ?? 1);
      const status = (obj.status ?? {}) as { observedGeneration?: number; readyReplicas?: number; updatedReplicas?: number; availableReplicas?: number; replicas?: number };
      const observed = (status.observedGeneration ?? 0) >= (obj.metadata?.generation ?? 0);
      const ready = status.readyReplicas ?? 0;
      const total = status.replicas ?? 0;
      detail = `${ready}/${want} ready`;
      // As `kubectl rollout status`: all updated, no old pod, all available (kinds without a field count as done there).
      const settled = (status.updatedReplicas ?? want) >= want && (status.availableReplicas ?? ready) >= want;
      return observed && ready >= want && total === want && settled ? { done: true, value: true } : { done: false };
    },
  });
}

async function endPod(cluster: Cluster, ref: WorkloadRef, namespace: string, owner: string, force: boolean, timeoutMs: number, emit: DevEventHandler): Promise<EndResult> {
  const what = refString(ref);
  const secretName = originalSecretName(ref.kind, ref.name);
  const current = await readObject(cluster, ref.kind, namespace, ref.name);
  const original = await loadOriginal(cluster, namespace, {}, secretName);
  if (!original) {
    if (!current) throw notFound(ref, namespace);
    return { workload: what, namespace, restored: false, message: `${what} is not in dev mode: nothing to restore` };
  }
  const lease = leaseOf(current);
  if (lease && lease.owner !== owner && !force) throw inUseError(what, lease);
  emit({ type: 'phase', phase: 'restoring', message: `recreating ${what} from its saved original` });
  if (current) await deletePodAndWait(cluster, namespace, ref.name);
  await raw
    .create(cluster, pathOf(ref.kind, namespace), podForCreate(ref.name, namespace, original.labels, original.annotations, original.spec as unknown as V1PodSpec))
    .catch((err: unknown) => {
      throw kubeError(err, `recreating ${what}`, cluster.server);
    });
  await deleteOriginalSecret(cluster, namespace, secretName);
  emit({ type: 'phase', phase: 'rolling-out', message: `waiting for ${what} to run` });
  await watchUntil(cluster, {
    resource: { apiVersion: 'v1', plural: 'pods', namespace },
    fieldSelector: `metadata.name=${ref.name}`,
    timeoutMs,
    what: `${what} to run`,
    onEvent: (_t, p: { status?: { phase?: string } }) => (p.status?.phase === 'Running' || p.status?.phase === 'Succeeded' ? { done: true, value: true } : { done: false }),
  });
  emit({ type: 'phase', phase: 'done', message: `${what} restored` });
  return { workload: what, namespace, restored: true, message: `${what} restored` };
}

/**
 * Renews my lease on a workload in dev mode (the CLI does this while it is attached).
 * Returns false when the lease is no longer mine (someone took it over, or dev mode ended).
 */
export async function renewLease(cluster: Cluster, session: Pick<DevSession, 'workload' | 'owner' | 'mode'>): Promise<boolean> {
  const ref = parseWorkloadRef(session.workload);
  const namespace = cluster.namespace;
  const path = session.mode === 'duplicate' ? deploymentPath(namespace, duplicateName(ref, session.owner)) : pathOf(ref.kind, namespace, ref.name);
  let obj: RawObject;
  try {
    obj = await raw.get(cluster, path);
  } catch (err) {
    if (isNotFound(err)) return false;
    throw kubeError(err, `renewing the dev lease on ${session.workload}`, cluster.server);
  }
  const lease = leaseOf(obj);
  if (!lease || lease.owner !== session.owner) return false;
  const renewed: Lease = { ...lease, renewedAt: new Date().toISOString() };
  try {
    await raw.patch(cluster, path, { metadata: { resourceVersion: obj.metadata?.resourceVersion, annotations: { [LEASE_ANNOTATION]: JSON.stringify(renewed) } } });
    return true;
  } catch (err) {
    if (isConflict(err)) return renewLease(cluster, session);
    throw kubeError(err, `renewing the dev lease on ${session.workload}`, cluster.server);
  }
}

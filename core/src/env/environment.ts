// Environments: a namespace per developer or CI run, from a template. create (with
// rollback of whatever it made when any step fails), list, delete, sleep, wake, gc and
// kubeconfig. Progress is reported as typed events; nothing here prints.
import type { KubernetesObject, V1Namespace, V1ResourceQuota, V1Service, V1ServiceAccount } from '@kubernetes/client-node';
import { KdevError, isKdevError } from '../errors.js';
import { applyObject, FIELD_MANAGER } from '../kube/apply.js';
import type { Cluster } from '../kube/client.js';
import { isNotFound, kubeError, apiStatus } from '../kube/errors.js';
import { kindSpec } from '../kube/kinds.js';
import { raw, type RawObject } from '../kube/raw.js';
import { watchUntil } from '../kube/watch.js';
import { accessObjects, ownerLabelValue, resolveOwner, serviceAccountKubeconfig } from './access.js';
import { clusterPodCidrs, isolationPolicies } from './network.js';
import { probeIsolation, type IsolationCheck } from './probe.js';
import { waitWorkloadReady, WorkloadFailure, WORKLOAD_TABLE } from './ready.js';
import { DEFAULT_SETTLE_SECONDS, DNS_LABEL, networkSchema, parseDuration, type NetworkSpec, type WorkloadKind } from './schema.js';
import { checkNamespace, parseNumberFlag } from '../input.js';
import { loadTemplate, planTemplate, type LoadedTemplate, type PlannedWorkload, type TemplatePlan } from './template.js';
import {
  ACTIVITY_ANNOTATION,
  CREATED_ANNOTATION,
  CREATED_LABEL,
  ENV_LABEL,
  ENV_LIMITS,
  ENV_QUOTA,
  EXPIRES_ANNOTATION,
  EXPIRES_LABEL,
  NETWORK_ANNOTATION,
  OWNER_ANNOTATION,
  OWNER_LABEL,
  PARAMS_ANNOTATION,
  SLEEP_REPLICAS_ANNOTATION,
  SLEEP_SUSPEND_ANNOTATION,
  STATE_ANNOTATION,
  TEMPLATE_LABEL,
  WORKLOADS_ANNOTATION,
  type Endpoint,
  type EnvironmentInfo,
  type EnvState,
  type ProgressListener,
  type EnvWorkloadRef,
} from './types.js';

/** A create stuck in "creating" this long (its process died) is collected by gc. */
export const STALE_CREATE_MS = 60 * 60 * 1000;
const DELETE_TIMEOUT_MS = 180_000;

// ---------------------------------------------------------------------------------------
// Helpers

/** Checks an environment name: a DNS label that is not a system namespace. */
export function validateEnvName(name: string): void {
  if (!DNS_LABEL.test(name) || name.length > 63) {
    throw new KdevError('INVALID', `"${name}" is not a valid environment name`, 'Use lower-case letters, digits and "-" (at most 63), starting and ending with a letter or digit, e.g. pr-123.');
  }
  if (name === 'default' || name.startsWith('kube-')) {
    throw new KdevError('INVALID', `"${name}" is a system namespace and cannot be an environment`, 'Choose another name.');
  }
}

/** Manifests go to the API server as plain JSON (core's applyObject keeps every field). */
function applyManifest(cluster: Cluster, obj: KubernetesObject): Promise<KubernetesObject> {
  return applyObject(cluster, obj);
}

/** The environment a namespace is, or undefined for a namespace env create did not make. */
export function infoOf(ns: V1Namespace, now = Date.now()): EnvironmentInfo | undefined {
  const labels = ns.metadata?.labels ?? {};
  const ann = ns.metadata?.annotations ?? {};
  const name = ns.metadata?.name ?? '';
  // Only namespaces env create made: the label's value is the namespace's own name.
  if (labels[ENV_LABEL] !== name) return undefined;
  const expiresText = ann[EXPIRES_ANNOTATION];
  const expires = expiresText ? new Date(expiresText) : undefined;
  const created = new Date(ann[CREATED_ANNOTATION] ?? ns.metadata?.creationTimestamp ?? 0);
  let workloads: EnvWorkloadRef[] = [];
  let parameters: Record<string, string> = {};
  let network: NetworkSpec = networkSchema.parse({});
  try {
    workloads = JSON.parse(ann[WORKLOADS_ANNOTATION] ?? '[]') as EnvWorkloadRef[];
    parameters = JSON.parse(ann[PARAMS_ANNOTATION] ?? '{}') as Record<string, string>;
    // Environments made before the annotation existed had the default isolation.
    network = networkSchema.parse(JSON.parse(ann[NETWORK_ANNOTATION] ?? '{}'));
  } catch {
    // Hand-edited annotations: show what we can.
  }
  const state: EnvState = ns.metadata?.deletionTimestamp || ns.status?.phase === 'Terminating' ? 'terminating' : ((ann[STATE_ANNOTATION] as EnvState | undefined) ?? 'ready');
  return {
    name,
    namespace: name,
    owner: ann[OWNER_ANNOTATION] ?? labels[OWNER_LABEL] ?? '',
    template: labels[TEMPLATE_LABEL] ?? '',
    created,
    expires,
    expired: expires !== undefined && expires.getTime() <= now,
    state,
    workloads,
    parameters,
    network,
    lastActivity: new Date(ann[ACTIVITY_ANNOTATION] || created.getTime()),
  };
}

export async function readEnvNamespace(cluster: Cluster, name: string): Promise<V1Namespace> {
  checkNamespace(name);
  let ns: V1Namespace;
  try {
    ns = await raw.getAs<V1Namespace>(cluster, { apiVersion: 'v1', plural: 'namespaces', name });
  } catch (err) {
    if (isNotFound(err)) throw new KdevError('NOT_FOUND', `no environment named "${name}"`, 'See `kdev env list`.');
    throw kubeError(err, `reading namespace ${name}`, cluster.server);
  }
  if (ns.metadata?.labels?.[ENV_LABEL] !== name) {
    throw new KdevError('INVALID', `namespace "${name}" is not a kdev environment`, 'kdev only changes namespaces it created (label kdev.dev/environment).');
  }
  return ns;
}

export async function patchNamespaceAnnotations(cluster: Cluster, name: string, annotations: Record<string, string | null>): Promise<void> {
  try {
    await raw.patch(cluster, { apiVersion: 'v1', plural: 'namespaces', name }, { metadata: { annotations } }, 'merge', `?fieldManager=${FIELD_MANAGER}`);
  } catch (err) {
    throw kubeError(err, `updating namespace ${name}`, cluster.server);
  }
}

/** Waits by watch until a namespace is gone. */
async function waitNamespaceGone(cluster: Cluster, name: string, timeoutMs: number): Promise<void> {
  let current: V1Namespace;
  try {
    current = await raw.getAs<V1Namespace>(cluster, { apiVersion: 'v1', plural: 'namespaces', name });
  } catch (err) {
    if (isNotFound(err)) return;
    throw kubeError(err, `reading namespace ${name}`, cluster.server);
  }
  let lastPhase = current.status?.phase ?? '';
  await watchUntil<V1Namespace, true>(cluster, {
    resource: { apiVersion: 'v1', plural: 'namespaces' },
    fieldSelector: `metadata.name=${name}`,
    resourceVersion: current.metadata?.resourceVersion,
    timeoutMs,
    what: `namespace ${name} to be deleted`,
    timeoutDetail: () => `still ${lastPhase}`,
    onEvent: (type, ns) => {
      lastPhase = ns.status?.phase ?? lastPhase;
      return type === 'DELETED' ? { done: true, value: true } : { done: false };
    },
  });
}

async function deleteNamespace(cluster: Cluster, name: string, wait: boolean): Promise<void> {
  try {
    await raw.delete(cluster, { apiVersion: 'v1', plural: 'namespaces', name }, { propagationPolicy: 'Background' });
  } catch (err) {
    if (!isNotFound(err)) throw kubeError(err, `deleting namespace ${name}`, cluster.server);
  }
  if (wait) await waitNamespaceGone(cluster, name, DELETE_TIMEOUT_MS);
}

/** The Services of a namespace as endpoints (in-cluster DNS name and ports). */
export async function environmentEndpoints(cluster: Cluster, namespace: string): Promise<Endpoint[]> {
  try {
    const list = await raw.listAs<V1Service>(cluster, { apiVersion: 'v1', plural: 'services', namespace });
    return list.items
      .map((s) => {
        const host = `${s.metadata?.name}.${namespace}.svc.cluster.local`;
        return {
          service: s.metadata?.name ?? '',
          host,
          clusterIP: s.spec?.clusterIP && s.spec.clusterIP !== 'None' ? s.spec.clusterIP : undefined,
          ports: (s.spec?.ports ?? []).map((p) => ({ name: p.name, port: p.port, protocol: p.protocol ?? 'TCP', address: `${host}:${p.port}` })),
        };
      })
      .sort((a, b) => a.service.localeCompare(b.service));
  } catch (err) {
    throw kubeError(err, `listing services of ${namespace}`, cluster.server);
  }
}

// ---------------------------------------------------------------------------------------
// create

export interface CreateOptions {
  name: string;
  /** A template name, a folder, or one already loaded. */
  template: string | LoadedTemplate;
  /** Lifetime ("2h", "1d", "0" = never); default: the template's ttl. */
  ttl?: string;
  /** --set key=value */
  set?: Readonly<Record<string, string>>;
  /** Default: $KDEV_OWNER, else the user the API server sees. */
  owner?: string;
  /**
   * true (default): start workloads in dependency order, each once its dependencies are
   * Ready, and return when all are Ready. false: apply everything and return.
   */
  wait?: boolean;
  /** Lifetime of the kubeconfig's token in seconds; default: until the environment expires (at most 24 h). */
  tokenSeconds?: number;
  onProgress?: ProgressListener;
  /**
   * Aborting stops the create and rolls it back, unless it is already complete (the
   * namespace marked ready): then create returns as usual, with `interrupted` set.
   */
  signal?: AbortSignal;
  /** Run the NetworkPolicy probe pod pair in the new namespace (default true). */
  checkIsolation?: boolean;
}

export interface CreatedEnvironment {
  info: EnvironmentInfo;
  /** A kubeconfig (YAML) for the environment's ServiceAccount. */
  kubeconfig: string;
  kubeconfigExpires: Date;
  endpoints: Endpoint[];
  durationMs: number;
  /** The probe's verdict; undefined when it was not run (checkIsolation: false). */
  isolation?: IsolationCheck;
  /** The abort signal fired after the environment was complete: it was kept. */
  interrupted: boolean;
}

/** Renders a template for an environment without touching the cluster (--dry-run). */
export function planEnvironment(opts: Pick<CreateOptions, 'name' | 'template' | 'set'>): TemplatePlan {
  validateEnvName(opts.name);
  const template = typeof opts.template === 'string' ? loadTemplate(opts.template) : opts.template;
  return planTemplate(template, { env: opts.name, set: opts.set ?? {} });
}

/** The ResourceQuota and LimitRange a create applies first. */
export function quotaObjects(name: string, plan: Pick<TemplatePlan, 'quota' | 'limits'>): KubernetesObject[] {
  return [
    { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: ENV_QUOTA, namespace: name, labels: { [ENV_LABEL]: name } }, spec: { hard: plan.quota } } as V1ResourceQuota,
    { apiVersion: 'v1', kind: 'LimitRange', metadata: { name: ENV_LIMITS, namespace: name, labels: { [ENV_LABEL]: name } }, spec: { limits: [{ type: 'Container', ...plan.limits }] } } as KubernetesObject,
  ];
}

/**
 * What a create applies in the environment's namespace, in order: quota and limits, the
 * template's objects, the sources' ConfigMaps, then the workloads wave by wave. (The
 * namespace itself and its owner's ServiceAccount and RoleBinding come with create.)
 */
export function renderEnvironment(opts: Pick<CreateOptions, 'name' | 'template' | 'set'>): { plan: TemplatePlan; objects: KubernetesObject[] } {
  const plan = planEnvironment(opts);
  const byName = new Map(plan.workloads.map((w) => [w.name, w]));
  const workloads = plan.waves.flat().map((n) => byName.get(n)!.object);
  const sources = plan.workloads.flatMap((w) => (w.source ? [w.source as KubernetesObject] : []));
  return { plan, objects: [...quotaObjects(opts.name, plan), ...plan.objects, ...sources, ...workloads] };
}

function ttlMs(text: string): number {
  const ms = parseDuration(text);
  if (Number.isNaN(ms)) throw new KdevError('INVALID', `--ttl ${text}: not a duration`, 'Use e.g. 30m, 2h, 1d, or 0 for no expiry.');
  return ms;
}

function tokenSecondsFor(expires: Date | undefined): number {
  const day = 24 * 3600;
  if (!expires) return day;
  return Math.min(day, Math.max(600, Math.ceil((expires.getTime() - Date.now()) / 1000)));
}

/**
 * Creates an environment. Everything is validated before the cluster is touched; a
 * failure after the namespace exists deletes it again (and with it all it contains).
 */
export async function createEnvironment(cluster: Cluster, opts: CreateOptions): Promise<CreatedEnvironment> {
  const started = Date.now();
  const emit: ProgressListener = (e) => opts.onProgress?.(e);
  const elapsed = () => Date.now() - started;

  emit({ type: 'step', step: 'validate', state: 'start' });
  const plan = planEnvironment(opts);
  const spec = plan.template.spec;
  const lifetime = ttlMs(opts.ttl ?? spec.ttl);
  const owner = await resolveOwner(cluster, opts.owner);
  const refs: EnvWorkloadRef[] = plan.workloads.map((w) => ({ name: w.name, kind: w.kind, dependsOn: w.dependsOn }));
  emit({ type: 'step', step: 'validate', state: 'done' });
  emit({ type: 'plan', env: opts.name, template: spec.name, workloads: refs });
  for (const w of plan.workloads) emit({ type: 'workload', name: w.name, kind: w.kind, state: 'pending', elapsedMs: elapsed() });

  const name = opts.name;
  const now = new Date();
  const expires = lifetime === 0 ? undefined : new Date(now.getTime() + lifetime);
  const nsBody: V1Namespace = {
    metadata: {
      name,
      labels: {
        [ENV_LABEL]: name,
        [OWNER_LABEL]: ownerLabelValue(owner),
        [TEMPLATE_LABEL]: spec.name,
        [CREATED_LABEL]: String(Math.floor(now.getTime() / 1000)),
        [EXPIRES_LABEL]: expires ? String(Math.floor(expires.getTime() / 1000)) : 'never',
      },
      annotations: {
        [OWNER_ANNOTATION]: owner,
        [CREATED_ANNOTATION]: now.toISOString(),
        [ACTIVITY_ANNOTATION]: now.toISOString(),
        [EXPIRES_ANNOTATION]: expires ? expires.toISOString() : '',
        [STATE_ANNOTATION]: 'creating',
        [PARAMS_ANNOTATION]: JSON.stringify(opts.set ?? {}),
        [WORKLOADS_ANNOTATION]: JSON.stringify(refs),
        [NETWORK_ANNOTATION]: JSON.stringify(plan.network),
      },
    },
  };

  // An interrupt before the namespace exists: nothing to roll back.
  if (opts.signal?.aborted) throw new KdevError('FAILED', `creating environment ${name} was interrupted`, 'Nothing was created.');
  emit({ type: 'step', step: 'namespace', state: 'start', detail: name });
  try {
    await raw.create(cluster, { apiVersion: 'v1', plural: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', ...nsBody } as RawObject);
  } catch (err) {
    if (apiStatus(err) === 409) throw await nameTaken(cluster, name);
    throw kubeError(err, `creating namespace ${name}`, cluster.server);
  }

  // From here on, a failure or an interrupt deletes the namespace and everything in it,
  // up to the moment the namespace is marked ready (the commit); after that the
  // environment is complete and is kept.
  const abort = new AbortController();
  const onAbort = () => abort.abort();
  opts.signal?.addEventListener('abort', onAbort);
  if (opts.signal?.aborted) abort.abort(); // it came while the namespace was being created
  let committed: { kubeconfig: string; kubeconfigExpires: Date; isolation?: IsolationCheck };
  try {
    committed = await populateEnvironment(cluster, { name, owner, plan, wait: opts.wait ?? true, checkIsolation: opts.checkIsolation ?? true, tokenSeconds: opts.tokenSeconds ?? tokenSecondsFor(expires), signal: abort.signal, emit, elapsed });
  } catch (err) {
    abort.abort();
    const failure = isKdevError(err) ? err : kubeError(err, `creating environment ${name}`, cluster.server);
    emit({ type: 'step', step: 'rollback', state: 'start', detail: failure.message.split('\n')[0] });
    try {
      await deleteNamespace(cluster, name, true);
      emit({ type: 'step', step: 'rollback', state: 'done' });
    } catch (cleanup) {
      emit({ type: 'step', step: 'rollback', state: 'failed', detail: (cleanup as Error).message });
      throw new KdevError(failure.code, failure.message, `${failure.hint ? `${failure.hint} ` : ''}Rolling back failed too: delete it with \`kdev env delete ${name}\`.`, { cause: failure });
    }
    const hint = `${failure.hint ? `${failure.hint} ` : ''}Nothing was left behind: the environment's namespace was deleted.`;
    throw new KdevError(failure.code, failure.message, hint, { cause: failure });
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
  const endpoints = await environmentEndpoints(cluster, name);
  const info = infoOf({ ...nsBody, metadata: { ...nsBody.metadata, annotations: { ...nsBody.metadata!.annotations, [STATE_ANNOTATION]: 'ready' } } })!;
  return { info, ...committed, endpoints, durationMs: elapsed(), interrupted: opts.signal?.aborted ?? false };
}

interface PopulateOptions {
  name: string;
  owner: string;
  plan: TemplatePlan;
  wait: boolean;
  checkIsolation: boolean;
  tokenSeconds: number;
  signal: AbortSignal;
  emit: ProgressListener;
  elapsed: () => number;
}

/**
 * Everything create makes inside the new namespace, in order, ending with the commit
 * (state ready). Throws on the first failure, or when the signal aborted before the commit.
 */
async function populateEnvironment(cluster: Cluster, o: PopulateOptions): Promise<{ kubeconfig: string; kubeconfigExpires: Date; isolation?: IsolationCheck }> {
  const { name, plan, emit, signal } = o;
  const ns = cluster.inNamespace(name);
  const checkAborted = () => {
    if (signal.aborted) throw new KdevError('FAILED', `creating environment ${name} was interrupted`);
  };
  await Promise.all(quotaObjects(name, plan).map((o) => applyManifest(ns, o))).catch((err: unknown) => {
    throw quotaError(err);
  });
  // Pods are admitted only once the quota has a status and the default ServiceAccount exists.
  await Promise.all([waitQuotaReady(ns, name, signal), waitServiceAccount(ns, name, 'default', signal)]);
  emit({ type: 'step', step: 'namespace', state: 'done', detail: name });
  checkAborted();

  emit({ type: 'step', step: 'access', state: 'start', detail: o.owner });
  for (const obj of accessObjects(name, o.owner)) await applyObject(ns, obj);
  for (const obj of isolationPolicies(name, plan.network, { podCidrs: await clusterPodCidrs(cluster) })) await applyObject(ns, obj);
  emit({ type: 'step', step: 'access', state: 'done', detail: o.owner });
  checkAborted();

  // The probe runs beside the workloads; its pods leave before create returns.
  if (o.checkIsolation) emit({ type: 'step', step: 'isolation', state: 'start' });
  const probe = o.checkIsolation ? probeIsolation(cluster, name, { signal }) : undefined;
  probe?.catch(() => undefined); // awaited below; an abort must not surface as unhandled
  emit({ type: 'step', step: 'objects', state: 'start', detail: `${plan.objects.length} objects` });
  await Promise.all([...plan.objects, ...plan.workloads.flatMap((w) => (w.source ? [w.source as KubernetesObject] : []))].map((obj) => applyManifest(ns, obj)));
  emit({ type: 'step', step: 'objects', state: 'done' });
  checkAborted();

  emit({ type: 'step', step: 'workloads', state: 'start' });
  await startWorkloads(ns, plan.workloads, o.wait, signal, (w, state, extra) => emit({ type: 'workload', name: w.name, kind: w.kind, state, ...extra, elapsedMs: o.elapsed() }));
  emit({ type: 'step', step: 'workloads', state: 'done' });
  checkAborted();

  const isolation = await probe;
  if (isolation) emit({ type: 'step', step: 'isolation', state: isolation.enforced === false ? 'failed' : 'done', detail: isolation.detail });
  checkAborted();

  emit({ type: 'step', step: 'kubeconfig', state: 'start' });
  const { kubeconfig, expires } = await serviceAccountKubeconfig(ns, name, o.tokenSeconds);
  emit({ type: 'step', step: 'kubeconfig', state: 'done' });
  checkAborted();
  await patchNamespaceAnnotations(cluster, name, { [STATE_ANNOTATION]: 'ready' });
  return { kubeconfig, kubeconfigExpires: expires, isolation };
}

async function nameTaken(cluster: Cluster, name: string): Promise<KdevError> {
  try {
    const ns = await raw.getAs<V1Namespace>(cluster, { apiVersion: 'v1', plural: 'namespaces', name });
    const info = infoOf(ns);
    if (!info) return new KdevError('CONFLICT', `the name "${name}" is taken: a namespace "${name}" exists and is not a kdev environment`, 'Choose another environment name.');
    const until = info.expires ? `, expires ${info.expires.toISOString()}` : '';
    return new KdevError('CONFLICT', `environment "${name}" already exists (owner ${info.owner}, template ${info.template}${until})`, `Choose another name, or delete it first: kdev env delete ${name}.`);
  } catch {
    return new KdevError('CONFLICT', `the name "${name}" is taken`, 'Choose another environment name.');
  }
}

function quotaError(err: unknown): KdevError {
  const e = kubeError(err, 'applying the quota and limits');
  if (e.code === 'INVALID') return new KdevError('INVALID', e.message, 'Check the quota and limits values of template.yaml and --set (quantities such as 500m, 2, 1Gi).', { cause: err });
  return e;
}

function waitQuotaReady(cluster: Cluster, namespace: string, signal: AbortSignal): Promise<void> {
  return watchUntil<V1ResourceQuota, void>(cluster, {
    resource: { apiVersion: 'v1', plural: 'resourcequotas', namespace },
    fieldSelector: `metadata.name=${ENV_QUOTA}`,
    timeoutMs: 60_000,
    signal,
    what: `the ResourceQuota of ${namespace} to be computed`,
    onEvent: (_t, q) => (q.status?.hard && Object.keys(q.status.hard).length > 0 ? { done: true, value: undefined } : { done: false }),
  });
}

function waitServiceAccount(cluster: Cluster, namespace: string, name: string, signal: AbortSignal): Promise<void> {
  return watchUntil<V1ServiceAccount, void>(cluster, {
    resource: { apiVersion: 'v1', plural: 'serviceaccounts', namespace },
    fieldSelector: `metadata.name=${name}`,
    timeoutMs: 60_000,
    signal,
    what: `serviceaccount ${namespace}/${name}`,
    onEvent: (type) => (type !== 'DELETED' ? { done: true, value: undefined } : { done: false }),
  });
}

type WorkloadReport = (w: PlannedWorkload, state: 'applying' | 'waiting' | 'ready' | 'failed', extra?: { message?: string; events?: string[]; logs?: string[] }) => void;

/**
 * Applies each workload as soon as everything it depends on is Ready, and waits for it to
 * be Ready and stable (its settle window passes while its dependents already start: a
 * crash in the window still fails the create). The first failure stops the others and is
 * thrown.
 */
async function startWorkloads(cluster: Cluster, workloads: readonly PlannedWorkload[], wait: boolean, signal: AbortSignal, report: WorkloadReport): Promise<void> {
  if (!wait) {
    for (const w of workloads) {
      report(w, 'applying');
      await applyManifest(cluster, w.object);
      report(w, 'ready', { message: 'applied (not waited for)' });
    }
    return;
  }
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal.addEventListener('abort', onAbort);
  const done = new Map<string, Promise<void>>();
  const ready = new Map<string, { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void }>();
  let first: unknown;
  const run = async (w: PlannedWorkload): Promise<void> => {
    try {
      await Promise.all(w.dependsOn.map((d) => ready.get(d)!.promise));
    } catch {
      throw new Stopped();
    }
    if (stop.signal.aborted) throw new Stopped();
    try {
      report(w, 'applying');
      const applied = await applyManifest(cluster, w.object);
      report(w, 'waiting');
      await waitWorkloadReady(cluster, {
        kind: w.kind,
        name: w.name,
        namespace: cluster.namespace,
        timeoutMs: w.timeoutMs,
        settleMs: w.settleMs,
        signal: stop.signal,
        object: applied,
        onDetail: (message) => report(w, 'waiting', { message }),
        // A workload with a settle window lets its dependents start at its first Ready;
        // one without (a Job, settle 0) when it is reported ready.
        onReady: () => (w.settleMs > 0 && w.kind !== 'Job' && w.kind !== 'CronJob' ? ready.get(w.name)!.resolve() : undefined),
      });
      report(w, 'ready');
    } catch (err) {
      if (stop.signal.aborted) throw new Stopped();
      // The first failure: report it and stop every other wait.
      first = err;
      stop.abort();
      const wf = err instanceof WorkloadFailure ? err : undefined;
      report(w, 'failed', { message: (err as Error).message.split('\n')[0], events: wf?.events, logs: wf?.logs });
      throw err;
    }
  };
  // Dependencies may be listed after their dependents: schedule them first.
  const byName = new Map(workloads.map((w) => [w.name, w]));
  const schedule = (w: PlannedWorkload): void => {
    if (done.has(w.name)) return;
    for (const d of w.dependsOn) schedule(byName.get(d)!);
    let resolve!: () => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    promise.catch(() => undefined);
    ready.set(w.name, { promise, resolve, reject });
    const p = run(w);
    p.then(() => resolve(), reject);
    done.set(w.name, p);
  };
  for (const w of workloads) schedule(w);
  await Promise.allSettled(done.values());
  signal.removeEventListener('abort', onAbort);
  if (first !== undefined) throw first;
  if (signal.aborted) throw new KdevError('FAILED', 'creating the environment was interrupted');
}

/** A workload that did not start because another one failed first. */
class Stopped extends Error {}

// ---------------------------------------------------------------------------------------
// list, get, delete, gc

export async function listEnvironments(cluster: Cluster, opts: { owner?: string } = {}): Promise<EnvironmentInfo[]> {
  const selector = opts.owner ? `${ENV_LABEL},${OWNER_LABEL}=${ownerLabelValue(opts.owner)}` : ENV_LABEL;
  try {
    const list = await raw.listAs<V1Namespace>(cluster, { apiVersion: 'v1', plural: 'namespaces' }, { labelSelector: selector });
    const now = Date.now();
    return list.items
      .map((ns) => infoOf(ns, now))
      .filter((i): i is EnvironmentInfo => i !== undefined)
      .sort((a, b) => a.created.getTime() - b.created.getTime());
  } catch (err) {
    throw kubeError(err, 'listing environments', cluster.server);
  }
}

export async function getEnvironment(cluster: Cluster, name: string): Promise<EnvironmentInfo> {
  return infoOf(await readEnvNamespace(cluster, name))!;
}

/** Deletes an environment (only a namespace kdev made); by default waits until it is gone. */
export async function deleteEnvironment(cluster: Cluster, name: string, opts: { wait?: boolean; onProgress?: ProgressListener } = {}): Promise<EnvironmentInfo> {
  const info = infoOf(await readEnvNamespace(cluster, name))!;
  opts.onProgress?.({ type: 'step', step: 'delete', state: 'start', detail: name });
  await deleteNamespace(cluster, name, opts.wait ?? true);
  opts.onProgress?.({ type: 'step', step: 'delete', state: 'done', detail: name });
  return info;
}

export interface GcResult {
  deleted: EnvironmentInfo[];
  kept: EnvironmentInfo[];
  /** Whose environments were considered: one owner's, or everyone's (`all`). */
  scope: { all: true } | { all: false; owner: string };
}

export interface GcOptions {
  /** Only list what would be deleted. */
  dryRun?: boolean;
  wait?: boolean;
  /** Everyone's environments (an admin's choice); default: the caller's own. */
  all?: boolean;
  /** Whose environments, when not `all`; default: the caller ($KDEV_OWNER, else the API server's name for us). */
  owner?: string;
  now?: Date;
}

/**
 * Deletes expired environments (and creates abandoned for an hour). Only namespaces
 * labelled as kdev's are considered, and by default only the caller's own, so one team's
 * CI schedule never collects another's environments; `all` widens it to everyone's.
 */
/**
 * The environments a cluster-wide command (gc, sleep-idle) acts on: the caller's own (or
 * `owner`'s), every one with `all`. `owner` is undefined for all.
 */
export async function scopedEnvironments(cluster: Cluster, opts: { all?: boolean; owner?: string }): Promise<{ envs: EnvironmentInfo[]; owner?: string }> {
  const owner = opts.all ? undefined : await resolveOwner(cluster, opts.owner);
  // The owner label is a shortened form of the name: the annotation decides.
  const envs = (await listEnvironments(cluster, { owner })).filter((e) => owner === undefined || e.owner === owner);
  return { envs, owner };
}

export async function gcEnvironments(cluster: Cluster, opts: GcOptions = {}): Promise<GcResult> {
  const now = (opts.now ?? new Date()).getTime();
  const { envs: all, owner } = await scopedEnvironments(cluster, opts);
  const doomed = all.filter(
    (e) => e.state !== 'terminating' && ((e.expires !== undefined && e.expires.getTime() <= now) || (e.state === 'creating' && now - e.created.getTime() > STALE_CREATE_MS)),
  );
  if (!opts.dryRun) await Promise.all(doomed.map((e) => deleteNamespace(cluster, e.name, opts.wait ?? false)));
  return { deleted: doomed, kept: all.filter((e) => !doomed.includes(e)), scope: owner === undefined ? { all: true } : { all: false, owner } };
}

/** The lifetimes a token for an environment may have: the TokenRequest API's minimum, a year at most. */
export const TOKEN_SECONDS = { integer: true, min: 600, max: 365 * 86_400, unit: 'seconds' } as const;

/** A fresh kubeconfig for the environment's ServiceAccount. */
export async function environmentKubeconfig(cluster: Cluster, name: string, opts: { seconds?: number } = {}): Promise<{ kubeconfig: string; expires: Date }> {
  if (opts.seconds !== undefined) parseNumberFlag('--duration', opts.seconds, TOKEN_SECONDS);
  const info = infoOf(await readEnvNamespace(cluster, name))!;
  return serviceAccountKubeconfig(cluster.inNamespace(name), name, opts.seconds ?? tokenSecondsFor(info.expires));
}

// ---------------------------------------------------------------------------------------
// sleep and wake

export interface SleepResult {
  /** What changed ("deployment/web: 2 → 0"); empty when it was asleep already. */
  changed: string[];
}

interface Scalable extends KubernetesObject {
  spec?: { replicas?: number; suspend?: boolean };
}

async function listKind(cluster: Cluster, kind: 'Deployment' | 'StatefulSet' | 'CronJob', namespace: string): Promise<Scalable[]> {
  try {
    const { apiVersion, plural } = WORKLOAD_TABLE[kind];
    const list = await raw.listAs<Scalable>(cluster, { apiVersion, plural, namespace });
    return list.items.map((o) => ({ ...o, apiVersion, kind }));
  } catch (err) {
    throw kubeError(err, `listing ${kind}s of ${namespace}`, cluster.server);
  }
}

async function mergePatch(cluster: Cluster, obj: KubernetesObject, patch: Record<string, unknown>): Promise<void> {
  const { apiVersion, plural } = kindSpec(obj.kind ?? '');
  try {
    await raw.patch(cluster, { apiVersion, plural, namespace: obj.metadata?.namespace, name: obj.metadata?.name }, patch, 'merge', `?fieldManager=${FIELD_MANAGER}`);
  } catch (err) {
    throw kubeError(err, `updating ${obj.kind?.toLowerCase()}/${obj.metadata?.name}`, cluster.server);
  }
}

/**
 * Scales every Deployment and StatefulSet to zero and suspends every CronJob, recording
 * what to restore in an annotation on each. Idempotent.
 */
export async function sleepEnvironment(cluster: Cluster, name: string, opts: { onProgress?: ProgressListener } = {}): Promise<SleepResult> {
  await readEnvNamespace(cluster, name);
  opts.onProgress?.({ type: 'step', step: 'sleep', state: 'start', detail: name });
  const changed: string[] = [];
  const [deployments, statefulsets, cronjobs] = await Promise.all([listKind(cluster, 'Deployment', name), listKind(cluster, 'StatefulSet', name), listKind(cluster, 'CronJob', name)]);
  await Promise.all([
    ...[...deployments, ...statefulsets].map(async (o) => {
      const recorded = o.metadata?.annotations?.[SLEEP_REPLICAS_ANNOTATION];
      const replicas = o.spec?.replicas ?? 1;
      if (recorded !== undefined || replicas === 0) return;
      await mergePatch(cluster, o, { metadata: { annotations: { [SLEEP_REPLICAS_ANNOTATION]: String(replicas) } }, spec: { replicas: 0 } });
      changed.push(`${o.kind!.toLowerCase()}/${o.metadata?.name}: ${replicas} → 0`);
    }),
    ...cronjobs.map(async (o) => {
      if (o.metadata?.annotations?.[SLEEP_SUSPEND_ANNOTATION] !== undefined || o.spec?.suspend === true) return;
      await mergePatch(cluster, o, { metadata: { annotations: { [SLEEP_SUSPEND_ANNOTATION]: String(o.spec?.suspend ?? false) } }, spec: { suspend: true } });
      changed.push(`cronjob/${o.metadata?.name}: suspended`);
    }),
  ]);
  await patchNamespaceAnnotations(cluster, name, { [STATE_ANNOTATION]: 'sleeping' });
  opts.onProgress?.({ type: 'step', step: 'sleep', state: 'done', detail: name });
  return { changed: changed.sort() };
}

/**
 * Restores what sleep recorded: replicas (in the template's dependency order, each
 * waited for when `wait`) and CronJobs' suspend. Idempotent.
 */
export async function wakeEnvironment(cluster: Cluster, name: string, opts: { wait?: boolean; onProgress?: ProgressListener; timeoutMs?: number } = {}): Promise<SleepResult> {
  const info = infoOf(await readEnvNamespace(cluster, name))!;
  opts.onProgress?.({ type: 'step', step: 'wake', state: 'start', detail: name });
  const started = Date.now();
  const changed: string[] = [];
  const [deployments, statefulsets, cronjobs] = await Promise.all([listKind(cluster, 'Deployment', name), listKind(cluster, 'StatefulSet', name), listKind(cluster, 'CronJob', name)]);
  const sleeping = [...deployments, ...statefulsets].filter((o) => o.metadata?.annotations?.[SLEEP_REPLICAS_ANNOTATION] !== undefined);
  const order = new Map(info.workloads.map((w) => [`${w.kind}/${w.name}`, w]));
  const deps = (o: Scalable) => order.get(`${o.kind}/${o.metadata?.name}`)?.dependsOn ?? [];
  const woken = new Map<string, Promise<void>>();
  const wakeOne = (o: Scalable): Promise<void> => {
    const key = o.metadata?.name ?? '';
    const known = woken.get(key);
    if (known) return known;
    const p = (async () => {
      const before = sleeping.filter((s) => deps(o).includes(s.metadata?.name ?? ''));
      await Promise.all(before.map(wakeOne));
      const replicas = Number(o.metadata!.annotations![SLEEP_REPLICAS_ANNOTATION]);
      const kind = o.kind as WorkloadKind;
      opts.onProgress?.({ type: 'workload', name: key, kind, state: 'applying', message: `scaling to ${replicas}`, elapsedMs: Date.now() - started });
      await mergePatch(cluster, o, { metadata: { annotations: { [SLEEP_REPLICAS_ANNOTATION]: null } }, spec: { replicas: Number.isInteger(replicas) ? replicas : 1 } });
      changed.push(`${kind.toLowerCase()}/${key}: 0 → ${replicas}`);
      if (opts.wait ?? true) {
        opts.onProgress?.({ type: 'workload', name: key, kind, state: 'waiting', elapsedMs: Date.now() - started });
        await waitWorkloadReady(cluster, { kind, name: key, namespace: name, timeoutMs: opts.timeoutMs ?? 180_000, settleMs: DEFAULT_SETTLE_SECONDS * 1000, onDetail: (message) => opts.onProgress?.({ type: 'workload', name: key, kind, state: 'waiting', message, elapsedMs: Date.now() - started }) });
      }
      opts.onProgress?.({ type: 'workload', name: key, kind, state: 'ready', elapsedMs: Date.now() - started });
    })();
    woken.set(key, p);
    return p;
  };
  await Promise.all([
    ...sleeping.map(wakeOne),
    ...cronjobs.map(async (o) => {
      const recorded = o.metadata?.annotations?.[SLEEP_SUSPEND_ANNOTATION];
      if (recorded === undefined) return;
      await mergePatch(cluster, o, { metadata: { annotations: { [SLEEP_SUSPEND_ANNOTATION]: null } }, spec: { suspend: recorded === 'true' } });
      changed.push(`cronjob/${o.metadata?.name}: resumed`);
    }),
  ]);
  await patchNamespaceAnnotations(cluster, name, { [STATE_ANNOTATION]: 'ready', [ACTIVITY_ANNOTATION]: new Date().toISOString() });
  opts.onProgress?.({ type: 'step', step: 'wake', state: 'done', detail: name });
  return { changed: changed.sort() };
}


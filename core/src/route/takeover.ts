// Service takeover with undo (docs/routing.md). While at least one routed duplicate of a
// workload exists, its Services select kdev's router instead of its pods; each switch is ONE
// write that carries the original selector in an annotation, so `dev end` restores the
// Service from the cluster alone, after a crash at any point. Order of `start`: the route in
// the table ConfigMap first (what `end` reads), then the router, then per Service its fallback
// EndpointSlice (fail open) before its switch. `end` of the last route restores the Services
// first, then removes the router's objects.
import { createHash } from 'node:crypto';
import type { V1Pod } from '@kubernetes/client-node';
import { KdevError } from '../errors.js';
import type { Cluster } from '../kube/client.js';
import { isConflict, isNotFound, kubeError } from '../kube/errors.js';
import { raw, type ObjectPath, type RawObject } from '../kube/raw.js';
import { execCapture } from '../session/exec.js';
import { isPodReady, waitReadyPod } from '../session/target.js';
import type { DevEventHandler } from '../devmode/events.js';
import {
  ROUTER_CONTAINER,
  ROUTER_OF_LABEL,
  ROUTES_KEY,
  TABLE_KEY,
  cmPath,
  createIfMissing,
  deleteIfPresent,
  deployPath,
  ensureRouterCode,
  fallbackSlice,
  routerDeployment,
  serviceBody,
  slicePath,
  svcPath,
  type PodAddress,
} from './objects.js';
import { renderTable, routerPorts, selects, withRoute, type FrontService, type HeldRoute, type RouterPort, type ServiceFacts } from './spec.js';

/** On a Service kdev switched to the router: `{ workload, selector }`, what `end` puts back. */
export const SERVICE_ORIGINAL_ANNOTATION = 'kdev.dev/route-original';

/** A workload as the router sees it; names made by the dev-mode engine (routeTarget). */
export interface RouteTarget {
  /** "deployment/web" */
  what: string;
  namespace: string;
  /** The workload object's path (to read its pod template). */
  path: { apiVersion: string; plural: string; name: string };
  /** Path of the pod template in the object ([] for a bare Pod). */
  templatePath: readonly string[];
  /** ROUTER_OF_LABEL's value. */
  routerOf: string;
  router: string;
  table: string;
  origin: string;
  /** The fallback EndpointSlice's name for a Service. */
  fallback: (service: string) => string;
}

interface SavedService {
  workload: string;
  selector: Record<string, string>;
}

interface Plan {
  /** Selects the original pods (the workload's selector). */
  originSelector: Record<string, string>;
  services: RawObject[];
  ports: RouterPort[];
}

function savedOf(svc: RawObject): SavedService | undefined {
  const text = svc.metadata?.annotations?.[SERVICE_ORIGINAL_ANNOTATION];
  if (!text) return undefined;
  try {
    return JSON.parse(text) as SavedService;
  } catch {
    return undefined;
  }
}

const isKdevService = (svc: RawObject) => svc.metadata?.labels?.[ROUTER_OF_LABEL] !== undefined;

async function listServices(cluster: Cluster, namespace: string): Promise<RawObject[]> {
  try {
    return (await raw.list(cluster, svcPath(namespace))).items;
  } catch (err) {
    throw kubeError(err, `listing the services of ${namespace}`, cluster.server);
  }
}

type Template = { metadata?: { labels?: Record<string, string> }; spec?: { containers?: Array<{ ports?: Array<{ name?: string; containerPort: number }> }> } };

/**
 * The Services that select the workload's pods (a Service switched to the router counts by
 * the selector saved on it; kdev's own, headless and ExternalName Services do not), with the
 * workload's pod template and the selector of its original pods.
 */
async function readFront(cluster: Cluster, t: RouteTarget): Promise<{ services: RawObject[]; template?: Template; originSelector: Record<string, string> }> {
  let obj: RawObject;
  try {
    obj = await raw.get(cluster, { ...t.path, namespace: t.namespace });
  } catch (err) {
    throw kubeError(err, `reading ${t.what}`, cluster.server);
  }
  let template: Template | undefined = obj as Template;
  for (const k of t.templatePath) template = (template as Record<string, Template | undefined> | undefined)?.[k];
  const labels = template?.metadata?.labels ?? {};
  const matchLabels = (obj.spec?.selector as { matchLabels?: Record<string, string> } | undefined)?.matchLabels;
  const originSelector = matchLabels && Object.keys(matchLabels).length > 0 ? matchLabels : labels;
  const services = (await listServices(cluster, t.namespace)).filter((svc) => {
    if (isKdevService(svc) || svc.spec?.type === 'ExternalName' || svc.spec?.clusterIP === 'None') return false;
    const saved = savedOf(svc);
    if (saved && saved.workload !== t.what) return false;
    return selects(saved?.selector ?? (svc.spec?.selector as Record<string, string> | undefined), labels);
  });
  return { services, template, originSelector };
}

/** The Services in front of a workload, for a UI to show (name and first port). */
export async function frontServices(cluster: Cluster, t: RouteTarget): Promise<FrontService[]> {
  const { services } = await readFront(cluster, t);
  return services
    .map((svc) => ({ name: svc.metadata!.name!, namespace: t.namespace, port: (svc.spec?.ports as Array<{ port: number }> | undefined)?.[0]?.port ?? 80 }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Which Services front the workload, with which ports; refuses (changing nothing) what cannot be routed. */
export async function readPlan(cluster: Cluster, t: RouteTarget): Promise<Plan> {
  const { services, template, originSelector } = await readFront(cluster, t);
  if (services.length === 0) {
    throw new KdevError('INVALID', `no Service selects the pods of ${t.what}: there is nothing to route`, `Run a copy without --route (kdev dev start ${t.what} --mode duplicate), or create the Service first.`);
  }
  const facts: ServiceFacts[] = services.map((svc) => ({ name: svc.metadata!.name!, selector: {}, ports: (svc.spec?.ports as ServiceFacts['ports']) ?? [] }));
  const containerPorts = (template?.spec?.containers ?? []).flatMap((c) => c.ports ?? []);
  return { originSelector, services, ports: routerPorts(t.what, facts, containerPorts) };
}

async function readRoutes(cluster: Cluster, t: RouteTarget): Promise<{ cm?: RawObject; routes: HeldRoute[] }> {
  try {
    const cm = await raw.get(cluster, cmPath(t.namespace, t.table));
    return { cm, routes: JSON.parse(((cm.data as Record<string, string> | undefined)?.[ROUTES_KEY]) ?? '[]') as HeldRoute[] };
  } catch (err) {
    if (isNotFound(err)) return { routes: [] };
    throw kubeError(err, `reading configmap/${t.table}`, cluster.server);
  }
}

/** Refuses, before anything changes, a route that cannot be made (no Service, UDP, value taken). */
export async function checkRoute(cluster: Cluster, t: RouteTarget, route: HeldRoute): Promise<void> {
  await readPlan(cluster, t);
  withRoute((await readRoutes(cluster, t)).routes, route, t.what);
}

async function clusterIp(cluster: Cluster, namespace: string, name: string): Promise<string | undefined> {
  try {
    return (await raw.get(cluster, svcPath(namespace, name))).spec?.clusterIP as string | undefined;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw kubeError(err, `reading service/${name}`, cluster.server);
  }
}

/**
 * Changes the routes in the table ConfigMap (compare-and-swap) and renders the router's
 * table from them: default = the origin Service's cluster IP, each route = the cluster IP of
 * its duplicate's Service (a route whose Service is gone, left by a crash, is dropped).
 */
async function writeRoutes(cluster: Cluster, t: RouteTarget, plan: Plan | undefined, change: (routes: HeldRoute[]) => HeldRoute[]): Promise<{ text?: string; routes: HeldRoute[] }> {
  for (let attempt = 0; ; attempt++) {
    const { cm, routes } = await readRoutes(cluster, t);
    let next = change(routes);
    let text = (cm?.data as Record<string, string> | undefined)?.[TABLE_KEY];
    if (plan && next.length > 0) {
      const originIp = await clusterIp(cluster, t.namespace, t.origin);
      if (!originIp) throw new KdevError('FAILED', `service/${t.origin} (the original pods of ${t.what}) is missing`, `Run \`kdev dev end ${t.what}\` and start again.`);
      const withIps: Array<HeldRoute & { ip: string }> = [];
      for (const r of next) {
        const ip = await clusterIp(cluster, t.namespace, r.service);
        if (ip) withIps.push({ ...r, ip });
      }
      next = withIps.map(({ ip: _ip, ...r }) => r);
      text = renderTable(plan.ports, originIp, withIps);
    }
    const body: RawObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: t.table, namespace: t.namespace, labels: { 'app.kubernetes.io/managed-by': 'kdev', [ROUTER_OF_LABEL]: t.routerOf }, resourceVersion: cm?.metadata?.resourceVersion },
      data: { [ROUTES_KEY]: JSON.stringify(next), ...(text ? { [TABLE_KEY]: text } : {}) },
    };
    try {
      if (cm) await raw.replace(cluster, cmPath(t.namespace, t.table), body);
      else await raw.create(cluster, cmPath(t.namespace), body);
      return { text, routes: next };
    } catch (err) {
      if ((isConflict(err) || (err as { code?: number }).code === 409) && attempt < 5) continue;
      throw kubeError(err, `writing configmap/${t.table}`, cluster.server);
    }
  }
}

/** The original pods that are Ready, with their addresses. */
async function originalPods(cluster: Cluster, namespace: string, selector: Record<string, string>): Promise<PodAddress[]> {
  const labelSelector = Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',');
  const pods = await raw.listAs<V1Pod>(cluster, { apiVersion: 'v1', plural: 'pods', namespace }, { labelSelector }).catch((err: unknown) => {
    throw kubeError(err, `listing the pods of ${labelSelector}`, cluster.server);
  });
  return pods.items
    .filter((p) => p.status?.podIP && !p.metadata?.deletionTimestamp && isPodReady(p))
    .map((p) => ({ ip: p.status!.podIP!, node: p.spec?.nodeName, pod: p.metadata!.name! }));
}

async function putObject(cluster: Cluster, path: ObjectPath, body: RawObject, what: string): Promise<void> {
  const name = body.metadata!.name!;
  for (let attempt = 0; ; attempt++) {
    try {
      const current = await raw.get(cluster, { ...path, name }).catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err)));
      if (current) await raw.replace(cluster, { ...path, name }, { ...body, metadata: { ...body.metadata, resourceVersion: current.metadata?.resourceVersion } });
      else await raw.create(cluster, path, body);
      return;
    } catch (err) {
      if ((isConflict(err) || (err as { code?: number }).code === 409) && attempt < 4) continue;
      throw kubeError(err, `writing ${what}`, cluster.server);
    }
  }
}

/** Compare-and-swap on a Service; `build` returns undefined when there is nothing to write. */
async function casService(cluster: Cluster, namespace: string, name: string, build: (svc: RawObject) => RawObject | undefined): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    let current: RawObject;
    try {
      current = await raw.get(cluster, svcPath(namespace, name));
    } catch (err) {
      if (isNotFound(err)) return false;
      throw kubeError(err, `reading service/${name}`, cluster.server);
    }
    const next = build(JSON.parse(JSON.stringify(current)) as RawObject);
    if (!next) return false;
    try {
      await raw.replace(cluster, svcPath(namespace, name), next);
      return true;
    } catch (err) {
      if (isConflict(err) && attempt < 4) continue;
      throw kubeError(err, `updating service/${name}`, cluster.server);
    }
  }
}

/**
 * Per Service: its fallback EndpointSlice (the original pods, refreshed on every route change),
 * then, unless done already, the switch to the router in one write with its undo.
 */
async function switchServices(cluster: Cluster, t: RouteTarget, plan: Plan, emit: DevEventHandler): Promise<void> {
  const pods = await originalPods(cluster, t.namespace, plan.originSelector);
  const containerNumber = new Map<string, number>();
  for (const p of plan.ports) for (const n of p.names) containerNumber.set(n, p.port);
  for (const svc of plan.services) {
    const name = svc.metadata!.name!;
    const ports = ((svc.spec?.ports as Array<{ name?: string; port: number; targetPort?: number | string }>) ?? []).map((p) => {
      const target = p.targetPort ?? p.port;
      return { name: p.name, target: typeof target === 'number' ? target : (containerNumber.get(target) ?? Number(target)) };
    });
    await putObject(cluster, slicePath(t.namespace), fallbackSlice(t.fallback(name), t.namespace, name, ports, pods, t.routerOf), `the fallback endpointslice of service/${name}`);
    const switched = await casService(cluster, t.namespace, name, (current) => {
      if (savedOf(current)) return undefined;
      const saved: SavedService = { workload: t.what, selector: (current.spec?.selector as Record<string, string>) ?? {} };
      current.metadata = { ...current.metadata, annotations: { ...current.metadata?.annotations, [SERVICE_ORIGINAL_ANNOTATION]: JSON.stringify(saved) } };
      current.spec = { ...current.spec, selector: { [ROUTER_OF_LABEL]: t.routerOf } };
      return current;
    });
    if (switched) emit({ type: 'phase', phase: 'patching', message: `service/${name} now goes through the router (its selector is saved on it)` });
  }
}

/**
 * Makes the router pods read `text` now: a pod's ConfigMap volume is refreshed when the
 * kubelet syncs the pod, which an annotation change triggers; then waits until the file in
 * every Ready router pod is `text`, and for the router's re-read (file watch, 500 ms poll).
 */
async function syncRouterPods(cluster: Cluster, t: RouteTarget, text: string, timeoutMs: number): Promise<void> {
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const list = await raw.listAs<V1Pod>(cluster, { apiVersion: 'v1', plural: 'pods', namespace: t.namespace }, { labelSelector: `${ROUTER_OF_LABEL}=${t.routerOf}` });
  const pods = list.items.filter((p) => !p.metadata?.deletionTimestamp && isPodReady(p)).map((p) => p.metadata!.name!);
  const deadline = Date.now() + timeoutMs;
  for (const pod of pods) {
    await raw.patch(cluster, { apiVersion: 'v1', plural: 'pods', namespace: t.namespace, name: pod }, { metadata: { annotations: { 'kdev.dev/table-hash': hash } } }).catch((err: unknown) => {
      if (!isNotFound(err)) throw kubeError(err, `touching pod/${pod}`, cluster.server);
    });
  }
  for (const pod of pods) {
    for (;;) {
      const r = await execCapture(cluster, pod, ROUTER_CONTAINER, ['cat', `/kdev/table/${TABLE_KEY}`], { namespace: t.namespace }).catch(() => undefined);
      if (r?.stdout === text) break;
      if (Date.now() > deadline) throw new KdevError('TIMEOUT', `the router pod/${pod} of ${t.what} did not get the new routing table in time`, `Check it with \`kubectl -n ${t.namespace} logs ${pod}\`.`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  if (pods.length > 0) await new Promise((r) => setTimeout(r, 1200));
}

/**
 * Adds (or renews) a developer's route: the duplicate's Service, the route in the table,
 * the router (created on the first route, waited for until Ready and holding the table),
 * then the Services switched to it.
 */
export async function addRoute(cluster: Cluster, t: RouteTarget, route: HeldRoute, dupSelector: Record<string, string>, opts: { timeoutMs: number; emit: DevEventHandler }): Promise<void> {
  const plan = await readPlan(cluster, t);
  const codeHash = await ensureRouterCode(cluster, t.namespace);
  await createIfMissing(cluster, svcPath(t.namespace), serviceBody(t.origin, t.namespace, plan.originSelector, plan.ports, t.routerOf));
  await createIfMissing(cluster, svcPath(t.namespace), serviceBody(route.service, t.namespace, dupSelector, plan.ports, t.routerOf));
  opts.emit({ type: 'phase', phase: 'patching', message: `routing ${route.header}: ${route.value} to your copy of ${t.what}` });
  const { text } = await writeRoutes(cluster, t, plan, (routes) => withRoute(routes, route, t.what));
  await createIfMissing(cluster, deployPath(t.namespace), routerDeployment(t.router, t.namespace, t.table, t.routerOf, plan.ports, codeHash));
  opts.emit({ type: 'phase', phase: 'starting', message: `waiting for the router of ${t.what}` });
  await waitReadyPod(cluster.inNamespace(t.namespace), `${ROUTER_OF_LABEL}=${t.routerOf}`, opts.timeoutMs, `the router of ${t.what} to be ready`);
  await syncRouterPods(cluster, t, text!, opts.timeoutMs);
  await switchServices(cluster, t, plan, opts.emit);
}

/** Puts back every Service switched for the workload (selector from its annotation, annotation removed). */
async function restoreServices(cluster: Cluster, t: RouteTarget): Promise<string[]> {
  const restored: string[] = [];
  for (const svc of await listServices(cluster, t.namespace)) {
    if (savedOf(svc)?.workload !== t.what) continue;
    const name = svc.metadata!.name!;
    const done = await casService(cluster, t.namespace, name, (current) => {
      const saved = savedOf(current);
      if (saved?.workload !== t.what) return undefined;
      const annotations = { ...current.metadata?.annotations };
      delete annotations[SERVICE_ORIGINAL_ANNOTATION];
      current.metadata = { ...current.metadata, annotations };
      if (Object.keys(annotations).length === 0) delete current.metadata.annotations;
      current.spec = { ...current.spec, selector: saved.selector };
      return current;
    });
    if (done) restored.push(`service/${name}`);
  }
  return restored;
}

/**
 * Removes routes (one developer's, or all with `owner` undefined) and, when none is left,
 * undoes the takeover: Services first (traffic goes straight to the pods again), then the
 * fallback slices, the router, its table and kdev's Services. Returns what it undid. Works
 * from the cluster alone: after a crash at any point of `start` or of an earlier `end`.
 */
export async function removeRoutes(cluster: Cluster, t: RouteTarget, owner: string | undefined, dupService: string | undefined, opts: { timeoutMs: number; emit: DevEventHandler }): Promise<string[]> {
  const undone: string[] = [];
  const { cm, routes } = await readRoutes(cluster, t);
  const mine = (r: HeldRoute) => owner === undefined || r.owner === owner;
  let remaining = routes.filter((r) => !mine(r));
  if (cm && remaining.length !== routes.length) {
    const plan = remaining.length > 0 ? await readPlan(cluster, t) : undefined;
    const written = await writeRoutes(cluster, t, plan, (current) => current.filter((r) => !mine(r)));
    remaining = written.routes;
    undone.push('your route');
    if (remaining.length > 0 && written.text) await syncRouterPods(cluster, t, written.text, opts.timeoutMs);
  }
  for (const r of routes.filter(mine)) await deleteIfPresent(cluster, svcPath(t.namespace, r.service), `service/${r.service}`);
  if (dupService) await deleteIfPresent(cluster, svcPath(t.namespace, dupService), `service/${dupService}`);
  if (remaining.length > 0) return undone;

  const restored = await restoreServices(cluster, t);
  if (restored.length > 0) opts.emit({ type: 'phase', phase: 'restoring', message: `${restored.join(', ')} restored: traffic goes to the pods of ${t.what} again` });
  undone.push(...restored);
  const labelSelector = `${ROUTER_OF_LABEL}=${t.routerOf}`;
  const slices = await raw.list(cluster, slicePath(t.namespace), labelSelector).catch((err: unknown) => {
    throw kubeError(err, 'listing endpointslices', cluster.server);
  });
  for (const s of slices.items) await deleteIfPresent(cluster, slicePath(t.namespace, s.metadata!.name!), `endpointslice/${s.metadata!.name}`);
  if (await deleteIfPresent(cluster, deployPath(t.namespace, t.router), `deployment/${t.router}`)) undone.push('the router');
  await deleteIfPresent(cluster, cmPath(t.namespace, t.table), `configmap/${t.table}`);
  const own = await raw.list(cluster, svcPath(t.namespace), labelSelector).catch((err: unknown) => {
    throw kubeError(err, 'listing services', cluster.server);
  });
  for (const s of own.items) await deleteIfPresent(cluster, svcPath(t.namespace, s.metadata!.name!), `service/${s.metadata!.name}`);
  return undone;
}

/** Is anything of a takeover there for the workload (so that `end` has something to undo)? A 403 on Services means no. */
export async function hasRouting(cluster: Cluster, t: RouteTarget): Promise<boolean> {
  try {
    const svcs = await raw.list(cluster, svcPath(t.namespace), `${ROUTER_OF_LABEL}=${t.routerOf}`);
    if (svcs.items.length > 0) return true;
    await raw.get(cluster, cmPath(t.namespace, t.table));
    return true;
  } catch (err) {
    if (isNotFound(err) || (err as { code?: number }).code === 403) return false;
    throw kubeError(err, `looking for the router of ${t.what}`, cluster.server);
  }
}

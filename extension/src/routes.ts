// Routed duplicates as the extension shows them: who holds which route on which workload
// (read from the leases of the copies in the tree's watched model, as core writes them), the
// Services that front a workload (read once through core's model), and the `curl -H` line
// that reaches my copy.
import { Collection, KINDS, LEASE_ANNOTATION, parseLease, type Cluster, type KubernetesObject, type NamespaceModel } from '@kdev/core';

export interface ShownRoute {
  /** The copy kdev made (a Deployment) that the route reaches. */
  copy: string;
  owner: string;
  header: string;
  value: string;
  startedAt: string;
  mine: boolean;
}

/** The routes held on a workload: each copy whose lease names it (`route.of`), sorted by value. */
export function routesOf(ns: NamespaceModel | undefined, kind: string, name: string, me: string | undefined): ShownRoute[] {
  const of = `${kind.toLowerCase()}/${name}`;
  const out: ShownRoute[] = [];
  for (const d of ns?.items('Deployment') ?? []) {
    const lease = parseLease(d.metadata?.annotations?.[LEASE_ANNOTATION]);
    if (!lease?.route || lease.route.of !== of) continue;
    out.push({ copy: d.metadata?.name ?? '', owner: lease.owner, header: lease.route.header, value: lease.route.value, startedAt: lease.startedAt, mine: me !== undefined && lease.owner === me });
  }
  return out.sort((a, b) => a.value.localeCompare(b.value));
}

/** The route's one-line text: "x-kdev-route: alice". */
export function routeText(r: { header: string; value: string }): string {
  return `${r.header}: ${r.value}`;
}

export interface FrontService {
  name: string;
  namespace: string;
  /** The first port of the Service. */
  port: number;
}

// core's SERVICE_ORIGINAL_ANNOTATION (route/takeover.ts): a Service that kdev switched to the
// router keeps its own selector there, so it still counts as the workload's Service.
const ORIGINAL_ANNOTATION = 'kdev.dev/route-original';

function selectsAll(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  const keys = Object.keys(selector ?? {});
  return keys.length > 0 && keys.every((k) => labels[k] === selector![k]);
}

function selectorOf(svc: KubernetesObject): Record<string, string> | undefined {
  const text = svc.metadata?.annotations?.[ORIGINAL_ANNOTATION];
  if (text) {
    try {
      return (JSON.parse(text) as { selector?: Record<string, string> }).selector;
    } catch {
      // a broken annotation: the Service's own selector stands
    }
  }
  return (svc as { spec?: { selector?: Record<string, string> } }).spec?.selector;
}

/** The labels of the workload's pod template (a bare Pod: its own labels). */
export function templateLabels(kind: string, obj: KubernetesObject | undefined): Record<string, string> {
  const spec = KINDS.find((k) => k.kind === kind);
  let at: unknown = obj;
  for (const key of spec?.templatePath ?? []) at = (at as Record<string, unknown> | undefined)?.[key];
  return ((at as KubernetesObject | undefined)?.metadata?.labels as Record<string, string> | undefined) ?? {};
}

/**
 * The Services (kdev's own left out) that select the workload's pods, listed once through
 * core's model collection. Empty when there are none (a routed start is not offered).
 */
export async function servicesOf(cluster: Cluster, labels: Record<string, string>): Promise<FrontService[]> {
  const c = new Collection<KubernetesObject>(cluster, { apiVersion: 'v1', kind: 'Service', plural: 'services', namespace: cluster.namespace }, () => undefined);
  try {
    await c.ready;
    if (c.error) throw c.error;
    return c
      .items()
      .filter((s) => s.metadata?.labels?.['kdev.dev/router-of'] === undefined && selectsAll(selectorOf(s), labels))
      .map((s) => ({ name: s.metadata?.name ?? '', namespace: cluster.namespace, port: (s as { spec?: { ports?: Array<{ port: number }> } }).spec?.ports?.[0]?.port ?? 80 }))
      .sort((a, b) => a.name.localeCompare(b.name));
  } finally {
    c.dispose();
  }
}

/** `curl -H 'x-kdev-route: alice' http://web.shop/` (the port when it is not 80). */
export function curlLine(r: { header: string; value: string }, svc: FrontService): string {
  const quoted = `'${routeText(r).replace(/'/g, `'\\''`)}'`;
  return `curl -H ${quoted} http://${svc.name}.${svc.namespace}${svc.port === 80 ? '' : `:${svc.port}`}/`;
}

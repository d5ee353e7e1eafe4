// Routed duplicates as the extension shows them: who holds which route on which workload,
// read from the leases of the copies in the tree's watched model, as core writes them.
import { LEASE_ANNOTATION, parseLease, type NamespaceModel } from '@kdev/core';

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

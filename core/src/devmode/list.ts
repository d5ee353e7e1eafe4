// What is in a namespace, and who has what in dev mode: `kdev ls` and `kdev dev status`.
import type { Cluster } from '../kube/client.js';
import { kubeError } from '../kube/errors.js';
import { raw, type RawObject } from '../kube/raw.js';
import { getPath, KINDS, kindSpec, type KindSpec } from './kinds.js';
import { parseLease, type Lease } from './lease.js';
import { COPY_OF_ANNOTATION, DEV_LABEL, DUPLICATE_LABEL, LEASE_ANNOTATION } from './patch.js';
import { KdevError } from '../errors.js';
import { isNotFound } from '../kube/errors.js';

export interface WorkloadInfo {
  kind: string;
  name: string;
  namespace: string;
  /** The kind's status line from the kinds table ("1/2 ready", "suspended"). */
  ready: string;
  images: string[];
  /** Present when the workload (or a copy of it) is in dev mode. */
  dev?: Lease & { via?: string };
  /** A copy kdev made (generated for a DaemonSet/Job/CronJob, or a duplicate). */
  managedByKdev: boolean;
  /** For a copy generated for a DaemonSet/Job/CronJob: that workload ("cronjob/nightly"). */
  copyOf?: string;
}

function imagesOf(kind: KindSpec, obj: RawObject): string[] {
  const spec = kind.templatePath.length === 0 ? obj.spec : (getPath(obj, [...kind.templatePath, 'spec']) as Record<string, unknown> | undefined);
  return ((spec?.containers as Array<{ image?: string }> | undefined) ?? []).map((c) => c.image ?? '');
}

/** Workloads of the cluster's namespace, optionally of one kind. Owned objects (a Deployment's ReplicaSets, a controller's pods) are left out. */
export async function listWorkloads(cluster: Cluster, kindName?: string): Promise<WorkloadInfo[]> {
  const kinds = kindName ? [kindSpec(kindName)] : KINDS;
  const namespace = cluster.namespace;
  const out: WorkloadInfo[] = [];
  for (const kind of kinds) {
    let items: RawObject[];
    try {
      items = (await raw.list(cluster, { apiVersion: kind.apiVersion, plural: kind.plural, namespace })).items;
    } catch (err) {
      throw kubeError(err, `listing ${kind.plural} in ${namespace}`, cluster.server);
    }
    for (const obj of items) {
      const owned = obj.metadata?.ownerReferences?.some((o) => o.controller);
      // A dev pod of a bare Pod is that Pod; other owned objects show under their owner.
      if (owned) continue;
      const lease = parseLease(obj.metadata?.annotations?.[LEASE_ANNOTATION]);
      const labels = obj.metadata?.labels ?? {};
      // Generated copies and duplicates are Deployments that kdev itself created.
      const managedByKdev = kind.kind === 'Deployment' && labels['app.kubernetes.io/managed-by'] === 'kdev' && (labels[DEV_LABEL] !== undefined || labels[DUPLICATE_LABEL] !== undefined);
      const copyOf = managedByKdev && labels[DUPLICATE_LABEL] === undefined ? obj.metadata?.annotations?.[COPY_OF_ANNOTATION] : undefined;
      out.push({ kind: kind.kind, name: obj.metadata!.name!, namespace, ready: kind.statusText(obj), images: imagesOf(kind, obj), dev: lease, managedByKdev, ...(copyOf ? { copyOf } : {}) });
    }
  }
  if (out.length === 0) await checkNamespaceExists(cluster);
  return out;
}

/** An empty list from a namespace that does not exist is an error, not "no workloads". */
async function checkNamespaceExists(cluster: Cluster): Promise<void> {
  try {
    await raw.get(cluster, { apiVersion: 'v1', plural: 'namespaces', name: cluster.namespace });
  } catch (err) {
    if (isNotFound(err)) {
      throw new KdevError('NOT_FOUND', `namespace ${cluster.namespace} does not exist`, 'Check the name given with -n (or the context\'s namespace); `kubectl get namespaces` lists them.');
    }
    // Without the right to read namespaces the empty list stands.
    if ((err as { code?: number }).code !== 403) throw kubeError(err, `reading namespace ${cluster.namespace}`, cluster.server);
  }
}

/**
 * The workloads in dev mode in the namespace (theirs and mine): every row of
 * `listWorkloads` with a lease, less the generated copies whose workload shows the same
 * dev mode. A copy whose workload is not in dev mode (left by an interrupted `end`) shows.
 */
export async function devStatus(cluster: Cluster): Promise<WorkloadInfo[]> {
  const all = await listWorkloads(cluster);
  const inDev = new Set(all.filter((w) => w.dev !== undefined && w.copyOf === undefined).map((w) => `${w.kind.toLowerCase()}/${w.name}`));
  return all.filter((w) => w.dev !== undefined && !(w.managedByKdev && w.dev.mode !== 'duplicate' && (w.copyOf === undefined || inDev.has(w.copyOf))));
}

// Server-side apply of manifests: the same call creates or updates, so it is idempotent.
import { PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import type { Cluster } from './client.js';
import { kubeError } from './errors.js';

export const FIELD_MANAGER = 'kdev';

export async function applyObject<T extends KubernetesObject>(cluster: Cluster, obj: T): Promise<T> {
  const what = `applying ${obj.kind}/${obj.metadata?.name ?? '?'}`;
  try {
    return await cluster.objects.patch(obj, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
  } catch (err) {
    throw kubeError(err, what, cluster.server);
  }
}

export async function applyAll(cluster: Cluster, objects: readonly KubernetesObject[]): Promise<KubernetesObject[]> {
  const out: KubernetesObject[] = [];
  for (const obj of objects) out.push(await applyObject(cluster, obj));
  return out;
}

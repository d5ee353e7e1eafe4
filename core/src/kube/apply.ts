// Server-side apply of manifests: the same call creates or updates, so it is idempotent.
// Objects travel as plain JSON (no typed models), so no field is renamed or dropped.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Cluster } from './client.js';
import { kubeError } from './errors.js';
import { raw, resourceFor, type RawObject } from './raw.js';

export const FIELD_MANAGER = 'kdev';

export async function applyObject<T extends KubernetesObject>(cluster: Cluster, obj: T): Promise<T> {
  const name = obj.metadata?.name ?? '?';
  const what = `applying ${obj.kind}/${name}`;
  try {
    const { plural, namespaced } = await resourceFor(cluster, obj.apiVersion ?? 'v1', obj.kind ?? '');
    const namespace = namespaced ? (obj.metadata?.namespace ?? cluster.namespace) : undefined;
    const body = { ...obj, metadata: { ...obj.metadata, ...(namespace ? { namespace } : {}) } } as unknown as RawObject;
    const query = `?fieldManager=${FIELD_MANAGER}&force=true`;
    return (await raw.patch(cluster, { apiVersion: obj.apiVersion ?? 'v1', plural, namespace, name }, body, 'apply', query)) as unknown as T;
  } catch (err) {
    throw kubeError(err, what, cluster.server);
  }
}

export async function applyAll(cluster: Cluster, objects: readonly KubernetesObject[]): Promise<KubernetesObject[]> {
  const out: KubernetesObject[] = [];
  for (const obj of objects) out.push(await applyObject(cluster, obj));
  return out;
}

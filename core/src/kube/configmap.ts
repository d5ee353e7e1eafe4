// A ConfigMap that kdev owns and ships code in (the supervisor, the sync sidecar): created
// when missing, replaced only when its content hash changed. Several dev starts in one
// namespace may race on it: on a conflict, read again and decide again.
import type { V1ConfigMap } from '@kubernetes/client-node';
import type { Cluster } from './client.js';
import { isConflict, isNotFound, kubeError } from './errors.js';
import { raw, type ObjectPath, type RawObject } from './raw.js';

export const CONTENT_HASH_ANNOTATION = 'kdev.dev/content-hash';

/** Returns whether it wrote. `body` must carry its hash in CONTENT_HASH_ANNOTATION. */
export async function ensureHashedConfigMap(cluster: Cluster, namespace: string, body: V1ConfigMap): Promise<boolean> {
  const name = body.metadata!.name!;
  const hash = body.metadata?.annotations?.[CONTENT_HASH_ANNOTATION];
  const desired: V1ConfigMap = { ...body, metadata: { ...body.metadata, namespace } };
  const path: ObjectPath = { apiVersion: 'v1', plural: 'configmaps', namespace, name };
  for (let attempt = 0; ; attempt++) {
    let current: V1ConfigMap | undefined;
    try {
      current = await raw.getAs<V1ConfigMap>(cluster, path);
    } catch (e) {
      if (!isNotFound(e)) throw kubeError(e, `reading configmap/${name}`, cluster.server);
    }
    try {
      if (!current) {
        await raw.create(cluster, path, { apiVersion: 'v1', kind: 'ConfigMap', ...desired } as RawObject);
        return true;
      }
      if (hash !== undefined && current.metadata?.annotations?.[CONTENT_HASH_ANNOTATION] === hash) return false;
      await raw.replace(cluster, path, { apiVersion: 'v1', kind: 'ConfigMap', ...desired, metadata: { ...desired.metadata, resourceVersion: current.metadata?.resourceVersion } } as RawObject);
      return true;
    } catch (e) {
      if (isConflict(e) && attempt < 3) continue;
      throw kubeError(e, `writing configmap/${name}`, cluster.server);
    }
  }
}

// A ConfigMap that kdev owns and ships code in (the supervisor, the sync sidecar): created
// when missing, replaced only when its content hash changed. Several dev starts in one
// namespace may race on it: on a conflict, read again and decide again.
import type { V1ConfigMap } from '@kubernetes/client-node';
import type { Cluster } from './client.js';
import { isConflict, isNotFound, kubeError } from './errors.js';

export const CONTENT_HASH_ANNOTATION = 'kdev.dev/content-hash';

/** Returns whether it wrote. `body` must carry its hash in CONTENT_HASH_ANNOTATION. */
export async function ensureHashedConfigMap(cluster: Cluster, namespace: string, body: V1ConfigMap): Promise<boolean> {
  const name = body.metadata!.name!;
  const hash = body.metadata?.annotations?.[CONTENT_HASH_ANNOTATION];
  const desired: V1ConfigMap = { ...body, metadata: { ...body.metadata, namespace } };
  for (let attempt = 0; ; attempt++) {
    let current: V1ConfigMap | undefined;
    try {
      current = await cluster.core.readNamespacedConfigMap({ name, namespace });
    } catch (e) {
      if (!isNotFound(e)) throw kubeError(e, `reading configmap/${name}`, cluster.server);
    }
    try {
      if (!current) {
        await cluster.core.createNamespacedConfigMap({ namespace, body: desired });
        return true;
      }
      if (hash !== undefined && current.metadata?.annotations?.[CONTENT_HASH_ANNOTATION] === hash) return false;
      await cluster.core.replaceNamespacedConfigMap({ name, namespace, body: { ...desired, metadata: { ...desired.metadata, resourceVersion: current.metadata?.resourceVersion } } });
      return true;
    } catch (e) {
      if (isConflict(e) && attempt < 3) continue;
      throw kubeError(e, `writing configmap/${name}`, cluster.server);
    }
  }
}

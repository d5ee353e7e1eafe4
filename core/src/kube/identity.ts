// Who we are to the API server: asked once per cluster connection (SelfSubjectReview) and
// cached, so that dev mode, environments and the session commands never ask twice.
import type { KubeConfig, V1SelfSubjectReview } from '@kubernetes/client-node';
import type { Cluster } from './client.js';
import { kubeError } from './errors.js';
import { raw } from './raw.js';

/** One answer per KubeConfig (a Cluster and its inNamespace() copies share theirs). */
const asked = new WeakMap<KubeConfig, Promise<string | undefined>>();

/**
 * The user name the API server sees for our credentials; undefined when the server has no
 * SelfSubjectReview (or may not answer it). An unreachable server or rejected credentials
 * throw, and are not cached (the next call asks again).
 */
export function serverIdentity(cluster: Cluster): Promise<string | undefined> {
  let answer = asked.get(cluster.kc);
  if (answer) return answer;
  answer = (async () => {
    try {
      const review = await raw.create<V1SelfSubjectReview>(cluster, { apiVersion: 'authentication.k8s.io/v1', plural: 'selfsubjectreviews' }, { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
      return review.status?.userInfo?.username || undefined;
    } catch (err) {
      const e = kubeError(err, 'asking the API server who we are', cluster.server);
      if (e.code === 'UNREACHABLE' || e.code === 'UNAUTHORIZED' || e.code === 'TLS') throw e;
      return undefined; // an older server, or no permission: callers fall back to the kubeconfig
    }
  })();
  asked.set(cluster.kc, answer);
  answer.catch(() => asked.delete(cluster.kc));
  return answer;
}

/** Who the API server says we are: the identity a dev lease names ($KDEV_OWNER overrides). */
export async function whoAmI(cluster: Cluster): Promise<string> {
  if (process.env.KDEV_OWNER) return process.env.KDEV_OWNER;
  return (await serverIdentity(cluster)) ?? cluster.kc.getCurrentUser()?.name ?? 'unknown';
}

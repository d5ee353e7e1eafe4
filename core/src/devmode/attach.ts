// Attaching to a workload in dev mode: the file sync into its dev container, and the lease
// kept fresh while attached. The dev pod may be replaced (a node restart, a rollout): the
// sync finds the current one by the session's label selector, by watch.
import type { V1Pod } from '@kubernetes/client-node';
import type { Cluster } from '../kube/client.js';
import { kubeError } from '../kube/errors.js';
import type { SyncConfig } from '../config/schema.js';
import { SyncSession, type MassDeleteInfo } from '../sync/session.js';
import { renewLease, type DevSession } from './engine.js';
import { waitDevPod } from './wait.js';

function isReady(pod: V1Pod, session: DevSession): boolean {
  const c = pod.spec?.containers.find((x) => x.name === session.container);
  return (
    !pod.metadata?.deletionTimestamp &&
    c?.image === session.image &&
    (pod.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') ?? false)
  );
}

/** The current dev pod of a session: a Ready one now, or the next to become Ready. */
export async function currentDevPod(cluster: Cluster, session: DevSession, timeoutMs = 180_000): Promise<string> {
  let pods: V1Pod[];
  try {
    pods = (await cluster.core.listNamespacedPod({ namespace: session.namespace, labelSelector: session.podSelector })).items;
  } catch (err) {
    throw kubeError(err, `finding the dev pod of ${session.workload}`, cluster.server);
  }
  const ready = pods.find((p) => isReady(p, session));
  if (ready) return ready.metadata!.name!;
  const pod = await waitDevPod(cluster, { namespace: session.namespace, labelSelector: session.podSelector, container: session.container, image: session.image, timeoutMs });
  return pod.metadata!.name!;
}

export interface AttachSyncOptions {
  /** Absolute local folder. */
  localRoot: string;
  sync: Pick<SyncConfig, 'mode' | 'ignore' | 'deleteLocal'>;
  confirmMassDelete?: (info: MassDeleteInfo) => Promise<boolean>;
}

/** A sync session from a local folder into the session's dev container (not started yet). */
export function syncSessionFor(cluster: Cluster, session: DevSession, opts: AttachSyncOptions): SyncSession {
  const inNamespace = cluster.inNamespace(session.namespace);
  return new SyncSession({
    cluster: inNamespace,
    namespace: session.namespace,
    localRoot: opts.localRoot,
    config: opts.sync,
    resolvePod: () => currentDevPod(inNamespace, session),
    confirmMassDelete: opts.confirmMassDelete,
  });
}

/**
 * Renews the lease every `everyMs` while attached; `onLost` is called once if the lease
 * stops being ours (taken over, or dev mode ended elsewhere). Returns a stop function.
 */
export function keepLease(cluster: Cluster, session: DevSession, onLost: () => void, everyMs = 30_000): () => void {
  let stopped = false;
  const timer = setInterval(() => {
    renewLease(cluster.inNamespace(session.namespace), session).then(
      (mine) => {
        if (!mine && !stopped) {
          stopped = true;
          clearInterval(timer);
          onLost();
        }
      },
      () => undefined, // a failed renewal is retried at the next tick
    );
  }, everyMs);
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}

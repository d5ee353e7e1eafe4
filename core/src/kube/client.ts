// Cluster access the kubectl way: KUBECONFIG or --kubeconfig, --context, -n/--namespace,
// and the context's own namespace as the default.
import { existsSync } from 'node:fs';
import {
  AppsV1Api,
  AutoscalingV2Api,
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  RbacAuthorizationV1Api,
  NetworkingV1Api,
} from '@kubernetes/client-node';
import { KdevError } from '../errors.js';

export interface ClusterOptions {
  /** A kubeconfig file; otherwise $KUBECONFIG, then ~/.kube/config. */
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

/** A connection to one cluster and one namespace, with the typed API clients core uses. */
export class Cluster {
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly batch: BatchV1Api;
  readonly autoscaling: AutoscalingV2Api;
  readonly rbac: RbacAuthorizationV1Api;
  readonly networking: NetworkingV1Api;
  readonly objects: KubernetesObjectApi;

  constructor(
    readonly kc: KubeConfig,
    readonly namespace: string,
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.apps = kc.makeApiClient(AppsV1Api);
    this.batch = kc.makeApiClient(BatchV1Api);
    this.autoscaling = kc.makeApiClient(AutoscalingV2Api);
    this.rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    this.networking = kc.makeApiClient(NetworkingV1Api);
    this.objects = KubernetesObjectApi.makeApiClient(kc);
  }

  get contextName(): string {
    return this.kc.getCurrentContext();
  }

  get server(): string {
    return this.kc.getCurrentCluster()?.server ?? '(unknown server)';
  }

  /** The same cluster and credentials, another namespace. */
  inNamespace(namespace: string): Cluster {
    return new Cluster(this.kc, namespace);
  }
}

export function connect(opts: ClusterOptions = {}): Cluster {
  const kc = new KubeConfig();
  const file = opts.kubeconfig;
  try {
    if (file !== undefined) {
      if (!existsSync(file)) {
        throw new KdevError('NO_CLUSTER', `kubeconfig ${file} does not exist`, 'Pass --kubeconfig with an existing file, or set KUBECONFIG.');
      }
      kc.loadFromFile(file);
    } else {
      kc.loadFromDefault();
    }
  } catch (err) {
    if (err instanceof KdevError) throw err;
    throw new KdevError('NO_CLUSTER', `cannot read the kubeconfig: ${(err as Error).message}`, 'Check the file named by --kubeconfig or KUBECONFIG.', { cause: err });
  }
  if (kc.getContexts().length === 0) {
    throw new KdevError(
      'NO_CLUSTER',
      'no Kubernetes cluster is configured (no kubeconfig context found)',
      'Set KUBECONFIG or pass --kubeconfig; for a local cluster run `npm run cluster:up`.',
    );
  }
  if (opts.context !== undefined) {
    if (kc.getContextObject(opts.context) === null) {
      const known = kc.getContexts().map((c) => c.name).join(', ');
      throw new KdevError('NO_CLUSTER', `context "${opts.context}" is not in the kubeconfig`, `Known contexts: ${known}.`);
    }
    kc.setCurrentContext(opts.context);
  }
  const ctx = kc.getContextObject(kc.getCurrentContext());
  const namespace = opts.namespace ?? ctx?.namespace ?? 'default';
  return new Cluster(kc, namespace);
}

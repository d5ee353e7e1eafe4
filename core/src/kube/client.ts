// Cluster access the kubectl way: KUBECONFIG or --kubeconfig, --context, -n/--namespace,
// and the context's own namespace as the default.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
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
import { checkNamespace } from '../input.js';

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

const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

function noCluster(detail: string): KdevError {
  return new KdevError(
    'NO_CLUSTER',
    `no Kubernetes cluster is configured (${detail})`,
    'Set KUBECONFIG or pass --kubeconfig with a kubeconfig file, or create ~/.kube/config; for the local test cluster run `npm run cluster:up`.',
  );
}

/**
 * Loads the kubeconfig the kubectl way: --kubeconfig, else every existing file of
 * $KUBECONFIG, else ~/.kube/config, else the in-cluster ServiceAccount. Unlike the
 * client library, never falls back to an unauthenticated http://localhost:8080.
 */
function loadKubeConfig(kc: KubeConfig, file: string | undefined): void {
  if (file !== undefined) {
    if (!existsSync(file)) {
      throw new KdevError('NO_CLUSTER', `kubeconfig ${file} does not exist`, 'Pass --kubeconfig with an existing file, or set KUBECONFIG.');
    }
    kc.loadFromFile(file);
    return;
  }
  const listed = (process.env.KUBECONFIG ?? '').split(delimiter).filter((f) => f.length > 0);
  if (listed.length > 0) {
    const files = listed.filter((f) => existsSync(f));
    if (files.length === 0) throw noCluster(`KUBECONFIG names ${listed.join(', ')}, which does not exist`);
    kc.loadFromFile(files[0]!);
    for (const f of files.slice(1)) {
      const more = new KubeConfig();
      more.loadFromFile(f);
      kc.mergeConfig(more, true);
    }
    return;
  }
  const home = join(homedir(), '.kube', 'config');
  if (existsSync(home)) kc.loadFromFile(home);
  else if (existsSync(IN_CLUSTER_TOKEN) && process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
  else throw noCluster('no KUBECONFIG, no ~/.kube/config');
}

/** Parses every certificate of a PEM bundle (TLS itself ignores what it cannot parse, and then trusts nothing). */
function pemCertificates(pem: Buffer): X509Certificate[] {
  const blocks = pem.toString('latin1').match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error('no PEM certificate');
  return blocks.map((b) => new X509Certificate(b));
}

/** Certificate data that cannot be used at all (not PEM, a key that does not fit): said before any request. */
function checkCertificates(kc: KubeConfig): void {
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  const read = (file: string | undefined, data: string | undefined) => (data ? Buffer.from(data, 'base64') : file ? readFileSync(file) : undefined);
  const parts: { what: string; hint: string; use: () => void }[] = [
    {
      what: `certificate-authority${cluster?.caData ? '-data' : ''} of cluster "${cluster?.name}"`,
      hint: 'It must be the PEM certificate of the cluster\'s certificate authority: fetch a fresh kubeconfig from the cluster\'s admin or provider.',
      use: () => {
        const ca = read(cluster?.caFile, cluster?.caData);
        if (ca) pemCertificates(ca);
      },
    },
    {
      what: `client-certificate and client-key of user "${user?.name}"`,
      hint: 'They must be a PEM certificate and its private key: fetch fresh credentials (or a fresh kubeconfig).',
      use: () => {
        const cert = read(user?.certFile, user?.certData);
        const key = read(user?.keyFile, user?.keyData);
        if (cert || key) createSecureContext({ cert, key });
      },
    },
  ];
  for (const part of parts) {
    try {
      part.use();
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? `a file it names does not exist (${(err as Error).message})` : 'it is not a valid PEM certificate (or key)';
      throw new KdevError('NO_CLUSTER', `the kubeconfig's ${part.what} cannot be used: ${reason}`, part.hint, { cause: err });
    }
  }
}

export function connect(opts: ClusterOptions = {}): Cluster {
  if (opts.namespace !== undefined) checkNamespace(opts.namespace);
  const kc = new KubeConfig();
  try {
    loadKubeConfig(kc, opts.kubeconfig);
  } catch (err) {
    if (err instanceof KdevError) throw err;
    throw new KdevError('NO_CLUSTER', `cannot read the kubeconfig: ${(err as Error).message}`, 'Check the file named by --kubeconfig or KUBECONFIG.', { cause: err });
  }
  if (kc.getContexts().length === 0) throw noCluster('the kubeconfig has no context');
  const known = () => kc.getContexts().map((c) => c.name).join(', ');
  if (opts.context !== undefined) {
    if (kc.getContextObject(opts.context) === null) {
      throw new KdevError('NO_CLUSTER', `context "${opts.context}" is not in the kubeconfig`, `Known contexts: ${known()}.`);
    }
    kc.setCurrentContext(opts.context);
  }
  const ctx = kc.getContextObject(kc.getCurrentContext());
  if (!ctx) throw new KdevError('NO_CLUSTER', 'the kubeconfig has no current context', `Pass --context with one of: ${known()}.`);
  if (!kc.getCurrentCluster()?.server) {
    throw new KdevError('NO_CLUSTER', `context "${ctx.name}" names cluster "${ctx.cluster}", which the kubeconfig does not define (or gives no server)`, 'Fix the kubeconfig, or pass --context with another context.');
  }
  checkCertificates(kc);
  const namespace = opts.namespace ?? ctx.namespace ?? 'default';
  return new Cluster(kc, namespace);
}

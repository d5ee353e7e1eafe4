// The live model of a cluster for a UI's tree (the VS Code extension's), kept current by
// list+watch (client-node informers), never by polling.
// One Collection is one list+watch of a resource (in one namespace or cluster-wide); they are
// started when the user expands the node that needs them and stopped when the tree is reset.
import { connect, type Cluster } from '../kube/client.js';
import { kubeError } from '../kube/errors.js';
import type { KdevError } from '../errors.js';
import { collectionPath } from '../kube/watch.js';
import { whoAmI } from '../devmode/lease.js';
import { KINDS, type KindSpec } from '../devmode/kinds.js';
import { KubeConfig, makeInformer, type KubernetesObject, type Informer, type ObjectCache } from '@kubernetes/client-node';

/** What changed: a context's namespaces or identity, or the objects of one namespace. */
export interface Scope {
  context: string;
  namespace?: string;
}

export type Listener = () => void;

/** One list+watch. `ready` settles after the first list, with the error if it failed. */
export class Collection<T extends KubernetesObject> {
  private informer: (Informer<T> & ObjectCache<T>) | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs = 1000;
  private disposed = false;
  error: KdevError | undefined;
  readonly ready: Promise<void>;

  constructor(
    private readonly cluster: Cluster,
    private readonly resource: { apiVersion: string; kind: string; plural: string; namespace?: string },
    private readonly onChange: Listener,
  ) {
    this.ready = this.start();
  }

  private async start(): Promise<void> {
    if (this.disposed) return;
    const { apiVersion, kind, plural, namespace } = this.resource;
    const path = collectionPath({ apiVersion, plural, namespace });
    const informer = makeInformer<T>(this.cluster.kc, path, () => this.cluster.objects.list<T>(apiVersion, kind, namespace));
    this.informer = informer;
    let failed: unknown;
    informer.on('change', () => {
      this.error = undefined;
      this.retryDelayMs = 1000;
      this.onChange();
    });
    informer.on('error', (err: unknown) => {
      failed = err;
      this.error = kubeError(err, `watching ${plural}${namespace ? ` in namespace ${namespace}` : ''}`, this.cluster.server);
      this.onChange();
      this.scheduleRetry();
    });
    await informer.start().catch((err: unknown) => {
      failed = err;
      this.error = kubeError(err, `listing ${plural}`, this.cluster.server);
      this.scheduleRetry();
    });
    if (failed === undefined) this.error = undefined;
  }

  /** A dropped or failed watch reconnects with backoff (1 s doubling to 30 s). */
  private scheduleRetry(): void {
    if (this.disposed || this.retryTimer) return;
    // Forbidden and missing resources do not heal by themselves: the user refreshes.
    if (this.error && ['FORBIDDEN', 'UNAUTHORIZED', 'NOT_FOUND'].includes(this.error.code)) return;
    const delay = this.retryDelayMs;
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, 30_000);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.informer?.stop().then(() => this.start());
    }, delay);
  }

  items(): readonly T[] {
    return this.informer?.list() ?? [];
  }

  get(name: string, namespace?: string): T | undefined {
    return this.informer?.get(name, namespace);
  }

  dispose(): void {
    this.disposed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    void this.informer?.stop();
  }
}

/** The objects of one namespace: every workload kind of the tree, pods included. */
export class NamespaceModel {
  readonly collections = new Map<string, Collection<KubernetesObject>>();

  constructor(
    readonly cluster: Cluster,
    onChange: Listener,
  ) {
    for (const k of KINDS) {
      this.collections.set(k.kind, new Collection(cluster, { apiVersion: k.apiVersion, kind: k.kind, plural: k.plural, namespace: cluster.namespace }, onChange));
    }
  }

  /** Settles when every collection has listed once; returns the first error, if any. */
  async ready(): Promise<KdevError | undefined> {
    await Promise.all([...this.collections.values()].map((c) => c.ready));
    return [...this.collections.values()].find((c) => c.error)?.error;
  }

  items<T extends KubernetesObject>(kind: KindSpec | string): readonly T[] {
    const name = typeof kind === 'string' ? kind : kind.kind;
    return (this.collections.get(name)?.items() ?? []) as readonly T[];
  }

  get<T extends KubernetesObject>(kind: string, name: string): T | undefined {
    return this.collections.get(kind)?.get(name, this.cluster.namespace) as T | undefined;
  }

  /** The workload a pod belongs to: Deployment over its ReplicaSet, CronJob over its Job. */
  topOwner(pod: KubernetesObject): { kind: string; name: string } | undefined {
    const direct = controllerOf(pod);
    if (!direct) return undefined;
    if (direct.kind === 'ReplicaSet' || direct.kind === 'Job') {
      const parent = this.get(direct.kind, direct.name);
      const up = parent ? controllerOf(parent) : undefined;
      if (up) return up;
    }
    return direct;
  }

  /** Pods of a workload, matched through owner references. */
  podsOf(kind: string, name: string): KubernetesObject[] {
    return this.items('Pod').filter((p) => {
      const direct = controllerOf(p);
      if (direct?.kind === kind && direct.name === name) return true;
      const top = this.topOwner(p);
      return top?.kind === kind && top.name === name;
    });
  }

  dispose(): void {
    for (const c of this.collections.values()) c.dispose();
  }
}

export function controllerOf(obj: KubernetesObject): { kind: string; name: string } | undefined {
  const ref = obj.metadata?.ownerReferences?.find((r) => r.controller) ?? obj.metadata?.ownerReferences?.[0];
  return ref ? { kind: ref.kind, name: ref.name } : undefined;
}

/** One kubeconfig context: its namespaces (watched) and the namespaces the user opened. */
export class ContextModel {
  private namespaceList: Collection<KubernetesObject> | undefined;
  private readonly opened = new Map<string, NamespaceModel>();
  private identity: string | undefined;
  private asking: Promise<string | undefined> | undefined;

  constructor(
    readonly cluster: Cluster,
    private readonly onChange: (scope: Scope) => void,
  ) {}

  private get name(): string {
    return this.cluster.contextName;
  }

  /**
   * Who the API server says we are (core's whoAmI, the name a dev lease carries), asked
   * once per context; undefined until known (the tree refreshes when it is).
   */
  me(): string | undefined {
    if (this.identity === undefined && !this.asking) {
      this.asking = whoAmI(this.cluster).then(
        (name) => {
          this.identity = name;
          this.onChange({ context: this.name });
          return name;
        },
        () => undefined,
      );
    }
    return this.identity;
  }

  /** Settles with who we are (undefined when the cluster cannot tell). */
  async whoAmI(): Promise<string | undefined> {
    this.me();
    return this.identity ?? (await this.asking);
  }

  namespaces(): Collection<KubernetesObject> {
    if (!this.namespaceList) {
      // Namespaces come and go all the time on a shared cluster; what the tree shows of them is
      // their names, environment labels and state: only a change there refreshes the context.
      let shown = '';
      const list: Collection<KubernetesObject> = new Collection(this.cluster, { apiVersion: 'v1', kind: 'Namespace', plural: 'namespaces' }, () => {
        const now = JSON.stringify([list.error?.code, list.items().map((n) => [n.metadata?.name, n.metadata?.labels, n.metadata?.annotations, n.metadata?.deletionTimestamp])]);
        if (now === shown) return;
        shown = now;
        this.onChange({ context: this.name });
      });
      this.namespaceList = list;
    }
    return this.namespaceList;
  }

  namespace(name: string): NamespaceModel {
    let ns = this.opened.get(name);
    if (!ns) {
      ns = new NamespaceModel(this.cluster.inNamespace(name), () => this.onChange({ context: this.name, namespace: name }));
      this.opened.set(name, ns);
    }
    return ns;
  }

  dispose(): void {
    this.namespaceList?.dispose();
    for (const ns of this.opened.values()) ns.dispose();
  }
}

/** Every context of the kubeconfig. Throws KdevError (NO_CLUSTER) when there is none. */
export class KubeModel {
  private readonly contexts = new Map<string, ContextModel>();
  readonly kc: KubeConfig;
  readonly currentContext: string;

  constructor(
    readonly kubeconfig: string | undefined,
    private readonly onChange: (scope: Scope) => void,
  ) {
    const cluster = connect(kubeconfig ? { kubeconfig } : {});
    this.kc = cluster.kc;
    this.currentContext = cluster.contextName;
  }

  contextNames(): string[] {
    return this.kc.getContexts().map((c) => c.name);
  }

  context(name: string): ContextModel {
    let ctx = this.contexts.get(name);
    if (!ctx) {
      ctx = new ContextModel(connect({ ...(this.kubeconfig ? { kubeconfig: this.kubeconfig } : {}), context: name }), this.onChange);
      this.contexts.set(name, ctx);
    }
    return ctx;
  }

  dispose(): void {
    for (const c of this.contexts.values()) c.dispose();
    this.contexts.clear();
  }
}

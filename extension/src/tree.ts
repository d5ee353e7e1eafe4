// The kdev tree: kubeconfig contexts → namespaces (kdev environments marked) → workload
// kinds → workloads → pods → containers. Data comes from the watched model; a change in the
// cluster fires onDidChangeTreeData (coalesced), so the tree follows the cluster by itself.
import * as vscode from 'vscode';
import {
  isKdevError,
  parseLease,
  KINDS,
  LEASE_ANNOTATION,
  ENV_LABEL,
  STATE_ANNOTATION,
  EXPIRES_ANNOTATION,
  OWNER_ANNOTATION,
  TEMPLATE_LABEL,
  type KdevError,
  type KindSpec,
  type Lease,
} from '@kdev/core';
import type { KubernetesObject, V1Pod, V1ContainerStatus } from '@kdev/core';
import { KubeModel, type ContextModel, type NamespaceModel } from '@kdev/core';
import { routesOf, routeText } from './routes.js';

type TreeKind = KindSpec;

/** The group label of a kind: "Deployments". */
export function kindLabel(kind: KindSpec): string {
  return `${kind.kind}s`;
}

/** A namespace is a kdev environment when core's label holds its own name (see core/src/env). */
export function isEnvironment(ns: KubernetesObject | undefined): boolean {
  const name = ns?.metadata?.name;
  return name !== undefined && ns?.metadata?.labels?.[ENV_LABEL] === name;
}

export interface EnvSummary {
  state: string;
  template: string;
  owner: string;
  expires?: Date;
}

/** What the namespace's labels and annotations say about the environment. */
export function envSummary(ns: KubernetesObject | undefined): EnvSummary | undefined {
  if (!ns || !isEnvironment(ns)) return undefined;
  const ann = ns.metadata?.annotations ?? {};
  const terminating = ns.metadata?.deletionTimestamp !== undefined || (ns as { status?: { phase?: string } }).status?.phase === 'Terminating';
  const expires = ann[EXPIRES_ANNOTATION] ? new Date(ann[EXPIRES_ANNOTATION]) : undefined;
  return { state: terminating ? 'terminating' : (ann[STATE_ANNOTATION] ?? 'ready'), template: ns.metadata?.labels?.[TEMPLATE_LABEL] ?? '', owner: ann[OWNER_ANNOTATION] ?? '', expires };
}

/** The key of a workload in the workspace state and the sync table: context/namespace/kind/name. */
export function workloadKey(n: { context: string; namespace: string; name: string; kind: { kind: string } }): string {
  return `${n.context}/${n.namespace}/${n.kind.kind.toLowerCase()}/${n.name}`;
}

export type DevState = { state: 'none' } | { state: 'mine' | 'other'; lease: Lease };

/** Dev-mode state of a workload from its lease annotation: mine when the owner is who I am. */
export function devStateOf(obj: KubernetesObject | undefined, me: string | undefined): DevState {
  const lease = parseLease(obj?.metadata?.annotations?.[LEASE_ANNOTATION]);
  if (!lease) return { state: 'none' };
  return { state: me !== undefined && lease.owner === me ? 'mine' : 'other', lease };
}

export function since(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m` : s < 86400 ? `${Math.floor(s / 3600)}h` : `${Math.floor(s / 86400)}d`;
}

export type Node =
  | { type: 'message'; id: string; label: string; hint?: string; severity: 'error' | 'info' }
  | { type: 'context'; context: string; current: boolean }
  | { type: 'namespace'; context: string; namespace: string; environment: boolean }
  | { type: 'kind'; context: string; namespace: string; kind: TreeKind }
  | { type: 'workload'; context: string; namespace: string; kind: TreeKind; name: string }
  /** A route held on the workload `owner`: requests with its header reach the copy `copy`. */
  | { type: 'route'; context: string; namespace: string; copy: string; owner: Owner }
  /** A pod under the workload `owner` (a pod also shows under its ReplicaSet or Job). */
  | { type: 'pod'; context: string; namespace: string; name: string; owner: Owner }
  /** `owner` is the pod's tree parent; undefined when the pod itself is the workload. */
  | { type: 'container'; context: string; namespace: string; pod: string; name: string; owner?: Owner };

export interface Owner {
  kind: string;
  name: string;
}

function idOf(n: Node): string {
  switch (n.type) {
    case 'message':
      return n.id;
    case 'context':
      return `ctx:${n.context}`;
    case 'namespace':
      return `ctx:${n.context}/ns:${n.namespace}`;
    case 'kind':
      return `ctx:${n.context}/ns:${n.namespace}/kind:${n.kind.kind}`;
    case 'workload':
      return `ctx:${n.context}/ns:${n.namespace}/kind:${n.kind.kind}/${n.name}`;
    case 'route':
      return `ctx:${n.context}/ns:${n.namespace}/kind:${n.owner.kind}/${n.owner.name}/route:${n.copy}`;
    case 'pod':
      return `ctx:${n.context}/ns:${n.namespace}/kind:${n.owner.kind}/${n.owner.name}/pod:${n.name}`;
    case 'container':
      return n.owner
        ? `ctx:${n.context}/ns:${n.namespace}/kind:${n.owner.kind}/${n.owner.name}/pod:${n.pod}/c:${n.name}`
        : `ctx:${n.context}/ns:${n.namespace}/kind:Pod/${n.pod}/c:${n.name}`;
  }
}

function messageFor(id: string, err: unknown): Node {
  if (isKdevError(err)) {
    const e = err as KdevError;
    return { type: 'message', id, label: e.message, hint: e.hint, severity: 'error' };
  }
  return { type: 'message', id, label: err instanceof Error ? err.message : String(err), severity: 'error' };
}

/** The kind's status line, from core's kinds table ("1/2 ready", "Running 1/1", "suspended"). */
export function describeWorkload(kind: string, obj: KubernetesObject): string {
  return KINDS.find((k) => k.kind === kind)?.statusText(obj) ?? '';
}

export function describePod(pod: V1Pod): string {
  return describeWorkload('Pod', pod);
}

function containerState(s: V1ContainerStatus | undefined): string {
  if (!s) return 'waiting';
  if (s.state?.running) return s.ready ? 'running, ready' : 'running';
  if (s.state?.waiting) return s.state.waiting.reason ?? 'waiting';
  if (s.state?.terminated) return `terminated (${s.state.terminated.reason ?? s.state.terminated.exitCode})`;
  return '';
}

export class KdevTreeProvider implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private model: KubeModel | undefined;
  private modelError: unknown;
  private pending: NodeJS.Timeout | undefined;
  /** One object per node id: VS Code keys its tree elements by identity. */
  private readonly nodes = new Map<string, Node>();

  /** The sync state of a workload this window syncs ("synced", "syncing 3 files"...). */
  syncLabel: (key: string) => string | undefined = () => undefined;

  constructor(private readonly kubeconfig: () => string | undefined) {}

  /** Re-renders the tree (e.g. when a sync changes state). */
  refresh(): void {
    this.scheduleRefresh();
  }

  /**
   * Coalesces bursts of watch events (an initial list is one event per object). The whole
   * tree is refreshed: refreshing single elements races VS Code's own fetches of the same
   * children ("Element with id ... is already registered"). The model drops namespace
   * updates that change nothing the tree shows.
   */
  private scheduleRefresh = (): void => {
    if (this.pending) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.changed.fire(undefined);
    }, 100);
  };

  /** Drops every watch and reloads the kubeconfig. */
  reset(): void {
    this.nodes.clear();
    this.model?.dispose();
    this.model = undefined;
    this.modelError = undefined;
    this.changed.fire(undefined);
  }

  private getModel(): KubeModel | undefined {
    if (!this.model && this.modelError === undefined) {
      try {
        this.model = new KubeModel(this.kubeconfig(), this.scheduleRefresh);
      } catch (err) {
        this.modelError = err;
      }
    }
    return this.model;
  }

  /** The kubeconfig's current context, when a kubeconfig is loaded. */
  currentContext(): string | undefined {
    return this.getModel()?.currentContext;
  }

  /** The watched namespaces and identity of a context (for commands acting on a node). */
  contextModel(context: string): ContextModel | undefined {
    return this.getModel()?.context(context);
  }

  /** The watched objects of a namespace (for commands acting on a node). */
  namespaceModel(context: string, namespace: string): NamespaceModel | undefined {
    return this.getModel()?.context(context).namespace(namespace);
  }

  getTreeItem(n: Node): vscode.TreeItem {
    const C = vscode.TreeItemCollapsibleState;
    let item: vscode.TreeItem;
    switch (n.type) {
      case 'message':
        item = new vscode.TreeItem(n.label, C.None);
        item.iconPath = new vscode.ThemeIcon(n.severity === 'error' ? 'error' : 'info');
        if (n.hint) item.description = n.hint;
        item.tooltip = n.hint ? `${n.label}\n\n${n.hint}` : n.label;
        item.contextValue = 'kdev.message';
        break;
      case 'context':
        item = new vscode.TreeItem(n.context, n.current ? C.Expanded : C.Collapsed);
        item.iconPath = new vscode.ThemeIcon('cloud');
        item.description = n.current ? 'current context' : undefined;
        item.contextValue = 'kdev.context';
        break;
      case 'namespace': {
        item = new vscode.TreeItem(n.namespace, C.Collapsed);
        const env = n.environment ? envSummary(this.getModel()?.context(n.context).namespaces().get(n.namespace)) : undefined;
        if (env) {
          const parts = ['kdev environment', env.template, env.state === 'ready' ? undefined : env.state];
          item.description = parts.filter((p) => p).join(' · ');
          item.iconPath = new vscode.ThemeIcon(env.state === 'sleeping' ? 'debug-pause' : 'beaker');
          item.tooltip = `environment ${n.namespace}\ntemplate ${env.template}\nowner ${env.owner}\nstate ${env.state}\nexpires ${env.expires ? env.expires.toISOString() : 'never'}`;
          item.contextValue = `kdev.environment.${env.state}`;
        } else {
          item.iconPath = new vscode.ThemeIcon('symbol-namespace');
          item.contextValue = 'kdev.namespace';
        }
        break;
      }
      case 'kind': {
        const count = this.namespaceModel(n.context, n.namespace)?.items(n.kind).length ?? 0;
        item = new vscode.TreeItem(kindLabel(n.kind), count > 0 ? C.Collapsed : C.None);
        item.description = String(count);
        item.iconPath = new vscode.ThemeIcon('symbol-folder');
        item.contextValue = 'kdev.kind';
        break;
      }
      case 'workload': {
        const ns = this.namespaceModel(n.context, n.namespace);
        const obj = ns?.get(n.kind.kind, n.name);
        const dev = devStateOf(obj, this.getModel()?.context(n.context).me());
        item = new vscode.TreeItem(n.name, C.Collapsed);
        const status = obj ? describeWorkload(n.kind.kind, obj) : '';
        item.tooltip = `${n.kind.kind} ${n.namespace}/${n.name}`;
        if (dev.state === 'none') {
          item.description = status;
          item.iconPath = new vscode.ThemeIcon(n.kind.kind === 'Pod' ? 'circle-large-outline' : 'package');
        } else {
          const l = dev.lease;
          const who = dev.state === 'mine' ? 'dev mode: mine' : `dev mode: ${l.owner}`;
          const sync = dev.state === 'mine' ? this.syncLabel(workloadKey(n)) : undefined;
          item.description = `${status} · ${who} (${since(l.startedAt)})${l.mode === 'duplicate' ? ' · copy' : ''}${sync ? ` · ${sync}` : ''}`;
          item.iconPath = dev.state === 'mine' ? new vscode.ThemeIcon('debug-alt', new vscode.ThemeColor('charts.green')) : new vscode.ThemeIcon('lock', new vscode.ThemeColor('charts.orange'));
          item.tooltip += `\nin dev mode by ${l.owner}${dev.state === 'mine' ? ' (you)' : ''} since ${l.startedAt}\ncontainer ${l.container}, image ${l.image}, source at ${l.workDir}, mode ${l.mode}`;
        }
        // Routes held on it (by copies of it, theirs or mine): counted here, one row each below.
        const routes = routesOf(ns, n.kind.kind, n.name, this.getModel()?.context(n.context).me());
        if (routes.length > 0) {
          item.description = `${item.description ?? ''} · ${routes.length === 1 ? '1 route' : `${routes.length} routes`}`;
          item.tooltip += `\nroutes: ${routes.map((r) => `${r.owner}${r.mine ? ' (you)' : ''} ${routeText(r)}`).join(', ')}`;
        }
        // Mine but not synced by this window (another window, a reload, the CLI): Start Dev
        // Mode is offered again; it is idempotent in core and attaches the sync here.
        const detached = dev.state === 'mine' && this.syncLabel(workloadKey(n)) === undefined;
        item.contextValue = `kdev.workload.${n.kind.kind}.dev-${dev.state}${detached ? '.detached' : ''}`;
        break;
      }
      case 'route':
        item = this.routeItem(n);
        break;
      case 'pod': {
        const pod = this.namespaceModel(n.context, n.namespace)?.get<V1Pod>('Pod', n.name);
        item = new vscode.TreeItem(n.name, C.Collapsed);
        item.description = pod ? describePod(pod) : '';
        const ok = pod?.status?.phase === 'Running' && pod.status.containerStatuses?.every((s) => s.ready);
        item.iconPath = new vscode.ThemeIcon(ok ? 'pass' : 'circle-large-outline');
        item.contextValue = 'kdev.pod';
        break;
      }
      case 'container': {
        const pod = this.namespaceModel(n.context, n.namespace)?.get<V1Pod>('Pod', n.pod);
        const spec = pod?.spec?.containers.find((c) => c.name === n.name);
        const status = pod?.status?.containerStatuses?.find((s) => s.name === n.name);
        item = new vscode.TreeItem(n.name, C.None);
        item.description = `${spec?.image ?? ''} · ${containerState(status)}`;
        item.iconPath = new vscode.ThemeIcon('symbol-field');
        item.contextValue = 'kdev.container';
        break;
      }
    }
    item.id = idOf(n);
    return item;
  }

  /** "x-kdev-route: alice" · who (you) and since when; the sync state when it is mine. */
  private routeItem(n: Extract<Node, { type: 'route' }>): vscode.TreeItem {
    const me = this.getModel()?.context(n.context).me();
    const r = routesOf(this.namespaceModel(n.context, n.namespace), n.owner.kind, n.owner.name, me).find((x) => x.copy === n.copy);
    const item = new vscode.TreeItem(r ? routeText(r) : n.copy, vscode.TreeItemCollapsibleState.None);
    if (!r) return item;
    const key = workloadKey({ context: n.context, namespace: n.namespace, name: n.owner.name, kind: { kind: n.owner.kind } });
    const sync = r.mine ? this.syncLabel(key) : undefined;
    item.description = `route: ${r.mine ? 'mine' : r.owner} (${since(r.startedAt)})${sync ? ` · ${sync}` : ''}`;
    item.tooltip = `requests with the header ${routeText(r)} reach ${r.mine ? 'your' : `${r.owner}'s`} copy of ${n.owner.kind.toLowerCase()}/${n.owner.name} (deployment/${r.copy}) since ${r.startedAt}; all other requests reach the workload`;
    item.iconPath = new vscode.ThemeIcon('arrow-swap', r.mine ? new vscode.ThemeColor('charts.green') : undefined);
    item.contextValue = `kdev.route.${r.mine ? 'mine' : 'other'}`;
    return item;
  }

  async getChildren(n?: Node): Promise<Node[]> {
    return (await this.children(n)).map((c) => this.intern(c));
  }

  private intern(n: Node): Node {
    const id = idOf(n);
    const known = this.nodes.get(id);
    if (known) return Object.assign(known, n);
    this.nodes.set(id, n);
    return n;
  }

  private async children(n?: Node): Promise<Node[]> {
    if (!n) return this.roots();
    const model = this.getModel();
    if (!model) return [];
    switch (n.type) {
      case 'message':
      case 'container':
      case 'route':
        return [];
      case 'context':
        return this.namespacesOf(model, n.context);
      case 'namespace': {
        const ns = model.context(n.context).namespace(n.namespace);
        const err = await ns.ready();
        if (err) return [messageFor(`${idOf(n)}/error`, err)];
        return KINDS.map((kind) => ({ type: 'kind', context: n.context, namespace: n.namespace, kind }));
      }
      case 'kind': {
        const ns = model.context(n.context).namespace(n.namespace);
        await ns.ready();
        return ns
          .items(n.kind)
          .map((o) => o.metadata?.name ?? '')
          .sort()
          .map((name) => ({ type: 'workload', context: n.context, namespace: n.namespace, kind: n.kind, name }));
      }
      case 'workload': {
        const ns = model.context(n.context).namespace(n.namespace);
        if (n.kind.kind === 'Pod') return this.containersOf(ns, n.context, n.namespace, n.name, undefined);
        const owner = { kind: n.kind.kind, name: n.name };
        const routes: Node[] = routesOf(ns, n.kind.kind, n.name, undefined).map((r) => ({ type: 'route', context: n.context, namespace: n.namespace, copy: r.copy, owner }));
        const pods: Node[] = ns
          .podsOf(n.kind.kind, n.name)
          .map((p) => p.metadata?.name ?? '')
          .sort()
          .map((name) => ({ type: 'pod', context: n.context, namespace: n.namespace, name, owner }));
        return [...routes, ...pods];
      }
      case 'pod':
        return this.containersOf(model.context(n.context).namespace(n.namespace), n.context, n.namespace, n.name, n.owner);
    }
  }

  /** Needed by TreeView.reveal. */
  getParent(n: Node): Node | undefined {
    const parent = this.parentOf(n);
    return parent ? this.intern(parent) : undefined;
  }

  private parentOf(n: Node): Node | undefined {
    const model = this.getModel();
    if (!model) return undefined;
    const kindNode = (context: string, namespace: string, kind: string): Node | undefined => {
      const k = KINDS.find((t) => t.kind === kind);
      return k ? { type: 'kind', context, namespace, kind: k } : undefined;
    };
    switch (n.type) {
      case 'message':
      case 'context':
        return undefined;
      case 'namespace':
        return { type: 'context', context: n.context, current: n.context === model.currentContext };
      case 'kind': {
        return { type: 'namespace', context: n.context, namespace: n.namespace, environment: isEnvironment(model.context(n.context).namespaces().get(n.namespace)) };
      }
      case 'workload':
        return { type: 'kind', context: n.context, namespace: n.namespace, kind: n.kind };
      case 'route':
      case 'pod': {
        const k = kindNode(n.context, n.namespace, n.owner.kind);
        return k && k.type === 'kind' ? { type: 'workload', context: n.context, namespace: n.namespace, kind: k.kind, name: n.owner.name } : undefined;
      }
      case 'container':
        if (n.owner) return { type: 'pod', context: n.context, namespace: n.namespace, name: n.pod, owner: n.owner };
        return { type: 'workload', context: n.context, namespace: n.namespace, kind: KINDS.find((t) => t.kind === 'Pod')!, name: n.pod };
    }
  }

  private roots(): Node[] {
    const model = this.getModel();
    if (!model) return [messageFor('no-kubeconfig', this.modelError)];
    return model.contextNames().map((context) => ({ type: 'context', context, current: context === model.currentContext }));
  }

  private async namespacesOf(model: KubeModel, context: string): Promise<Node[]> {
    const ctx = model.context(context);
    const list = ctx.namespaces();
    await list.ready;
    if (list.error) {
      const nodes: Node[] = [messageFor(`ctx:${context}/error`, list.error)];
      // Listing namespaces may be forbidden while the context's own namespace is usable.
      if (list.error.code === 'FORBIDDEN') nodes.push({ type: 'namespace', context, namespace: ctx.cluster.namespace, environment: false });
      return nodes;
    }
    return list
      .items()
      .slice()
      .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''))
      .map((o) => ({ type: 'namespace', context, namespace: o.metadata?.name ?? '', environment: isEnvironment(o) }));
  }

  private containersOf(ns: NamespaceModel, context: string, namespace: string, pod: string, owner: Owner | undefined): Node[] {
    const obj = ns.get<V1Pod>('Pod', pod);
    return (obj?.spec?.containers ?? []).map((c) => ({ type: 'container', context, namespace, pod, name: c.name, owner }));
  }

  dispose(): void {
    if (this.pending) clearTimeout(this.pending);
    this.model?.dispose();
    this.changed.dispose();
  }
}

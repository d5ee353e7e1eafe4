// Port forwards from the tree, through core's DevLoop (the same forward manager as the CLI's:
// it follows the workload's new pod when the pod is replaced): add on a pod or workload,
// list, stop. A status bar item shows how many are open; every forward stops with the extension.
import * as vscode from 'vscode';
import { KdevError, kindName, type DevLoop, type DevWorkload, type ForwardInfo, type V1Pod } from '@kdev/core';
import type { KdevTreeProvider, Node } from './tree.js';
import type { Log } from './output.js';

export interface OpenForward {
  context: string;
  workload: DevWorkload;
  localPort: number;
  /** The forward as it is now (its pod changes when the workload's pod is replaced). */
  readonly forward: ForwardInfo;
  label: string;
}

export class PortForwards implements vscode.Disposable {
  private readonly open: OpenForward[] = [];
  private readonly item = vscode.window.createStatusBarItem('kdev.portForwards', vscode.StatusBarAlignment.Left, 50);
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires when a forward opens or stops. */
  readonly onDidChange = this.changed.event;

  private readonly off: () => void;

  constructor(
    private readonly loop: DevLoop,
    private readonly tree: KdevTreeProvider,
    private readonly log: Log,
  ) {
    this.item.name = 'kdev port forwards';
    this.item.command = 'kdev.portForwards';
    this.off = loop.on((e) => {
      if (e.type !== 'forward' && e.type !== 'forward-error') return;
      if (!this.open.some((f) => f.localPort === e.localPort)) return;
      if (e.type === 'forward-error') this.log.warn(`port forward ${e.namespace}/${e.workload} 127.0.0.1:${e.localPort}: ${e.message}`);
      else if (e.state === 'stopped') this.forget(e.localPort);
      else this.log.info(`port forward ${e.workload}: ${e.message}`);
      this.update();
    });
  }

  list(): readonly OpenForward[] {
    return this.open;
  }

  /** The pod behind a tree node: the pod itself, or a running pod of the workload. */
  podOf(node: Node): { context: string; namespace: string; pod: V1Pod } {
    if (node.type !== 'pod' && node.type !== 'workload' && node.type !== 'container') {
      throw new KdevError('INVALID', 'port forwarding needs a workload, a pod or a container', 'Right-click a workload or a pod in the kdev view.');
    }
    const ns = this.tree.namespaceModel(node.context, node.namespace);
    let pods: V1Pod[] = [];
    if (node.type === 'pod') pods = [ns?.get<V1Pod>('Pod', node.name)].filter((p): p is V1Pod => p !== undefined);
    else if (node.type === 'container') pods = [ns?.get<V1Pod>('Pod', node.pod)].filter((p): p is V1Pod => p !== undefined);
    else if (node.kind.kind === 'Pod') pods = [ns?.get<V1Pod>('Pod', node.name)].filter((p): p is V1Pod => p !== undefined);
    else pods = (ns?.podsOf(node.kind.kind, node.name) ?? []) as V1Pod[];
    const running = pods.find((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp);
    if (!running) {
      const what = node.type === 'workload' ? `${node.kind.kind.toLowerCase()}/${node.name}` : `pod ${node.type === 'pod' ? node.name : node.pod}`;
      throw new KdevError('NOT_FOUND', `${what} in ${node.namespace} has no running pod to forward to`, 'Wait until a pod is Running (the tree shows its state), then try again.');
    }
    return { context: node.context, namespace: node.namespace, pod: running };
  }

  /** What the forward follows: the workload (its current pod), or the pod itself. */
  private refOf(node: Node, pod: string): string {
    return node.type === 'workload' ? kindName(node.kind.kind, node.name) : `pod/${pod}`;
  }

  /** Asks for the port (the pod's declared ports, or any other) and starts the forward. */
  async add(node: Node): Promise<OpenForward | undefined> {
    const { context, namespace, pod } = this.podOf(node);
    const name = pod.metadata?.name ?? '';
    const declared = (pod.spec?.containers ?? []).flatMap((c) => (c.ports ?? []).map((p) => ({ label: String(p.containerPort), description: `${p.protocol ?? 'TCP'} · ${c.name}${p.name ? ` · ${p.name}` : ''}`, port: p.containerPort })));
    const other = { label: 'Other port…', description: '', port: 0 };
    const pick = await vscode.window.showQuickPick([...declared, other], { title: `Port forward to ${namespace}/${name}`, placeHolder: 'Remote port (type to filter, or pick Other port…)' });
    if (!pick) return undefined;
    let port = pick.port;
    if (port === 0) {
      const text = await vscode.window.showInputBox({
        title: `Port forward to ${namespace}/${name}`,
        prompt: 'Remote port',
        validateInput: (v) => (/^\d+$/.test(v) && Number(v) > 0 && Number(v) < 65536 ? undefined : 'A port number from 1 to 65535'),
      });
      if (!text) return undefined;
      port = Number(text);
    }
    const cluster = this.tree.namespaceModel(context, namespace)!.cluster;
    const ref = this.refOf(node, name);
    const w = this.loop.named(cluster, ref);
    const ready = this.readyOnce(ref, namespace);
    // A workload's forward follows its current pod; a pod's stays on that pod.
    const [info] = await w.forward([`:${port}`], node.type === 'workload' && node.kind.kind !== 'Pod' ? {} : { pod: name });
    const localPort = info!.localPort;
    await ready(localPort);
    const loop = this.loop;
    const open: OpenForward = {
      context,
      workload: w,
      localPort,
      get forward(): ForwardInfo {
        return loop.status().flatMap((s) => s.forwards).find((f) => f.localPort === localPort) ?? { ...info!, state: 'stopped' };
      },
      label: `localhost:${localPort} → ${namespace}/${ref}:${port}`,
    };
    this.open.push(open);
    this.log.info(`port forward ${open.label}`);
    this.update();
    void vscode.window.showInformationMessage(`kdev: forwarding ${open.label}`, 'Open in Browser').then((choice) => {
      if (choice) void vscode.env.openExternal(vscode.Uri.parse(`http://localhost:${localPort}/`));
    });
    return open;
  }

  /** Resolves once the forward on the port has a Ready pod (at most 30 s); listens from before the forward starts. */
  private readyOnce(workload: string, namespace: string): (localPort: number) => Promise<void> {
    const seen = new Set<number>();
    const waiters = new Map<number, () => void>();
    const off = this.loop.on((e) => {
      if (e.type !== 'forward' || e.state !== 'ready' || e.workload !== workload || e.namespace !== namespace) return;
      seen.add(e.localPort);
      waiters.get(e.localPort)?.();
    });
    return (localPort) =>
      new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          off();
          resolve();
        };
        const timer = setTimeout(done, 30_000);
        if (seen.has(localPort)) done();
        else waiters.set(localPort, done);
      });
  }

  private forget(localPort: number): OpenForward | undefined {
    const at = this.open.findIndex((f) => f.localPort === localPort);
    return at < 0 ? undefined : this.open.splice(at, 1)[0];
  }

  async stop(localPort: number): Promise<boolean> {
    const f = this.forget(localPort);
    if (!f) return false;
    await this.loop.stopForwards(localPort);
    this.log.info(`stopped port forward ${f.label}`);
    this.update();
    return true;
  }

  /** Lists the open forwards; picking one offers to open or stop it. */
  async manage(): Promise<void> {
    if (this.open.length === 0) {
      void vscode.window.showInformationMessage('kdev: no port forwards are open. Right-click a workload or pod in the kdev view: Port Forward.');
      return;
    }
    const pick = await vscode.window.showQuickPick(
      this.open.map((f) => ({ label: f.label, description: f.context, port: f.localPort })),
      { title: 'kdev port forwards', placeHolder: 'Pick a forward to open or stop' },
    );
    if (!pick) return;
    const action = await vscode.window.showQuickPick(['Open in Browser', 'Stop'], { title: pick.label });
    if (action === 'Stop') await this.stop(pick.port);
    else if (action) void vscode.env.openExternal(vscode.Uri.parse(`http://localhost:${pick.port}/`));
  }

  private update(): void {
    this.changed.fire();
    if (this.open.length === 0) {
      this.item.hide();
      return;
    }
    this.item.text = `$(plug) ${this.open.length} forward${this.open.length === 1 ? '' : 's'}`;
    this.item.tooltip = this.open.map((f) => f.label).join('\n');
    this.item.show();
  }

  dispose(): void {
    this.off();
    for (const f of this.open.splice(0)) void this.loop.stopForwards(f.localPort);
    this.item.dispose();
    this.changed.dispose();
  }
}

// Port forwards from the tree (core's forwardPort): add on a pod or workload, list, stop.
// A status bar item shows how many are open; every forward stops with the extension.
import * as vscode from 'vscode';
import { forwardPort, KdevError, type Forward } from '@kdev/core';
import type { V1Pod } from '@kubernetes/client-node';
import type { KdevTreeProvider, Node } from './tree.js';
import type { Log } from './output.js';

export interface OpenForward {
  context: string;
  forward: Forward;
  label: string;
}

export class PortForwards implements vscode.Disposable {
  private readonly open: OpenForward[] = [];
  private readonly item = vscode.window.createStatusBarItem('kdev.portForwards', vscode.StatusBarAlignment.Left, 50);
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires when a forward opens or stops. */
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly tree: KdevTreeProvider,
    private readonly log: Log,
  ) {
    this.item.name = 'kdev port forwards';
    this.item.command = 'kdev.portForwards';
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
    const forward = await forwardPort(cluster, name, port, { onError: (e) => this.log.warn(`port forward ${namespace}/${name}:${port}: ${e.message}`) });
    const open: OpenForward = { context, forward, label: `localhost:${forward.localPort} → ${namespace}/${name}:${port}` };
    this.open.push(open);
    this.log.info(`port forward ${open.label}`);
    this.update();
    void vscode.window.showInformationMessage(`kdev: forwarding ${open.label}`, 'Open in Browser').then((choice) => {
      if (choice) void vscode.env.openExternal(vscode.Uri.parse(`http://localhost:${forward.localPort}/`));
    });
    return open;
  }

  async stop(localPort: number): Promise<boolean> {
    const at = this.open.findIndex((f) => f.forward.localPort === localPort);
    if (at < 0) return false;
    const [f] = this.open.splice(at, 1);
    await f!.forward.close();
    this.log.info(`stopped port forward ${f!.label}`);
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
      this.open.map((f) => ({ label: f.label, description: f.context, port: f.forward.localPort })),
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
    for (const f of this.open.splice(0)) void f.forward.close();
    this.item.dispose();
    this.changed.dispose();
  }
}

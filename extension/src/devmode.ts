// Start and End Dev Mode from the tree's context menu. The work is core's DevLoop (resolve,
// start, attach, end): this module asks for the local folder, remembers it per workload in
// the workspace state, and shows the loop's dev-mode events as progress.
import * as vscode from 'vscode';
import { KdevError, curlLine, isKdevError, kindName, sourceText, KINDS, type AppEvent, type FrontService, type DevLoop, type DevSession, type DevWorkload, type EndResult, type Cluster } from '@kdev/core';
import type { KdevTreeProvider, Node } from './tree.js';
import { devStateOf, workloadKey } from './tree.js';
import { routesOf, routeText } from './routes.js';
import type { Log } from './output.js';
import type { Syncs } from './sync.js';

type WorkloadNode = Extract<Node, { type: 'workload' }>;

const FOLDERS_KEY = 'kdev.devFolders';
const TAKE_OVER = 'Take over the workload';
const ROUTE_HERE = 'Route my requests here (duplicate)';
export const COPY_CURL = 'Copy curl command';

/** How a start goes: the workload itself, or a copy that my requests (by header) reach. */
interface StartMode {
  mode?: 'duplicate';
  route?: true;
  services: FrontService[];
}

export { workloadKey };

export interface DevChange {
  action: 'start' | 'end';
  key: string;
  ok: boolean;
  session?: DevSession;
  /** A routed start: the `curl -H` line that reaches the copy (also in its notification). */
  curl?: string;
  result?: EndResult;
  error?: unknown;
}

export class DevMode implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<DevChange>();
  /** Fires when a start or end finishes (successfully or not). */
  readonly onDidFinish = this.changed.event;
  /** The sessions this window started, by workload key. */
  readonly sessions = new Map<string, DevSession>();

  constructor(
    readonly loop: DevLoop,
    private readonly state: vscode.Memento,
    private readonly tree: KdevTreeProvider,
    private readonly log: Log,
    private readonly syncs: Syncs,
  ) {}

  /** The local folder remembered for a workload. */
  folderFor(key: string): string | undefined {
    return this.state.get<Record<string, string>>(FOLDERS_KEY, {})[key];
  }

  private async remember(key: string, folder: string): Promise<void> {
    const all = { ...this.state.get<Record<string, string>>(FOLDERS_KEY, {}), [key]: folder };
    await this.state.update(FOLDERS_KEY, all);
  }

  workload(node: Node | undefined): WorkloadNode {
    // A route's actions (End Dev Mode) act on the workload it is held on.
    if (node?.type === 'route') {
      const kind = KINDS.find((k) => k.kind === node.owner.kind);
      if (kind) return { type: 'workload', context: node.context, namespace: node.namespace, kind, name: node.owner.name };
    }
    if (node?.type !== 'workload') {
      throw new KdevError('INVALID', 'dev mode needs a workload', 'Right-click a workload (a Deployment, StatefulSet, ...) in the kdev view.');
    }
    return node;
  }

  cluster(n: WorkloadNode): Cluster {
    const ns = this.tree.namespaceModel(n.context, n.namespace);
    if (!ns) throw new KdevError('NO_CLUSTER', 'no kubeconfig is loaded', 'Set kdev.kubeconfig or $KUBECONFIG, then Refresh the kdev view.');
    return ns.cluster;
  }

  /** Asks for the local folder (the remembered one preselected). undefined: cancelled. */
  private async pickFolder(n: WorkloadNode): Promise<string | undefined> {
    // Preselected: the folder remembered for the workload, else the one core's rule picks
    // without a named folder (what `kdev dev start` syncs from the workspace folder).
    const workspace = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const fallback = await this.loop
      .resolve(this.cluster(n), { workload: kindName(n.kind.kind, n.name), configFrom: workspace })
      .then((w) => w.resolved.localRoot)
      .catch(() => workspace);
    const remembered = this.folderFor(workloadKey(n)) ?? fallback;
    const start = remembered ? vscode.Uri.file(remembered) : undefined;
    const picked = await vscode.window.showOpenDialog({
      title: `Local folder for ${n.kind.kind.toLowerCase()}/${n.name} (its source goes into the dev container)`,
      canSelectFolders: true,
      canSelectFiles: false,
      canSelectMany: false,
      openLabel: 'Start Dev Mode',
      ...(start ? { defaultUri: start } : {}),
    });
    return picked?.[0]?.fsPath;
  }

  /**
   * The workload resolved by core's one rule (resolve.ts): the folder's .kdev.yaml (or one
   * above it), else the environment template's dev config; the folder is the local folder
   * named. `folder` defaults to the one remembered for the workload, then the first
   * workspace folder.
   */
  async resolve(node: Node | undefined, folder?: string): Promise<DevWorkload> {
    const n = this.workload(node);
    const dir = folder ?? this.folderFor(workloadKey(n)) ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    return this.loop.resolve(this.cluster(n), { workload: kindName(n.kind.kind, n.name), configFrom: dir, local: dir });
  }

  /** The workload by name, without reading a dev config (logs, terminal, end). */
  named(node: Node | undefined): DevWorkload {
    const n = this.workload(node);
    return this.loop.named(this.cluster(n), kindName(n.kind.kind, n.name));
  }

  /**
   * A workload with a Service (that has no dev mode of mine yet) is asked: take it over, or
   * route my requests to a copy of it. undefined: cancelled.
   */
  private async pickMode(n: WorkloadNode): Promise<StartMode | undefined> {
    const obj = this.tree.namespaceModel(n.context, n.namespace)?.get(n.kind.kind, n.name);
    const me = await this.tree.contextModel(n.context)?.whoAmI();
    // Mine already: started again the same way (core's start is idempotent), nothing asked.
    if (devStateOf(obj, me).state === 'mine' || n.kind.kind === 'Pod') return { services: [] };
    const routed = routesOf(this.tree.namespaceModel(n.context, n.namespace), n.kind.kind, n.name, me).some((r) => r.mine);
    const services = await this.named(n).frontServices();
    if (routed) return { mode: 'duplicate', route: true, services };
    if (services.length === 0) return { services };
    const ref = `${n.kind.kind.toLowerCase()}/${n.name}`;
    const names = services.map((s) => `service/${s.name}`).join(', ');
    const choice = await vscode.window.showQuickPick(
      [
        { label: TAKE_OVER, detail: `${ref} runs your dev container: every request to ${names} reaches it` },
        { label: ROUTE_HERE, detail: `a copy of ${ref} runs your dev container; requests to ${names} with your header reach it, all others ${ref}` },
      ],
      { title: `Start Dev Mode on ${ref}`, placeHolder: `${names} fronts ${ref}` },
    );
    if (!choice) return undefined;
    return choice.label === ROUTE_HERE ? { mode: 'duplicate', route: true, services } : { services };
  }

  /** `folder` skips the dialog (Take Over reuses the folder just picked). */
  async start(node: Node | undefined, opts: { force?: boolean; folder?: string; how?: StartMode } = {}): Promise<DevSession | undefined> {
    const n = this.workload(node);
    const key = workloadKey(n);
    const ref = `${n.kind.kind.toLowerCase()}/${n.name}`;
    const how = opts.how ?? (await this.pickMode(n));
    if (!how) return undefined;
    const folder = opts.folder ?? (await this.pickFolder(n));
    if (!folder) return undefined;
    await this.remember(key, folder);
    const w = await this.resolve(n, folder);
    const { entry, localRoot, source } = w.resolved;
    this.log.info(`dev start ${ref} in ${n.namespace} (${n.context}) from ${localRoot}, ${sourceText(source)}${entry ? '' : ', no dev entry: current image'}`);
    try {
      const session = await this.withProgress(`Starting dev mode on ${ref}`, (signal) => w.start({ force: opts.force, signal, mode: how.mode, route: how.route }));
      this.sessions.set(key, session);
      this.log.info(`dev mode on ${ref}: pod ${session.pod}, container ${session.container}, image ${session.image}, source at ${session.workDir}`);
      const curl = session.route && how.services[0] ? curlLine(session.route, how.services[0]) : undefined;
      if (session.route) this.showRoute(ref, session.route, curl);
      else void vscode.window.showInformationMessage(`kdev: ${ref} is in dev mode (pod ${session.pod}, image ${session.image}); syncing ${localRoot}`);
      // The folder goes into the dev container and follows every save (status bar item).
      let syncError: unknown;
      await this.syncs.attach(key, w, session).catch((err: unknown) => {
        syncError = err;
        const text = this.log.error(`sync into ${ref}`, err);
        void vscode.window.showErrorMessage(`kdev: ${ref} is in dev mode, but the sync failed: ${text}`);
      });
      this.changed.fire({ action: 'start', key, ok: true, session, curl, error: syncError });
      return session;
    } catch (err) {
      this.changed.fire({ action: 'start', key, ok: false, error: err });
      // Someone else has it: offer the take-over core supports, never silently.
      if (isKdevError(err) && err.code === 'IN_USE' && !opts.force) {
        this.log.error(`dev start ${ref}`, err);
        const choice = await vscode.window.showErrorMessage(`kdev: ${err.message}. Take over: their dev container stops and yours starts.`, 'Take Over');
        if (choice === 'Take Over') return this.start(n, { force: true, folder, how });
        return undefined;
      }
      throw err;
    }
  }

  /** The header that reaches my copy, and a button that copies the `curl -H` line. */
  private showRoute(ref: string, route: { header: string; value: string }, curl: string | undefined): void {
    this.log.info(`route on ${ref}: ${routeText(route)}${curl ? `; ${curl}` : ''}`);
    const text = `kdev: requests with the header ${routeText(route)} reach your copy of ${ref}${curl ? `: ${curl}` : ''}`;
    void vscode.window.showInformationMessage(text, ...(curl ? [COPY_CURL] : [])).then(async (choice) => {
      if (choice === COPY_CURL && curl) await this.copy(curl);
    });
  }

  /** Puts the `curl -H` line that reaches a route's copy on the clipboard; returns it. */
  async copyCurl(node: Node | undefined): Promise<string> {
    if (node?.type !== 'route') throw new KdevError('INVALID', 'copying a curl command needs a route', 'Right-click a route (x-kdev-route: …) under a workload in the kdev view.');
    const n = this.workload(node);
    const me = await this.tree.contextModel(n.context)?.whoAmI();
    const route = routesOf(this.tree.namespaceModel(n.context, n.namespace), n.kind.kind, n.name, me).find((r) => r.copy === node.copy);
    if (!route) throw new KdevError('NOT_FOUND', `the route to ${node.copy} is gone`, 'Refresh the kdev view.');
    const [svc] = await this.named(n).frontServices();
    if (!svc) throw new KdevError('NOT_FOUND', `no Service selects the pods of ${n.kind.kind.toLowerCase()}/${n.name}`, 'A route reaches a copy through the Services of its workload.');
    return this.copy(curlLine(route, svc));
  }

  private async copy(curl: string): Promise<string> {
    await vscode.env.clipboard.writeText(curl);
    this.log.info(`copied: ${curl}`);
    void vscode.window.showInformationMessage(`kdev: copied ${curl}`);
    return curl;
  }

  /**
   * My routed copy's own row (a Deployment kdev made, its lease naming the workload it is a
   * copy of) stands for that workload: core's end takes the workload's name.
   */
  private copiedWorkload(n: WorkloadNode, me: string | undefined): WorkloadNode {
    const dev = devStateOf(this.tree.namespaceModel(n.context, n.namespace)?.get(n.kind.kind, n.name), me);
    const of = dev.state === 'mine' ? dev.lease.route?.of : undefined;
    const slash = of?.indexOf('/') ?? -1;
    const kind = of ? KINDS.find((k) => k.kind.toLowerCase() === of.slice(0, slash)) : undefined;
    return kind ? { type: 'workload', context: n.context, namespace: n.namespace, kind, name: of!.slice(slash + 1) } : n;
  }

  async end(node: Node | undefined): Promise<EndResult | undefined> {
    const picked = this.workload(node);
    const ctx = this.tree.contextModel(picked.context);
    const n = this.copiedWorkload(picked, await ctx?.whoAmI());
    const key = workloadKey(n);
    const ref = `${n.kind.kind.toLowerCase()}/${n.name}`;
    const dev = devStateOf(this.tree.namespaceModel(n.context, n.namespace)?.get(n.kind.kind, n.name), await ctx?.whoAmI());
    let force = false;
    if (dev.state === 'other') {
      const end = `End ${dev.lease.owner}'s dev mode and restore ${ref}`;
      const choice = await vscode.window.showQuickPick([end, 'Cancel'], {
        title: `${ref} is in dev mode by ${dev.lease.owner} since ${dev.lease.startedAt}`,
        placeHolder: 'Their dev container stops; the workload goes back to its saved original.',
      });
      if (choice !== end) return undefined;
      force = true;
    }
    this.log.info(`dev end ${ref} in ${n.namespace} (${n.context})${force ? ' (force)' : ''}`);
    await this.syncs.detach(key);
    try {
      const w = this.named(n);
      const result = await this.withProgress(`Ending dev mode on ${ref}`, () => w.end({ force }));
      this.sessions.delete(key);
      this.log.info(`dev end ${ref}: ${result.message}`);
      void vscode.window.showInformationMessage(`kdev: ${result.message}`);
      this.changed.fire({ action: 'end', key, ok: true, result });
      return result;
    } catch (err) {
      this.changed.fire({ action: 'end', key, ok: false, error: err });
      throw err;
    }
  }

  /** The loop's dev-mode events of the workload as a notification's progress; every event also goes to the log. */
  private withProgress<T>(title: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return Promise.resolve(
      vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `kdev: ${title}`, cancellable: true }, (progress, token) => {
        const controller = new AbortController();
        const sub = token.onCancellationRequested(() => {
          this.log.warn(`${title}: cancelled; the workload keeps what core wrote (End Dev Mode restores it)`);
          controller.abort();
        });
        const off = this.loop.on((e: AppEvent) => {
          if (e.type === 'phase') {
            this.log.info(`  ${e.phase}: ${e.message}`);
            progress.report({ message: `${e.phase}: ${e.message}` });
          } else if (e.type === 'warning') {
            this.log.warn(`  ${e.object}: ${e.reason}: ${e.message}`);
            progress.report({ message: `${e.reason}: ${e.message}` });
          }
        });
        return fn(controller.signal).finally(() => {
          off();
          sub.dispose();
        });
      }),
    );
  }

  dispose(): void {
    this.changed.dispose();
  }
}

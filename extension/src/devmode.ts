// Start and End Dev Mode from the tree's context menu. The work is core's (startDevMode,
// endDevMode): this module asks for the local folder, remembers it per workload in the
// workspace state, reads the folder's .kdev.yaml, and shows core's DevEvents as progress.
import * as vscode from 'vscode';
import { resolve } from 'node:path';
import { startDevMode, endDevMode, loadConfig, devEntryFor, environmentDevConfig, KdevError, isKdevError, type DevEvent, type DevSession, type EndResult, type Cluster, type DevEntry } from '@kdev/core';
import type { KdevTreeProvider, Node } from './tree.js';
import { devStateOf, workloadKey } from './tree.js';
import type { Log } from './output.js';
import type { Syncs } from './sync.js';

type WorkloadNode = Extract<Node, { type: 'workload' }>;

const FOLDERS_KEY = 'kdev.devFolders';

export { workloadKey };

export interface DevChange {
  action: 'start' | 'end';
  key: string;
  ok: boolean;
  session?: DevSession;
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
    const remembered = this.folderFor(workloadKey(n));
    const start = remembered ? vscode.Uri.file(remembered) : vscode.workspace.workspaceFolders?.[0]?.uri;
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
   * The dev entry of a workload: the folder's .kdev.yaml (or one above it), else the dev config
   * of the template of the environment the workload is in. `folder` defaults to the one
   * remembered for the workload, then the first workspace folder.
   */
  async devEntry(node: Node | undefined, folder?: string): Promise<{ entry: DevEntry | undefined; localRoot: string; from: string }> {
    const n = this.workload(node);
    const dir = folder ?? this.folderFor(workloadKey(n)) ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    if (dir) {
      const { config, file, root } = loadConfig(dir);
      const entry = devEntryFor(config, n.kind.kind, n.name);
      if (entry) return { entry, localRoot: resolve(root, entry.sync.local), from: `config ${file}` };
    }
    const env = await environmentDevConfig(this.cluster(n));
    const entry = env ? devEntryFor(env.config, n.kind.kind, n.name) : undefined;
    // The local root is the folder picked, not the template's copy of the source.
    return { entry, localRoot: dir ?? process.cwd(), from: entry ? `the dev config of template ${env!.template}` : 'no .kdev.yaml' };
  }

  /** `folder` skips the dialog (Take Over reuses the folder just picked). */
  async start(node: Node | undefined, opts: { force?: boolean; folder?: string } = {}): Promise<DevSession | undefined> {
    const n = this.workload(node);
    const key = workloadKey(n);
    const ref = `${n.kind.kind.toLowerCase()}/${n.name}`;
    const cluster = this.cluster(n);
    const folder = opts.folder ?? (await this.pickFolder(n));
    if (!folder) return undefined;
    await this.remember(key, folder);
    // The folder's .kdev.yaml (or one above it) says image, container, workDir, env, sync;
    // without an entry there, the template of the environment the workload is in (if any).
    const { entry, localRoot, from } = await this.devEntry(n, folder);
    this.log.info(`dev start ${ref} in ${n.namespace} (${n.context}) from ${localRoot}, ${from}${entry ? '' : ', no dev entry: current image'}`);
    try {
      const session = await this.withProgress(`Starting dev mode on ${ref}`, (onEvent, signal) =>
        startDevMode(cluster, {
          workload: ref,
          container: entry?.container,
          image: entry?.image,
          workDir: entry?.workDir,
          env: entry?.env,
          resources: entry?.resources,
          force: opts.force,
          onEvent,
          signal,
        }),
      );
      this.sessions.set(key, session);
      this.log.info(`dev mode on ${ref}: pod ${session.pod}, container ${session.container}, image ${session.image}, source at ${session.workDir}`);
      void vscode.window.showInformationMessage(`kdev: ${ref} is in dev mode (pod ${session.pod}, image ${session.image}); syncing ${localRoot}`);
      // The folder goes into the dev container and follows every save (status bar item).
      let syncError: unknown;
      await this.syncs.attach(cluster, key, session, localRoot, entry).catch((err: unknown) => {
        syncError = err;
        const text = this.log.error(`sync into ${ref}`, err);
        void vscode.window.showErrorMessage(`kdev: ${ref} is in dev mode, but the sync failed: ${text}`);
      });
      this.changed.fire({ action: 'start', key, ok: true, session, error: syncError });
      return session;
    } catch (err) {
      this.changed.fire({ action: 'start', key, ok: false, error: err });
      // Someone else has it: offer the take-over core supports, never silently.
      if (isKdevError(err) && err.code === 'IN_USE' && !opts.force) {
        this.log.error(`dev start ${ref}`, err);
        const choice = await vscode.window.showErrorMessage(`kdev: ${err.message}. Take over: their dev container stops and yours starts.`, 'Take Over');
        if (choice === 'Take Over') return this.start(n, { force: true, folder });
        return undefined;
      }
      throw err;
    }
  }

  async end(node: Node | undefined): Promise<EndResult | undefined> {
    const n = this.workload(node);
    const key = workloadKey(n);
    const ref = `${n.kind.kind.toLowerCase()}/${n.name}`;
    const cluster = this.cluster(n);
    const ctx = this.tree.contextModel(n.context);
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
      const result = await this.withProgress(`Ending dev mode on ${ref}`, (onEvent) => endDevMode(cluster, { workload: ref, force, onEvent }));
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

  /** Core's DevEvents as a notification's progress; every event also goes to the log. */
  private withProgress<T>(title: string, fn: (onEvent: (e: DevEvent) => void, signal: AbortSignal) => Promise<T>): Promise<T> {
    return Promise.resolve(
      vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `kdev: ${title}`, cancellable: true }, (progress, token) => {
        const controller = new AbortController();
        const sub = token.onCancellationRequested(() => {
          this.log.warn(`${title}: cancelled; the workload keeps what core wrote (End Dev Mode restores it)`);
          controller.abort();
        });
        const onEvent = (e: DevEvent) => {
          switch (e.type) {
            case 'phase':
              this.log.info(`  ${e.phase}: ${e.message}`);
              progress.report({ message: `${e.phase}: ${e.message}` });
              break;
            case 'warning':
              this.log.warn(`  ${e.object}: ${e.reason}: ${e.message}`);
              progress.report({ message: `${e.reason}: ${e.message}` });
              break;
            case 'info':
              this.log.info(`  ${e.message}`);
              break;
          }
        };
        return fn(onEvent, controller.signal).finally(() => sub.dispose());
      }),
    );
  }

  dispose(): void {
    this.changed.dispose();
  }
}

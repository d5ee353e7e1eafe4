// Entry point: wires one small module per contribution (tree, commands, status bar, output).
import * as vscode from 'vscode';
import { DevLoop } from '@kdev/core';
import { KdevTreeProvider } from './tree.js';
import { Log } from './output.js';
import { registerCommands, type Services } from './commands.js';
import { PortForwards } from './portforward.js';
import { DevMode } from './devmode.js';
import { Environments } from './environments.js';
import { Syncs } from './sync.js';
import { Logs } from './logs.js';
import { Terminals } from './terminal.js';
import { RemoteRun } from './run.js';
import { RemoteDebug } from './debug.js';

const loadedAt = performance.now();

/** What activate returns: the services (see commands.ts), for the extension's own tests. */
export interface KdevApi extends Services {
  /** Milliseconds from this module's load to the end of activate. */
  activationMs: number;
}

export function kubeconfigSetting(): string | undefined {
  const value = vscode.workspace.getConfiguration('kdev').get<string>('kubeconfig');
  return value ? value : undefined;
}

export function activate(context: vscode.ExtensionContext): KdevApi {
  const log = new Log();
  const tree = new KdevTreeProvider(kubeconfigSetting);
  const view = vscode.window.createTreeView('kdev.workloads', { treeDataProvider: tree, showCollapseAll: true });
  // The window's dev session: every dev action goes through it; other kdev processes see it.
  const loop = new DevLoop({ ui: 'vscode', command: `VS Code window (${vscode.workspace.name ?? 'no folder'})` });
  const forwards = new PortForwards(loop, tree, log);
  const syncs = new Syncs(loop, log);
  const dev = new DevMode(loop, context.workspaceState, tree, log, syncs);
  const envs = new Environments(tree, log);
  const logs = new Logs(dev, log);
  const terminals = new Terminals(dev, log);
  const run = new RemoteRun(dev, logs, log);
  const debug = new RemoteDebug(dev, logs, log);
  context.subscriptions.push(log, tree, view, forwards, syncs, dev, envs, logs, terminals, debug, { dispose: () => void loop.close() });
  registerCommands(context, { tree, view, log, forwards, dev, envs, syncs, logs, terminals, run, debug });
  tree.syncLabel = (key) => syncs.label(key);
  context.subscriptions.push(syncs.onDidChange(() => tree.refresh()));
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('kdev.kubeconfig')) tree.reset();
    }),
  );
  const activationMs = Math.round((performance.now() - loadedAt) * 10) / 10;
  log.info(`kdev activated in ${activationMs} ms (kubeconfig: ${kubeconfigSetting() ?? 'default: $KUBECONFIG or ~/.kube/config'})`);
  return { tree, view, log, forwards, dev, envs, syncs, logs, terminals, run, debug, activationMs };
}

export function deactivate(): void {}

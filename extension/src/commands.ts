// Commands: the palette and the tree's context menus. Each handler calls core and reports
// through the output channel and notifications (with the hint of a KdevError).
import * as vscode from 'vscode';
import { KdevError } from '@kdev/core';
import type { KdevTreeProvider, Node } from './tree.js';
import type { Log } from './output.js';
import type { PortForwards } from './portforward.js';
import type { DevMode } from './devmode.js';
import type { Environments } from './environments.js';
import type { Syncs } from './sync.js';
import type { Logs } from './logs.js';
import type { Terminals } from './terminal.js';
import type { RemoteRun } from './run.js';
import type { RemoteDebug } from './debug.js';

export interface Services {
  tree: KdevTreeProvider;
  view: vscode.TreeView<Node>;
  log: Log;
  forwards: PortForwards;
  dev: DevMode;
  envs: Environments;
  syncs: Syncs;
  logs: Logs;
  terminals: Terminals;
  run: RemoteRun;
  debug: RemoteDebug;
}

/**
 * The node a command acts on: the one right-clicked, else the tree's selection. VS Code
 * passes no node when the row was being refetched at that moment (the tree refreshes on
 * watch events); the selection resolves again once the refetch is done, a moment later.
 */
async function target(s: Services, node: Node | undefined): Promise<Node> {
  for (let attempt = 0; !node && attempt < 5; attempt++) {
    node = s.view.selection[0];
    if (!node) await new Promise((r) => setTimeout(r, 200));
  }
  if (!node) throw new KdevError('INVALID', 'no workload is selected', 'Right-click a workload or a pod in the kdev view.');
  return node;
}

/** Runs a command body; an error goes to the log and to a notification with its hint. */
async function guarded<T>(s: Services, doing: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    const text = s.log.error(doing, err);
    void vscode.window.showErrorMessage(`kdev: ${doing}: ${text}`, 'Show Log').then((choice) => {
      if (choice) s.log.channel.show(true);
    });
    return undefined;
  }
}

export function registerCommands(context: vscode.ExtensionContext, s: Services): void {
  const register = (id: string, fn: (...args: never[]) => unknown) => context.subscriptions.push(vscode.commands.registerCommand(id, fn));
  register('kdev.refresh', () => {
    s.log.info('refresh: reloading the kubeconfig and restarting the watches');
    s.tree.reset();
  });
  register('kdev.showLog', () => s.log.channel.show(true));
  register('kdev.portForward', (node?: Node) => guarded(s, 'port forward', async () => s.forwards.add(await target(s, node))));
  register('kdev.portForwards', () => guarded(s, 'port forwards', () => s.forwards.manage()));
  register('kdev.startDevMode', (node?: Node) => guarded(s, 'start dev mode', async () => s.dev.start(await target(s, node))));
  register('kdev.copyRouteCurl', (node?: Node) => guarded(s, 'copy curl command', async () => s.dev.copyCurl(await target(s, node))));
  register('kdev.endDevMode', (node?: Node) => guarded(s, 'end dev mode', async () => s.dev.end(await target(s, node))));
  register('kdev.createEnvironment', (node?: Node) => guarded(s, 'create environment', () => s.envs.create(node ?? s.view.selection[0] ?? currentContextNode(s))));
  register('kdev.sleepEnvironment', (node?: Node) => guarded(s, 'sleep environment', async () => s.envs.sleep(await target(s, node))));
  register('kdev.wakeEnvironment', (node?: Node) => guarded(s, 'wake environment', async () => s.envs.wake(await target(s, node))));
  register('kdev.deleteEnvironment', (node?: Node) => guarded(s, 'delete environment', async () => s.envs.delete(await target(s, node))));
  register('kdev.syncDetails', () => guarded(s, 'sync details', () => s.syncs.details()));
  register('kdev.showLogs', (node?: Node) => guarded(s, 'show logs', async () => s.logs.show(await target(s, node))));
  register('kdev.stopLogs', (node?: Node) => guarded(s, 'stop logs', async () => s.logs.stop(await target(s, node))));
  register('kdev.openTerminal', (node?: Node) => guarded(s, 'open terminal', async () => s.terminals.openFor(await target(s, node))));
  register('kdev.remoteRun', (node?: Node) => guarded(s, 'remote run', async () => s.run.start(await target(s, node))));
  register('kdev.stopRemoteRun', (node?: Node) => guarded(s, 'stop remote run', async () => s.run.stop(await target(s, node))));
  register('kdev.remoteDebug', (node?: Node) => guarded(s, 'remote debug', async () => s.debug.start(await target(s, node))));
  register('kdev.stopPortForward', (localPort: number) => guarded(s, 'stop port forward', () => s.forwards.stop(localPort)));
}

/** From the view's title bar: the kubeconfig's current context. */
function currentContextNode(s: Services): Node | undefined {
  const name = s.tree.currentContext();
  return name ? { type: 'context', context: name, current: true } : undefined;
}

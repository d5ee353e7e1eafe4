// Commands: the palette and the tree's context menus. Each handler calls core and reports
// through the output channel and notifications (with the hint of a KdevError).
import * as vscode from 'vscode';
import type { KdevTreeProvider } from './tree.js';
import type { Log } from './output.js';

export interface Services {
  tree: KdevTreeProvider;
  log: Log;
}

export function registerCommands(context: vscode.ExtensionContext, s: Services): void {
  const register = (id: string, fn: (...args: never[]) => unknown) => context.subscriptions.push(vscode.commands.registerCommand(id, fn));
  register('kdev.refresh', () => {
    s.log.info('refresh: reloading the kubeconfig and restarting the watches');
    s.tree.reset();
  });
  register('kdev.showLog', () => s.log.channel.show(true));
}

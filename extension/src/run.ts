// Remote Run: the dev config's run command (the folder's .kdev.yaml, else the environment
// template's dev config) started under the dev container's supervisor (core's DevWorkload.run),
// restarted after each sync unless the config says restartOnSync: false. Its output is the
// dev container's log: the workload's output channel (Show Logs) follows it.
import * as vscode from 'vscode';
import { sourceText, type AppEvent, type RunStatus } from '@kdev/core';
import type { Node } from './tree.js';
import type { DevMode } from './devmode.js';
import type { Log } from './output.js';
import type { Logs } from './logs.js';
import { devTarget } from './devtarget.js';

export class RemoteRun {
  constructor(
    private readonly dev: DevMode,
    private readonly logs: Logs,
    private readonly log: Log,
  ) {}

  /** undefined: there is no run command (a notification said so). */
  async start(node: Node | undefined): Promise<RunStatus | undefined> {
    const { key, ref, w, target } = await devTarget(this.dev, node, true);
    const { entry, source } = w.resolved;
    const command = entry?.run?.trim();
    if (!command) {
      const name = ref.replace(/^deployment\//, '');
      const text = `kdev: ${ref} has no run command (${sourceText(source)}). Add one to .kdev.yaml: dev: ${name}: run: <command>`;
      this.log.warn(text);
      void vscode.window.showWarningMessage(text);
      return undefined;
    }
    await this.logs.show(node);
    const off = this.dev.loop.on((e: AppEvent) => {
      if (e.workload !== ref || (e.type !== 'run' && e.type !== 'sync-elsewhere')) return;
      const text = e.type === 'run' ? e.message : `the sync of pid ${e.pid} (${e.ui}) restarts it`;
      this.logs.note(key, text);
      this.log.info(`run ${ref}: ${text}`);
    });
    let status: RunStatus;
    try {
      status = (await w.run()).status;
    } finally {
      off();
    }
    if (status.state === 'running') {
      void vscode.window.showInformationMessage(`kdev: running \`${command}\` in ${ref} (pod ${target.pod})`);
    } else {
      const why = status.state === 'exited' ? `exited at once with code ${status.code}` : status.state;
      void vscode.window.showErrorMessage(`kdev: \`${command}\` in ${ref} ${why}; its output is in the "kdev: ${ref}" channel`);
    }
    return status;
  }

  async stop(node: Node | undefined): Promise<RunStatus> {
    const { key, ref, w, target } = await devTarget(this.dev, node);
    const status = await w.stopRun(target);
    this.logs.note(key, `run command stopped (${status.state})`);
    this.log.info(`run ${ref}: stopped (${status.state})`);
    return status;
  }
}

// Remote Run: the dev config's run command (the folder's .kdev.yaml, else the environment
// template's dev config) started under the dev container's supervisor (core's startRun),
// restarted after each sync unless the config says restartOnSync: false. Its output is the
// dev container's log: the workload's output channel (Show Logs) follows it.
import * as vscode from 'vscode';
import { startRun, stopRun, type RunStatus, type SessionEvent } from '@kdev/core';
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
    const { entry, from } = await this.dev.devEntry(node);
    const { key, ref, cluster, target } = await devTarget(this.dev, node);
    const command = entry?.run?.trim();
    if (!command) {
      const key = ref.replace(/^deployment\//, '');
      const text = `kdev: ${ref} has no run command (${from}). Add one to .kdev.yaml: dev: ${key}: run: <command>`;
      this.log.warn(text);
      void vscode.window.showWarningMessage(text);
      return undefined;
    }
    await this.logs.show(node);
    const onEvent = (e: SessionEvent) => {
      if (e.type === 'run') {
        this.logs.note(key, e.message);
        this.log.info(`run ${ref}: ${e.message}`);
      }
    };
    const status = await startRun(cluster, target, { command, restartOnSync: entry?.restartOnSync ?? true, onEvent });
    if (status.state === 'running') {
      void vscode.window.showInformationMessage(`kdev: running \`${command}\` in ${ref} (pod ${target.pod})`);
    } else {
      const why = status.state === 'exited' ? `exited at once with code ${status.code}` : status.state;
      void vscode.window.showErrorMessage(`kdev: \`${command}\` in ${ref} ${why}; its output is in the "kdev: ${ref}" channel`);
    }
    return status;
  }

  async stop(node: Node | undefined): Promise<RunStatus> {
    const { key, ref, cluster, target } = await devTarget(this.dev, node);
    const status = await stopRun(cluster, target);
    this.logs.note(key, `run command stopped (${status.state})`);
    this.log.info(`run ${ref}: stopped (${status.state})`);
    return status;
  }
}

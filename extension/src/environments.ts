// Environments from the tree (core/src/env): Create from Template on a context or namespace,
// Sleep, Wake and Delete on an environment. Progress comes from core's EnvProgress events.
import * as vscode from 'vscode';
import {
  createEnvironment,
  deleteEnvironment,
  listTemplates,
  loadTemplate,
  sleepEnvironment,
  validateEnvName,
  wakeEnvironment,
  isKdevError,
  KdevError,
  type Cluster,
  type CreatedEnvironment,
  type EnvProgress,
  type SleepResult,
} from '@kdev/core';
import type { KdevTreeProvider, Node } from './tree.js';
import type { Log } from './output.js';

export interface EnvChange {
  action: 'create' | 'sleep' | 'wake' | 'delete';
  name: string;
  ok: boolean;
}

export class Environments implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<EnvChange>();
  /** Fires when an environment command finishes. */
  readonly onDidFinish = this.changed.event;

  constructor(
    private readonly tree: KdevTreeProvider,
    private readonly log: Log,
  ) {}

  private contextOf(node: Node | undefined): { context: string; cluster: Cluster } {
    if (node?.type !== 'context' && node?.type !== 'namespace') {
      throw new KdevError('INVALID', 'creating an environment needs a context', 'Right-click a context or a namespace in the kdev view.');
    }
    const ctx = this.tree.contextModel(node.context);
    if (!ctx) throw new KdevError('NO_CLUSTER', 'no kubeconfig is loaded', 'Set kdev.kubeconfig or $KUBECONFIG, then Refresh the kdev view.');
    return { context: node.context, cluster: ctx.cluster };
  }

  private environmentOf(node: Node | undefined): { name: string; cluster: Cluster } {
    if (node?.type !== 'namespace' || !node.environment) {
      throw new KdevError('INVALID', 'this namespace is not a kdev environment', 'Sleep, Wake and Delete act on namespaces made by Create from Template (kdev env create).');
    }
    const ctx = this.tree.contextModel(node.context);
    if (!ctx) throw new KdevError('NO_CLUSTER', 'no kubeconfig is loaded', 'Set kdev.kubeconfig or $KUBECONFIG, then Refresh the kdev view.');
    return { name: node.namespace, cluster: ctx.cluster };
  }

  private async run<T>(action: EnvChange['action'], name: string, title: string, fn: (onProgress: (e: EnvProgress) => void) => Promise<T>): Promise<T> {
    try {
      const value = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `kdev: ${title}` }, (progress) =>
        fn((e) => {
          const text = progressText(e);
          if (text) {
            this.log.info(`  ${text}`);
            progress.report({ message: text });
          }
        }),
      );
      this.changed.fire({ action, name, ok: true });
      return value;
    } catch (err) {
      this.changed.fire({ action, name, ok: false });
      throw err;
    }
  }

  /** Quick pick of core's templates, then the name; creates and waits until Ready. */
  async create(node: Node | undefined): Promise<CreatedEnvironment | undefined> {
    const { context, cluster } = this.contextOf(node);
    const templates = listTemplates().map((t) => {
      let description = '';
      try {
        description = loadTemplate(t.dir).spec.description ?? '';
      } catch (err) {
        description = isKdevError(err) ? `invalid: ${err.message}` : 'invalid';
      }
      return { label: t.name, detail: description, dir: t.dir };
    });
    if (templates.length === 0) {
      throw new KdevError('NOT_FOUND', 'no environment templates were found', 'Set $KDEV_TEMPLATES to a folder of templates (see templates/README.md).');
    }
    const template = await vscode.window.showQuickPick(templates, { title: `Create an environment in ${context}`, placeHolder: 'Template' });
    if (!template) return undefined;
    const name = await vscode.window.showInputBox({
      title: `Create an environment from ${template.label}`,
      prompt: 'Environment (and namespace) name',
      placeHolder: 'e.g. pr-123',
      validateInput: (v) => {
        try {
          validateEnvName(v);
          return undefined;
        } catch (err) {
          return isKdevError(err) ? err.message : String(err);
        }
      },
    });
    if (!name) return undefined;
    this.log.info(`env create ${name} from template ${template.label} (${template.dir}) in ${context}`);
    const created = await this.run('create', name, `Creating environment ${name} (${template.label})`, (onProgress) =>
      createEnvironment(cluster, { name, template: template.dir, wait: true, onProgress }),
    );
    const endpoints = created.endpoints.map((e) => `${e.service} ${e.ports.map((p) => p.address).join(', ')}`).join('; ');
    this.log.info(`environment ${name} ready in ${(created.durationMs / 1000).toFixed(1)} s (owner ${created.info.owner}, expires ${created.info.expires?.toISOString() ?? 'never'})${endpoints ? `: ${endpoints}` : ''}`);
    void vscode.window.showInformationMessage(`kdev: environment ${name} is ready (${(created.durationMs / 1000).toFixed(1)} s)`);
    return created;
  }

  async sleep(node: Node | undefined): Promise<SleepResult> {
    const { name, cluster } = this.environmentOf(node);
    this.log.info(`env sleep ${name}`);
    const result = await this.run('sleep', name, `Putting environment ${name} to sleep`, (onProgress) => sleepEnvironment(cluster, name, { onProgress }));
    for (const c of result.changed) this.log.info(`  ${c}`);
    void vscode.window.showInformationMessage(result.changed.length > 0 ? `kdev: environment ${name} is asleep` : `kdev: environment ${name} was already asleep`);
    return result;
  }

  async wake(node: Node | undefined): Promise<SleepResult> {
    const { name, cluster } = this.environmentOf(node);
    this.log.info(`env wake ${name}`);
    const result = await this.run('wake', name, `Waking environment ${name}`, (onProgress) => wakeEnvironment(cluster, name, { wait: true, onProgress }));
    for (const c of result.changed) this.log.info(`  ${c}`);
    void vscode.window.showInformationMessage(`kdev: environment ${name} is awake`);
    return result;
  }

  /** Deletes after the user types the environment's name to confirm. false: not confirmed. */
  async delete(node: Node | undefined): Promise<boolean> {
    const { name, cluster } = this.environmentOf(node);
    const typed = await vscode.window.showInputBox({
      title: `Delete environment ${name}`,
      prompt: `The namespace ${name} and everything in it (workloads, volumes, secrets) is deleted. Type ${name} to confirm.`,
      placeHolder: name,
      validateInput: (v) => (v === name ? undefined : `Type ${name} to delete it, or press Escape`),
    });
    if (typed !== name) return false;
    this.log.info(`env delete ${name}`);
    await this.run('delete', name, `Deleting environment ${name}`, (onProgress) => deleteEnvironment(cluster, name, { wait: true, onProgress }));
    this.log.info(`environment ${name} deleted`);
    return true;
  }

  dispose(): void {
    this.changed.dispose();
  }
}

function progressText(e: EnvProgress): string | undefined {
  switch (e.type) {
    case 'plan':
      return `template ${e.template}: ${e.workloads.map((w) => w.name).join(', ')}`;
    case 'step':
      return e.state === 'start' ? `${e.step}…` : `${e.step} ${e.state}${e.detail ? `: ${e.detail}` : ''}`;
    case 'workload':
      return `${e.kind.toLowerCase()}/${e.name}: ${e.state}${e.message ? ` (${e.message})` : ''}`;
  }
}

// Environments from the tree's real context menus: Create from Template (hello), Sleep,
// Wake, Delete with its confirmation. The cluster's side is read through core from here.
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { deleteEnvironment, getEnvironment, isKdevError, SLEEP_REPLICAS_ANNOTATION } from '@kdev/core/internals';
import type { KdevApi } from '../../extension.js';
import type { EnvChange } from '../../environments.js';
import { kdevApi } from './activation.test.js';
import { ask } from './harness.js';
import { admin, path, untilTree } from './helpers.js';

function next(api: KdevApi, action: EnvChange['action']): Promise<EnvChange> {
  return new Promise((resolve) => {
    const sub = api.envs.onDidFinish((c) => {
      if (c.action === action) {
        sub.dispose();
        resolve(c);
      }
    });
  });
}

suite('environments', () => {
  let api: KdevApi;
  let context: string;
  const name = `kdev-ext-env-${randomBytes(3).toString('hex')}`;
  const cluster = admin();

  suiteSetup(async () => {
    api = await kdevApi();
    context = cluster.contextName;
  });
  suiteTeardown(async () => {
    await deleteEnvironment(cluster, name, { wait: true }).catch(() => undefined);
  });

  async function envItem(state: string): Promise<vscode.TreeItem> {
    return untilTree(
      api.tree,
      async () => {
        const n = await path(api.tree, context, name);
        const it = n && api.tree.getTreeItem(n);
        return it?.contextValue === `kdev.environment.${state}` ? it : undefined;
      },
      `environment ${name} ${state}`,
    );
  }

  async function replicas(): Promise<Record<string, number>> {
    const list = await cluster.apps.listNamespacedDeployment({ namespace: name });
    return Object.fromEntries(list.items.map((d) => [d.metadata!.name!, d.spec?.replicas ?? 1]));
  }

  test('Create Environment from Template on the context: quick pick of core templates, then the name', async () => {
    await vscode.commands.executeCommand('workbench.view.extension.kdev');
    const ctx = await path(api.tree, context);
    await api.view.reveal(ctx!, { select: true, focus: true });
    const finished = next(api, 'create');
    await ask({ action: 'contextMenu', treeItem: context, menuItem: 'Create Environment from Template' });
    await ask({ action: 'quickInput', text: 'hello' });
    await ask({ action: 'quickInput', text: name });
    const change = await finished;
    assert.equal(change.ok, true);
    const info = await getEnvironment(cluster, name);
    assert.equal(info.template, 'hello');
    assert.equal(info.state, 'ready');
    assert.deepEqual(await replicas(), { backend: 1, frontend: 1 });
    const item = await envItem('ready');
    assert.equal(item.description, 'kdev environment · hello');
  });

  test('Sleep scales it to zero; Wake brings it back', async () => {
    const n = await path(api.tree, context, name);
    await api.view.reveal(n!, { select: true, focus: true });
    let finished = next(api, 'sleep');
    await ask({ action: 'contextMenu', treeItem: name, menuItem: 'Sleep Environment' });
    assert.equal((await finished).ok, true);
    assert.deepEqual(await replicas(), { backend: 0, frontend: 0 });
    assert.equal((await getEnvironment(cluster, name)).state, 'sleeping');
    const asleep = await envItem('sleeping');
    assert.equal(asleep.description, 'kdev environment · hello · sleeping');

    finished = next(api, 'wake');
    await ask({ action: 'contextMenu', treeItem: name, menuItem: 'Wake Environment' });
    assert.equal((await finished).ok, true);
    assert.deepEqual(await replicas(), { backend: 1, frontend: 1 });
    const list = await cluster.apps.listNamespacedDeployment({ namespace: name });
    for (const d of list.items) {
      assert.equal(d.status?.readyReplicas, 1, `${d.metadata?.name} is ready again`);
      assert.equal(d.metadata?.annotations?.[SLEEP_REPLICAS_ANNOTATION], undefined);
    }
    await envItem('ready');
  });

  test('Delete asks for the name first: Escape keeps it, the name deletes it', async () => {
    const n = await path(api.tree, context, name);
    await api.view.reveal(n!, { select: true, focus: true });
    // A wrong name is not accepted; Escape cancels without touching the environment.
    const cancelled = vscode.commands.executeCommand('kdev.deleteEnvironment', n);
    await ask({ action: 'quickInput', text: 'not-the-name' });
    await ask({ action: 'press', key: 'Escape' });
    assert.equal(await cancelled, false);
    assert.equal((await getEnvironment(cluster, name)).state, 'ready');

    const finished = next(api, 'delete');
    await ask({ action: 'contextMenu', treeItem: name, menuItem: 'Delete Environment' });
    await ask({ action: 'quickInput', text: name });
    assert.equal((await finished).ok, true);
    await assert.rejects(getEnvironment(cluster, name), (err: unknown) => isKdevError(err) && err.code === 'NOT_FOUND');
    await untilTree(api.tree, async () => ((await path(api.tree, context, name)) === undefined ? true : undefined), `environment ${name} gone from the tree`);
  });

  test('Sleep on a namespace that is not an environment is refused', async () => {
    await assert.rejects(api.envs.sleep({ type: 'namespace', context, namespace: 'default', environment: false }), /not a kdev environment/);
  });
});

// Bad input: no kubeconfig, an unreachable cluster, a forbidden namespace. The tree shows one
// explanatory node with the hint instead of failing or spinning.
import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { KubeConfig } from '@kubernetes/client-node';
import type { KdevApi } from '../../extension.js';
import { kdevApi } from './activation.test.js';
import { label, tempNamespace, testKubeconfig } from './helpers.js';

async function useKubeconfig(path: string): Promise<void> {
  await vscode.workspace.getConfiguration('kdev').update('kubeconfig', path, vscode.ConfigurationTarget.Workspace);
}

suite('bad input', () => {
  let api: KdevApi;
  const dir = mkdtempSync(join(tmpdir(), 'kdev-ext-badinput-'));

  suiteSetup(async () => {
    api = await kdevApi();
  });
  suiteTeardown(async () => {
    await useKubeconfig(testKubeconfig());
  });

  test('no kubeconfig: one node that says so, with the hint', async () => {
    await useKubeconfig(join(dir, 'missing-kubeconfig'));
    const roots = await api.tree.getChildren();
    assert.equal(roots.length, 1);
    const item = api.tree.getTreeItem(roots[0]!);
    assert.match(label(api.tree, roots[0]!), /kubeconfig .*missing-kubeconfig does not exist/);
    assert.match(String(item.tooltip), /KUBECONFIG/);
    assert.equal(item.contextValue, 'kdev.message');
    assert.deepEqual(await api.tree.getChildren(roots[0]), []);
  });

  test('unreachable cluster: the context shows one node with the hint, without spinning', async () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'gone', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
      users: [{ name: 'u', token: 'x' }],
      contexts: [{ name: 'gone', cluster: 'gone', user: 'u' }],
      currentContext: 'gone',
    });
    const file = join(dir, 'unreachable');
    writeFileSync(file, kc.exportConfig());
    await useKubeconfig(file);
    const roots = await api.tree.getChildren();
    assert.deepEqual(roots.map((r) => label(api.tree, r)), ['gone']);
    const t0 = Date.now();
    const children = await api.tree.getChildren(roots[0]);
    assert.ok(Date.now() - t0 < 20_000, 'answers promptly');
    assert.equal(children.length, 1);
    assert.match(label(api.tree, children[0]!), /cannot reach the cluster at https:\/\/127\.0\.0\.1:1/);
    assert.match(String(api.tree.getTreeItem(children[0]!).description), /cluster:up/);
  });

  test('forbidden namespace: one node with the RBAC hint', async () => {
    const ns = await tempNamespace('kdev-ext-rbac');
    try {
      // A service account without any role: it may list nothing.
      await ns.cluster.core.createNamespacedServiceAccount({ namespace: ns.name, body: { metadata: { name: 'nobody' } } });
      const token = await ns.cluster.core.createNamespacedServiceAccountToken({ name: 'nobody', namespace: ns.name, body: { spec: { audiences: [], expirationSeconds: 600 } } });
      const adminKc = new KubeConfig();
      adminKc.loadFromFile(testKubeconfig());
      const server = adminKc.getCurrentCluster()!;
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'local', server: server.server, caData: server.caData, caFile: server.caFile, skipTLSVerify: server.skipTLSVerify }],
        users: [{ name: 'nobody', token: token.status!.token }],
        contexts: [{ name: 'nobody', cluster: 'local', user: 'nobody', namespace: ns.name }],
        currentContext: 'nobody',
      });
      const file = join(dir, 'nobody');
      writeFileSync(file, kc.exportConfig());
      assert.match(readFileSync(file, 'utf8'), /nobody/);
      await useKubeconfig(file);
      const [ctx] = await api.tree.getChildren();
      const children = await api.tree.getChildren(ctx);
      // Listing namespaces is forbidden: the explanation, then the context's own namespace.
      assert.match(label(api.tree, children[0]!), /forbidden/);
      assert.match(String(api.tree.getTreeItem(children[0]!).description), /RBAC/);
      assert.equal(label(api.tree, children[1]!), ns.name);
      const inside = await api.tree.getChildren(children[1]);
      assert.equal(inside.length, 1);
      assert.match(label(api.tree, inside[0]!), /forbidden/);
      assert.match(String(api.tree.getTreeItem(inside[0]!).description), /RBAC/);
    } finally {
      await useKubeconfig(testKubeconfig());
      await ns.remove();
    }
  });
});

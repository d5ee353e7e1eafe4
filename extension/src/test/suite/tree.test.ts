import * as assert from 'node:assert/strict';
import { get } from 'node:http';
import * as vscode from 'vscode';
import { PatchStrategy, type V1Deployment } from '@kubernetes/client-node';
import type { KdevApi } from '../../extension.js';
import { kdevApi } from './activation.test.js';
import { ask } from './harness.js';
import { admin, deploymentOf, label, path, tempNamespace, untilTree } from './helpers.js';

const NODE_IMAGE = 'kdev.local/node:18';

function deployment(name: string): V1Deployment {
  return deploymentOf(name, {
    name,
    image: NODE_IMAGE,
    imagePullPolicy: 'IfNotPresent',
    command: ['node', '-e', "require('http').createServer((q, r) => r.end('hello from ' + require('os').hostname())).listen(8080)"],
    ports: [{ containerPort: 8080, name: 'http' }],
  });
}

suite('tree', () => {
  let api: KdevApi;
  let ns: Awaited<ReturnType<typeof tempNamespace>>;
  let context: string;

  suiteSetup(async () => {
    api = await kdevApi();
    ns = await tempNamespace('kdev-ext-tree');
    context = admin().contextName;
    await ns.cluster.apps.createNamespacedDeployment({ namespace: ns.name, body: deployment('web') });
  });
  suiteTeardown(async () => {
    await ns?.remove();
  });

  test('lists the contexts of the kubeconfig, the current one marked', async () => {
    const roots = await api.tree.getChildren();
    assert.ok(roots.some((r) => label(api.tree, r) === context), `context ${context} among ${roots.map((r) => label(api.tree, r)).join(', ')}`);
    const item = api.tree.getTreeItem(roots.find((r) => label(api.tree, r) === context)!);
    assert.equal(item.description, 'current context');
  });

  test('lists the workloads of a namespace down to pods and containers', async () => {
    const pod = await untilTree(
      api.tree,
      async () => {
        const web = await path(api.tree, context, ns.name, 'Deployments', 'web');
        if (!web) return undefined;
        const pods = await api.tree.getChildren(web);
        const running = pods.find((p) => /^Running 1\/1/.test(String(api.tree.getTreeItem(p).description)));
        return running;
      },
      `deployment web in ${ns.name} with a running pod`,
    );
    assert.match(label(api.tree, pod), /^web-[a-z0-9]+-[a-z0-9]+$/);
    const containers = await api.tree.getChildren(pod);
    assert.deepEqual(containers.map((c) => label(api.tree, c)), ['web']);
    assert.match(String(api.tree.getTreeItem(containers[0]!).description), /kdev\.local\/node:18 · running, ready/);
    const deployments = await path(api.tree, context, ns.name, 'Deployments');
    assert.equal(api.tree.getTreeItem(deployments!).description, '1');
    const replicaSets = await path(api.tree, context, ns.name, 'ReplicaSets');
    assert.equal(api.tree.getTreeItem(replicaSets!).description, '1');
  });

  test('follows the cluster by watch: a new Deployment appears, a deleted one goes', async () => {
    await ns.cluster.apps.createNamespacedDeployment({ namespace: ns.name, body: deployment('api') });
    await untilTree(api.tree, () => path(api.tree, context, ns.name, 'Deployments', 'api'), 'the new deployment api');
    await ns.cluster.apps.deleteNamespacedDeployment({ name: 'api', namespace: ns.name });
    await untilTree(
      api.tree,
      async () => ((await path(api.tree, context, ns.name, 'Deployments', 'api')) === undefined ? true : undefined),
      'deployment api gone',
    );
  });

  test('marks kdev environments: the namespace label kdev.dev/environment holds its own name', async () => {
    const before = await path(api.tree, context, ns.name);
    assert.equal(api.tree.getTreeItem(before!).contextValue, 'kdev.namespace');
    const label = (value: string) =>
      ns.cluster.objects.patch(
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns.name, labels: { 'kdev.dev/environment': value, 'kdev.dev/template': 'hello' } } },
        undefined,
        undefined,
        undefined,
        undefined,
        PatchStrategy.MergePatch,
      );
    // Objects of an environment carry the label too, with the environment's name: a namespace
    // labelled with another name is not an environment itself.
    await label('someone-else');
    await untilTree(
      api.tree,
      async () => {
        const n = await path(api.tree, context, ns.name);
        // What the tree's namespace watch has seen.
        const labels = api.tree.contextModel(context)?.namespaces().get(ns.name)?.metadata?.labels ?? {};
        return n && labels['kdev.dev/environment'] === 'someone-else' && api.tree.getTreeItem(n).contextValue === 'kdev.namespace' ? n : undefined;
      },
      `namespace ${ns.name} labelled for another environment, not marked`,
    );
    await label(ns.name);
    const env = await untilTree(
      api.tree,
      async () => {
        const n = await path(api.tree, context, ns.name);
        return n && api.tree.getTreeItem(n).contextValue === 'kdev.environment.ready' ? n : undefined;
      },
      `namespace ${ns.name} marked as an environment`,
    );
    assert.equal(api.tree.getTreeItem(env).description, 'kdev environment · hello');
  });

  test('shows the tree in the kdev view (screenshot docs/vscode-tree.png)', async () => {
    await vscode.commands.executeCommand('workbench.view.extension.kdev');
    const web = await path(api.tree, context, ns.name, 'Deployments', 'web');
    assert.ok(web);
    const pods = await api.tree.getChildren(web);
    await api.view.reveal(pods[0]!, { expand: true, select: true, focus: true });
    const shown = await ask({ action: 'screenshot', file: 'docs/vscode-tree.png', sidebarWidth: 560 });
    assert.match(String(shown), /docs\/vscode-tree\.png$/);
  });

  test('Port Forward from the context menu on a pod: HTTP answers through it, then it stops', async () => {
    const web = await path(api.tree, context, ns.name, 'Deployments', 'web');
    const [pod] = await api.tree.getChildren(web);
    const podName = label(api.tree, pod!);
    await api.view.reveal(pod!, { select: true, focus: true });
    const opened = new Promise<void>((resolve) => {
      const sub = api.forwards.onDidChange(() => {
        if (api.forwards.list().length > 0) {
          sub.dispose();
          resolve();
        }
      });
    });
    // The real menu: right-click the pod's row, pick the entry, answer the quick pick.
    await ask({ action: 'contextMenu', treeItem: podName, menuItem: 'Port Forward' });
    await ask({ action: 'quickInput', text: '8080' });
    await opened;
    const [f] = api.forwards.list();
    assert.equal(f!.forward.remotePort, 8080);
    assert.equal(f!.forward.pod, podName);
    assert.equal(await httpGet(`http://127.0.0.1:${f!.forward.localPort}/`), `hello from ${podName}`);
    await ask({ action: 'screenshot', file: 'docs/vscode-portforward.png', sidebarWidth: 560 });
    assert.equal(await vscode.commands.executeCommand('kdev.stopPortForward', f!.forward.localPort), true);
    assert.equal(api.forwards.list().length, 0);
    await assert.rejects(httpGet(`http://127.0.0.1:${f!.forward.localPort}/`), /ECONNREFUSED/);
  });
});

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

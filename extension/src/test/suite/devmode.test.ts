// Start and End Dev Mode from the tree's real context menu, on a real Deployment; the
// cluster's side is read through core from here.
import * as assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { execCapture, listWorkloads, whoAmI, LEASE_ANNOTATION } from '@kdev/core/internals';
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import type { KdevApi } from '../../extension.js';
import type { DevChange } from '../../devmode.js';
import { kdevApi } from './activation.test.js';
import { ask } from './harness.js';
import { admin, deploymentOf, label, path, tempNamespace, untilTree } from './helpers.js';

const APP = 'shop';
const DEV_IMAGE = 'kdev.local/dev-node:18';

function deployment(): V1Deployment {
  return deploymentOf(
    APP,
    {
      name: 'app',
      image: 'kdev.local/node:18',
      imagePullPolicy: 'IfNotPresent',
      command: ['node', '-e', "require('http').createServer((q, r) => r.end('prod')).listen(8080)"],
      env: [{ name: 'GREETING', value: 'hi' }],
      ports: [{ containerPort: 8080 }],
      readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
    },
    { replicas: 2, labels: { app: APP, tier: 'web' }, annotations: { 'example.com/owner': 'team-a' } },
  );
}

function next(api: KdevApi, action: DevChange['action']): Promise<DevChange> {
  return new Promise((resolve) => {
    const sub = api.dev.onDidFinish((c) => {
      if (c.action === action) {
        sub.dispose();
        resolve(c);
      }
    });
  });
}

suite('dev mode', () => {
  let api: KdevApi;
  let ns: Awaited<ReturnType<typeof tempNamespace>>;
  let context: string;
  let folder: string;
  let before: V1Deployment;

  suiteSetup(async () => {
    api = await kdevApi();
    ns = await tempNamespace('kdev-ext-dev');
    context = admin().contextName;
    folder = mkdtempSync(join(tmpdir(), 'kdev-ext-src-'));
    writeFileSync(join(folder, '.kdev.yaml'), `dev:\n  ${APP}:\n    image: ${DEV_IMAGE}\n    workDir: /src\n    env:\n      MODE: dev\n`);
    writeFileSync(join(folder, 'server.js'), "require('http').createServer((q, r) => r.end('dev')).listen(8080);\n");
    await ns.cluster.apps.createNamespacedDeployment({ namespace: ns.name, body: deployment() });
    await untilTree(
      api.tree,
      async () => {
        const n = await path(api.tree, context, ns.name, 'Deployments', APP);
        return n && /^2\/2 ready$/.test(String(api.tree.getTreeItem(n).description)) ? n : undefined;
      },
      `deployment ${APP} 2/2 ready`,
    );
    before = await ns.cluster.apps.readNamespacedDeployment({ name: APP, namespace: ns.name });
  });
  suiteTeardown(async () => {
    await ns?.remove();
  });

  test('Start Dev Mode from the context menu: folder asked and remembered, dev pod with the dev image, tree shows it as mine', async () => {
    const workload = await path(api.tree, context, ns.name, 'Deployments', APP);
    assert.ok(workload);
    assert.match(String(api.tree.getTreeItem(workload).contextValue), /^kdev\.workload\.Deployment\.dev-none$/);
    await vscode.commands.executeCommand('workbench.view.extension.kdev');
    await vscode.commands.executeCommand('notifications.clearAll'); // earlier suites' toasts
    await api.view.reveal(workload, { select: true, focus: true });
    const finished = next(api, 'start');
    await ask({ action: 'contextMenu', treeItem: APP, menuItem: 'Start Dev Mode' });
    // The folder dialog (VS Code's simple file dialog in a remote window): type the path.
    await ask({ action: 'folderDialog', path: folder });
    const change = await finished;
    assert.equal(change.ok, true, `start succeeded (${String(change.error)})`);
    const session = change.session!;
    assert.equal(api.dev.folderFor(`${context}/${ns.name}/deployment/${APP}`), folder, 'the folder is remembered for the workload');

    // The cluster, through core: the lease is mine, the pod runs the dev image and is Ready.
    const me = await whoAmI(ns.cluster);
    const [info] = await listWorkloads(ns.cluster, 'deployment');
    assert.equal(info!.name, APP);
    assert.equal(info!.dev?.owner, me);
    assert.equal(info!.dev?.image, DEV_IMAGE);
    assert.equal(info!.dev?.workDir, '/src');
    const pod: V1Pod = await ns.cluster.core.readNamespacedPod({ name: session.pod, namespace: ns.name });
    const app = pod.spec!.containers.find((c) => c.name === 'app')!;
    assert.equal(app.image, DEV_IMAGE);
    assert.equal(app.workingDir, '/src');
    const env = Object.fromEntries((app.env ?? []).map((e) => [e.name, e.value]));
    assert.equal(env.GREETING, 'hi', 'the original env is kept');
    assert.equal(env.MODE, 'dev', "the config's env is added");
    assert.ok(pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'), 'the dev pod is Ready');
    const dep = await ns.cluster.apps.readNamespacedDeployment({ name: APP, namespace: ns.name });
    assert.equal(dep.spec?.replicas, 1);

    // The tree, fed by its watches: mine, with the dev pod under the workload.
    const item = await untilTree(
      api.tree,
      async () => {
        const n = await path(api.tree, context, ns.name, 'Deployments', APP);
        if (!n) return undefined;
        const it = api.tree.getTreeItem(n);
        if (it.contextValue !== 'kdev.workload.Deployment.dev-mine' || !/^1\/1 ready/.test(String(it.description))) return undefined;
        const pods = await api.tree.getChildren(n);
        return pods.length === 1 && label(api.tree, pods[0]!) === session.pod ? it : undefined;
      },
      `${APP} in dev mode (mine) with only the dev pod`,
    );
    assert.match(String(item.description), /dev mode: mine \(\d+[smh]\)/);
    assert.equal((item.iconPath as vscode.ThemeIcon).id, 'debug-alt');

  });

  test('the folder is synced: a file saved in the editor appears in the container; the status bar shows synced', async () => {
    const key = `${context}/${ns.name}/deployment/${APP}`;
    const attached = api.syncs.get(key);
    assert.ok(attached, 'Start Dev Mode attached the sync');
    const pod = attached.session.pod;
    const cat = async (file: string) => (await execCapture(ns.cluster, pod, 'app', ['cat', `/src/${file}`])).stdout;
    // The initial sync brought the folder over.
    assert.equal(await cat('server.js'), "require('http').createServer((q, r) => r.end('dev')).listen(8080);\n");
    assert.match(api.syncs.item.text, /kdev: synced \d+s ago/);

    // Edit and save in a real editor.
    const before = attached.sync.status().batches;
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(join(folder, 'server.js')));
    const editor = await vscode.window.showTextDocument(doc);
    const changed = "require('http').createServer((q, r) => r.end('edited in VS Code')).listen(8080);\n";
    await editor.edit((e) => e.replace(new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)), changed));
    const synced = new Promise<void>((resolve) => {
      const sub = api.syncs.onDidChange(() => {
        const st = attached.sync.status();
        if (st.batches > before && (st.state === 'idle' || st.state === 'watching')) {
          sub.dispose();
          resolve();
        }
      });
    });
    assert.equal(await doc.save(), true);
    await synced;
    assert.equal(await cat('server.js'), changed);
    assert.match(api.syncs.item.text, /kdev: synced \d+s ago/);
    const synced2 = await untilTree(
      api.tree,
      async () => {
        const w = await path(api.tree, context, ns.name, 'Deployments', APP);
        const d = w && String(api.tree.getTreeItem(w).description);
        return d && /dev mode: mine \(\d+[smh]\) · synced$/.test(d) ? d : undefined;
      },
      `${APP} described as synced`,
    );
    assert.ok(synced2);

    await vscode.commands.executeCommand('notifications.clearAll');
    const n = await path(api.tree, context, ns.name, 'Deployments', APP);
    const [devPod] = await api.tree.getChildren(n);
    await api.view.reveal(devPod!, { expand: true, select: false, focus: false });
    const [container] = await api.tree.getChildren(devPod);
    await api.view.reveal(container!, { select: true, focus: true });
    const shot = await ask({ action: 'screenshot', file: 'docs/vscode-devmode.png', sidebarWidth: 620 });
    assert.match(String(shot), /docs\/vscode-devmode\.png$/);
  });

  test('Start Dev Mode on my workload that this window does not sync: the same pod, the sync attached again', async () => {
    const key = `${context}/${ns.name}/deployment/${APP}`;
    const pod = api.syncs.get(key)!.session.pod;
    await api.syncs.detach(key); // as after a window reload
    await untilTree(
      api.tree,
      async () => {
        const n = await path(api.tree, context, ns.name, 'Deployments', APP);
        return n && api.tree.getTreeItem(n).contextValue === 'kdev.workload.Deployment.dev-mine.detached' ? n : undefined;
      },
      `${APP} mine, not synced here`,
    );
    const finished = next(api, 'start');
    await ask({ action: 'contextMenu', treeItem: APP, menuItem: 'Start Dev Mode' });
    await ask({ action: 'folderDialog', path: folder });
    const change = await finished;
    assert.equal(change.ok, true, `start succeeded (${String(change.error)})`);
    assert.equal(change.session!.pod, pod, 'start is idempotent: the dev pod was not replaced');
    assert.match(String(api.syncs.get(key)?.sync.status().state), /^(idle|watching)$/, 'the sync is attached and caught up');
    await untilTree(
      api.tree,
      async () => {
        const n = await path(api.tree, context, ns.name, 'Deployments', APP);
        return n && api.tree.getTreeItem(n).contextValue === 'kdev.workload.Deployment.dev-mine' ? true : undefined;
      },
      `${APP} mine and synced here`,
    );
  });

  test("someone else's dev mode shows with who it is; Start Dev Mode offers Take Over", async () => {
    // A lease as another developer's client writes it (core's annotation format).
    const key = `${context}/${ns.name}/deployment/${APP}`;
    const me = await whoAmI(ns.cluster);
    const dep = await ns.cluster.apps.readNamespacedDeployment({ name: APP, namespace: ns.name });
    const lease = JSON.parse(dep.metadata!.annotations![LEASE_ANNOTATION]!) as Record<string, string>;
    await api.syncs.detach(key); // this window stops syncing, as when someone takes over
    const theirs = { ...lease, owner: 'alice@example.com' };
    dep.metadata!.annotations![LEASE_ANNOTATION] = JSON.stringify(theirs);
    await ns.cluster.apps.replaceNamespacedDeployment({ name: APP, namespace: ns.name, body: dep });
    try {
      const item = await untilTree(
        api.tree,
        async () => {
          const n = await path(api.tree, context, ns.name, 'Deployments', APP);
          const it = n && api.tree.getTreeItem(n);
          return it?.contextValue === 'kdev.workload.Deployment.dev-other' ? it : undefined;
        },
        `${APP} in dev mode by alice`,
      );
      assert.match(String(item.description), /dev mode: alice@example\.com \(/);
      assert.equal((item.iconPath as vscode.ThemeIcon).id, 'lock');
      assert.match(String(item.tooltip), /in dev mode by alice@example\.com since/);

      // Start Dev Mode on it: core refuses (IN_USE); the notification offers Take Over.
      const refused = next(api, 'start');
      const tookOver = new Promise<DevChange>((resolve) => {
        let seen = 0;
        const sub = api.dev.onDidFinish((c) => {
          if (c.action === 'start' && ++seen === 2) {
            sub.dispose();
            resolve(c);
          }
        });
      });
      await ask({ action: 'contextMenu', treeItem: APP, menuItem: 'Start Dev Mode' });
      await ask({ action: 'folderDialog', path: folder });
      const first = await refused;
      assert.equal(first.ok, false);
      assert.equal((first.error as { code?: string }).code, 'IN_USE');
      await ask({ action: 'notificationButton', button: 'Take Over' });
      const second = await tookOver;
      assert.equal(second.ok, true, `take over succeeded (${String(second.error)})`);
      const [info] = await listWorkloads(ns.cluster, 'deployment');
      assert.equal(info!.dev?.owner, me, 'the lease is mine again');
      assert.ok(api.syncs.get(key), 'and this window syncs again');
    } finally {
      const cur = await ns.cluster.apps.readNamespacedDeployment({ name: APP, namespace: ns.name });
      const now = JSON.parse(cur.metadata!.annotations![LEASE_ANNOTATION]!) as Record<string, string>;
      if (now.owner !== me) {
        cur.metadata!.annotations![LEASE_ANNOTATION] = JSON.stringify(lease);
        await ns.cluster.apps.replaceNamespacedDeployment({ name: APP, namespace: ns.name, body: cur });
      }
    }
    await untilTree(
      api.tree,
      async () => {
        const n = await path(api.tree, context, ns.name, 'Deployments', APP);
        return n && api.tree.getTreeItem(n).contextValue === 'kdev.workload.Deployment.dev-mine' ? true : undefined;
      },
      `${APP} mine again, synced here`,
    );
  });

  test('End Dev Mode from the context menu restores the workload exactly', async () => {
    const workload = await path(api.tree, context, ns.name, 'Deployments', APP);
    await api.view.reveal(workload!, { select: true, focus: true });
    const finished = next(api, 'end');
    await ask({ action: 'contextMenu', treeItem: APP, menuItem: 'End Dev Mode' });
    const change = await finished;
    assert.equal(change.ok, true, `end succeeded (${String(change.error)})`);
    const after = await ns.cluster.apps.readNamespacedDeployment({ name: APP, namespace: ns.name });
    assert.deepEqual(after.spec, before.spec, 'the spec is the one before dev mode');
    assert.deepEqual(after.metadata?.labels, before.metadata?.labels);
    const userAnnotations = (d: V1Deployment) => Object.fromEntries(Object.entries(d.metadata?.annotations ?? {}).filter(([k]) => k !== 'deployment.kubernetes.io/revision'));
    assert.deepEqual(userAnnotations(after), userAnnotations(before), 'no kdev annotation is left');
    const [info] = await listWorkloads(ns.cluster, 'deployment');
    assert.equal(info!.dev, undefined);
    await untilTree(
      api.tree,
      async () => {
        const n = await path(api.tree, context, ns.name, 'Deployments', APP);
        const it = n && api.tree.getTreeItem(n);
        return it?.contextValue === 'kdev.workload.Deployment.dev-none' && it.description === '2/2 ready' ? true : undefined;
      },
      `${APP} out of dev mode, 2/2 ready`,
    );
  });

  test('bad input: a container the workload does not have is refused before anything is written', async () => {
    const workload = await path(api.tree, context, ns.name, 'Deployments', APP);
    const rv = (await ns.cluster.apps.readNamespacedDeployment({ name: APP, namespace: ns.name })).metadata?.resourceVersion;
    const bad = mkdtempSync(join(tmpdir(), 'kdev-ext-bad-'));
    writeFileSync(join(bad, '.kdev.yaml'), `dev:\n  ${APP}:\n    container: nope\n`);
    // (The extension is another bundle: its KdevError is not this bundle's class.)
    await assert.rejects(api.dev.start(workload, { folder: bad }), (err: unknown) => {
      const e = err as { name?: string; code?: string; message?: string; hint?: string };
      assert.equal(e.code, 'NOT_FOUND', String(err));
      assert.match(String(e.message), /container "nope" is not in deployment\/shop/);
      assert.match(String(e.hint), /Its containers: app/);
      return true;
    });
    const after = await ns.cluster.apps.readNamespacedDeployment({ name: APP, namespace: ns.name });
    assert.equal(after.metadata?.resourceVersion, rv, 'the workload was not written');
    assert.equal(after.metadata?.annotations?.[LEASE_ANNOTATION], undefined);
  });

  test('End Dev Mode on a workload not in dev mode changes nothing', async () => {
    const workload = await path(api.tree, context, ns.name, 'Deployments', APP);
    const rv = (await ns.cluster.apps.readNamespacedDeployment({ name: APP, namespace: ns.name })).metadata?.resourceVersion;
    const result = await api.dev.end(workload);
    assert.equal(result?.restored, false);
    assert.match(result!.message, /not in dev mode/);
    const after = await ns.cluster.apps.readNamespacedDeployment({ name: APP, namespace: ns.name });
    assert.equal(after.metadata?.resourceVersion, rv, 'the workload was not written');
  });
});

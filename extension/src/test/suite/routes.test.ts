// Routed duplicates from the extension, on a real Deployment behind a real Service: Start Dev
// Mode asks take over or route my requests here (answered in the real quick pick), the tree
// shows the route, Copy curl Command puts the line on the clipboard, End Dev Mode on the
// route removes it and gives the Service its selector back.
import * as assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { listWorkloads, whoAmI } from '@kdev/core/internals';
import type { V1Service } from '@kubernetes/client-node';
import type { KdevApi } from '../../extension.js';
import { COPY_CURL, type DevChange } from '../../devmode.js';
import type { Node } from '../../tree.js';
import { kdevApi } from './activation.test.js';
import { ask } from './harness.js';
import { admin, deploymentOf, label, path, tempNamespace, untilTree } from './helpers.js';

const APP = 'storefront';
const DEV_IMAGE = 'kdev.local/dev-node:18';

function nextChange(api: KdevApi, action: DevChange['action'], key: string): Promise<DevChange> {
  return new Promise((resolve) => {
    const sub = api.dev.onDidFinish((c) => {
      if (c.action === action && c.key === key) {
        sub.dispose();
        resolve(c);
      }
    });
  });
}

/** The clipboard's text once it is `want` (checked every 200 ms, at most 30 s), else what it holds then. */
async function clipboardOnce(want: string): Promise<string> {
  const deadline = Date.now() + 30_000;
  let got = await vscode.env.clipboard.readText();
  while (got !== want && Date.now() < deadline) {
    await new Promise((res) => setTimeout(res, 200));
    got = await vscode.env.clipboard.readText();
  }
  return got;
}

suite('routes', () => {
  let api: KdevApi;
  let ns: Awaited<ReturnType<typeof tempNamespace>>;
  let context: string;
  let folder: string;
  let me: string;
  let key: string;
  let selector: Record<string, string>;

  const workload = () => path(api.tree, context, ns.name, 'Deployments', APP);
  const routeNode = async (): Promise<Node | undefined> => {
    const w = await workload();
    return w ? (await api.tree.getChildren(w)).find((c) => c.type === 'route') : undefined;
  };
  const service = () => ns.cluster.core.readNamespacedService({ name: APP, namespace: ns.name });
  /** Start Dev Mode from the workload's context menu, Route my requests here picked, the folder typed. */
  const routedStart = async (): Promise<DevChange> => {
    await api.view.reveal((await workload())!, { select: true, focus: true, expand: true });
    const finished = nextChange(api, 'start', key);
    await ask({ action: 'contextMenu', treeItem: APP, menuItem: 'Start Dev Mode' });
    await ask({ action: 'quickInput', text: 'Route my requests here' });
    await ask({ action: 'folderDialog', path: folder });
    const change = await finished;
    assert.equal(change.ok, true, `start succeeded (${String(change.error)})`);
    return change;
  };

  suiteSetup(async () => {
    api = await kdevApi();
    ns = await tempNamespace('kdev-ext-route');
    context = admin().contextName;
    key = `${context}/${ns.name}/deployment/${APP}`;
    me = await whoAmI(ns.cluster);
    folder = mkdtempSync(join(tmpdir(), 'kdev-ext-route-'));
    writeFileSync(join(folder, '.kdev.yaml'), `dev:\n  ${APP}:\n    image: ${DEV_IMAGE}\n    workDir: /src\n`);
    writeFileSync(join(folder, 'server.js'), "require('http').createServer((q, r) => r.end('dev')).listen(8080);\n");
    const container = {
      name: 'app',
      image: 'kdev.local/node:18',
      imagePullPolicy: 'IfNotPresent',
      command: ['node', '-e', "require('http').createServer((q, r) => r.end('prod')).listen(8080)"],
      ports: [{ name: 'http', containerPort: 8080 }],
      readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
    };
    await ns.cluster.apps.createNamespacedDeployment({ namespace: ns.name, body: deploymentOf(APP, container) });
    const svc: V1Service = { metadata: { name: APP }, spec: { selector: { app: APP }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } };
    await ns.cluster.core.createNamespacedService({ namespace: ns.name, body: svc });
    selector = { app: APP };
    await untilTree(
      api.tree,
      async () => {
        const n = await workload();
        return n && /^1\/1 ready$/.test(String(api.tree.getTreeItem(n).description)) ? n : undefined;
      },
      `deployment ${APP} 1/1 ready`,
      180_000,
    );
  });
  suiteTeardown(async () => {
    await ns?.remove();
  });

  test('Start Dev Mode → Route my requests here: a routed copy; the notification copies the curl line', async () => {
    await vscode.commands.executeCommand('workbench.view.extension.kdev');
    await vscode.commands.executeCommand('notifications.clearAll');
    const change = await routedStart();
    assert.equal(change.session?.mode, 'duplicate');
    assert.deepEqual(change.session?.route, { header: 'x-kdev-route', value: me });
    const want = `curl -H 'x-kdev-route: ${me}' http://${APP}.${ns.name}/`;
    assert.equal(change.curl, want);
    // The notification's button (clicked in the real toast) copies it.
    await vscode.env.clipboard.writeText('before');
    await ask({ action: 'notificationButton', button: COPY_CURL });
    assert.equal(await clipboardOnce(want), want);

    // The cluster, through core: my copy's lease names the route; the workload itself has no
    // dev mode; the Service now selects the router's pods.
    const all = await listWorkloads(ns.cluster, 'deployment');
    const copy = all.find((w) => w.dev?.route);
    assert.ok(copy, 'a copy with a route');
    assert.deepEqual(copy.dev!.route, { header: 'x-kdev-route', value: me, of: `deployment/${APP}` });
    assert.equal(copy.dev!.owner, me);
    assert.equal(all.find((w) => w.name === APP)?.dev, undefined, `${APP} itself is not changed`);
    assert.notDeepEqual((await service()).spec?.selector, selector, 'the Service goes through the router');
  });

  test('the tree shows the route under the workload: header, value, mine', async () => {
    const item = await untilTree(
      api.tree,
      async () => {
        const r = await routeNode();
        const it = r && api.tree.getTreeItem(r);
        return it?.contextValue === 'kdev.route.mine' ? it : undefined;
      },
      `the route on ${APP}`,
    );
    assert.equal(item.label, `x-kdev-route: ${me}`);
    assert.match(String(item.description), /^route: mine \(/);
    assert.match(String(item.tooltip), new RegExp(`your copy of deployment/${APP}`));
    const w = api.tree.getTreeItem((await workload())!);
    assert.match(String(w.description), /· 1 route$/);
    assert.match(String(w.tooltip), new RegExp(`routes: ${me} \\(you\\) x-kdev-route: ${me}`));
    const r = (await routeNode())!;
    assert.equal(label(api.tree, api.tree.getParent(r)!), APP, 'its parent is the workload');
  });

  test('Copy curl Command on the route puts the curl line on the clipboard', async () => {
    const want = `curl -H 'x-kdev-route: ${me}' http://${APP}.${ns.name}/`;
    await vscode.env.clipboard.writeText('before');
    const r = (await routeNode())!;
    await api.view.reveal(r, { select: true, focus: true });
    await ask({ action: 'contextMenu', treeItem: `x-kdev-route: ${me}`, menuItem: 'Copy curl Command' });
    assert.equal(await clipboardOnce(want), want);
  });

  test('End Dev Mode on the route removes the route and the copy, the Service selects the workload again', async () => {
    const r = (await routeNode())!;
    await api.view.reveal(r, { select: true, focus: true });
    const finished = nextChange(api, 'end', key);
    await ask({ action: 'contextMenu', treeItem: `x-kdev-route: ${me}`, menuItem: 'End Dev Mode' });
    const change = await finished;
    assert.equal(change.ok, true, `end succeeded (${String(change.error)})`);
    assert.deepEqual((await service()).spec?.selector, selector, 'the Service has its own selector back');
    assert.equal((await service()).metadata?.annotations?.['kdev.dev/route-original'], undefined);
    const all = await listWorkloads(ns.cluster, 'deployment');
    assert.deepEqual(
      all.filter((w) => w.dev !== undefined),
      [],
      'no copy in dev mode is left',
    );
    await untilTree(
      api.tree,
      async () => {
        const w = await workload();
        const it = w && api.tree.getTreeItem(w);
        return it && (await routeNode()) === undefined && !String(it.description).includes('route') ? true : undefined;
      },
      `${APP} without a route`,
    );
  });

  test('End Dev Mode on the row of my copy ends the routed start of the workload it copies', async () => {
    await routedStart();
    const copy = (await listWorkloads(ns.cluster, 'deployment')).find((w) => w.dev?.route)!.name;
    const row = await untilTree(api.tree, () => path(api.tree, context, ns.name, 'Deployments', copy), `the copy ${copy}`);
    await api.view.reveal(row, { select: true, focus: true });
    const finished = nextChange(api, 'end', key);
    await ask({ action: 'contextMenu', treeItem: copy, menuItem: 'End Dev Mode' });
    const ended = await finished;
    assert.equal(ended.ok, true, `end succeeded (${String(ended.error)})`);
    assert.match(ended.result!.message, new RegExp(`copy of deployment/${APP}`));
    assert.deepEqual((await service()).spec?.selector, selector, 'the Service has its own selector back');
    assert.deepEqual((await listWorkloads(ns.cluster, 'deployment')).filter((w) => w.dev !== undefined), [], 'no copy in dev mode is left');
  });
});

// Remote Debug with a debugger VS Code has no extension for here (python: debugpy): core's
// debugger answers through the forward, the session is tried anyway, and the missing
// extension is reported; the forward stays for when it is installed.
import * as assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeDebugger } from '@kdev/core/internals';
import type { V1Deployment } from '@kubernetes/client-node';
import type { KdevApi } from '../../extension.js';
import type { RemoteDebugSession } from '../../debug.js';
import { kdevApi } from './activation.test.js';
import { admin, deploymentOf, path, tempNamespace, untilTree } from './helpers.js';
import * as vscode from 'vscode';

const APP = 'pyapp';
const IMAGE = 'kdev.local/dev-python:3.11';

function deployment(): V1Deployment {
  return deploymentOf(APP, { name: 'app', image: IMAGE, imagePullPolicy: 'IfNotPresent', command: ['sleep', 'infinity'] }, { labels: { app: APP } });
}

suite('sessions: a debugger type without its VS Code extension', () => {
  let api: KdevApi;
  let ns: Awaited<ReturnType<typeof tempNamespace>>;
  let context: string;
  let folder: string;

  suiteSetup(async () => {
    api = await kdevApi();
    ns = await tempNamespace('kdev-ext-py');
    context = admin().contextName;
    folder = mkdtempSync(join(tmpdir(), 'kdev-ext-py-'));
    writeFileSync(
      join(folder, '.kdev.yaml'),
      `dev:\n  ${APP}:\n    image: ${IMAGE}\n    workDir: /src\n    debug:\n      command: python3 -m debugpy --listen 127.0.0.1:5678 app.py\n      port: 5678\n      type: python\n`,
    );
    writeFileSync(join(folder, 'app.py'), 'import time\nwhile True:\n    time.sleep(1)\n');
    await ns.cluster.apps.createNamespacedDeployment({ namespace: ns.name, body: deployment() });
    const n = await untilTree(api.tree, async () => path(api.tree, context, ns.name, 'Deployments', APP), `deployment ${APP}`);
    assert.ok(await api.dev.start(n, { folder }), 'dev mode started');
  });
  suiteTeardown(async () => {
    const n = await path(api.tree, context, ns.name, 'Deployments', APP);
    if (n) await api.dev.end(n).catch(() => undefined);
    await ns?.remove();
  });

  test('Remote Debug (python): debugpy answers through the forward; no debugpy debugger in VS Code is reported, the forward stays', async () => {
    const n = await untilTree(
      api.tree,
      async () => {
        const w = await path(api.tree, context, ns.name, 'Deployments', APP);
        return w && api.tree.getTreeItem(w).contextValue === 'kdev.workload.Deployment.dev-mine' ? w : undefined;
      },
      `${APP} in dev mode (mine)`,
    );
    const r = (await vscode.commands.executeCommand('kdev.remoteDebug', n)) as RemoteDebugSession | undefined;
    assert.ok(r, 'core started the debugger');
    assert.equal(r.core.type, 'python');
    assert.equal(r.core.attach.type, 'debugpy');
    assert.equal(r.session, undefined, 'VS Code has no debugpy debugger here, so no session');
    assert.equal(await probeDebugger('python', r.core.localPort), true, 'debugpy still answers through the forward');
    assert.match(api.logs.text(`${context}/${ns.name}/deployment/${APP}`), /debugger ready on 127\.0\.0\.1:\d+/);
    await r.stop();
    assert.equal(await probeDebugger('python', r.core.localPort, 1000), false, 'stop closes the forward');
  });
});

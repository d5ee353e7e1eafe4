// Remote Run, Remote Debug, Open Terminal and Show Logs on a Deployment in dev mode, with a
// tiny Node HTTP app synced from a test folder. The cluster's side is read through core.
import * as assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { CONTROL_DIR, execCapture, forwardPort, runStatus, resolveDevTarget, stopRun } from '@kdev/core/internals';
import type { V1Deployment } from '@kubernetes/client-node';
import type { KdevApi } from '../../extension.js';
import type { RemoteTerminal } from '../../terminal.js';
import { hasDebugger, type RemoteDebugSession } from '../../debug.js';
import { kdevApi } from './activation.test.js';
import { ask } from './harness.js';
import { admin, deploymentOf, get, path, tempNamespace, untilTree } from './helpers.js';
import type { Node } from '../../tree.js';

const APP = 'web';
const SERVER = `const http = require('http');
http.createServer((q, r) => r.end('hello from remote run')).listen(8080, () => console.log('app listening on 8080'));
`;
const CONFIG = `dev:
  ${APP}:
    image: kdev.local/dev-node:18
    workDir: /src
    run: node server.js
    debug:
      command: node --inspect=0.0.0.0:9229 server.js
      port: 9229
      type: node
`;

function deployment(): V1Deployment {
  return deploymentOf(
    APP,
    { name: 'app', image: 'kdev.local/node:18', imagePullPolicy: 'IfNotPresent', command: ['node', '-e', "require('http').createServer((q, r) => r.end('prod')).listen(8080)"], ports: [{ containerPort: 8080 }] },
    { labels: { app: APP } },
  );
}

/** Waits (by the channel's append events) until the workload's channel shows `pattern`. */
function channelShows(api: KdevApi, key: string, pattern: RegExp, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const text = api.logs.text(key);
      if (pattern.test(text)) {
        clearTimeout(timer);
        sub.dispose();
        resolve(text);
      }
    };
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`the channel of ${key} did not show ${pattern} within ${timeoutMs} ms; it has:\n${api.logs.text(key)}`));
    }, timeoutMs);
    const sub = api.logs.onDidAppend((k) => k === key && check());
    check();
  });
}

suite('sessions: logs, run, terminal, debug', () => {
  let api: KdevApi;
  let ns: Awaited<ReturnType<typeof tempNamespace>>;
  let context: string;
  let folder: string;
  let key: string;
  let workload: Node;

  suiteSetup(async () => {
    api = await kdevApi();
    await vscode.commands.executeCommand('workbench.view.extension.kdev');
    ns = await tempNamespace('kdev-ext-ses');
    context = admin().contextName;
    key = `${context}/${ns.name}/deployment/${APP}`;
    folder = mkdtempSync(join(tmpdir(), 'kdev-ext-ses-'));
    writeFileSync(join(folder, '.kdev.yaml'), CONFIG);
    writeFileSync(join(folder, 'server.js'), SERVER);
    await ns.cluster.apps.createNamespacedDeployment({ namespace: ns.name, body: deployment() });
    const n = await untilTree(api.tree, async () => path(api.tree, context, ns.name, 'Deployments', APP), `deployment ${APP}`);
    const session = await api.dev.start(n, { folder });
    assert.ok(session, 'dev mode started');
    assert.ok(api.syncs.get(key), 'the folder is synced');
    workload = await untilTree(
      api.tree,
      async () => {
        const w = await path(api.tree, context, ns.name, 'Deployments', APP);
        return w && api.tree.getTreeItem(w).contextValue === 'kdev.workload.Deployment.dev-mine' ? w : undefined;
      },
      `${APP} in dev mode (mine)`,
    );
  });
  /** Shows the workload's row in the view (the node as the tree has it now). */
  async function reveal(): Promise<void> {
    await vscode.commands.executeCommand('workbench.view.extension.kdev');
    const ctx = await path(api.tree, context);
    const nsNode = await path(api.tree, context, ns.name);
    const group = await path(api.tree, context, ns.name, 'Deployments');
    for (const n of [ctx, nsNode, group]) if (n) await api.view.reveal(n, { expand: true, select: false, focus: false });
    workload = (await path(api.tree, context, ns.name, 'Deployments', APP))!;
    await api.view.reveal(workload, { select: true, focus: true });
  }

  suiteTeardown(async () => {
    await vscode.debug.stopDebugging();
    if (workload) await api.dev.end(workload).catch(() => undefined);
    await ns?.remove();
  });

  test('Show Logs (context menu): a channel following the dev container, with the supervisor output', async () => {
    await vscode.commands.executeCommand('notifications.clearAll');
    await reveal();
    await ask({ action: 'contextMenu', treeItem: APP, menuItem: 'Show Logs' });
    const text = await channelShows(api, key, /kdev supervisor: ready/);
    assert.ok(api.logs.isFollowing(key));
    assert.ok(api.logs.channel(key), 'the workload has its own channel');
    assert.match(text, /kdev supervisor: ready/);
    // Following: a line the container writes later (to PID 1's stdout) shows up.
    const target = await resolveDevTarget(ns.cluster, `deployment/${APP}`);
    const r = await execCapture(ns.cluster, target.pod, target.container, ['/bin/sh', '-c', 'echo followed-line-42 > /proc/1/fd/1']);
    assert.equal(r.exitCode, 0, r.stderr);
    await channelShows(api, key, /followed-line-42/);
  });

  test('Remote Run (context menu): the run command starts, its output in the channel, the app answers over a port-forward', async () => {
    await reveal();
    await ask({ action: 'contextMenu', treeItem: APP, menuItem: 'Remote Run' });
    await channelShows(api, key, /app listening on 8080/);
    const target = await resolveDevTarget(ns.cluster, `deployment/${APP}`);
    const status = await runStatus(ns.cluster, target);
    assert.equal(status.state, 'running');
    assert.match(api.logs.text(key), /kdev supervisor: starting: node server\.js/);
    const fwd = await forwardPort(ns.cluster, target.pod, 8080);
    try {
      assert.equal(await get(fwd.localPort), 'hello from remote run');
    } finally {
      await fwd.close();
    }
  });

  test('Open Terminal (context menu): a TTY shell in the dev container, sized like the terminal; its exit code is reported', async () => {
    const opened = new Promise<vscode.Terminal>((resolve) => {
      const sub = vscode.window.onDidOpenTerminal((term) => {
        if (term.name === `kdev: deployment/${APP}`) {
          sub.dispose();
          resolve(term);
        }
      });
    });
    await reveal();
    await ask({ action: 'contextMenu', treeItem: APP, menuItem: 'Open Terminal' });
    const t: RemoteTerminal | undefined = api.terminals.get(await opened);
    assert.ok(t, 'a kdev terminal was opened');
    assert.equal(t.terminal.name, `kdev: deployment/${APP}`);
    t.terminal.sendText('echo "written from the terminal" > /tmp/from-terminal.txt; stty size > /tmp/size.txt; exit 7');
    const code = await t.exited;
    assert.equal(code, 7, 'the remote exit code');
    const target = await resolveDevTarget(ns.cluster, `deployment/${APP}`);
    const file = await execCapture(ns.cluster, target.pod, target.container, ['cat', '/tmp/from-terminal.txt']);
    assert.equal(file.stdout, 'written from the terminal\n');
    const size = (await execCapture(ns.cluster, target.pod, target.container, ['cat', '/tmp/size.txt'])).stdout.trim();
    // The panel may still be settling while the shell starts: the remote size is one that
    // VS Code gave the pseudoterminal (never the 24x80 the output stream starts with).
    assert.ok(t.sizes().length > 0, 'VS Code passed the terminal size');
    assert.ok(t.sizes().includes(size), `the remote TTY (${size}) has a size of the terminal (${t.sizes().join(', ')})`);
    // The exit code is shown; the next key closes the terminal.
    const closed = new Promise<vscode.Terminal>((resolve) => {
      const sub = vscode.window.onDidCloseTerminal((c) => {
        if (c === t.terminal) {
          sub.dispose();
          resolve(c);
        }
      });
    });
    t.terminal.sendText('x', false);
    const c = await closed;
    assert.equal(c.exitStatus?.code, 7);
  });

  test('Remote Debug (context menu): the debug command runs, its port is forwarded, a node debug session attaches', async () => {
    const done = new Promise<RemoteDebugSession>((resolve) => {
      const sub = api.debug.onDidStart((d) => {
        sub.dispose();
        resolve(d);
      });
    });
    await reveal();
    await ask({ action: 'contextMenu', treeItem: APP, menuItem: 'Remote Debug' });
    const r = await done;
    assert.equal(r.core.type, 'node');
    assert.ok(r.session, 'VS Code started a debug session');
    assert.equal(r.session.configuration.request, 'attach');
    assert.equal(r.session.configuration.port, r.core.localPort, 'attached through the forwarded port');
    // js-debug runs a 'node' attach configuration as its 'pwa-node' type.
    assert.ok(['node', 'pwa-node'].includes(String(vscode.debug.activeDebugSession?.type)), `a node debug session (${vscode.debug.activeDebugSession?.type})`);
    const target = await resolveDevTarget(ns.cluster, `deployment/${APP}`);
    const cmd = await execCapture(ns.cluster, target.pod, target.container, ['cat', `${CONTROL_DIR}/run.cmd`]);
    assert.match(cmd.stdout, /--inspect=0\.0\.0\.0:9229/);
    await channelShows(api, key, /VS Code is attached \(node\)/);
    // Ending the VS Code session stops the forward and the debug command.
    const ended = new Promise<void>((resolve) => {
      const sub = vscode.debug.onDidTerminateDebugSession((s) => {
        if (s.id === r.session!.id) {
          sub.dispose();
          resolve();
        }
      });
    });
    await vscode.debug.stopDebugging(r.session);
    await ended;
    await channelShows(api, key, /debugging stopped/);
    assert.equal(api.debug.get(key), undefined);
  });

  test('Stop Following Logs stops the follow and disposes the channel', () => {
    assert.equal(api.logs.stop(workload), true);
    assert.equal(api.logs.isFollowing(key), false);
    assert.equal(api.logs.channel(key), undefined);
  });

  test('no run or debug command in the config: a clear warning, nothing is started', async () => {
    const target = await resolveDevTarget(ns.cluster, `deployment/${APP}`);
    await stopRun(ns.cluster, target);
    const before = await runStatus(ns.cluster, target);
    assert.notEqual(before.state, 'running');
    writeFileSync(join(folder, '.kdev.yaml'), `dev:\n  ${APP}:\n    image: kdev.local/dev-node:18\n    workDir: /src\n`);
    try {
      assert.equal(await api.run.start(workload), undefined);
      assert.equal(await api.debug.start(workload), undefined);
      assert.deepEqual(await runStatus(ns.cluster, target), before, 'nothing was started');
      assert.equal(api.debug.get(key), undefined);
    } finally {
      writeFileSync(join(folder, '.kdev.yaml'), CONFIG);
    }
  });

  test('debuggers VS Code lacks here are detected (python, go, java need their extensions)', () => {
    assert.equal(hasDebugger('pwa-node'), true);
    assert.equal(hasDebugger('debugpy'), false);
    assert.equal(hasDebugger('go'), false);
  });

  test('End Dev Mode disposes the workload channel; the session commands then say it is not in dev mode', async () => {
    await api.logs.show(workload);
    assert.ok(api.logs.isFollowing(key));
    await api.dev.end(workload);
    assert.equal(api.logs.isFollowing(key), false, 'the follow stopped and its channel was disposed');
    await assert.rejects(api.logs.show(workload), (err: unknown) => {
      assert.match(String((err as Error).message), /deployment\/web is not in dev mode/);
      return true;
    });
    await assert.rejects(api.terminals.openFor(workload), /not in dev mode/);
  });
});

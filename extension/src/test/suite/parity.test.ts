// Parity, VS Code side: the journey of test/e2e/parity-cli.test.ts (start → edit → run
// answers → the forward survives a pod replacement → end restores exactly) through the
// extension, in the same kind of namespace with the same .kdev.yaml. Both UIs see each
// other's sessions: `kdev sync status` / `port-forward list` list this window's, a CLI
// `dev start` into the window's sidecar is refused naming this window, and the window's
// tree and status bar show a CLI session.
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { V1Deployment } from '@kubernetes/client-node';
import type { KdevApi } from '../../extension.js';
import type { Node } from '../../tree.js';
import { kdevApi } from './activation.test.js';
import { admin, deploymentOf, get, path, tempNamespace, testKubeconfig, untilTree } from './helpers.js';

const CLI = resolve(__dirname, '..', '..', '..', '..', 'cli', 'dist', 'main.js');
const server = (v: string) => `require('http').createServer((q, r) => r.end('answer-${v}')).listen(8080, () => console.log('listening ${v}'));\n`;
const PROD = { name: 'app', image: 'kdev.local/node:18', imagePullPolicy: 'IfNotPresent', command: ['node', '-e', "require('http').createServer((q, r) => r.end('prod')).listen(8080)"], ports: [{ containerPort: 8080 }] };

function freePort(): Promise<number> {
  return new Promise((done) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => done(port));
    });
  });
}

async function untilAnswer(port: number, want: string, timeoutMs: number): Promise<string> {
  const t0 = Date.now();
  let last = '';
  while (Date.now() - t0 < timeoutMs) {
    last = await get(port).catch((e: Error) => e.message);
    if (last === want) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`127.0.0.1:${port} did not answer ${want} within ${timeoutMs} ms (last: ${last})`);
}

function restorable(d: V1Deployment): unknown {
  const annotations = { ...d.metadata?.annotations };
  delete annotations['deployment.kubernetes.io/revision'];
  return { template: d.spec?.template, replicas: d.spec?.replicas, strategy: d.spec?.strategy, labels: d.metadata?.labels, annotations };
}

/** Runs the CLI with this extension host's environment (same registry folder). */
function cli(args: string[], cwd?: string): { child: ChildProcess; done: Promise<{ code: number; stdout: string; stderr: string }>; stderr: () => string } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, KUBECONFIG: testKubeconfig() }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number; stdout: string; stderr: string }>((r) => child.on('close', (code) => r({ code: code ?? 1, stdout, stderr })));
  return { child, done, stderr: () => stderr };
}

suite('parity: the dev journey through VS Code, and both UIs see each other', () => {
  let api: KdevApi;
  let ns: Awaited<ReturnType<typeof tempNamespace>>;
  let context: string;
  let folder: string;
  let port: number;
  let original: unknown;
  let workload: Node;
  const procs: ChildProcess[] = [];

  suiteSetup(async () => {
    assert.ok(existsSync(CLI), `the built CLI at ${CLI}`);
    api = await kdevApi();
    ns = await tempNamespace('kdev-parity-ext');
    context = admin().contextName;
    await ns.cluster.apps.createNamespacedDeployment({ namespace: ns.name, body: deploymentOf('web', PROD) });
    await ns.cluster.apps.createNamespacedDeployment({ namespace: ns.name, body: deploymentOf('api', PROD) });
    port = await freePort();
    folder = mkdtempSync(join(tmpdir(), 'kdev-parity-ext-'));
    writeFileSync(join(folder, '.kdev.yaml'), `dev:\n  web:\n    image: kdev.local/dev-node:18\n    run: node server.js\n    ports: ["${port}:8080"]\n  api:\n    image: kdev.local/dev-node:18\n`);
    writeFileSync(join(folder, 'server.js'), server('v1'));
    workload = await untilTree(api.tree, async () => path(api.tree, context, ns.name, 'Deployments', 'web'), 'deployment web');
  });

  suiteTeardown(async () => {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    await cli(['dev', 'end', 'api', '-n', ns.name, '--force']).done;
    await ns?.remove();
  });

  test('start → edit → run answers → forward survives a pod replacement → end restores exactly', async () => {
    original = restorable(await ns.cluster.apps.readNamespacedDeployment({ name: 'web', namespace: ns.name }));
    const key = `${context}/${ns.name}/deployment/web`;
    const session = await api.dev.start(workload, { folder });
    assert.ok(session && api.syncs.get(key), 'dev mode on, the folder synced');
    assert.ok(await api.run.start(workload), 'the run command started');
    assert.equal(await untilAnswer(port, 'answer-v1', 60_000), 'answer-v1', 'the config forward of the attach reaches the run command');

    writeFileSync(join(folder, 'server.js'), server('v2'));
    assert.equal(await untilAnswer(port, 'answer-v2', 30_000), 'answer-v2', 'the edit is synced and the command restarted');

    // The CLI sees this window's sync and forward, and refuses a second attach naming it.
    const syncs = JSON.parse((await cli(['-o', 'json', 'sync', 'status']).done).stdout) as { pid: number; ui: string; workload: string; namespace: string }[];
    assert.ok(syncs.some((s) => s.pid === process.pid && s.ui === 'vscode' && s.workload === 'deployment/web' && s.namespace === ns.name), JSON.stringify(syncs));
    const forwards = JSON.parse((await cli(['-o', 'json', 'port-forward', 'list']).done).stdout) as { pid: number; ui: string; localPort: number; pod: string }[];
    const fwd = forwards.find((f) => f.localPort === port);
    assert.ok(fwd && fwd.pid === process.pid && fwd.ui === 'vscode', JSON.stringify(forwards));
    const second = await cli(['dev', 'start', 'web', '-n', ns.name], folder).done;
    assert.equal(second.code, 1);
    assert.match(second.stderr, new RegExp(`is held by pid ${process.pid} \\(vscode, user \\S+: VS Code window`));

    // The dev pod is replaced: the forward follows the new pod; the run is started there again.
    await ns.cluster.core.deleteNamespacedPod({ name: fwd.pod, namespace: ns.name, gracePeriodSeconds: 0 });
    // Remote Run waits (by watch) for the new dev pod to be Ready.
    assert.equal((await api.run.start(workload))?.state, 'running', 'the run command starts in the new dev pod');
    assert.equal(await untilAnswer(port, 'answer-v2', 120_000), 'answer-v2', 'the same local port answers from the new dev pod');
    const moved = (JSON.parse((await cli(['-o', 'json', 'port-forward', 'list']).done).stdout) as { localPort: number; pod: string }[]).find((f) => f.localPort === port);
    assert.ok(moved && moved.pod !== fwd.pod, 'the forward now points at the new pod');

    await api.dev.end(workload);
    assert.equal(api.syncs.get(key), undefined, 'detached');
    assert.deepEqual(restorable(await ns.cluster.apps.readNamespacedDeployment({ name: 'web', namespace: ns.name })), original, 'end restores exactly');
  });

  test("the window shows a CLI session: the tree's sync label and the status bar", async () => {
    const start = cli(['dev', 'start', 'api', '-n', ns.name], folder);
    procs.push(start.child);
    const key = `${context}/${ns.name}/deployment/api`;
    const label = await new Promise<string>((done, reject) => {
      const timer = setTimeout(() => reject(new Error(`no CLI sync seen: ${start.stderr()}`)), 100_000);
      const check = () => {
        const l = api.syncs.label(key);
        if (l && /synced by pid/.test(l)) {
          clearTimeout(timer);
          sub.dispose();
          done(l);
        }
      };
      const sub = api.syncs.onDidChange(check);
      check();
    });
    assert.equal(label, `synced by pid ${start.child.pid} (cli)`);
    assert.match(String(api.syncs.item.tooltip), /deployment\/api/);
    start.child.kill('SIGINT');
    const exited = await Promise.race([start.done, new Promise<undefined>((r) => setTimeout(() => r(undefined), 60_000))]);
    assert.ok(exited, `the CLI exits within 60 s of Ctrl-C; its stderr: ${start.stderr()}`);
    assert.equal(exited.code, 0, start.stderr());
  });
});

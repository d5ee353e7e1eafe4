// Parity, CLI side: the dev journey every UI must give the same way, driven through `kdev`
// (start → edit → run answers → the forward survives a pod replacement → end restores
// exactly), in an environment-template-free namespace with a .kdev.yaml. The same journey
// through VS Code is extension/src/test/suite/parity.test.ts; each observes the other UI's
// sessions there (the extension side starts a CLI session and reads the CLI's lists).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyAll, type Cluster } from '@kdev/core/internals';
import type { V1Deployment } from '@kubernetes/client-node';
import { nodeDeployment, tempNamespace, testKubeconfig, waitPodReady } from '../lib/cluster.js';
import { KDEV_MAIN, jsonOf, runKdev } from '../lib/cli.js';
import { untilBody } from '../lib/session.js';

const STATE_DIR = mkdtempSync(join(tmpdir(), 'kdev-parity-state-'));
const ENV = { KDEV_STATE_DIR: STATE_DIR };
const server = (v: string) => `require('http').createServer((q, r) => r.end('answer-${v}')).listen(8080, () => console.log('listening ${v}'));\n`;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** What `end` must give back exactly: the pod template, replicas, strategy, labels and annotations. */
function restorable(d: V1Deployment): unknown {
  const annotations = { ...d.metadata?.annotations };
  delete annotations['deployment.kubernetes.io/revision'];
  return { template: d.spec?.template, replicas: d.spec?.replicas, strategy: d.spec?.strategy, labels: d.metadata?.labels, annotations };
}

/** A long-running kdev process; `until` waits for its stderr/stdout to match. */
function kdevProcess(args: string[], cwd: string): { child: ChildProcess; text: () => string; until: (re: RegExp, ms?: number) => Promise<void>; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [KDEV_MAIN, ...args], { cwd, env: { ...process.env, ...ENV, KUBECONFIG: testKubeconfig() }, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const waiters = new Set<() => void>();
  const take = (d: Buffer) => {
    text += d.toString();
    for (const w of [...waiters]) w();
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  const exited = new Promise<number | null>((r) => child.on('close', r));
  const until = (re: RegExp, ms = 180_000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`kdev ${args.join(' ')}: no ${re} within ${ms} ms:\n${text}`)), ms);
      const check = () => {
        if (!re.test(text)) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
      };
      waiters.add(check);
      check();
    });
  return { child, text: () => text, until, exited };
}

describe('parity journey through the CLI', () => {
  let ns: Awaited<ReturnType<typeof tempNamespace>>;
  let cluster: Cluster;
  let folder: string;
  let port: number;
  let original: unknown;
  const procs: ChildProcess[] = [];

  before(async () => {
    ns = await tempNamespace('kdev-parity-cli');
    cluster = ns.cluster;
    await applyAll(cluster, [nodeDeployment(ns.name, 'web', { code: "require('http').createServer((q, r) => r.end('prod')).listen(8080)" })]);
    await waitPodReady(cluster, 'app=web');
    original = restorable(await cluster.apps.readNamespacedDeployment({ name: 'web', namespace: ns.name }));
    port = await freePort();
    folder = mkdtempSync(join(tmpdir(), 'kdev-parity-cli-'));
    writeFileSync(join(folder, '.kdev.yaml'), `dev:\n  web:\n    image: kdev.local/dev-node:18\n    run: node server.js\n    ports: ["${port}:8080"]\n`);
    writeFileSync(join(folder, 'server.js'), server('v1'));
  });

  after(async () => {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    await runKdev(['dev', 'end', 'web', '-n', ns.name, '--force'], ENV).catch(() => undefined);
    await ns?.remove();
  });

  it('start → edit → run answers → forward survives a pod replacement → end restores exactly; the registry shows it all', { timeout: 10 * 60_000 }, async () => {
    const start = kdevProcess(['dev', 'start', 'web', '-n', ns.name], folder);
    procs.push(start.child);
    await start.until(/Syncing .* → deployment\/web:\/app/);
    await start.until(/synced|watching/);

    const syncs = jsonOf<{ pid: number; ui: string; workload: string; status: { state: string; localRoot: string } }[]>(await runKdev(['-o', 'json', 'sync', 'status'], ENV));
    assert.deepEqual(
      syncs.map((s) => [s.pid, s.ui, s.workload, s.status.localRoot]),
      [[start.child.pid, 'cli', 'deployment/web', folder]],
    );

    // A second attach to the same sidecar is refused, naming the holder.
    const second = await runKdev(['dev', 'start', 'web', '-n', ns.name], ENV);
    assert.equal(second.code, 1);
    assert.match(second.stderr, new RegExp(`the sync into deployment/web \\(namespace ${ns.name}\\) is held by pid ${start.child.pid} \\(cli, user \\S+: kdev dev start web`));

    const run = kdevProcess(['dev', 'run', 'web', '-n', ns.name], folder);
    procs.push(run.child);
    await run.until(new RegExp(`sync: already running in pid ${start.child.pid}`));
    await run.until(/listening v1/);
    assert.equal((await untilBody(port, (b) => b === 'answer-v1', 60_000)).body, 'answer-v1', 'the config forward of `dev start` reaches the run command');

    writeFileSync(join(folder, 'server.js'), server('v2'));
    assert.equal((await untilBody(port, (b) => b === 'answer-v2', 30_000)).body, 'answer-v2', 'the edit is synced and the command restarted');

    const forwards = jsonOf<{ localPort: number; pid: number; ui: string; pod: string }[]>(await runKdev(['-o', 'json', 'port-forward', 'list'], ENV));
    const fwd = forwards.find((f) => f.localPort === port);
    assert.ok(fwd && fwd.pid === start.child.pid && fwd.ui === 'cli', JSON.stringify(forwards));

    // The dev pod is replaced: `dev run` ends with its pod's log; the attached session's sync
    // and forward follow the new pod, where the command is started again.
    await cluster.core.deleteNamespacedPod({ name: fwd.pod, namespace: ns.name, gracePeriodSeconds: 0 });
    assert.equal(await run.exited, 0, run.text());
    await waitPodReady(cluster, 'kdev.dev/dev-of', 180_000);
    const again = await runKdev(['-o', 'json', 'dev', 'run', 'web', '-n', ns.name, '--detach', '--config', join(folder, '.kdev.yaml')], ENV);
    assert.equal(again.code, 0, again.stderr);
    const after = await untilBody(port, (b) => b === 'answer-v2', 120_000);
    assert.equal(after.body, 'answer-v2', 'the same local port answers from the new dev pod');
    const moved = jsonOf<{ localPort: number; pod: string }[]>(await runKdev(['-o', 'json', 'port-forward', 'list'], ENV)).find((f) => f.localPort === port);
    assert.ok(moved && moved.pod !== fwd.pod, 'the forward now points at the new pod');

    start.child.kill('SIGINT');
    assert.equal(await start.exited, 0, start.text());
    assert.deepEqual(jsonOf<unknown[]>(await runKdev(['-o', 'json', 'sync', 'status'], ENV)), [], 'nothing left in the registry');

    const end = await runKdev(['dev', 'end', 'web', '-n', ns.name], ENV);
    assert.equal(end.code, 0, end.stderr);
    assert.deepEqual(restorable(await cluster.apps.readNamespacedDeployment({ name: 'web', namespace: ns.name })), original, 'end restores exactly');
  });
});

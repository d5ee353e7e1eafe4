// `kdev dev start` as a user runs it: dev mode, then the local folder synced into the dev
// container until Ctrl-C; `kdev sync status` from another process; `kdev dev end`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyAll, endDevMode, execCapture, startDevMode, watchUntil, type Cluster } from '@kdev/core/internals';
import type { V1Pod } from '@kubernetes/client-node';
import { nodeDeployment, tempNamespace, testKubeconfig } from '../lib/cluster.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'cli', 'dist', 'main.js');

function kdev(args: string[], env: NodeJS.ProcessEnv): string {
  return execFileSync(process.execPath, [CLI, ...args, '--kubeconfig', testKubeconfig()], { encoding: 'utf8', env });
}

/** Waits until `cat` of the file in the dev container prints the expected text. */
async function waitForFile(cluster: Cluster, pod: string, path: string, expected: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await execCapture(cluster, pod, 'app', ['sh', '-c', `cat ${path} 2>/dev/null`]);
    if (r.stdout === expected) return;
    if (Date.now() > deadline) assert.fail(`${path} in ${pod} is ${JSON.stringify(r.stdout)}, not ${JSON.stringify(expected)}`);
    await new Promise((r2) => setTimeout(r2, 200));
  }
}

describe('kdev dev start: dev mode with sync, from the CLI', () => {
  let ns: Awaited<ReturnType<typeof tempNamespace>>;
  let child: ChildProcess | undefined;
  const env = { ...process.env, XDG_CONFIG_HOME: mkdtempSync(join(tmpdir(), 'kdev-cfg-')) };

  before(async () => {
    ns = await tempNamespace('kdev-devsync');
    await applyAll(ns.cluster, [nodeDeployment(ns.name, 'app')]);
  });
  after(async () => {
    child?.kill('SIGKILL');
    await ns?.remove();
  });

  it('syncs the local folder until Ctrl-C, shows it in `kdev sync status`, and `dev end` restores', async () => {
    const local = mkdtempSync(join(tmpdir(), 'kdev-local-'));
    writeFileSync(join(local, 'index.js'), 'v1');
    writeFileSync(join(local, '.gitignore'), 'secret.txt\n');
    writeFileSync(join(local, 'secret.txt'), 'do not sync');
    child = spawn(process.execPath, [CLI, 'dev', 'start', 'deployment/app', '-n', ns.name, '--image', 'kdev.local/dev-node:18', '--workdir', '/src', '--local', local, '--kubeconfig', testKubeconfig()], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));

    const pod = await watchUntil<V1Pod, string>(ns.cluster, {
      resource: { apiVersion: 'v1', plural: 'pods', namespace: ns.name },
      labelSelector: 'kdev.dev/dev-of',
      timeoutMs: 120_000,
      what: 'the dev pod',
      onEvent: (t, p) => (t !== 'DELETED' && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? { done: true, value: p.metadata!.name! } : { done: false }),
    });
    await waitForFile(ns.cluster, pod, '/src/index.js', 'v1');
    writeFileSync(join(local, 'index.js'), 'v2');
    await waitForFile(ns.cluster, pod, '/src/index.js', 'v2');
    const ignored = await execCapture(ns.cluster, pod, 'app', ['sh', '-c', 'test -e /src/secret.txt && echo present || echo absent']);
    assert.equal(ignored.stdout.trim(), 'absent', '.gitignore is honoured');

    const status = JSON.parse(kdev(['sync', 'status', '-o', 'json'], env)) as Array<{ workload: string; status: { state: string; pod: string } }>;
    assert.equal(status.length, 1);
    assert.equal(status[0]!.workload, 'deployment/app');
    assert.equal(status[0]!.status.pod, pod);
    assert.ok(['idle', 'watching', 'syncing'].includes(status[0]!.status.state), status[0]!.status.state);

    const exited = new Promise<number | null>((r) => child!.on('close', (code) => r(code)));
    child.kill('SIGINT');
    assert.equal(await exited, 0, output);
    assert.match(output, /stays in dev mode/);
    assert.equal(kdev(['sync', 'status'], env).trim(), 'no sync is running (start one with `kdev dev start <workload>`)');

    assert.match(kdev(['dev', 'end', 'deployment/app', '-n', ns.name], env), /restored/);
    const d = await ns.cluster.apps.readNamespacedDeployment({ name: 'app', namespace: ns.name });
    assert.equal(d.spec?.template.spec?.containers.length, 1, 'the sidecar is gone');
    assert.equal(d.spec?.template.spec?.containers[0]?.image, 'kdev.local/node:18');
  });
});

describe('dev mode in a fresh namespace', () => {
  let ns: Awaited<ReturnType<typeof tempNamespace>>;
  before(async () => {
    ns = await tempNamespace('kdev-devrace');
  });
  after(async () => {
    await ns?.remove();
  });

  it('two workloads started at the same moment both come up (their shared ConfigMaps are created once)', async () => {
    await applyAll(ns.cluster, ['a', 'b'].map((name) => nodeDeployment(ns.name, name)));
    const sessions = await Promise.all(['a', 'b'].map((name) => startDevMode(ns.cluster, { workload: `deployment/${name}`, image: 'kdev.local/dev-node:18' })));
    assert.deepEqual(sessions.map((s) => s.workload), ['deployment/a', 'deployment/b']);
    await Promise.all(['a', 'b'].map((name) => endDevMode(ns.cluster, { workload: `deployment/${name}` })));
  });
});

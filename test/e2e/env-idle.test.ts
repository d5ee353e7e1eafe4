// Idle sleep and wake on use, on the local cluster: `env gc --sleep-idle 2h` sleeps an
// environment without activity for that long and keeps one whose dev session renews its
// lease; `dev start` and `env kubeconfig` wake a sleeping environment; `env list` shows
// the idle time. "Three hours without activity" is made by moving the recorded last
// activity back (what the clock would do), not by waiting.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PatchStrategy, type V1Namespace } from '@kubernetes/client-node';
import { createEnvironment, startDevMode } from '@kdev/core/internals';
import { testCluster, uniqueName } from '../lib/cluster.js';
import { jsonOf, runKdev } from '../lib/cli.js';

const TEMPLATE = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'templates', 'sleepy');

interface ListJson {
  name: string;
  state: string;
  lastActivity: string;
}

async function backdate(name: string, hours: number): Promise<void> {
  const at = new Date(Date.now() - hours * 3600_000).toISOString();
  await testCluster().objects.patch(
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name, annotations: { 'kdev.dev/last-activity': at } } } as V1Namespace,
    undefined,
    undefined,
    undefined,
    undefined,
    PatchStrategy.MergePatch,
  );
}

async function state(name: string): Promise<{ state: string; replicas: number; lastActivity: number }> {
  const ns = await testCluster().core.readNamespace({ name });
  const d = await testCluster().apps.readNamespacedDeployment({ name: 'app', namespace: name });
  return { state: ns.metadata!.annotations!['kdev.dev/state']!, replicas: d.spec!.replicas!, lastActivity: Date.parse(ns.metadata!.annotations!['kdev.dev/last-activity']!) };
}

describe('kdev env: idle sleep and wake on use', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdev-idle-'));
  const env = { KDEV_ENV_DIR: dir };
  const idle = uniqueName('kdev-idle');
  const busy = uniqueName('kdev-busy');

  before(async () => {
    await Promise.all([idle, busy].map((name) => createEnvironment(testCluster(), { name, template: TEMPLATE, ttl: '1h' })));
    // A dev session in busy: the lease it renews is activity.
    await startDevMode(testCluster().inNamespace(busy), { workload: 'deployment/app', image: 'kdev.local/dev-node:18', sidecar: null, timeoutMs: 120_000 });
    await Promise.all([backdate(idle, 3), backdate(busy, 3)]);
  });
  after(async () => {
    await Promise.all([idle, busy].map((name) => runKdev(['env', 'delete', name], env)));
    rmSync(dir, { recursive: true, force: true });
  });

  it('env list shows how long each has been idle', async () => {
    const r = await runKdev(['env', 'list'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /IDLE/);
    assert.match(r.stdout, new RegExp(`${idle} .* 3h0m `));
    assert.match(r.stdout, new RegExp(`${busy} .* \\d+[sm] `), 'the dev session\'s lease counts as activity');
  });

  it('gc --sleep-idle 2h sleeps the idle one and keeps the one with a dev session', async () => {
    const dry = await runKdev(['-o', 'json', 'env', 'gc', '--sleep-idle', '2h', '--dry-run'], env);
    assert.ok(jsonOf<{ slept: string[] }>(dry).slept.includes(idle));
    assert.equal((await state(idle)).state, 'ready', 'a dry run changes nothing');
    const r = await runKdev(['-o', 'json', 'env', 'gc', '--sleep-idle', '2h'], env);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const slept = jsonOf<{ slept: string[] }>(r).slept;
    assert.ok(slept.includes(idle), JSON.stringify(slept));
    assert.ok(!slept.includes(busy), JSON.stringify(slept));
    assert.deepEqual({ ...(await state(idle)), lastActivity: 0 }, { state: 'sleeping', replicas: 0, lastActivity: 0 });
    assert.equal((await state(busy)).state, 'ready');
    const list = jsonOf<ListJson[]>(await runKdev(['-o', 'json', 'env', 'list'], env));
    assert.equal(list.find((e) => e.name === idle)!.state, 'sleeping');
  });

  it('dev start wakes a sleeping environment, with progress, and records the use', async () => {
    const t0 = Date.now();
    const r = await runKdev(['-n', idle, 'dev', 'start', 'deployment/app', '--image', 'kdev.local/dev-node:18', '--no-sync'], env);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stderr, /app (applying|waiting|ready)/, 'wake progress');
    assert.match(r.stderr, new RegExp(`environment ${idle} was asleep and is awake again`));
    const s = await state(idle);
    assert.equal(s.state, 'ready');
    assert.equal(s.replicas, 1);
    assert.ok(s.lastActivity >= t0 - 1000, 'the wake is recorded as activity');
  });

  it('env kubeconfig wakes it too', async () => {
    const sleep = await runKdev(['env', 'sleep', idle], env);
    assert.equal(sleep.code, 0, sleep.stderr);
    assert.equal((await state(idle)).state, 'sleeping');
    const r = await runKdev(['env', 'kubeconfig', idle, '--out', join(dir, 'k.yaml')], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /awake again/);
    assert.equal((await state(idle)).state, 'ready');
  });
});

// Environments from the team's own Helm charts, Kustomize overlays and manifests, on the
// local cluster with the real helm and kustomize (built by test/cluster, on PATH from the
// test runner): hello as a chart (folder and packaged .tgz) and as an overlay, a template mixing all three (order
// from a pre-install hook and dependsOn), render equal to what is applied, typed --set
// errors and a missing tool creating nothing, and a chart whose workload crashes a second
// after it starts failing within the settle window and rolling back.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { chartTemplate, connect, createEnvironment, forwardPort, isKdevError, raw, type EnvProgress } from '@kdev/core/internals';
import { testCluster, uniqueName, waitPodReady, namespaceExists } from '../lib/cluster.js';
import { jsonOf, runKdev } from '../lib/cli.js';
import { httpGet } from '../lib/session.js';

/** Runs a tool (helm, from PATH as the test runner sets it). */
function run(cmd: string, args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stderr }));
  });
}

const ROOT = join(import.meta.dirname, '..', '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'templates');
const HELLO = join(ROOT, 'templates', 'hello');

interface CreateJson {
  name: string;
  template: string;
  kubeconfig: string;
}
interface ErrorJson {
  error: { code: string; message: string; hint?: string };
}

/** GET / of the first Ready pod with the selector, through a port-forward. */
async function answer(kubeconfig: string, selector: string): Promise<string> {
  const cluster = connect({ kubeconfig });
  const pod = await waitPodReady(cluster, selector, 60_000);
  const fwd = await forwardPort(cluster, pod.metadata!.name!, 8080);
  try {
    const r = await httpGet(fwd.localPort);
    assert.equal(r.status, 200, r.body);
    return r.body;
  } finally {
    await fwd.close();
  }
}

/** Every field of `want` is in `got` with the same value (the API server adds defaults). */
function assertSubset(want: unknown, got: unknown, path: string): void {
  if (want === null || typeof want !== 'object') {
    assert.equal(String(got), String(want), path);
    return;
  }
  assert.ok(got !== null && typeof got === 'object', `${path}: missing`);
  if (Array.isArray(want)) {
    assert.ok(Array.isArray(got) && got.length === want.length, `${path}: ${JSON.stringify(got)} is not like ${JSON.stringify(want)}`);
    want.forEach((w, i) => assertSubset(w, (got as unknown[])[i], `${path}[${i}]`));
    return;
  }
  for (const [k, v] of Object.entries(want)) assertSubset(v, (got as Record<string, unknown>)[k], `${path}.${k}`);
}

describe('kdev env: a chart and an overlay as they are', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdev-payloads-'));
  const env = { KDEV_ENV_DIR: dir };
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('create --chart: helm renders it with --set, frontend starts after backend, it answers; delete removes it', async () => {
    const name = uniqueName('kdev-chart');
    try {
      const r = await runKdev(['-o', 'json', 'env', 'create', name, '--chart', join(HELLO, 'chart'), '--set', 'greeting=Hola', '--ttl', '1h', '--wait'], env);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const created = jsonOf<CreateJson>(r);
      assert.equal(created.template, 'hello');
      assert.match(await answer(created.kubeconfig, 'app=frontend'), /^Hola, world \(from backend-/);
      const ns = await testCluster().core.readNamespace({ name });
      const order = JSON.parse(ns.metadata!.annotations!['kdev.dev/workloads']!) as { name: string; dependsOn: string[] }[];
      assert.deepEqual(order.find((w) => w.name === 'frontend')!.dependsOn, ['backend'], 'from the chart\'s kdev.dev/depends-on');
    } finally {
      const d = await runKdev(['env', 'delete', name], env);
      assert.equal(d.code, 0, d.stderr);
    }
    assert.equal(await namespaceExists(name), false);
  });

  it('a packaged chart (.tgz, from helm package) renders as its folder does and creates the same environment', async () => {
    const pkg = await run('helm', ['package', join(HELLO, 'chart'), '--destination', dir]);
    assert.equal(pkg.code, 0, pkg.stderr);
    const tgz = join(dir, 'hello-0.1.0.tgz');
    const fromTgz = await runKdev(['env', 'render', '--chart', tgz, '--env', 'pr-7', '--set', 'greeting=Hej'], env);
    const fromDir = await runKdev(['env', 'render', '--chart', join(HELLO, 'chart'), '--env', 'pr-7', '--set', 'greeting=Hej'], env);
    assert.equal(fromTgz.code, 0, fromTgz.stderr);
    assert.match(fromTgz.stdout, /kind: Deployment\n(.*\n)*\s+name: frontend/);
    assert.equal(fromTgz.stdout, fromDir.stdout);
    const name = uniqueName('kdev-tgz');
    try {
      const r = await runKdev(['-o', 'json', 'env', 'create', name, '--chart', tgz, '--set', 'greeting=Hej', '--ttl', '1h', '--wait'], env);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const created = jsonOf<CreateJson>(r);
      assert.equal(created.template, 'hello');
      assert.match(await answer(created.kubeconfig, 'app=frontend'), /^Hej, world \(from backend-/);
    } finally {
      await runKdev(['env', 'delete', name], env);
    }
    assert.equal(await namespaceExists(name), false);
  });

  it('create --kustomize: kustomize builds the overlay (generated ConfigMaps, its patch), it answers', async () => {
    const name = uniqueName('kdev-kust');
    try {
      const r = await runKdev(['-o', 'json', 'env', 'create', name, '--kustomize', HELLO, '--ttl', '1h', '--wait'], env);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const created = jsonOf<CreateJson>(r);
      assert.match(await answer(created.kubeconfig, 'app=frontend'), /^Hello from the overlay, world/);
      const cms = await testCluster().core.listNamespacedConfigMap({ namespace: name });
      assert.ok(cms.items.some((c) => /^backend-source-[a-z0-9]{10}$/.test(c.metadata!.name!)), 'the generated ConfigMap with its hash suffix');
    } finally {
      await runKdev(['env', 'delete', name], env);
    }
    assert.equal(await namespaceExists(name), false);
  });
});

describe('kdev env: a template mixing a chart, an overlay and manifests', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdev-payloads-'));
  const env = { KDEV_ENV_DIR: dir };
  const template = join(FIXTURES, 'payloads');
  const name = uniqueName('kdev-mixed');
  after(async () => {
    await runKdev(['env', 'delete', name], env);
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts the hook, then the chart and the overlay, then the manifest; render equals what is applied', async () => {
    const sets = ['--set', 'replicas=2', '--set', 'colour=green'];
    const rendered = await runKdev(['-o', 'json', 'env', 'render', template, '--env', name, ...sets], env);
    assert.equal(rendered.code, 0, rendered.stderr);
    const objects = jsonOf<KubernetesObject[]>(rendered);
    assert.deepEqual(
      objects.map((o) => `${o.kind}/${o.metadata!.name}`),
      ['ResourceQuota/kdev-quota', 'LimitRange/kdev-limits', 'ConfigMap/api-settings', 'Service/api', objects[4] ? `ConfigMap/${objects[4].metadata!.name}` : '', 'Job/migrate', 'Deployment/api', 'Deployment/worker', 'Deployment/web'],
      'the test hook and the upgrade hook are left out',
    );
    assert.match(objects[4]!.metadata!.name!, /^worker-settings-/);

    const events: EnvProgress[] = [];
    const created = await createEnvironment(testCluster(), { name, template, ttl: '1h', set: { replicas: '2', colour: 'green' }, onProgress: (e) => events.push(e) });
    const at = (w: string, state: string) => events.findIndex((e) => e.type === 'workload' && e.name === w && e.state === state);
    // First Ready (its settle window then runs while its dependents start).
    const firstReady = (w: string) => events.findIndex((e) => e.type === 'workload' && e.name === w && (e.state === 'ready' || /^(\d+)\/\1 ready/.test(e.message ?? '')));
    assert.ok(at('migrate', 'ready') < at('api', 'applying') && at('migrate', 'ready') < at('worker', 'applying'), 'the pre-install hook first');
    assert.ok(firstReady('api') >= 0 && firstReady('api') < at('web', 'applying'), 'web after api (dependsOn)');
    assert.ok(at('api', 'ready') > firstReady('api'), 'api counted as ready only after its settle window');

    for (const o of objects) {
      const plural = `${o.kind!.toLowerCase()}s`;
      const live = await raw.get(testCluster(), { apiVersion: o.apiVersion!, plural, namespace: name, name: o.metadata!.name! });
      assertSubset(o, live, `${o.kind}/${o.metadata!.name}`);
    }
    const apiPods = await testCluster().core.listNamespacedPod({ namespace: name, labelSelector: 'app=api' });
    assert.equal(apiPods.items.length, 2, 'replicas=2 reached the chart as a number');
    const kubeconfig = join(dir, `${name}.kubeconfig`);
    writeFileSync(kubeconfig, created.kubeconfig);
    assert.equal(await answer(kubeconfig, 'app=api'), 'green: answered by the chart', 'template values and valuesFiles reached the chart');
    const worker = await testCluster().core.listNamespacedConfigMap({ namespace: name });
    assert.equal(worker.items.find((c) => c.metadata!.name!.startsWith('worker-settings-'))!.data!.COLOUR, 'green', 'the overlay\'s output got ${colour}');
  });
});

describe('kdev env: bad parameters and a missing tool create nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdev-payloads-'));
  const env = { KDEV_ENV_DIR: dir };
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a --set that does not fit its type or enum names template.yaml, the line and the field', async () => {
    const name = uniqueName('kdev-typed');
    const cases: [string, RegExp][] = [
      ['replicas=many', /^--set replicas=many: expected an integer, got "many" \(.*payloads\/template\.yaml:8: parameters\.replicas\)$/],
      ['replicas=7', /^--set replicas=7: 7 is above the maximum 3 \(.*template\.yaml:8: parameters\.replicas\)$/],
      ['colour=red', /^--set colour=red: "red" is not one of "blue", "green" \(.*template\.yaml:14: parameters\.colour\)$/],
    ];
    for (const [set, pattern] of cases) {
      const r = await runKdev(['-o', 'json', 'env', 'create', name, '-t', join(FIXTURES, 'payloads'), '--set', set, '--wait'], env);
      assert.equal(r.code, 1, set);
      const e = jsonOf<ErrorJson>(r).error;
      assert.equal(e.code, 'INVALID');
      assert.match(e.message, pattern);
    }
    const chart = await runKdev(['env', 'create', name, '--chart', join(HELLO, 'chart'), '--set', 'replicas=many'], env);
    assert.equal(chart.code, 1);
    assert.match(chart.stderr, /the chart .*hello\/chart: `helm template` failed:.*\/replicas.*want integer/s);
    assert.equal(await namespaceExists(name), false);
  });

  it('without helm on PATH: a clear error naming what to install', async () => {
    const name = uniqueName('kdev-nohelm');
    const r = await runKdev(['-o', 'json', 'env', 'create', name, '--chart', join(HELLO, 'chart')], { ...env, PATH: dirname(process.execPath) });
    assert.equal(r.code, 1);
    const e = jsonOf<ErrorJson>(r).error;
    assert.equal(e.code, 'NOT_FOUND');
    assert.match(e.message, /^helm is not installed \(no "helm" on PATH\): the chart .* is rendered with `helm template`/);
    assert.match(e.hint!, /Install Helm/);
    const k = await runKdev(['env', 'render', '--kustomize', HELLO], { ...env, PATH: dirname(process.execPath) });
    assert.match(k.stderr, /kustomize is not installed/);
    assert.equal(await namespaceExists(name), false);
  });
});

describe('kdev env: Ready means stable', () => {
  it('a chart whose workload crashes 1 s after it starts (no readiness probe) fails within the settle window and rolls back', async () => {
    const name = uniqueName('kdev-flaky');
    const events: EnvProgress[] = [];
    const t0 = Date.now();
    const err = await createEnvironment(testCluster(), { name, template: chartTemplate(join(FIXTURES, 'crash-chart')), ttl: '10m', onProgress: (e) => events.push(e) }).then(
      () => assert.fail('create should fail: the workload was Ready only for an instant'),
      (e: unknown) => e,
    );
    assert.ok(isKdevError(err), String(err));
    assert.match(err.message, /^Deployment\/flaky failed: pod flaky-[a-z0-9]+-[a-z0-9]+, container flaky: .*it had been Ready and restarted within the 5s settle window/);
    assert.match(err.message, /last log lines:\n.*flaky: cannot reach the queue, giving up/s);
    assert.match(err.hint!, /Nothing was left behind/);
    const settling = events.find((e) => e.type === 'workload' && e.name === 'flaky' && /settling 5s/.test(e.message ?? ''));
    assert.ok(settling, 'it was Ready and its settle window began');
    const rollback = events.filter((e) => e.type === 'step' && e.step === 'rollback').map((e) => (e.type === 'step' ? e.state : ''));
    assert.deepEqual(rollback, ['start', 'done']);
    assert.ok(Date.now() - t0 < 120_000, 'fails long before the 180 s timeout');
    assert.equal(await namespaceExists(name), false);
  });
});

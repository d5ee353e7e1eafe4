// Environments end to end on the local cluster, through the `kdev env` CLI: create from the
// hello template (--wait, -o json), what the namespace holds, the services answering, the
// environment's kubeconfig acting in its namespace and refused elsewhere, list/show,
// sleep/wake, a taken name, TTL expiry then gc, and delete.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthorizationV1Api, type V1Deployment, type V1Pod } from '@kubernetes/client-node';
import { connect, forwardPort, kubeError, type Endpoint } from '@kdev/core/internals';
import { testCluster, uniqueName, waitPodReady, namespaceExists } from '../lib/cluster.js';
import { jsonOf, runKdev } from '../lib/cli.js';

interface CreateJson {
  name: string;
  namespace: string;
  owner: string;
  template: string;
  expires: string | null;
  kubeconfig: string;
  endpoints: Endpoint[];
  durationMs: number;
}

interface EnvJson {
  name: string;
  owner: string;
  template: string;
  state: string;
  expires: string | null;
  expired: boolean;
  workloads: { name: string; kind: string; dependsOn: string[] }[];
  parameters: Record<string, string>;
}

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('kdev env: the life of an environment', () => {
  const admin = testCluster();
  const dir = mkdtempSync(join(tmpdir(), 'kdev-env-e2e-'));
  const owner = uniqueName('alice');
  const env = { KDEV_ENV_DIR: dir, KDEV_OWNER: owner };
  const name = uniqueName('kdev-env');
  let created: CreateJson;

  before(async () => {
    const r = await runKdev(['-o', 'json', 'env', 'create', name, '--template', 'hello', '--ttl', '2h', '--set', 'greeting=Bonjour', '--wait'], env);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    created = jsonOf<CreateJson>(r);
  });
  after(async () => {
    await runKdev(['env', 'delete', name], env);
    rmSync(dir, { recursive: true, force: true });
  });

  it('create --wait -o json returns the namespace, a kubeconfig path and the endpoints', () => {
    assert.equal(created.namespace, name);
    assert.equal(created.owner, owner);
    assert.equal(created.template, 'hello');
    assert.equal(created.kubeconfig, join(dir, `${name}.kubeconfig`));
    assert.equal(statSync(created.kubeconfig).mode & 0o777, 0o600);
    const expires = new Date(created.expires!).getTime();
    assert.ok(Math.abs(expires - (Date.now() + 2 * 3600_000)) < 5 * 60_000, `expires ${created.expires}`);
    assert.deepEqual(created.endpoints.map((e) => e.service), ['backend', 'frontend']);
    assert.equal(created.endpoints.find((e) => e.service === 'frontend')!.ports[0]!.address, `frontend.${name}.svc.cluster.local:80`);
  });

  it('labels the namespace as kdev\'s with owner, template, created and expires', async () => {
    const ns = await admin.core.readNamespace({ name });
    const labels = ns.metadata!.labels!;
    assert.equal(labels['kdev.dev/environment'], name);
    assert.equal(labels['kdev.dev/owner'], owner);
    assert.equal(labels['kdev.dev/template'], 'hello');
    assert.match(labels['kdev.dev/created']!, /^\d{10}$/);
    assert.equal(Number(labels['kdev.dev/expires']), Math.floor(new Date(created.expires!).getTime() / 1000));
    assert.equal(ns.metadata!.annotations!['kdev.dev/state'], 'ready');
  });

  it('gives it a ResourceQuota and LimitRange from the template, with --set applied', async () => {
    const quota = await admin.core.readNamespacedResourceQuota({ name: 'kdev-quota', namespace: name });
    assert.equal(quota.spec!.hard!.pods, '10');
    assert.equal(quota.spec!.hard!['requests.memory'], '1Gi');
    assert.equal(quota.status!.used!.pods, '2');
    const limits = await admin.core.readNamespacedLimitRange({ name: 'kdev-limits', namespace: name });
    const item = limits.spec!.limits[0]!;
    assert.equal(item.type, 'Container');
    assert.deepEqual(item._default, { cpu: '500m', memory: '128Mi' });
    assert.deepEqual(item.defaultRequest, { cpu: '10m', memory: '32Mi' });
    const pods = await admin.core.listNamespacedPod({ namespace: name, labelSelector: 'app=backend' });
    assert.deepEqual(pods.items[0]!.spec!.containers[0]!.resources!.requests, { cpu: '10m', memory: '32Mi' });
  });

  it('isolates it with NetworkPolicies: ingress only from pods of the same namespace (not the probe client), egress open but for kube-system', async () => {
    const np = await admin.networking.readNamespacedNetworkPolicy({ name: 'kdev-isolate', namespace: name });
    const spec = JSON.parse(JSON.stringify(np.spec)) as unknown;
    assert.deepEqual(spec, { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ _from: [{ podSelector: { matchExpressions: [{ key: 'kdev.dev/probe', operator: 'NotIn', values: ['client'] }] } }] }] });
    const egress = await admin.networking.readNamespacedNetworkPolicy({ name: 'kdev-egress', namespace: name });
    assert.deepEqual(egress.spec!.policyTypes, ['Egress']);
    assert.equal(egress.spec!.egress!.length, 4);
    const names = (await admin.networking.listNamespacedNetworkPolicy({ namespace: name })).items.map((p) => p.metadata!.name).sort();
    assert.deepEqual(names, ['kdev-egress', 'kdev-isolate'], 'the probe removed its own policy');
  });

  it('binds the owner to the environment\'s Role: allowed in it, denied elsewhere (SubjectAccessReview)', async () => {
    const authz = admin.kc.makeApiClient(AuthorizationV1Api);
    const can = async (namespace: string, verb: string, resource: string) =>
      (await authz.createSubjectAccessReview({ body: { spec: { user: owner, resourceAttributes: { namespace, verb, resource } } } })).status!.allowed;
    assert.equal(await can(name, 'create', 'pods'), true);
    assert.equal(await can(name, 'create', 'pods/exec'), true);
    assert.equal(await can(name, 'update', 'resourcequotas'), false, 'the owner cannot raise the quota');
    assert.equal(await can('default', 'list', 'pods'), false);
  });

  it('delivers the template\'s source and starts frontend after backend: the service answers with --set greeting', async () => {
    const envCluster = connect({ kubeconfig: created.kubeconfig });
    const pod = await waitPodReady(envCluster, 'app=frontend', 30_000);
    const fwd = await forwardPort(envCluster, pod.metadata!.name!, 8080);
    try {
      const r = await httpGet(`http://127.0.0.1:${fwd.localPort}/`);
      assert.equal(r.status, 200, r.body);
      assert.match(r.body, /^Bonjour, world \(from backend-/);
    } finally {
      await fwd.close();
    }
    const backend = await admin.apps.readNamespacedDeployment({ name: 'backend', namespace: name });
    const frontend = await admin.apps.readNamespacedDeployment({ name: 'frontend', namespace: name });
    assert.ok(new Date(frontend.metadata!.creationTimestamp!).getTime() >= new Date(backend.metadata!.creationTimestamp!).getTime());
  });

  it("the environment's kubeconfig acts in its namespace and is refused (403) in another", async () => {
    const text = readFileSync(created.kubeconfig, 'utf8');
    assert.match(text, /token: /);
    assert.match(text, new RegExp(`namespace: ${name}`));
    const envCluster = connect({ kubeconfig: created.kubeconfig });
    assert.equal(envCluster.namespace, name);
    const pods = await envCluster.core.listNamespacedPod({ namespace: name });
    assert.equal(pods.items.length, 2);
    await envCluster.core.createNamespacedConfigMap({ namespace: name, body: { metadata: { name: 'made-by-env-sa' }, data: { a: '1' } } });
    await assert.rejects(envCluster.core.listNamespacedPod({ namespace: 'default' }), (err: unknown) => {
      const e = kubeError(err, 'listing pods in default');
      assert.equal(e.code, 'FORBIDDEN');
      assert.match(e.message, /system:serviceaccount:.*:kdev-env/);
      return true;
    });
    await assert.rejects(envCluster.core.createNamespace({ body: { metadata: { name: `${name}-escape` } } }), (err: unknown) => kubeError(err, 'x').code === 'FORBIDDEN');
  });

  it('env kubeconfig issues a fresh token on demand (stdout, --out, -o json)', async () => {
    const r = await runKdev(['env', 'kubeconfig', name], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^apiVersion: v1\nkind: Config/);
    const out = join(dir, 'fresh.kubeconfig');
    const j = jsonOf<{ kubeconfig: string; expires: string }>(await runKdev(['-o', 'json', 'env', 'kubeconfig', name, '--out', out, '--duration', '900'], env));
    assert.equal(j.kubeconfig, out);
    assert.ok(Math.abs(new Date(j.expires).getTime() - (Date.now() + 900_000)) < 60_000, j.expires);
    const again = connect({ kubeconfig: out });
    assert.equal((await again.core.listNamespacedService({ namespace: name })).items.length, 2);
  });

  it('list and show report it (text and JSON), list --mine filters by owner', async () => {
    const list = jsonOf<EnvJson[]>(await runKdev(['-o', 'json', 'env', 'list'], env));
    const mine = list.find((e) => e.name === name);
    assert.ok(mine, JSON.stringify(list));
    assert.equal(mine.owner, owner);
    assert.equal(mine.state, 'ready');
    assert.equal(mine.expired, false);
    assert.deepEqual(mine.parameters, { greeting: 'Bonjour' });
    assert.deepEqual(mine.workloads.map((w) => w.name), ['backend', 'frontend']);
    const others = jsonOf<EnvJson[]>(await runKdev(['-o', 'json', 'env', 'list', '--mine'], { ...env, KDEV_OWNER: 'somebody-else' }));
    assert.equal(others.find((e) => e.name === name), undefined);
    const text = await runKdev(['env', 'list', '--mine'], env);
    assert.match(text.stdout, /^NAME\s+OWNER\s+TEMPLATE\s+STATE\s+AGE\s+IDLE\s+EXPIRES\n/);
    assert.match(text.stdout, new RegExp(`${name}\\s+${owner}\\s+hello\\s+ready\\s+\\S+\\s+\\S+\\s+in 1h5\\dm`));
    const show = await runKdev(['env', 'show', name], env);
    assert.match(show.stdout, /frontend\s+frontend\..*:80/);
  });

  it('a taken name is a clear error and leaves the existing environment alone', async () => {
    const r = await runKdev(['env', 'create', name, '--template', 'hello', '--wait'], env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`environment "${name}" already exists \\(owner ${owner}, template hello`));
    const ns = await admin.core.readNamespace({ name });
    assert.equal(ns.metadata!.annotations!['kdev.dev/state'], 'ready');
    assert.equal(ns.status!.phase, 'Active');
  });
});

describe('kdev env sleep and wake', () => {
  const admin = testCluster();
  const dir = mkdtempSync(join(tmpdir(), 'kdev-env-e2e-'));
  const env = { KDEV_ENV_DIR: dir };
  const name = uniqueName('kdev-sleep');
  const template = join(import.meta.dirname, '..', '..', 'fixtures', 'templates', 'mixed');

  before(async () => {
    const r = await runKdev(['env', 'create', name, '--template', template, '--wait'], env);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
  after(async () => {
    await runKdev(['env', 'delete', name], env);
    rmSync(dir, { recursive: true, force: true });
  });

  it('sleep scales Deployments and StatefulSets to zero, suspends CronJobs, records what to restore', async () => {
    const r = jsonOf<{ changed: string[] }>(await runKdev(['-o', 'json', 'env', 'sleep', name], env));
    assert.deepEqual(r.changed, ['cronjob/tick: suspended', 'deployment/web: 2 → 0', 'statefulset/store: 1 → 0']);
    const web = await admin.apps.readNamespacedDeployment({ name: 'web', namespace: name });
    assert.equal(web.spec!.replicas, 0);
    assert.equal(web.metadata!.annotations!['kdev.dev/sleep-replicas'], '2');
    const store = await admin.apps.readNamespacedStatefulSet({ name: 'store', namespace: name });
    assert.equal(store.spec!.replicas, 0);
    assert.equal(store.metadata!.annotations!['kdev.dev/sleep-replicas'], '1');
    const tick = await admin.batch.readNamespacedCronJob({ name: 'tick', namespace: name });
    assert.equal(tick.spec!.suspend, true);
    assert.equal(tick.metadata!.annotations!['kdev.dev/sleep-suspend'], 'false');
    const list = jsonOf<EnvJson[]>(await runKdev(['-o', 'json', 'env', 'list'], env));
    assert.equal(list.find((e) => e.name === name)!.state, 'sleeping');
  });

  it('sleep is idempotent: a second sleep changes nothing and keeps the recorded replicas', async () => {
    const r = await runKdev(['env', 'sleep', name], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /was already asleep/);
    const web = await admin.apps.readNamespacedDeployment({ name: 'web', namespace: name });
    assert.equal(web.metadata!.annotations!['kdev.dev/sleep-replicas'], '2');
  });

  it('wake restores replicas and CronJobs and waits until the workloads are Ready', async () => {
    const r = jsonOf<{ changed: string[] }>(await runKdev(['-o', 'json', 'env', 'wake', name], env));
    assert.deepEqual(r.changed, ['cronjob/tick: resumed', 'deployment/web: 0 → 2', 'statefulset/store: 0 → 1']);
    const web: V1Deployment = await admin.apps.readNamespacedDeployment({ name: 'web', namespace: name });
    assert.equal(web.spec!.replicas, 2);
    assert.equal(web.status!.readyReplicas, 2, 'wake returns once web is Ready');
    assert.equal(web.metadata!.annotations?.['kdev.dev/sleep-replicas'], undefined);
    const store = await admin.apps.readNamespacedStatefulSet({ name: 'store', namespace: name });
    assert.equal(store.status!.readyReplicas, 1);
    const tick = await admin.batch.readNamespacedCronJob({ name: 'tick', namespace: name });
    assert.equal(tick.spec!.suspend, false);
    assert.equal(tick.metadata!.annotations?.['kdev.dev/sleep-suspend'], undefined);
  });

  it('wake is idempotent', async () => {
    const r = await runKdev(['env', 'wake', name], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /was already awake/);
    const pods = await admin.core.listNamespacedPod({ namespace: name, labelSelector: 'app=web' });
    assert.equal(pods.items.filter((p: V1Pod) => !p.metadata!.deletionTimestamp).length, 2);
  });
});

describe('kdev env gc and delete', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdev-env-e2e-'));
  const env = { KDEV_ENV_DIR: dir };
  const shortLived = uniqueName('kdev-ttl');
  const longLived = uniqueName('kdev-keep');

  after(async () => {
    await Promise.all([runKdev(['env', 'delete', shortLived], env), runKdev(['env', 'delete', longLived], env)]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('an environment past its TTL is collected by gc; an unexpired one is kept', async () => {
    const [a, b] = await Promise.all([
      runKdev(['env', 'create', shortLived, '--template', 'hello', '--ttl', '3s'], env),
      runKdev(['env', 'create', longLived, '--template', 'hello', '--ttl', '1h'], env),
    ]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    // Let the short TTL pass (wall-clock time, not cluster state).
    const list = jsonOf<EnvJson[]>(await runKdev(['-o', 'json', 'env', 'list'], env));
    const expires = new Date(list.find((e) => e.name === shortLived)!.expires!).getTime();
    await new Promise((r) => setTimeout(r, Math.max(0, expires - Date.now()) + 200));
    const dry = jsonOf<{ deleted: string[]; kept: string[] }>(await runKdev(['-o', 'json', 'env', 'gc', '--dry-run'], env));
    assert.ok(dry.deleted.includes(shortLived), JSON.stringify(dry));
    assert.ok(await namespaceExists(shortLived), 'dry run deletes nothing');
    const gc = jsonOf<{ deleted: string[]; kept: string[] }>(await runKdev(['-o', 'json', 'env', 'gc', '--wait'], env));
    assert.ok(gc.deleted.includes(shortLived), JSON.stringify(gc));
    assert.ok(gc.kept.includes(longLived), JSON.stringify(gc));
    assert.equal(await namespaceExists(shortLived), false);
    assert.equal(await namespaceExists(longLived), true);
  });

  it('delete removes the namespace and waits; a second delete is a clear error', async () => {
    const r = await runKdev(['env', 'delete', longLived], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await namespaceExists(longLived), false);
    const again = await runKdev(['-o', 'json', 'env', 'delete', longLived], env);
    assert.equal(again.code, 1);
    assert.equal(jsonOf<{ error: { code: string } }>(again).error.code, 'NOT_FOUND');
  });

  it('delete and sleep refuse a namespace that kdev did not create', async () => {
    for (const cmd of ['delete', 'sleep', 'wake', 'kubeconfig']) {
      const r = await runKdev(['env', cmd, 'default'], env);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /namespace "default" is not a kdev environment/);
    }
    assert.equal(await namespaceExists('default'), true);
  });

});

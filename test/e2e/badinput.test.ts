// Bad input, table-driven, through the real CLI on the real cluster: each case asserts the
// exit code, the message, the hint, and that nothing changed (every object of the test
// namespace keeps its resourceVersion; no environment namespace appears).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { applyAll, isNotFound, raw, startDevMode, watchUntil, type Cluster, type RawObject } from '@kdev/core/internals';
import type { V1Pod } from '@kubernetes/client-node';
import { jsonOf, runKdev } from '../lib/cli.js';
import { nodeDeployment, tempNamespace, testKubeconfig, uniqueName } from '../lib/cluster.js';
import { spawnKdev } from '../lib/crash.js';

const DEV_IMAGE = 'kdev.local/dev-node:18';
const KINDS = [
  { apiVersion: 'apps/v1', plural: 'deployments' },
  { apiVersion: 'apps/v1', plural: 'replicasets' },
  { apiVersion: 'v1', plural: 'pods' },
  { apiVersion: 'v1', plural: 'configmaps' },
  { apiVersion: 'v1', plural: 'secrets' },
  { apiVersion: 'v1', plural: 'services' },
  { apiVersion: 'v1', plural: 'serviceaccounts' },
  { apiVersion: 'autoscaling/v2', plural: 'horizontalpodautoscalers' },
];

/** Every object of the namespace, by kind and name, with its resourceVersion. */
async function snapshot(cluster: Cluster): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const k of KINDS) {
    for (const o of (await raw.list(cluster, { ...k, namespace: cluster.namespace })).items) out[`${k.plural}/${o.metadata?.name}`] = o.metadata?.resourceVersion ?? '';
  }
  return out;
}

async function namespaceExists(cluster: Cluster, name: string): Promise<boolean> {
  try {
    await cluster.core.readNamespace({ name });
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** Waits until no pod of the namespace is terminating (so that the snapshot is stable). */
async function settled(cluster: Cluster): Promise<void> {
  const list = await cluster.core.listNamespacedPod({ namespace: cluster.namespace });
  const going = new Set(list.items.filter((p) => p.metadata?.deletionTimestamp).map((p) => p.metadata!.name!));
  if (going.size === 0) return;
  await watchUntil<V1Pod, true>(cluster, {
    resource: { apiVersion: 'v1', plural: 'pods', namespace: cluster.namespace },
    resourceVersion: list.metadata?.resourceVersion,
    timeoutMs: 120_000,
    what: 'terminating pods to go',
    onEvent: (type, pod) => {
      if (type === 'DELETED') going.delete(pod.metadata!.name!);
      return going.size === 0 ? { done: true, value: true } : { done: false };
    },
  });
}

/** The test kubeconfig with a change to its current cluster/user entries. */
function kubeconfigWith(dir: string, name: string, change: (cluster: Record<string, unknown>, user: Record<string, unknown>) => void): string {
  const doc = parse(readFileSync(testKubeconfig(), 'utf8')) as { clusters: { cluster: Record<string, unknown> }[]; users: { user: Record<string, unknown> }[] };
  change(doc.clusters[0]!.cluster, doc.users[0]!.user);
  const file = join(dir, name);
  writeFileSync(file, stringify(doc), { mode: 0o600 });
  return file;
}

interface Case {
  name: string;
  args: (ns: string) => string[];
  env?: () => Record<string, string | undefined>;
  message: RegExp;
  hint: RegExp;
  /** Also check after the run (beyond "nothing changed"). */
  also?: () => Promise<void>;
}

describe('bad input: clear errors, exit 1, nothing changed', () => {
  let ns: Awaited<ReturnType<typeof tempNamespace>>;
  let cluster: Cluster;
  const dir = mkdtempSync(join(tmpdir(), 'kdev-badinput-'));
  const missing = uniqueName('kdev-missing');
  const envName = uniqueName('kdev-badset');
  const files: Record<string, string> = {};

  before(async () => {
    ns = await tempNamespace('kdev-bad');
    cluster = ns.cluster;
    await applyAll(cluster, [nodeDeployment(ns.name, 'web', { container: 'app' }), nodeDeployment(ns.name, 'other', { container: 'app' })]);
    // web is in dev mode: `dev end --timeout abc` must leave it so.
    await startDevMode(cluster, { workload: 'deployment/web', container: 'app', image: DEV_IMAGE, sidecar: null, timeoutMs: 150_000 });
    await settled(cluster);
    // Another certificate authority than the cluster's.
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt'), '-days', '1', '-subj', '/CN=not-this-cluster'], { stdio: 'ignore' });
    const otherCa = readFileSync(join(dir, 'ca.crt')).toString('base64');
    files.wrongCa = kubeconfigWith(dir, 'wrong-ca', (c) => {
      delete c['certificate-authority'];
      c['certificate-authority-data'] = otherCa;
    });
    files.garbageCa = kubeconfigWith(dir, 'garbage-ca', (c) => {
      delete c['certificate-authority'];
      c['certificate-authority-data'] = Buffer.from('this is not a certificate').toString('base64');
    });
    files.garbageCert = kubeconfigWith(dir, 'garbage-cert', (_c, u) => {
      delete u['client-certificate'];
      u['client-certificate-data'] = Buffer.from('garbage').toString('base64');
    });
  });
  after(async () => {
    await ns?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  const stillInDevMode = async () => {
    const web = await raw.get(cluster, { apiVersion: 'apps/v1', plural: 'deployments', namespace: cluster.namespace, name: 'web' });
    assert.ok(web.metadata?.annotations?.['kdev.dev/lease'], 'web is still in dev mode');
  };
  const noEnv = async () => assert.equal(await namespaceExists(cluster, envName), false, 'the environment namespace was not created');
  const timeoutHint = /Give --timeout a positive number of seconds, at most 86400/;
  const nameHint = /Kubernetes names look like web/;

  const cases: Case[] = [
    // 4. numeric flags, checked before anything is touched
    { name: 'dev start --timeout abc', args: (n) => ['dev', 'start', 'deployment/other', '--no-sync', '--timeout', 'abc', '-n', n], message: /--timeout abc: not a number/, hint: timeoutHint },
    { name: 'dev start --timeout -5', args: (n) => ['dev', 'start', 'deployment/other', '--no-sync', '--timeout', '-5', '-n', n], message: /--timeout -5: not a positive number/, hint: timeoutHint },
    { name: 'dev start --timeout 0', args: (n) => ['dev', 'start', 'deployment/other', '--no-sync', '--timeout', '0', '-n', n], message: /--timeout 0: not a positive number/, hint: timeoutHint },
    { name: 'dev end --timeout abc (in dev mode)', args: (n) => ['dev', 'end', 'deployment/web', '--timeout', 'abc', '-n', n], message: /--timeout abc: not a number/, hint: timeoutHint, also: stillInDevMode },
    { name: 'logs --tail many', args: (n) => ['logs', 'deployment/web', '--tail', 'many', '-n', n], message: /--tail many: not a number/, hint: /Give --tail a whole number of at least 0/ },
    { name: 'debug --timeout 1e9', args: (n) => ['dev', 'debug', 'deployment/web', '--timeout', '1e9', '-n', n], message: /--timeout 1e9: not a number/, hint: timeoutHint },
    { name: 'port-forward stop 70000', args: () => ['port-forward', 'stop', '70000'], message: /localPort 70000: more than 65535/, hint: /from 1 to 65535/ },
    { name: 'env kubeconfig --duration 5', args: (n) => ['env', 'kubeconfig', n, '--duration', '5'], message: /--duration 5: less than 600/, hint: /Give --duration a whole number from 600/ },
    // 5. env create --set, checked before the namespace exists
    { name: 'env create --set replicas=abc', args: () => ['env', 'create', envName, '-t', 'hello', '--set', 'replicas=abc'], message: /--set replicas=abc: expected an integer/, hint: /Parameter "replicas" of template "hello" takes an integer/, also: noEnv },
    { name: 'env create --set replicas=-1', args: () => ['env', 'create', envName, '-t', 'hello', '--set', 'replicas=-1'], message: /Deployment\/\w+ has replicas -1, not a whole number of at least 0/, hint: /It comes from --set replicas=-1/, also: noEnv },
    { name: 'env create --set quota.pods=lots', args: () => ['env', 'create', envName, '-t', 'hello', '--set', 'quota.pods=lots'], message: /--set quota\.pods=lots: not a Kubernetes quantity/, hint: /500m, 256Mi/, also: noEnv },
    { name: 'env create --set limits.default.memory=12GB', args: () => ['env', 'create', envName, '-t', 'hello', '--set', 'limits.default.memory=12GB'], message: /--set limits\.default\.memory=12GB: not a Kubernetes quantity/, hint: /256Mi or 2Gi/, also: noEnv },
    // 6. cluster configuration
    { name: 'no kubeconfig at all', args: () => ['ls'], env: () => ({ KUBECONFIG: undefined, HOME: dir }), message: /no Kubernetes cluster is configured/, hint: /Set KUBECONFIG or pass --kubeconfig/ },
    { name: 'KUBECONFIG names a missing file', args: () => ['ls'], env: () => ({ KUBECONFIG: join(dir, 'nope') }), message: /no Kubernetes cluster is configured \(KUBECONFIG names .*nope, which does not exist\)/, hint: /Set KUBECONFIG/ },
    { name: 'a CA that did not sign the cluster', args: (n) => ['ls', '-n', n], env: () => ({ KUBECONFIG: files.wrongCa }), message: /is not the one the kubeconfig trusts: its certificate is not signed by the kubeconfig's certificate authority/, hint: /Fetch a fresh kubeconfig/ },
    { name: 'garbage CA data', args: (n) => ['ls', '-n', n], env: () => ({ KUBECONFIG: files.garbageCa }), message: /certificate-authority-data of cluster ".*" cannot be used: it is not a valid PEM certificate/, hint: /PEM certificate of the cluster's certificate authority/ },
    { name: 'garbage client certificate data', args: (n) => ['ls', '-n', n], env: () => ({ KUBECONFIG: files.garbageCert }), message: /client-certificate and client-key of user ".*" cannot be used/, hint: /fetch fresh credentials/ },
    // 7. names, checked before any request
    { name: 'dev end deployment/.', args: (n) => ['dev', 'end', 'deployment/.', '-n', n], message: /"\." is not a valid deployment name/, hint: nameHint },
    { name: 'dev start deployment/.', args: (n) => ['dev', 'start', 'deployment/.', '--no-sync', '-n', n], message: /"\." is not a valid deployment name/, hint: nameHint },
    { name: 'dev start deployment/..', args: (n) => ['dev', 'start', 'deployment/..', '--no-sync', '-n', n], message: /"\.\." is not a valid deployment name/, hint: nameHint },
    { name: 'dev start deployment/Web', args: (n) => ['dev', 'start', 'deployment/Web', '--no-sync', '-n', n], message: /"Web" is not a valid deployment name/, hint: nameHint },
    { name: 'dev end of a too long cronjob name', args: (n) => ['dev', 'end', `cronjob/${'c'.repeat(53)}`, '-n', n], message: /is not a valid cronjob name: it is longer than 52 characters/, hint: nameHint },
    { name: 'ls -n Bad_NS', args: () => ['ls', '-n', 'Bad_NS'], message: /"Bad_NS" is not a valid namespace name/, hint: nameHint },
    { name: 'ls -n <missing namespace>', args: () => ['ls', '-n', missing], message: new RegExp(`namespace ${missing} does not exist`), hint: /kubectl get namespaces/ },
    { name: 'env delete Bad.Name', args: () => ['env', 'delete', 'Bad.Name'], message: /"Bad\.Name" is not a valid namespace name/, hint: nameHint },
    { name: 'dev status -n <missing namespace>', args: () => ['dev', 'status', '-n', missing], message: new RegExp(`namespace ${missing} does not exist`), hint: /kubectl get namespaces/ },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const before = await snapshot(cluster);
      const r = await spawnKdev(c.args(ns.name), { env: c.env?.() }).done;
      assert.equal(r.code, 1, `exit code\n${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^✗ .*${c.message.source}`, 'm'), r.stderr);
      assert.match(r.stderr, new RegExp(`^  hint: .*${c.hint.source}`, 'm'), r.stderr);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      assert.deepEqual(await snapshot(cluster), before, 'nothing changed');
      await c.also?.();
    });
  }

  it('-o json gives the same error as JSON (code, message, hint), exit 1', async () => {
    const r = await runKdev(['-o', 'json', 'dev', 'end', 'deployment/.', '-n', ns.name]);
    assert.equal(r.code, 1);
    const { error } = jsonOf<{ error: { code: string; message: string; hint: string } }>(r);
    assert.equal(error.code, 'INVALID');
    assert.match(error.message, /"\." is not a valid deployment name/);
    assert.match(error.hint, nameHint);
  });

  it('-o json of dev end names no object the user never mentioned', async () => {
    await startDevMode(cluster, { workload: 'deployment/other', container: 'app', image: DEV_IMAGE, sidecar: null, mode: 'duplicate', timeoutMs: 150_000 });
    const copies = await raw.list(cluster, { apiVersion: 'apps/v1', plural: 'deployments', namespace: cluster.namespace }, 'kdev.dev/duplicate-of');
    const copy = copies.items.map((d: RawObject) => d.metadata!.name!)[0]!;
    const r = await runKdev(['-o', 'json', 'dev', 'end', 'deployment/other', '-n', ns.name]);
    assert.equal(r.code, 0, r.stderr);
    const result = jsonOf<{ restored: boolean; message: string }>(r);
    assert.equal(result.restored, true);
    assert.match(result.message, /deleted the copy of deployment\/other that you ran/);
    assert.ok(!r.stdout.includes(copy), `the output does not name ${copy}: ${r.stdout}`);
  });
});

// Environment isolation, enforced on the local cluster (kube-network-policies): two
// environments from `hello` (A: open egress; B: restricted egress with one template
// exception), one plain namespace and one pod in kube-system. From a pod of each, a
// connection to every target (pod IP and Service), with the expected outcome of each cell
// asserted: the allowed ones open, the refused ones time out. Also DNS from every pod,
// exec (every probe runs through it) and port-forward into an environment, the probe's
// verdict at create, and `kdev env show` listing the exception.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyObject, execCapture, forwardPort, type Cluster } from '@kdev/core/internals';
import type { KubernetesObject, V1Pod } from '@kubernetes/client-node';
import { nodeDeployment, tempNamespace, testCluster, uniqueName, waitPodReady } from '../lib/cluster.js';
import { jsonOf, runKdev } from '../lib/cli.js';
import { httpGet } from '../lib/session.js';

const TEMPLATES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'templates');
// A client that resets the connection must not crash the server (an unhandled socket error).
const SERVE_8080 = "require('net').createServer((s) => { s.on('error', () => {}); s.end('ok'); }).listen(8080)";

// Runs in a source pod: connects to every target (2 s timeout each, all at once) and
// resolves a cluster name; prints {name: 'open' | 'timeout' | <error code>}.
const PROBE = `const net = require('net');
const targets = JSON.parse(process.argv[1]);
const attempt = (t) => new Promise((done) => {
  const s = net.connect({ host: t.host, port: t.port });
  const timer = setTimeout(() => { s.destroy(); done('timeout'); }, 2000);
  s.on('connect', () => { clearTimeout(timer); s.destroy(); done('open'); });
  s.on('error', (e) => { clearTimeout(timer); done(e.code || 'error'); });
});
const dns = new Promise((done) => require('dns').lookup('kubernetes.default.svc.cluster.local', (e, a) => done(e ? 'dns ' + e.code : 'resolved')));
Promise.all([...targets.map(attempt), dns]).then((r) => {
  const out = {};
  targets.forEach((t, i) => (out[t.name] = r[i]));
  out.dns = r[targets.length];
  console.log(JSON.stringify(out));
});`;

interface Target {
  name: string;
  host: string;
  port: number;
}

async function probeFrom(cluster: Cluster, pod: V1Pod, targets: Target[]): Promise<Record<string, string>> {
  const r = await execCapture(cluster, pod.metadata!.name!, pod.spec!.containers[0]!.name, ['node', '-e', PROBE, JSON.stringify(targets)], { namespace: pod.metadata!.namespace! });
  assert.equal(r.exitCode, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, string>;
}

function service(namespace: string, name: string): KubernetesObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] } } as KubernetesObject;
}

/** hello, with restricted egress and one exception: the plain namespace's app=web pods on 8080. */
function restrictedTemplate(plainNamespace: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'kdev-iso-tpl-'));
  cpSync(join(TEMPLATES, 'hello'), dir, { recursive: true });
  const file = join(dir, 'template.yaml');
  const text = readFileSync(file, 'utf8').replace(/^name: hello$/m, 'name: hello-restricted');
  writeFileSync(file, `${text}\nnetwork:\n  egress: restricted\n  allowTo:\n    - namespace: ${plainNamespace}\n      pods: { app: web }\n      ports: [8080]\n`);
  return dir;
}

describe('environment isolation (NetworkPolicy enforced on the local cluster)', () => {
  const admin = testCluster();
  const dir = mkdtempSync(join(tmpdir(), 'kdev-iso-e2e-'));
  const env = { KDEV_ENV_DIR: dir, KDEV_OWNER: uniqueName('iso') };
  const envA = uniqueName('kdev-iso-a');
  const envB = uniqueName('kdev-iso-b');
  const ksPod = uniqueName('kdev-iso-e2e');
  let plain: Awaited<ReturnType<typeof tempNamespace>>;
  let template = '';
  let targets: Target[] = [];
  const sources: Record<string, V1Pod> = {};
  const created: Record<string, { isolation: { enforced: boolean | null } | null }> = {};

  before(async () => {
    plain = await tempNamespace('kdev-iso-plain');
    template = restrictedTemplate(plain.name);
    const [a, b] = await Promise.all([
      runKdev(['-o', 'json', 'env', 'create', envA, '--template', 'hello', '--wait'], env),
      runKdev(['-o', 'json', 'env', 'create', envB, '--template', template, '--wait'], env),
      ...['web', 'other'].flatMap((n) => [applyObject(plain.cluster, nodeDeployment(plain.name, n, { code: SERVE_8080, readyOnPort: 8080 })), applyObject(plain.cluster, service(plain.name, n))]),
      // A kube-system pod other than DNS (removed in after).
      admin.core.createNamespacedPod({
        namespace: 'kube-system',
        body: { metadata: { name: ksPod, labels: { app: ksPod } }, spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'web', image: 'kdev.local/node:18', imagePullPolicy: 'IfNotPresent', command: ['node', '-e', SERVE_8080], readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 } }] } },
      }),
    ]);
    assert.equal(a!.code, 0, a!.stdout + a!.stderr);
    assert.equal(b!.code, 0, b!.stdout + b!.stderr);
    created.A = jsonOf(a!);
    created.B = jsonOf(b!);

    const ready = (ns: string, selector: string) => waitPodReady(admin.inNamespace(ns), selector, 120_000);
    const [aBackend, bBackend, aFront, bFront, web, other, ks] = await Promise.all([
      ready(envA, 'app=backend'),
      ready(envB, 'app=backend'),
      ready(envA, 'app=frontend'),
      ready(envB, 'app=frontend'),
      ready(plain.name, 'app=web'),
      ready(plain.name, 'app=other'),
      ready('kube-system', `app=${ksPod}`),
    ]);
    const dnsPod = await ready('kube-system', 'k8s-app=kube-dns');
    const clusterIP = async (ns: string, name: string) => (await admin.core.readNamespacedService({ name, namespace: ns })).spec!.clusterIP!;
    targets = [
      { name: 'A.pod', host: aBackend.status!.podIP!, port: 8080 },
      { name: 'A.svc', host: await clusterIP(envA, 'backend'), port: 80 },
      { name: 'B.pod', host: bBackend.status!.podIP!, port: 8080 },
      { name: 'B.svc', host: await clusterIP(envB, 'backend'), port: 80 },
      { name: 'plain.web.pod', host: web.status!.podIP!, port: 8080 },
      { name: 'plain.web.svc', host: await clusterIP(plain.name, 'web'), port: 80 },
      { name: 'plain.other.pod', host: other.status!.podIP!, port: 8080 },
      { name: 'plain.other.svc', host: await clusterIP(plain.name, 'other'), port: 80 },
      { name: 'kube-system.pod', host: ks.status!.podIP!, port: 8080 },
      { name: 'dns.tcp53', host: dnsPod.status!.podIP!, port: 53 },
      { name: 'dns.health8080', host: dnsPod.status!.podIP!, port: 8080 },
    ];
    Object.assign(sources, { A: aFront, B: bFront, plain: web });
  });

  after(async () => {
    await Promise.all([
      runKdev(['env', 'delete', envA], env),
      runKdev(['env', 'delete', envB], env),
      admin.core.deleteNamespacedPod({ name: ksPod, namespace: 'kube-system', gracePeriodSeconds: 0 }).catch(() => undefined),
      plain?.remove(),
    ]);
    rmSync(dir, { recursive: true, force: true });
    if (template) rmSync(template, { recursive: true, force: true });
  });

  it('create reports that the probe found NetworkPolicy enforced', () => {
    assert.equal(created.A!.isolation?.enforced, true, JSON.stringify(created.A!.isolation));
    assert.equal(created.B!.isolation?.enforced, true, JSON.stringify(created.B!.isolation));
  });

  // Every cell, both ways: what must open and what must be refused (time out).
  const O = 'open';
  const X = 'timeout';
  const EXPECTED: Record<string, Record<string, string>> = {
    // A: open egress; admits only its own pods.
    A: { 'A.pod': O, 'A.svc': O, 'B.pod': X, 'B.svc': X, 'plain.web.pod': O, 'plain.web.svc': O, 'plain.other.pod': O, 'plain.other.svc': O, 'kube-system.pod': X, 'dns.tcp53': O, 'dns.health8080': X, dns: 'resolved' },
    // B: restricted egress: itself, DNS and its exception (plain's app=web on 8080).
    B: { 'A.pod': X, 'A.svc': X, 'B.pod': O, 'B.svc': O, 'plain.web.pod': O, 'plain.web.svc': O, 'plain.other.pod': X, 'plain.other.svc': X, 'kube-system.pod': X, 'dns.tcp53': O, 'dns.health8080': X, dns: 'resolved' },
    // A plain namespace has no policy: it reaches everything but the environments.
    plain: { 'A.pod': X, 'A.svc': X, 'B.pod': X, 'B.svc': X, 'plain.web.pod': O, 'plain.web.svc': O, 'plain.other.pod': O, 'plain.other.svc': O, 'kube-system.pod': O, 'dns.tcp53': O, 'dns.health8080': O, dns: 'resolved' },
  };

  for (const from of Object.keys(EXPECTED)) {
    it(`from ${from}: every connection opens or is refused as expected`, async () => {
      const seen = await probeFrom(admin, sources[from]!, targets);
      assert.deepEqual(seen, EXPECTED[from]);
    });
  }

  it('port-forward (through the API server) into an environment still works, and its services talk', async () => {
    const fwd = await forwardPort(admin, sources.A!.metadata!.name!, 8080, { namespace: envA });
    try {
      const r = await httpGet(fwd.localPort);
      assert.equal(r.status, 200, r.body);
      assert.match(r.body, /^Hello, world \(from backend-/);
    } finally {
      await fwd.close();
    }
  });

  it('env show lists the egress mode and the template exception', async () => {
    const shown = await runKdev(['env', 'show', envB], env);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /egress: restricted \(the environment itself and DNS only\)/);
    assert.match(shown.stdout, new RegExp(`egress exception: to namespace ${plain.name} pods app=web ports 8080`));
    const a = jsonOf<{ network: { egress: string; allowTo: unknown[] } }>(await runKdev(['-o', 'json', 'env', 'show', envA], env));
    assert.deepEqual(a.network, { egress: 'open', allowFrom: [], allowTo: [] });
  });
});

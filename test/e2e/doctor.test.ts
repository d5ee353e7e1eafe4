// kdev doctor and kdev version against the real cluster: an admin sees every check ok; a
// ServiceAccount with a namespaced Role lacking pods/portforward and secrets create sees
// exactly those missing, with the feature each blocks, and exit code 1.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { V1PolicyRule } from '@kubernetes/client-node';
import type { CheckResult, MissingRight } from '@kdev/core';
import { checkImage } from '@kdev/core/internals';
import { tempNamespace } from '../lib/cluster.js';
import { jsonOf, runKdev } from '../lib/cli.js';
import { serviceAccountKubeconfig } from '../lib/identity.js';

interface Report {
  ok: boolean;
  checks: CheckResult[];
}

const byId = (r: Report, id: string) => {
  const c = r.checks.find((x) => x.id === id);
  assert.ok(c, `no check ${id} in ${JSON.stringify(r)}`);
  return c;
};

// What a namespaced developer role grants, without pods/portforward and secrets create.
const RULES: V1PolicyRule[] = [
  { apiGroups: ['apps'], resources: ['deployments', 'statefulsets', 'replicasets', 'daemonsets'], verbs: ['get', 'list', 'watch', 'update', 'patch', 'create', 'delete'] },
  { apiGroups: [''], resources: ['pods', 'configmaps', 'events'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
  { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch', 'update', 'patch', 'delete'] },
  { apiGroups: [''], resources: ['pods/exec', 'pods/log'], verbs: ['get', 'create'] },
  { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: ['get', 'list', 'patch'] },
  { apiGroups: ['batch'], resources: ['jobs'], verbs: ['list'] },
  { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['create'] },
  { apiGroups: [''], resources: ['serviceaccounts', 'resourcequotas'], verbs: ['create'] },
];

describe('kdev doctor', { timeout: 600_000 }, () => {
  let ns: Awaited<ReturnType<typeof tempNamespace>>;
  let saKubeconfig: string;

  before(async () => {
    ns = await tempNamespace('kdev-doctor');
    saKubeconfig = await serviceAccountKubeconfig(ns.cluster, ns.name, 'doctor-dev', RULES);
  });
  after(async () => {
    await ns?.remove();
  });

  it('admin: every check ok (NetworkPolicy too with --network), exit 0', async () => {
    const r = await runKdev(['-n', ns.name, '-o', 'json', 'doctor', '--network']);
    const report = jsonOf<Report>(r);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(report.ok, true);
    assert.deepEqual(report.checks.map((c) => [c.id, c.status]), [
      ['kubeconfig', 'ok'],
      ['api', 'ok'],
      ['rights', 'ok'],
      ['image', 'ok'],
      ['portforward', 'ok'],
      ['network', 'ok'],
      ['inotify', 'ok'],
    ]);
    assert.match(byId(report, 'api').detail, /Kubernetes v1\.\d+/);
    assert.match(byId(report, 'image').detail, /present on node/);
    // the probe pods are gone
    assert.equal((await ns.cluster.core.listNamespacedPod({ namespace: ns.name })).items.length, 0);
  });

  it('namespace-only ServiceAccount: names exactly the missing rights and what they block, exit 1', async () => {
    const r = await runKdev(['-o', 'json', 'doctor'], { KUBECONFIG: saKubeconfig });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const report = jsonOf<Report>(r);
    assert.equal(report.ok, false);
    const rights = byId(report, 'rights');
    assert.equal(rights.status, 'problem');
    const missing = rights.missing as MissingRight[];
    assert.deepEqual(
      missing.filter((m) => !m.clusterScoped).map((m) => [m.resource, m.verbs]),
      [
        ['pods/portforward', ['create']],
        ['secrets', ['create']],
      ],
    );
    assert.match(missing.find((m) => m.resource === 'pods/portforward')!.feature, /port-forward/);
    assert.match(missing.find((m) => m.resource === 'secrets')!.feature, /sync/);
    // a Role cannot grant namespaces: reported as cluster-wide, for environments
    assert.deepEqual(missing.filter((m) => m.clusterScoped).map((m) => m.resource), ['namespaces']);
    assert.match(rights.fix ?? '', /pods\/portforward create/);
    // nodes are not visible to it, but it may create pods: the image is proven by a probe pod
    assert.equal(byId(report, 'image').status, 'ok');
    assert.match(byId(report, 'image').detail, /a probe pod with it started/);
    assert.equal(byId(report, 'portforward').status, 'skipped');
    assert.match(byId(report, 'portforward').detail, /pods\/portforward/);

    const text = await runKdev(['doctor'], { KUBECONFIG: saKubeconfig });
    assert.equal(text.code, 1);
    assert.match(text.stdout, /✗ rights in namespace [\w-]+: missing pods\/portforward create: needed for port-forward/);
    assert.match(text.stdout, /missing secrets create: needed for/);
    assert.match(text.stdout, /fix: Ask a cluster admin/);
  });

  it('an image on no node that cannot be pulled: a problem naming the pull error; without pod rights, said so', async () => {
    const image = 'kdev.local/absent-doctor-probe:0';
    const pulled = await checkImage(ns.cluster, true, { image, timeoutMs: 90_000 });
    assert.equal(pulled.status, 'problem', JSON.stringify(pulled));
    assert.match(pulled.detail, /did not start: (ErrImagePull|ImagePullBackOff)/);
    assert.match(pulled.fix ?? '', /absent-doctor-probe/);
    const noPods = await checkImage(ns.cluster, false, { image });
    assert.equal(noPods.status, 'problem');
    assert.match(noPods.detail, /on no node, and without the right to create pods/);
    assert.equal((await ns.cluster.core.listNamespacedPod({ namespace: ns.name })).items.length, 0);
  });

  it('no kubeconfig: a problem with its fix, cluster checks skipped, no stack trace, exit 1', async () => {
    const r = await runKdev(['--kubeconfig', '/nonexistent/kubeconfig', 'doctor']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /✗ kubeconfig and context: kubeconfig \/nonexistent\/kubeconfig does not exist\n {4}fix: /);
    assert.match(r.stdout, /- port-forward: skipped: no cluster to check/);
    assert.doesNotMatch(r.stdout + r.stderr, /\bat .*\.js:\d+/);
  });

  it('kdev version: the CLI version and the server version', async () => {
    const r = await runKdev(['-o', 'json', 'version']);
    assert.equal(r.code, 0);
    const v = jsonOf<{ client: string; server: string }>(r);
    assert.match(v.client, /^\d+\.\d+\.\d+/);
    assert.match(v.server, /^v1\.\d+\.\d+/);
    const off = await runKdev(['-o', 'json', '--kubeconfig', '/nonexistent/kubeconfig', 'version']);
    assert.equal(off.code, 0);
    assert.equal(jsonOf<{ server: null }>(off).server, null);
  });
});

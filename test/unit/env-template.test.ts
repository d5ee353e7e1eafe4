// Templates: template.yaml validation (file, line, field), parameters and --set, manifests
// against workloads, dependency waves, and source delivery in a ConfigMap.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Deployment } from '@kubernetes/client-node';
import { dependencyWaves, isKdevError, loadTemplate, parseDuration, parseSets, parseTemplateSpec, planTemplate, resolveTemplate, TEMPLATE_SOURCE_VOLUME } from '@kdev/core/internals';

function throwsInvalid(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isKdevError(err), `expected a KdevError, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

const DEPLOYMENT = (name: string) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name} }
spec:
  replicas: \${replicas}
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      containers: [{ name: main, image: kdev.local/node:18, command: [node, server.js] }]
`;

/** Writes a template folder in a temp dir; returns its path. */
function makeTemplate(files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(join(tmpdir(), 'kdev-tpl-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe('template.yaml validation', () => {
  it('names the file, line and field of a wrong type', () => {
    const text = 'name: demo\nworkloads:\n  - name: api\n    kind: Deploymint\n';
    throwsInvalid(() => parseTemplateSpec(text, 'x/template.yaml'), /^x\/template\.yaml:4: workloads\.0\.kind: /);
  });

  it('rejects unknown fields with their line', () => {
    const text = 'name: demo\nworkloads:\n  - name: api\n    replicas: 2\n';
    throwsInvalid(() => parseTemplateSpec(text, 't.yaml'), /^t\.yaml:3: workloads\.0: .*replicas/);
  });

  it('rejects an unknown dependency, naming its line', () => {
    const text = 'name: demo\nworkloads:\n  - name: api\n    dependsOn:\n      - db\n';
    throwsInvalid(() => parseTemplateSpec(text, 't.yaml'), /^t\.yaml:5: workloads\.0\.dependsOn\.0: unknown workload "db"/);
  });

  it('rejects a dependency cycle', () => {
    const text = 'name: demo\nworkloads:\n  - name: a\n    dependsOn: [b]\n  - name: b\n    dependsOn: [a]\n';
    throwsInvalid(() => parseTemplateSpec(text, 't.yaml'), /dependency cycle: a → b → a/);
  });

  it('rejects built-in parameter names and a bad template name', () => {
    throwsInvalid(() => parseTemplateSpec('name: demo\nparameters:\n  env: { default: x }\nworkloads: [{ name: a }]\n', 't.yaml'), /^t\.yaml:3: parameters\.env: env and namespace are built in/);
    throwsInvalid(() => parseTemplateSpec('name: Demo_1\nworkloads: [{ name: a }]\n', 't.yaml'), /^t\.yaml:1: name: /);
  });

  it('reports YAML syntax errors with line and column', () => {
    throwsInvalid(() => parseTemplateSpec('name: demo\nworkloads: [\n', 't.yaml'), /^t\.yaml:\d+:\d+: /);
  });

  it('applies defaults', () => {
    const { spec } = parseTemplateSpec('name: demo\nworkloads: [{ name: a }]\n', 't.yaml');
    assert.equal(spec.workloads[0]!.kind, 'Deployment');
    assert.equal(spec.workloads[0]!.timeout, 180);
    assert.equal(spec.ttl, '24h');
    assert.deepEqual(spec.manifests, ['manifests']);
  });
});

describe('dependency waves', () => {
  it('groups by depth and keeps list order', () => {
    const waves = dependencyWaves([
      { name: 'gateway', dependsOn: ['users', 'rooms'] },
      { name: 'db', dependsOn: [] },
      { name: 'users', dependsOn: ['db'] },
      { name: 'rooms', dependsOn: ['db'] },
      { name: 'cache', dependsOn: [] },
    ]);
    assert.deepEqual(waves, [['db', 'cache'], ['users', 'rooms'], ['gateway']]);
  });
});

describe('durations and --set', () => {
  it('parses durations', () => {
    assert.equal(parseDuration('90s'), 90_000);
    assert.equal(parseDuration('2h'), 7_200_000);
    assert.equal(parseDuration('1.5d'), 129_600_000);
    assert.equal(parseDuration('0'), 0);
    assert.ok(Number.isNaN(parseDuration('2 weeks')));
  });
  it('parses key=value pairs and rejects others', () => {
    assert.deepEqual(parseSets(['a=1', 'quota.pods=3', 'b=x=y']), { a: '1', 'quota.pods': '3', b: 'x=y' });
    throwsInvalid(() => parseSets(['novalue']), /--set novalue: expected key=value/);
  });
});

describe('the hello template', () => {
  it('is found by name and loads', () => {
    const t = loadTemplate('hello');
    assert.equal(t.spec.name, 'hello');
    assert.equal(resolveTemplate('hello'), t.dir);
    assert.deepEqual(Object.keys(t.devConfig.dev).sort(), ['deployment/backend', 'deployment/frontend']);
    assert.equal(t.devConfig.dev['deployment/backend']!.sync.local, 'services/backend');
  });

  it('renders with parameters, quota and limits from --set', () => {
    const plan = planTemplate(loadTemplate('hello'), { env: 'hello-1', set: { greeting: 'Hi', replicas: '2', 'quota.pods': '4', 'limits.default.memory': '200Mi' } });
    assert.deepEqual(plan.waves, [['backend'], ['frontend']]);
    assert.equal(plan.quota.pods, '4');
    assert.equal(plan.limits.default!.memory, '200Mi');
    const backend = plan.workloads.find((w) => w.name === 'backend')!.object as V1Deployment;
    assert.equal(backend.metadata!.namespace, 'hello-1');
    assert.equal(backend.metadata!.labels!['kdev.dev/environment'], 'hello-1');
    assert.equal(backend.spec!.replicas, 2);
    const c = backend.spec!.template.spec!.containers[0]!;
    assert.equal(c.env!.find((e) => e.name === 'GREETING')!.value, 'Hi');
    assert.deepEqual(c.volumeMounts, [{ name: TEMPLATE_SOURCE_VOLUME, mountPath: '/app', readOnly: true }]);
    const frontend = plan.workloads.find((w) => w.name === 'frontend')!.object as V1Deployment;
    assert.equal(frontend.spec!.template.spec!.containers[0]!.env!.find((e) => e.name === 'BACKEND_URL')!.value, 'http://backend.hello-1.svc.cluster.local');
    assert.match(plan.workloads[0]!.source!.data!['server.js']!, /greeting/);
  });

  it('rejects unknown --set keys and built-ins', () => {
    const t = loadTemplate('hello');
    throwsInvalid(() => planTemplate(t, { env: 'e', set: { colour: 'red' } }), /has no parameter "colour"/);
    throwsInvalid(() => planTemplate(t, { env: 'e', set: { namespace: 'kube-system' } }), /built in/);
    throwsInvalid(() => planTemplate(t, { env: 'e', set: { 'limits.default.gpu': '1' } }), /unknown limit/);
  });

  it('an unknown template name is a clear error listing the known ones', () => {
    throwsInvalid(() => resolveTemplate('no-such-template'), /unknown template "no-such-template"/);
  });
});

describe('templates against their manifests', () => {
  const base = {
    'template.yaml': 'name: t\nparameters:\n  replicas: { default: 1 }\nworkloads:\n  - name: api\n    source: src\n',
    'manifests/api.yaml': DEPLOYMENT('api'),
    'src/server.js': 'console.log(1)\n',
    'src/lib/util.js': 'module.exports = 1\n',
    'src/logo.bin': Buffer.from([0, 0xff, 0xfe]),
  };

  it('delivers a nested source tree through ConfigMap items', () => {
    const dir = makeTemplate(base);
    try {
      const plan = planTemplate(loadTemplate(dir), { env: 'e1', set: {} });
      const cm = plan.workloads[0]!.source!;
      assert.equal(cm.metadata!.name, 'api-source');
      assert.deepEqual(Object.keys(cm.data!).sort(), ['lib__util.js', 'server.js']);
      assert.deepEqual(Object.keys(cm.binaryData!), ['logo.bin']);
      const dep = plan.workloads[0]!.object as V1Deployment;
      const vol = dep.spec!.template.spec!.volumes!.find((v) => v.name === TEMPLATE_SOURCE_VOLUME)!;
      assert.deepEqual(vol.configMap!.items!.find((i) => i.key === 'lib__util.js'), { key: 'lib__util.js', path: 'lib/util.js' });
      assert.match(dep.spec!.template.metadata!.annotations!['kdev.dev/source-hash']!, /^[0-9a-f]{16}$/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('requires every listed workload to exist in the manifests (file, line, field)', () => {
    const dir = makeTemplate({ ...base, 'template.yaml': base['template.yaml'] + '  - name: worker\n' });
    try {
      throwsInvalid(() => loadTemplate(dir), /template\.yaml:7: workloads\.1\.name: no Deployment named "worker" in the manifests/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('requires every workload object to be listed', () => {
    const dir = makeTemplate({ ...base, 'manifests/worker.yaml': DEPLOYMENT('worker') });
    try {
      throwsInvalid(() => loadTemplate(dir), /Deployment\/worker is not listed under workloads/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('rejects cluster-scoped objects, foreign namespaces and sources outside the folder', () => {
    const cases: [Record<string, string | Buffer>, RegExp][] = [
      [{ 'manifests/role.yaml': 'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: { name: x }\n' }, /ClusterRole\/x is cluster-scoped/],
      [{ 'manifests/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x, namespace: kube-system }\n' }, /names namespace "kube-system"/],
      [{ 'template.yaml': 'name: t\nparameters:\n  replicas: { default: 1 }\nworkloads:\n  - name: api\n    source: ../..\n' }, /template\.yaml:6: workloads\.0\.source: .*outside the template folder/],
      [{ 'manifests/bad.yaml': 'kind: ConfigMap\nmetadata: { name: ${missing} }\n' }, /bad\.yaml:2: parameter \$\{missing\} has no value/],
    ];
    for (const [extra, pattern] of cases) {
      const dir = makeTemplate({ ...base, ...extra });
      try {
        throwsInvalid(() => loadTemplate(dir), pattern);
      } finally {
        rmSync(dir, { recursive: true });
      }
    }
  });
});

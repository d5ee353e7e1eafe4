// Pure logic of dev mode and the dev config.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chooseContainer, devPodSpec, devTemplate, isKdevError, parseConfig, parseWorkloadRef, KINDS, SUPERVISOR_SCRIPT } from '@kdev/core/internals';
import type { V1PodSpec } from '@kubernetes/client-node';

const spec: V1PodSpec = {
  containers: [
    {
      name: 'app',
      image: 'app:1',
      command: ['node', 'server.js'],
      args: ['--port', '80'],
      env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }],
      envFrom: [{ secretRef: { name: 's' } }],
      volumeMounts: [{ name: 'data', mountPath: '/data' }],
      readinessProbe: { httpGet: { path: '/', port: 80 } },
      livenessProbe: { httpGet: { path: '/', port: 80 } },
      startupProbe: { httpGet: { path: '/', port: 80 } },
    },
    { name: 'proxy', image: 'proxy:1', readinessProbe: { tcpSocket: { port: 1 } } },
  ],
  volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'd' } }],
  restartPolicy: 'OnFailure',
};

describe('workload references', () => {
  it('accepts kind/name, aliases and bare names', () => {
    assert.equal(parseWorkloadRef('deploy/web').kind.kind, 'Deployment');
    assert.equal(parseWorkloadRef('web').kind.kind, 'Deployment');
    assert.equal(parseWorkloadRef('sts/db').kind.kind, 'StatefulSet');
    assert.equal(parseWorkloadRef('cronjob/nightly').kind.templatePath.join('.'), 'spec.jobTemplate.spec.template');
  });
  it('rejects unknown kinds and malformed references with a hint', () => {
    assert.throws(() => parseWorkloadRef('service/web'), (e: unknown) => isKdevError(e) && /unknown workload kind "service"/.test(e.message) && /deployment/.test(e.hint ?? ''));
    assert.throws(() => parseWorkloadRef('a/b/c'), (e: unknown) => isKdevError(e) && e.code === 'INVALID');
  });
  it('has a row for every kind of the issue', () => {
    assert.deepEqual(KINDS.map((k) => k.kind).sort(), ['CronJob', 'DaemonSet', 'Deployment', 'Job', 'Pod', 'ReplicaSet', 'StatefulSet']);
  });
});

describe('the dev pod patch', () => {
  const patched = devPodSpec(spec, { container: 'app', image: 'dev:1', workDir: '/src', env: { B: 'override', C: '3' }, devOf: 'deployment.web' });
  const app = patched.containers.find((c) => c.name === 'app')!;

  it('changes only the chosen container', () => {
    assert.deepEqual(patched.containers.find((c) => c.name === 'proxy'), spec.containers[1]);
    assert.equal(app.image, 'dev:1');
    assert.deepEqual(app.command, ['/bin/sh', '/kdev/bin/supervisor.sh']);
    assert.equal(app.args, undefined);
    assert.equal(app.workingDir, '/src');
  });
  it('removes the probes of that container', () => {
    assert.equal(app.readinessProbe, undefined);
    assert.equal(app.livenessProbe, undefined);
    assert.equal(app.startupProbe, undefined);
  });
  it('keeps every env, envFrom, volume and mount, and overrides only named env', () => {
    assert.deepEqual(
      app.env?.map((e) => `${e.name}=${e.value}`),
      ['A=1', 'B=override', 'C=3', 'KDEV_WORKDIR=/src', 'KDEV_CTL=/kdev/ctl'],
    );
    assert.deepEqual(app.envFrom, spec.containers[0]!.envFrom);
    assert.ok(app.volumeMounts?.some((m) => m.name === 'data' && m.mountPath === '/data'));
    assert.ok(patched.volumes?.some((v) => v.name === 'data' && v.persistentVolumeClaim?.claimName === 'd'));
    assert.ok(app.volumeMounts?.some((m) => m.name === 'kdev-src' && m.mountPath === '/src'));
  });
  it('is idempotent: patching a patched spec changes nothing', () => {
    const twice = devPodSpec(patched, { container: 'app', image: 'dev:1', workDir: '/src', env: { B: 'override', C: '3' }, devOf: 'deployment.web' });
    assert.deepEqual(twice, patched);
  });
  it('does not change its input and keeps pods running', () => {
    assert.equal(spec.containers[0]!.image, 'app:1');
    assert.equal(patched.restartPolicy, 'Always');
  });
  it('strips controller labels from a generated copy and labels it', () => {
    const t = devTemplate(
      { metadata: { labels: { app: 'x', 'batch.kubernetes.io/controller-uid': 'u', 'job-name': 'j', 'pod-template-hash': 'h' } }, spec },
      { container: 'app', image: 'dev:1', workDir: '/src', devOf: 'job.j' },
      true,
    );
    assert.deepEqual(t.metadata?.labels, { app: 'x', 'kdev.dev/dev-of': 'job.j' });
  });
  it('names the containers when the asked one is missing', () => {
    assert.throws(() => chooseContainer(spec, 'nope', 'deployment/web'), (e: unknown) => isKdevError(e) && e.hint === 'Its containers: app, proxy. Pass one with -c.');
    assert.equal(chooseContainer(spec, undefined, 'x'), 'app');
  });
  it('ships a POSIX supervisor that never exits by itself', () => {
    assert.match(SUPERVISOR_SCRIPT, /^#!\/bin\/sh/);
    assert.match(SUPERVISOR_SCRIPT, /while :; do/);
  });
});

describe('.kdev.yaml', () => {
  it('fills defaults', () => {
    const c = parseConfig('dev:\n  deployment/web:\n    image: kdev.local/dev-node:18\n', 'k.yaml');
    assert.equal(c.dev['deployment/web']?.workDir, '/app');
    assert.equal(c.dev['deployment/web']?.sync.mode, 'send-only');
  });
  it('names file, line and field of an invalid value', () => {
    assert.throws(
      () => parseConfig('dev:\n  web:\n    sync:\n      mode: sideways\n', '/p/.kdev.yaml'),
      (e: unknown) => isKdevError(e) && /^\/p\/\.kdev\.yaml:4: dev\.web\.sync\.mode: /.test(e.message),
    );
    assert.throws(() => parseConfig('dev:\n  web:\n    colour: red\n', 'f'), (e: unknown) => isKdevError(e) && /f:3: dev\.web: /.test(e.message) && /colour/.test(e.message));
  });
  it('settle: seconds, 0 allowed, negative or over 600 named with file, line and field', () => {
    assert.equal(parseConfig('dev:\n  web:\n    settle: 0\n', 'k.yaml').dev.web?.settle, 0);
    assert.equal(parseConfig('dev:\n  web:\n    settle: 2.5\n', 'k.yaml').dev.web?.settle, 2.5);
    assert.equal(parseConfig('dev:\n  web: {}\n', 'k.yaml').dev.web?.settle, undefined, 'absent: the default of dev start');
    assert.throws(() => parseConfig('dev:\n  web:\n    settle: -1\n', 'f'), (e: unknown) => isKdevError(e) && /^f:3: dev\.web\.settle: /.test(e.message));
    assert.throws(() => parseConfig('dev:\n  web:\n    settle: 5s\n', 'f'), (e: unknown) => isKdevError(e) && /^f:3: dev\.web\.settle: /.test(e.message));
  });
  it('reports YAML syntax errors with line and column', () => {
    assert.throws(() => parseConfig('dev:\n  web: [\n', 'f'), (e: unknown) => isKdevError(e) && /^f:\d+:\d+: /.test(e.message));
  });
});

// Dev mode on the real local cluster: every kind round-trips exactly; leases; crashes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  applyAll,
  connect,
  endDevMode,
  execCapture,
  isKdevError,
  raw,
  startDevMode,
  kindSpec,
  serverIdentity,
  type Cluster,
  type DevEvent,
  type RawObject,
} from '@kdev/core/internals';
import { tempNamespace, testKubeconfig } from '../lib/cluster.js';
import { DEV_RULES, READ_ONLY_RULES, serviceAccountKubeconfig } from '../lib/identity.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'cli', 'dist', 'main.js');
const APP = `require('http').createServer((q, r) => r.end('original')).listen(8080)`;
const DEV_IMAGE = 'kdev.local/dev-node:18';

function podSpec(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    terminationGracePeriodSeconds: 1,
    containers: [
      {
        name: 'app',
        image: 'kdev.local/node:18',
        imagePullPolicy: 'IfNotPresent',
        command: ['node', '-e', APP],
        env: [{ name: 'GREETING', value: 'hello' }],
        envFrom: [{ configMapRef: { name: 'settings' } }],
        volumeMounts: [{ name: 'settings', mountPath: '/etc/settings' }],
        readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
        livenessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 5 },
      },
      { name: 'helper', image: 'kdev.local/node:18', imagePullPolicy: 'IfNotPresent', command: ['node', '-e', 'setInterval(() => {}, 1e9)'] },
    ],
    volumes: [{ name: 'settings', configMap: { name: 'settings' } }],
    ...extra,
  };
}

const template = (app: string, extra: Record<string, unknown> = {}) => ({ metadata: { labels: { app } }, spec: podSpec(extra) });

function manifests(ns: string): RawObject[] {
  return [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: ns }, data: { MODE: 'test', 'file.txt': 'from configmap' } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'deploy', namespace: ns, labels: { tier: 'web' }, annotations: { note: 'keep me' } },
      spec: { replicas: 2, selector: { matchLabels: { app: 'deploy' } }, template: template('deploy') },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'sts', namespace: ns },
      spec: { replicas: 2, serviceName: 'sts', selector: { matchLabels: { app: 'sts' } }, template: template('sts') },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'ds', namespace: ns },
      spec: { selector: { matchLabels: { app: 'ds' } }, template: template('ds') },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'rs', namespace: ns },
      spec: { replicas: 1, selector: { matchLabels: { app: 'rs' } }, template: template('rs') },
    },
    {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'job', namespace: ns },
      spec: { backoffLimit: 1, template: template('job', { restartPolicy: 'Never' }) },
    },
    {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'cron', namespace: ns },
      spec: { schedule: '0 0 1 1 *', jobTemplate: { spec: { template: template('cron', { restartPolicy: 'OnFailure' }) } } },
    },
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'pod', namespace: ns, labels: { app: 'pod' } }, spec: podSpec() },
  ] as RawObject[];
}

const CONTROLLER_ANNOTATIONS = new Set(['deployment.kubernetes.io/revision', 'deprecated.daemonset.template.generation']);

/** The parts `end` must give back exactly: spec, labels, annotations (less the controller's). */
function restorable(obj: RawObject) {
  const annotations = Object.fromEntries(Object.entries(obj.metadata?.annotations ?? {}).filter(([k]) => !CONTROLLER_ANNOTATIONS.has(k)));
  return { spec: obj.spec, labels: obj.metadata?.labels ?? {}, annotations };
}

function read(cluster: Cluster, ref: string): Promise<RawObject> {
  const [kind, name] = ref.split('/') as [string, string];
  const k = kindSpec(kind);
  return raw.get(cluster, { apiVersion: k.apiVersion, plural: k.plural, namespace: cluster.namespace, name });
}

describe('dev mode', () => {
  let ns: Awaited<ReturnType<typeof tempNamespace>>;
  let cluster: Cluster;

  before(async () => {
    ns = await tempNamespace('kdev-dev');
    cluster = ns.cluster;
    await applyAll(cluster, manifests(ns.name) as never);
  });
  after(async () => {
    await ns?.remove();
  });

  for (const ref of ['deployment/deploy', 'statefulset/sts', 'daemonset/ds', 'replicaset/rs', 'job/job', 'cronjob/cron', 'pod/pod']) {
    it(`${ref}: start gives a dev container that keeps env, envFrom, volumes; end restores the spec exactly`, async () => {
      await startAndEndRoundTrip(cluster, ref);
    });
  }

  async function startAndEndRoundTrip(c: Cluster, ref: string): Promise<void> {
    const before = restorable(await read(c, ref));
    const phases: string[] = [];
    const session = await startDevMode(c, {
      workload: ref,
      container: 'app',
      image: DEV_IMAGE,
      workDir: '/src',
      env: { EXTRA: 'yes' },
      timeoutMs: 120_000,
      onEvent: (e: DevEvent) => e.type === 'phase' && phases.push(e.phase),
    });
    assert.ok(phases.includes('patching') && phases.at(-1) === 'ready', `phases: ${phases.join(',')}`);
    const pod = await c.core.readNamespacedPod({ name: session.pod, namespace: c.namespace });
    const app = pod.spec!.containers.find((x) => x.name === 'app')!;
    assert.equal(app.image, DEV_IMAGE);
    assert.equal(app.readinessProbe, undefined);
    assert.equal(app.livenessProbe, undefined);
    assert.equal(pod.spec!.containers.find((x) => x.name === 'helper')!.image, 'kdev.local/node:18', 'other containers untouched');
    const shell = await execCapture(c, session.pod, 'app', ['sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "; echo; echo $GREETING $MODE $EXTRA; cat /etc/settings/file.txt; echo; pwd']);
    const [cmdline, envs, file, cwd] = shell.stdout.trim().split('\n');
    assert.match(cmdline!, /supervisor\.sh/, 'PID 1 is the supervisor');
    assert.equal(envs, 'hello test yes', 'env, envFrom and extra env');
    assert.equal(file, 'from configmap', 'volume mounts kept');
    assert.equal(cwd, '/src');

    const result = await endDevMode(c, { workload: ref, timeoutMs: 120_000 });
    assert.equal(result.restored, true);
    const after = restorable(await read(c, ref));
    assert.deepEqual(after, before);
    assert.ok(!Object.keys((await read(c, ref)).metadata?.annotations ?? {}).some((k) => k.startsWith('kdev.dev/')), 'no kdev annotation left');
    const leftovers = await c.core.listNamespacedPod({ namespace: c.namespace, labelSelector: 'kdev.dev/dev-of' });
    assert.equal(leftovers.items.length, 0, 'no dev pod left');
  }

  it('start twice is idempotent: same pod, same pod template, no new rollout', async () => {
    const first = await startDevMode(cluster, { workload: 'deployment/deploy', container: 'app', image: DEV_IMAGE });
    const template = JSON.stringify((await read(cluster, 'deployment/deploy')).spec?.template);
    const second = await startDevMode(cluster, { workload: 'deployment/deploy', container: 'app', image: DEV_IMAGE });
    assert.equal(second.pod, first.pod);
    assert.equal(JSON.stringify((await read(cluster, 'deployment/deploy')).spec?.template), template);
    assert.equal(second.startedAt, first.startedAt);
    const pods = await cluster.core.listNamespacedPod({ namespace: ns.name, labelSelector: 'app=deploy' });
    assert.deepEqual(pods.items.map((p) => p.metadata?.name), [first.pod], 'one pod, the same');
    await endDevMode(cluster, { workload: 'deployment/deploy' });
  });

  it('refuses a second identity with who holds it and since when, and --force takes over', async () => {
    await startDevMode(cluster, { workload: 'deployment/deploy', container: 'app', image: DEV_IMAGE });
    const other = connect({ kubeconfig: await serviceAccountKubeconfig(cluster, ns.name, 'other-dev', DEV_RULES) });
    const rv = (await read(cluster, 'deployment/deploy')).metadata?.resourceVersion;
    await assert.rejects(
      startDevMode(other, { workload: 'deployment/deploy', container: 'app', image: DEV_IMAGE }),
      (err: unknown) => isKdevError(err) && err.code === 'IN_USE' && /in dev mode by kdev-admin since 20\d\d-/.test(err.message),
    );
    assert.equal((await read(cluster, 'deployment/deploy')).metadata?.resourceVersion, rv, 'nothing changed');
    await assert.rejects(endDevMode(other, { workload: 'deployment/deploy' }), (err: unknown) => isKdevError(err) && err.code === 'IN_USE');
    const warnings: string[] = [];
    const taken = await startDevMode(other, { workload: 'deployment/deploy', container: 'app', image: DEV_IMAGE, force: true, onEvent: (e) => e.type === 'warning' && warnings.push(e.message) });
    assert.equal(taken.owner, `system:serviceaccount:${ns.name}:other-dev`);
    assert.match(warnings.join('\n'), /taking deployment\/deploy over from kdev-admin/);
    await endDevMode(other, { workload: 'deployment/deploy' });
  });

  it('unknown workload, wrong container, and no patch rights: clear errors, nothing changed', async () => {
    await assert.rejects(startDevMode(cluster, { workload: 'deployment/nope' }), (err: unknown) => isKdevError(err) && err.code === 'NOT_FOUND' && /deployment\/nope not found in namespace/.test(err.message));
    const rv = (await read(cluster, 'deployment/deploy')).metadata?.resourceVersion;
    await assert.rejects(
      startDevMode(cluster, { workload: 'deployment/deploy', container: 'nope' }),
      (err: unknown) => isKdevError(err) && /container "nope" is not in deployment\/deploy/.test(err.message) && /app, helper/.test(err.hint ?? ''),
    );
    const reader = connect({ kubeconfig: await serviceAccountKubeconfig(cluster, ns.name, 'reader', READ_ONLY_RULES) });
    await assert.rejects(startDevMode(reader, { workload: 'deployment/deploy', image: DEV_IMAGE }), (err: unknown) => isKdevError(err) && err.code === 'FORBIDDEN' && /forbidden/.test(err.message));
    assert.equal((await read(cluster, 'deployment/deploy')).metadata?.resourceVersion, rv, 'nothing changed');
  });

  it('asks the API server who we are once per cluster connection', async () => {
    const asked = serverIdentity(cluster);
    assert.equal(serverIdentity(cluster.inNamespace('default')), asked, 'the same connection: the same answer, no second request');
    const again = connect({ kubeconfig: testKubeconfig() });
    assert.notEqual(serverIdentity(again), asked, 'a new connection asks again');
    assert.equal(await asked, 'kdev-admin');
    assert.equal(await serverIdentity(again), 'kdev-admin');
  });

  it('a dev pod whose Secret is missing fails at once (the fatal reasons environments use), and end restores', async () => {
    // replicas 0: the original never needs the Secret, so end's rollout can complete
    const body = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'nosecret', namespace: ns.name },
      spec: { replicas: 0, selector: { matchLabels: { app: 'nosecret' } }, template: template('nosecret', { containers: [{ ...(podSpec().containers as object[])[0], envFrom: [{ secretRef: { name: 'not-there' } }] }] }) },
    };
    await applyAll(cluster, [body] as never);
    const before = restorable(await read(cluster, 'deployment/nosecret'));
    const t0 = performance.now();
    await assert.rejects(
      startDevMode(cluster, { workload: 'deployment/nosecret', container: 'app', image: DEV_IMAGE, timeoutMs: 300_000 }),
      (err: unknown) => {
        const s = ((performance.now() - t0) / 1000).toFixed(1);
        // FAILED, not TIMEOUT: the wait stopped at the pod's state, long before its 300 s
        assert.ok(isKdevError(err) && err.code === 'FAILED', `expected a fast failure, got after ${s} s: ${String(err)}`);
        assert.match(err.message, /CreateContainerConfigError/);
        assert.match(err.message, /not-there/);
        assert.match(err.hint ?? '', /Secret/);
        return true;
      },
    );
    await endDevMode(cluster, { workload: 'deployment/nosecret', timeoutMs: 120_000 });
    assert.deepEqual(restorable(await read(cluster, 'deployment/nosecret')), before);
  });

  it('duplicate mode leaves the original untouched and runs a copy no Service selects', async () => {
    await cluster.core.createNamespacedService({ namespace: ns.name, body: { metadata: { name: 'deploy' }, spec: { selector: { app: 'deploy' }, ports: [{ port: 80, targetPort: 8080 }] } } });
    const rv = (await read(cluster, 'deployment/deploy')).metadata?.resourceVersion;
    const session = await startDevMode(cluster, { workload: 'deployment/deploy', container: 'app', image: DEV_IMAGE, mode: 'duplicate' });
    assert.equal((await read(cluster, 'deployment/deploy')).metadata?.resourceVersion, rv);
    const pod = await cluster.core.readNamespacedPod({ name: session.pod, namespace: ns.name });
    assert.equal(pod.metadata?.labels?.app, undefined, 'the copy carries none of the original labels');
    const slices = await cluster.core.listNamespacedEndpoints({ namespace: ns.name, fieldSelector: 'metadata.name=deploy' });
    const ips = slices.items.flatMap((e) => e.subsets ?? []).flatMap((s) => [...(s.addresses ?? []), ...(s.notReadyAddresses ?? [])]).map((a) => a.ip);
    assert.ok(pod.status?.podIP && !ips.includes(pod.status.podIP), 'the Service does not route to the copy');
    const end = await endDevMode(cluster, { workload: 'deployment/deploy' });
    assert.match(end.message, /deleted the copy/);
    const copies = await cluster.apps.listNamespacedDeployment({ namespace: ns.name, labelSelector: 'kdev.dev/duplicate-of' });
    assert.equal(copies.items.length, 0, 'the copy is gone');
  });

  it('pins an HPA that targets the workload to one replica and restores it on end', async () => {
    await cluster.autoscaling.createNamespacedHorizontalPodAutoscaler({
      namespace: ns.name,
      body: {
        metadata: { name: 'deploy' },
        spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'deploy' }, minReplicas: 2, maxReplicas: 5, metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }] },
      },
    });
    await startDevMode(cluster, { workload: 'deployment/deploy', container: 'app', image: DEV_IMAGE });
    const pinned = await cluster.autoscaling.readNamespacedHorizontalPodAutoscaler({ name: 'deploy', namespace: ns.name });
    assert.deepEqual([pinned.spec?.minReplicas, pinned.spec?.maxReplicas], [1, 1]);
    await endDevMode(cluster, { workload: 'deployment/deploy' });
    const restored = await cluster.autoscaling.readNamespacedHorizontalPodAutoscaler({ name: 'deploy', namespace: ns.name });
    assert.deepEqual([restored.spec?.minReplicas, restored.spec?.maxReplicas], [2, 5]);
    assert.equal(restored.metadata?.annotations?.['kdev.dev/original-hpa'], undefined);
    await cluster.autoscaling.deleteNamespacedHorizontalPodAutoscaler({ name: 'deploy', namespace: ns.name });
  });

  for (const phase of ['resolving', 'saving', 'patching', 'pulling', 'ready']) {
    it(`kill -9 of the CLI during "${phase}", then end restores exactly`, async () => {
      for (const ref of ['deployment/deploy', 'pod/pod']) {
        const before = restorable(await read(cluster, ref));
        await killCliAt(ns.name, ref, phase);
        await endDevMode(cluster, { workload: ref, timeoutMs: 120_000 });
        assert.deepEqual(restorable(await read(cluster, ref)), before, `${ref} after a kill during ${phase}`);
      }
    });
  }
});

/** Runs `kdev dev start` as a child and SIGKILLs it as soon as it reports the phase. */
function killCliAt(namespace: string, ref: string, phase: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'dev', 'start', ref, '-n', namespace, '-c', 'app', '--image', DEV_IMAGE, '--kubeconfig', testKubeconfig()], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const onData = (d: Buffer) => {
      output += d.toString();
      if (new RegExp(`[✓…✗] ${phase}`).test(output)) child.kill('SIGKILL');
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('close', (code, signal) => {
      if (signal === 'SIGKILL' || code === 0) resolve();
      else reject(new Error(`kdev dev start exited with ${code}: ${output}`));
    });
  });
}

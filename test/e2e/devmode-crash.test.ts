// Dev mode's crash safety at chosen moments: `kdev dev start` / `dev end` (slowed down, see
// test/lib/slow-api.ts) are SIGKILLed the moment a watch sees a change of the cluster, then
// `kdev dev end` must undo everything: the workload exactly, the HPA's bounds, the copy
// generated for a CronJob/DaemonSet/Job, every dev pod; `kdev ls` and `kdev dev status`
// must agree at every step. Also: an identity that may pin HPAs but not change the
// Deployment changes nothing, and the restore of a multi-replica Deployment never creates
// a dev pod.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyAll, DEV_LABEL, kindSpec, raw, startDevMode, watchUntil, type Cluster, type RawObject, type WatchEventType } from '@kdev/core/internals';
import type { V1Pod } from '@kubernetes/client-node';
import { jsonOf, runKdev } from '../lib/cli.js';
import { tempNamespace, uniqueName } from '../lib/cluster.js';
import { killKdevAt, type Moment } from '../lib/crash.js';
import { serviceAccountKubeconfig } from '../lib/identity.js';

const DEV_IMAGE = 'kdev.local/dev-node:18';
const HPA = { apiVersion: 'autoscaling/v2', plural: 'horizontalpodautoscalers' };
const LEASE = 'kdev.dev/lease';
const HPA_RECORD = 'kdev.dev/original-hpa';

const podTemplate = (app: string, extra: Record<string, unknown> = {}) => ({
  metadata: { labels: { app } },
  spec: {
    terminationGracePeriodSeconds: 1,
    containers: [
      {
        name: 'app',
        image: 'kdev.local/node:18',
        imagePullPolicy: 'IfNotPresent',
        command: ['node', '-e', `require('http').createServer((q, r) => r.end('original')).listen(8080)`],
        readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
      },
    ],
    ...extra,
  },
});

function manifests(ns: string): RawObject[] {
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: ns, labels: { tier: 'web' } },
      spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: podTemplate('web') },
    },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: ns }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } },
    {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'web', namespace: ns },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
        minReplicas: 2,
        maxReplicas: 4,
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }],
      },
    },
    {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'cron', namespace: ns },
      spec: { schedule: '0 0 1 1 *', jobTemplate: { spec: { template: podTemplate('cron', { restartPolicy: 'OnFailure' }) } } },
    },
    { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'ds', namespace: ns }, spec: { selector: { matchLabels: { app: 'ds' } }, template: podTemplate('ds') } },
    { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'job', namespace: ns }, spec: { backoffLimit: 1, template: podTemplate('job', { restartPolicy: 'Never' }) } },
  ] as RawObject[];
}

const CONTROLLER_ANNOTATIONS = new Set(['deployment.kubernetes.io/revision', 'deprecated.daemonset.template.generation']);

/** What `end` must give back exactly. */
function restorable(obj: RawObject) {
  const annotations = Object.fromEntries(Object.entries(obj.metadata?.annotations ?? {}).filter(([k]) => !CONTROLLER_ANNOTATIONS.has(k)));
  return { spec: obj.spec, labels: obj.metadata?.labels ?? {}, annotations };
}

function pathOf(cluster: Cluster, ref: string) {
  const [kind, name] = ref.split('/') as [string, string];
  const k = kindSpec(kind);
  return { apiVersion: k.apiVersion, plural: k.plural, namespace: cluster.namespace, name };
}

const read = (cluster: Cluster, ref: string) => raw.get(cluster, pathOf(cluster, ref));
const hasLease = (obj: RawObject) => obj.metadata?.annotations?.[LEASE] !== undefined;
const hpaBounds = async (cluster: Cluster) => {
  const h = await raw.get(cluster, { ...HPA, namespace: cluster.namespace, name: 'web' });
  return { min: h.spec?.minReplicas, max: h.spec?.maxReplicas, record: h.metadata?.annotations?.[HPA_RECORD] };
};

describe('dev mode: kills at chosen moments, and a forbidden start', () => {
  let ns: Awaited<ReturnType<typeof tempNamespace>>;
  let cluster: Cluster;
  const originals = new Map<string, ReturnType<typeof restorable>>();
  const cli = (...args: string[]) => [...args, '-n', ns.name];
  const start = (ref: string) => cli('dev', 'start', ref, '-c', 'app', '--image', DEV_IMAGE, '--no-sync', '--timeout', '150');
  const end = (ref: string) => cli('dev', 'end', ref, '--timeout', '150');

  before(async () => {
    ns = await tempNamespace('kdev-crash');
    cluster = ns.cluster;
    await applyAll(cluster, manifests(ns.name) as never);
    for (const ref of ['deployment/web', 'cronjob/cron', 'daemonset/ds', 'job/job']) originals.set(ref, restorable(await read(cluster, ref)));
  });
  after(async () => {
    await ns?.remove();
  });

  const workloadMoment = (ref: string, what: string, when: (type: WatchEventType, obj: RawObject) => boolean): Moment => {
    const p = pathOf(cluster, ref);
    return { resource: { apiVersion: p.apiVersion, plural: p.plural, namespace: p.namespace }, name: p.name, what: `${ref}: ${what}`, when };
  };
  const hpaMoment = (what: string, when: (obj: RawObject) => boolean): Moment => ({
    resource: { ...HPA, namespace: cluster.namespace },
    name: 'web',
    what: `the HPA: ${what}`,
    when: (_t, obj) => when(obj),
  });
  const pinned = (obj: RawObject) => obj.metadata?.annotations?.[HPA_RECORD] !== undefined;

  /** `kdev ls` and `kdev dev status` say the same about what is in dev mode. */
  async function lsAgreesWithStatus(): Promise<string[]> {
    const ls = jsonOf<{ kind: string; name: string; dev?: unknown; copyOf?: string }[]>(await runKdev(['-o', 'json', ...cli('ls')]));
    const status = jsonOf<{ kind: string; name: string }[]>(await runKdev(['-o', 'json', ...cli('dev', 'status')]));
    const key = (w: { kind: string; name: string }) => `${w.kind.toLowerCase()}/${w.name}`;
    const inDevByLs = ls.filter((w) => w.dev !== undefined && !(w.copyOf && ls.some((o) => key(o) === w.copyOf && o.dev !== undefined))).map(key).sort();
    assert.deepEqual(status.map(key).sort(), inDevByLs, '`kdev ls` and `kdev dev status` agree');
    return inDevByLs;
  }

  /** `end` (run once more, at full speed) leaves exactly what was there before dev mode. */
  async function endRestoresAll(ref: string): Promise<void> {
    await lsAgreesWithStatus();
    const r = await runKdev(['-o', 'json', ...end(ref)]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.deepEqual(restorable(await read(cluster, ref)), originals.get(ref), `${ref} restored exactly`);
    if (ref === 'deployment/web') assert.deepEqual(await hpaBounds(cluster), { min: 2, max: 4, record: undefined }, 'the HPA has its bounds back');
    const copies = await raw.list(cluster, { apiVersion: 'apps/v1', plural: 'deployments', namespace: cluster.namespace }, 'app.kubernetes.io/managed-by=kdev');
    assert.deepEqual(copies.items.map((d) => d.metadata?.name), [], 'no Deployment kdev made is left');
    const devPods = await cluster.core.listNamespacedPod({ namespace: cluster.namespace, labelSelector: DEV_LABEL });
    assert.deepEqual(devPods.items.map((p) => p.metadata?.name), [], 'no dev pod is left');
    assert.deepEqual(await lsAgreesWithStatus(), [], 'nothing is in dev mode, by ls and by status');
  }

  const devStart = (ref: string) => startDevMode(cluster, { workload: ref, container: 'app', image: DEV_IMAGE, sidecar: null, timeoutMs: 150_000 });

  // 1. The HPA: its pin must be undone by `end` whatever the moment of a crash.
  it('dev start killed the moment the HPA is pinned: end restores the Deployment and the HPA', async () => {
    await killKdevAt(cluster, start('deployment/web'), hpaMoment('pinned', pinned));
    assert.ok(pinned(await raw.get(cluster, { ...HPA, namespace: cluster.namespace, name: 'web' })), 'killed with the HPA pinned');
    await endRestoresAll('deployment/web');
  });

  it('dev start killed the moment the lease is written: end restores the Deployment and the HPA', async () => {
    await killKdevAt(cluster, start('deployment/web'), workloadMoment('deployment/web', 'lease written', (_t, o) => hasLease(o)));
    await endRestoresAll('deployment/web');
  });

  it('dev end killed the moment the original is restored: a second end leaves the HPA unpinned', async () => {
    await devStart('deployment/web');
    await killKdevAt(cluster, end('deployment/web'), workloadMoment('deployment/web', 'original restored', (_t, o) => !hasLease(o)));
    await endRestoresAll('deployment/web');
  });

  it('dev end killed the moment the HPA gets its bounds back: a second end restores the Deployment', async () => {
    await devStart('deployment/web');
    await killKdevAt(cluster, end('deployment/web'), hpaMoment('bounds restored', (o) => !pinned(o)));
    await endRestoresAll('deployment/web');
  });

  it('an identity that may pin HPAs but not update the Deployment gets "forbidden" and nothing changes', async () => {
    const kubeconfig = await serviceAccountKubeconfig(cluster, ns.name, 'hpa-only', [
      { apiGroups: ['apps'], resources: ['deployments', 'replicasets'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: ['get', 'list', 'watch', 'patch', 'update'] },
      { apiGroups: [''], resources: ['pods', 'configmaps', 'events'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch'] },
    ]);
    const hpaBefore = await raw.get(cluster, { ...HPA, namespace: cluster.namespace, name: 'web' });
    const rv = (await read(cluster, 'deployment/web')).metadata?.resourceVersion;
    const r = await runKdev(['--kubeconfig', kubeconfig, ...start('deployment/web')]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /forbidden/);
    assert.match(r.stderr, /hint: .*RBAC/);
    const hpaAfter = await raw.get(cluster, { ...HPA, namespace: cluster.namespace, name: 'web' });
    assert.equal(hpaAfter.metadata?.annotations?.[HPA_RECORD], undefined, 'the HPA is not pinned');
    assert.deepEqual(hpaAfter.spec, hpaBefore.spec, 'the HPA is unchanged');
    assert.equal((await read(cluster, 'deployment/web')).metadata?.resourceVersion, rv, 'the Deployment is unchanged');
    const again = await runKdev(end('deployment/web'));
    assert.match(again.stdout, /not in dev mode: nothing to restore/);
  });

  it('an identity that may update the Deployment but not pin its HPA gets "forbidden" and nothing changes', async () => {
    const kubeconfig = await serviceAccountKubeconfig(cluster, ns.name, 'no-hpa', [
      { apiGroups: ['apps'], resources: ['deployments', 'replicasets'], verbs: ['get', 'list', 'watch', 'update', 'patch'] },
      { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['pods', 'configmaps', 'events'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
      // the sync sidecar's token (the Secret kdev-sync-token)
      { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'create'] },
    ]);
    const rv = (await read(cluster, 'deployment/web')).metadata?.resourceVersion;
    // The HPA controller writes its status every few seconds: spec and annotations are what kdev could change.
    const hpaOf = async () => {
      const h = await raw.get(cluster, { ...HPA, namespace: cluster.namespace, name: 'web' });
      return { spec: h.spec, annotations: h.metadata?.annotations ?? {} };
    };
    const hpaBefore = await hpaOf();
    const r = await runKdev(['--kubeconfig', kubeconfig, ...start('deployment/web')]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /pinning horizontalpodautoscaler\/web to one replica: forbidden/);
    assert.equal((await read(cluster, 'deployment/web')).metadata?.resourceVersion, rv, 'the Deployment is unchanged');
    assert.deepEqual(await hpaOf(), hpaBefore, 'the HPA is unchanged');
  });

  // 2. The copy generated for a CronJob, DaemonSet or Job: `end` finds it, record or not.
  for (const ref of ['cronjob/cron', 'daemonset/ds', 'job/job']) {
    it(`${ref}: dev end killed the moment the original is restored: a second end leaves no copy`, async () => {
      await devStart(ref);
      await killKdevAt(cluster, end(ref), workloadMoment(ref, 'original restored', (_t, o) => !hasLease(o)));
      await endRestoresAll(ref);
    });
  }

  it('cronjob/cron: dev end killed the moment its copy is deleted: a second end restores the CronJob', async () => {
    await devStart('cronjob/cron');
    const copy = (await raw.list(cluster, { apiVersion: 'apps/v1', plural: 'deployments', namespace: cluster.namespace }, 'app.kubernetes.io/managed-by=kdev')).items[0]!;
    await killKdevAt(cluster, end('cronjob/cron'), {
      resource: { apiVersion: 'apps/v1', plural: 'deployments', namespace: cluster.namespace },
      name: copy.metadata!.name!,
      what: 'the copy is deleted',
      when: (type, o) => type === 'DELETED' || o.metadata?.deletionTimestamp !== undefined,
    });
    await endRestoresAll('cronjob/cron');
  });

  it('cronjob/cron already restored while its copy still runs: ls and status agree, end removes the copy', async () => {
    await devStart('cronjob/cron');
    // What an interrupted `end` of an older kdev left: the CronJob as it was, the copy running.
    const current = await read(cluster, 'cronjob/cron');
    const saved = JSON.parse(current.metadata!.annotations!['kdev.dev/original']!) as { spec: Record<string, unknown>; labels: Record<string, string>; annotations: Record<string, string> };
    await raw.replace(cluster, pathOf(cluster, 'cronjob/cron'), { ...current, spec: saved.spec, metadata: { ...current.metadata, labels: saved.labels, annotations: saved.annotations } });
    const shown = await lsAgreesWithStatus();
    assert.equal(shown.length, 1, `the leftover copy shows as in dev mode: ${shown.join(', ')}`);
    const r = await runKdev(['-o', 'json', ...end('cronjob/cron')]);
    assert.equal(r.code, 0, r.stderr);
    const result = jsonOf<{ restored: boolean; message: string }>(r);
    assert.equal(result.restored, true);
    assert.match(result.message, /was restored already; removed .*its dev copy/);
    assert.doesNotMatch(result.message, /cron-kdev/, 'the message names no object the user never mentioned');
    await endRestoresAll('cronjob/cron');
  });

  // 3. The restore of a multi-replica Deployment never creates a dev pod.
  /** The dev pods created while `fn` runs (a marker pod created after it says the watch has caught up). */
  async function devPodsCreatedDuring(fn: () => Promise<void>): Promise<string[]> {
    const list = await cluster.core.listNamespacedPod({ namespace: cluster.namespace });
    const marker = uniqueName('marker');
    const created: string[] = [];
    let caughtUp!: () => void;
    const seen = new Promise<void>((resolve) => (caughtUp = resolve));
    const stop = new AbortController();
    const watching = watchUntil<V1Pod, never>(cluster, {
      resource: { apiVersion: 'v1', plural: 'pods', namespace: cluster.namespace },
      resourceVersion: list.metadata?.resourceVersion,
      timeoutMs: 600_000,
      signal: stop.signal,
      what: 'pods created',
      onEvent: (type, pod) => {
        if (type === 'ADDED' && pod.metadata?.labels?.[DEV_LABEL] !== undefined) created.push(pod.metadata.name!);
        if (pod.metadata?.name === marker) caughtUp();
        return { done: false };
      },
    }).catch(() => undefined);
    try {
      await fn();
      // Never scheduled (no such node); deleted at once.
      await cluster.core.createNamespacedPod({ namespace: cluster.namespace, body: { metadata: { name: marker }, spec: { nodeName: 'no-such-node', containers: [{ name: 'm', image: 'kdev.local/node:18' }] } } });
      await seen;
    } finally {
      stop.abort();
      await watching;
      await cluster.core.deleteNamespacedPod({ name: marker, namespace: cluster.namespace, gracePeriodSeconds: 0 }).catch(() => undefined);
    }
    return created;
  }

  it('deployment/web (3 replicas behind a Service): end creates no dev pod', async () => {
    await devStart('deployment/web');
    const created = await devPodsCreatedDuring(async () => {
      const r = await runKdev(end('deployment/web'));
      assert.equal(r.code, 0, r.stderr);
    });
    assert.deepEqual(created, [], 'no dev pod was created during end');
    assert.equal((await read(cluster, 'deployment/web')).status?.readyReplicas, 3, 'the three original pods are ready');
    await endRestoresAll('deployment/web');
  });

  it('deployment/web: end killed the moment it is at zero replicas, then ended again, creates no dev pod', async () => {
    await devStart('deployment/web');
    const created = await devPodsCreatedDuring(async () => {
      await killKdevAt(cluster, end('deployment/web'), workloadMoment('deployment/web', 'scaled to zero', (_t, o) => o.spec?.replicas === 0));
      assert.ok(hasLease(await read(cluster, 'deployment/web')), 'killed with the record still there');
      await endRestoresAll('deployment/web');
    });
    assert.deepEqual(created, [], 'no dev pod was created by either end');
  });
});

// Ready means stable in `kdev dev start` too, by the settle rule environments use
// (core/src/kube/settle.ts), on the local cluster. The dev container's PID 1 is kdev's
// supervisor, which does not run the app until `kdev dev run`: a sidecar of the workload
// that gives up when nothing answers on the app's port is Ready for a moment in the dev
// pod, then exits. `dev start` fails within the settle window (.kdev.yaml `settle`) with
// the reason, the pod's events and the sidecar's last log lines, and `dev end` restores the
// workload exactly. A dev pod whose containers stay up passes after its window.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { applyAll, DEV_LABEL, endDevMode, isPodReady, raw, startDevMode, watchUntil, type Cluster, type DevEvent, type RawObject } from '@kdev/core/internals';
import { tempNamespace, waitPodReady } from '../lib/cluster.js';
import { jsonOf, runKdev } from '../lib/cli.js';

const DEV_IMAGE = 'kdev.local/dev-node:18';
const APP = `require('http').createServer((q, r) => r.end('original')).listen(8080)`;
// Polls the app on :8080 and gives up after 3 s without an answer (the original's app answers in well under that).
const WATCHER = `const t0 = Date.now(); const poll = () => require('net').connect(8080, '127.0.0.1')
  .on('connect', () => { console.log('helper: the app answers'); setInterval(() => {}, 1e9); })
  .on('error', () => { if (Date.now() - t0 < 3000) return setTimeout(poll, 200); console.log('helper: nothing answers on :8080, giving up'); process.exit(3); });
poll();`;

function deployment(ns: string, name: string, helper: string): RawObject {
  const node = (cname: string, code: string, probe: boolean) => ({
    name: cname,
    image: 'kdev.local/node:18',
    imagePullPolicy: 'IfNotPresent',
    command: ['node', '-e', code],
    ...(probe ? { readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 } } : {}),
  });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, annotations: { note: 'keep me' } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { terminationGracePeriodSeconds: 1, containers: [node('app', APP, true), node('helper', helper, false)] } },
    },
  } as RawObject;
}

const CONTROLLER_ANNOTATIONS = new Set(['deployment.kubernetes.io/revision']);

/** What `end` must give back exactly: spec, labels, annotations (less the controller's). */
async function restorable(cluster: Cluster, name: string) {
  const obj = await raw.get(cluster, { apiVersion: 'apps/v1', plural: 'deployments', namespace: cluster.namespace, name });
  const annotations = Object.fromEntries(Object.entries(obj.metadata?.annotations ?? {}).filter(([k]) => !CONTROLLER_ANNOTATIONS.has(k)));
  return { spec: obj.spec, labels: obj.metadata?.labels ?? {}, annotations };
}

/** When a dev pod of the namespace was first seen Ready (undefined if none was until the signal). */
function devPodReadyAt(cluster: Cluster, signal: AbortSignal): Promise<number | undefined> {
  return watchUntil<V1Pod, number>(cluster, {
    resource: { apiVersion: 'v1', plural: 'pods', namespace: cluster.namespace },
    labelSelector: DEV_LABEL,
    timeoutMs: 300_000,
    signal,
    what: 'a Ready dev pod',
    onEvent: (type, pod) => (type !== 'DELETED' && isPodReady(pod) ? { done: true, value: Date.now() } : { done: false }),
  }).catch(() => undefined);
}

describe('dev start: Ready means stable', () => {
  let ns: Awaited<ReturnType<typeof tempNamespace>>;
  let cluster: Cluster;
  const dir = mkdtempSync(join(tmpdir(), 'kdev-settle-'));

  before(async () => {
    ns = await tempNamespace('kdev-settle');
    cluster = ns.cluster;
    await applyAll(cluster, [deployment(ns.name, 'watcher', WATCHER), deployment(ns.name, 'steady', 'setInterval(() => {}, 1e9)')] as never);
    await Promise.all([waitPodReady(cluster, 'app=watcher'), waitPodReady(cluster, 'app=steady')]);
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await ns?.remove();
  });

  it('a sidecar that exits soon after the dev pod is Ready fails dev start within the settle window; end restores exactly', async () => {
    const before = await restorable(cluster, 'watcher');
    const config = join(dir, '.kdev.yaml');
    writeFileSync(config, `dev:\n  deployment/watcher:\n    image: ${DEV_IMAGE}\n    settle: 10\n`);
    const stopWatch = new AbortController();
    const firstReady = devPodReadyAt(cluster, stopWatch.signal);
    const t0 = Date.now();
    const r = await runKdev(['-n', ns.name, '-o', 'json', 'dev', 'start', 'deployment/watcher', '--config', config, '--no-sync', '--timeout', '300']);
    const elapsed = Date.now() - t0;
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const e = jsonOf<{ error: { code: string; message: string; hint?: string } }>(r).error;
    assert.equal(e.code, 'FAILED', e.message);
    assert.match(e.message, /^pod\/watcher-[a-z0-9]+-[a-z0-9]+ \(container helper\): (Restarted|CrashLoopBackOff)[^\n]*; it had been Ready and restarted within the 10s settle window \(Error, exit code 3\)/);
    assert.match(e.message, /\n {2}last log lines:\n {4}helper: nothing answers on :8080, giving up/);
    assert.match(e.hint ?? '', /settle in \.kdev\.yaml/);
    assert.match(e.hint ?? '', /kdev dev end/);
    assert.ok(elapsed < 90_000, `fails long before the 300 s timeout (${elapsed} ms)`);
    const readyAt = await firstReady;
    assert.ok(readyAt !== undefined && Date.now() - readyAt < 10_000 + 5_000, `failed within the 10 s window of the dev pod's first Ready (+5 s to report and exit): ${readyAt === undefined ? 'never Ready' : Date.now() - readyAt} ms`);
    stopWatch.abort();

    const end = await runKdev(['-n', ns.name, 'dev', 'end', 'deployment/watcher']);
    assert.equal(end.code, 0, end.stdout + end.stderr);
    assert.deepEqual(await restorable(cluster, 'watcher'), before);
    const pod = await waitPodReady(cluster, 'app=watcher');
    assert.equal(pod.spec?.containers[0]?.image, 'kdev.local/node:18', 'the original runs again');
  });

  it('a dev pod whose containers stay up passes once it stayed Ready for the window', async () => {
    const before = await restorable(cluster, 'steady');
    const events: { at: number; e: DevEvent }[] = [];
    const session = await startDevMode(cluster, { workload: 'deployment/steady', container: 'app', image: DEV_IMAGE, settleMs: 3000, onEvent: (e) => events.push({ at: Date.now(), e }) });
    const done = Date.now();
    const settling = events.find(({ e }) => e.type === 'phase' && e.phase === 'ready' && /ready, settling 3s$/.test(e.message));
    assert.ok(settling, `the settle window began: ${JSON.stringify(events.map(({ e }) => e))}`);
    assert.ok(done - settling.at >= 2900, `start returned ${done - settling.at} ms after Ready, not before its window passed`);
    const pod = await cluster.core.readNamespacedPod({ name: session.pod, namespace: ns.name });
    assert.ok(pod.status?.containerStatuses?.every((c) => c.ready && c.restartCount === 0), 'every container Ready, none restarted');
    await endDevMode(cluster, { workload: 'deployment/steady', timeoutMs: 120_000 });
    assert.deepEqual(await restorable(cluster, 'steady'), before);
  });

  it('a settle window out of range is a clear error and changes nothing', async () => {
    const before = await restorable(cluster, 'steady');
    await assert.rejects(startDevMode(cluster, { workload: 'deployment/steady', image: DEV_IMAGE, settleMs: -1 }), (err: unknown) => err instanceof Error && /not a valid settle window/.test(err.message));
    assert.deepEqual(await restorable(cluster, 'steady'), before);
  });
});

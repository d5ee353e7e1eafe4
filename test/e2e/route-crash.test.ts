// Crash safety of routed duplicates (docs/routing.md): `kdev dev start --route` and
// `kdev dev end` are killed (SIGKILL) the moment a watch sees each phase's write, with every
// API request of the CLI held 250 ms so the kill lands between two writes; then one `end`
// (or `end --all`) must restore the Service exactly and leave nothing of the router.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyAll, raw, type RawObject } from '@kdev/core/internals';
import { runKdev } from '../lib/cli.js';
import { tempNamespace, waitPodReady } from '../lib/cluster.js';
import { killKdevAt, type Moment } from '../lib/crash.js';
import { load, namedWeb, podIdentities, routingLeftovers } from '../lib/route.js';

const ORIGINAL = 'kdev.dev/route-original';

describe('routed duplicates: kill -9 at each phase, then end restores', { timeout: 1_200_000 }, () => {
  let ns: Awaited<ReturnType<typeof tempNamespace>>;
  let serviceBefore: RawObject;
  let originalPods: Map<string, string>;
  const kdev = (...args: string[]) => runKdev([...args, '-n', ns.name]);
  const start = ['dev', 'start', 'web', '-n', '', '--mode', 'duplicate', '--route', 'x-kdev-route=crash', '--no-sync'];
  const startArgs = () => start.map((a) => (a === '' ? ns.name : a));
  const svcRes = () => ({ apiVersion: 'v1', plural: 'services', namespace: ns.name });

  before(async () => {
    ns = await tempNamespace('kdev-route-crash');
    await applyAll(ns.cluster, namedWeb(ns.name, 'web', 2));
    await waitPodReady(ns.cluster, 'app=web');
    for (let i = 0; i < 60 && (await podIdentities(ns.cluster, 'app=web')).size < 2; i++) await new Promise((r) => setTimeout(r, 500));
    serviceBefore = await raw.get(ns.cluster, { ...svcRes(), name: 'web' });
    originalPods = await podIdentities(ns.cluster, 'app=web');
  });
  after(async () => {
    await ns?.remove();
  });

  /** One `end` (or `end --all`) restores the Service exactly; nothing of kdev is left; the original pods are untouched. */
  async function endRestores(all = false): Promise<void> {
    const r = await kdev('dev', 'end', 'web', ...(all ? ['--all'] : []));
    assert.equal(r.code, 0, r.stderr);
    const svc = await raw.get(ns.cluster, { ...svcRes(), name: 'web' });
    assert.deepEqual(svc.spec, serviceBefore.spec, 'the Service spec is restored exactly');
    assert.deepEqual(svc.metadata?.annotations, serviceBefore.metadata?.annotations);
    assert.deepEqual(await routingLeftovers(ns.cluster), []);
    const copies = await raw.list(ns.cluster, { apiVersion: 'apps/v1', plural: 'deployments', namespace: ns.name }, 'kdev.dev/duplicate-of');
    assert.deepEqual(copies.items.map((d) => d.metadata!.name), [], 'no copy left');
    assert.deepEqual(await podIdentities(ns.cluster, 'app=web'), originalPods, 'the original pods: same uid, no restart');
    const answered = await load(`http://${serviceBefore.spec!.clusterIP as string}/`, 20);
    assert.deepEqual(answered.failures, []);
    assert.deepEqual([...answered.byPod.keys()].filter((p) => !originalPods.has(p)), []);
  }

  const startMoments: Array<[string, () => Moment, boolean]> = [
    ['the route is recorded (no router yet)', () => ({ resource: { apiVersion: 'v1', plural: 'configmaps', namespace: ns.name }, name: 'web-kdev-routes', when: (t) => t === 'ADDED', what: 'the table ConfigMap created' }), false],
    ['the router Deployment is created', () => ({ resource: { apiVersion: 'apps/v1', plural: 'deployments', namespace: ns.name }, name: 'web-kdev-router', when: (t) => t === 'ADDED', what: 'the router created' }), true],
    ['the Service is switched', () => ({ resource: svcRes(), name: 'web', when: (_t, o) => o.metadata?.annotations?.[ORIGINAL] !== undefined, what: 'the Service switched' }), false],
  ];
  for (const [phase, moment, all] of startMoments) {
    it(`start killed when ${phase}: ${all ? 'end --all' : 'end'} restores`, async () => {
      await killKdevAt(ns.cluster, startArgs(), moment());
      await endRestores(all);
    });
  }

  it('end killed right after the Service is restored: the next end removes the rest', async () => {
    const r = await runKdev(startArgs());
    assert.equal(r.code, 0, r.stderr);
    await killKdevAt(ns.cluster, ['dev', 'end', 'web', '-n', ns.name], { resource: svcRes(), name: 'web', when: (_t, o) => o.metadata?.annotations?.[ORIGINAL] === undefined, what: 'the Service restored' });
    assert.notDeepEqual(await routingLeftovers(ns.cluster), [], 'the kill left the router behind');
    await endRestores();
  });
});

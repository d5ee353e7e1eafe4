// Routed duplicates on the real cluster (docs/routing.md): two identities each start a
// routed copy of one Deployment behind a Service; requests with alice's header, bob's and
// none each reach exactly the right pods; the original pods are untouched; the router killed
// mid-load leaves requests without the header answered (fail open); the last `end`
// restores the Service exactly.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyAll, raw, type RawObject } from '@kdev/core/internals';
import { jsonOf, runKdev } from '../lib/cli.js';
import { tempNamespace, waitPodReady } from '../lib/cluster.js';
import { serviceAccountKubeconfig } from '../lib/identity.js';
import { assertRoutingUndone, load, namedWeb, podIdentities, ROUTE_RULES, routingLeftovers, serveInDevPod, upgradeThrough, type LoadResult } from '../lib/route.js';

const N = Number(process.env.KDEV_ROUTE_REQUESTS ?? 1000);

/** Every answer from one of `pods`, nothing failed. */
function allFrom(r: LoadResult, pods: string[], what: string): void {
  assert.deepEqual(r.failures.slice(0, 3), [], `${what}: ${r.failures.length} failed`);
  const wrong = [...r.byPod].filter(([p]) => !pods.includes(p));
  assert.deepEqual(wrong, [], `${what}: answered by other pods than ${pods.join(', ')}`);
}

describe('routed duplicates: two developers on one Deployment', { timeout: 900_000 }, () => {
  let ns: Awaited<ReturnType<typeof tempNamespace>>;
  const kubeconfig: Record<string, string> = {};
  let url = '';
  let serviceBefore: RawObject;
  let originalPods: Map<string, string>;
  const dupPod: Record<string, string> = {};
  const as = (who: string, args: string[]) => runKdev([...args, '-n', ns.name], { KUBECONFIG: kubeconfig[who] });
  const header = (who: string) => ({ 'x-kdev-route': `system:serviceaccount:${ns.name}:${who}` });

  before(async () => {
    ns = await tempNamespace('kdev-route');
    await applyAll(ns.cluster, namedWeb(ns.name, 'web', 2));
    for (const who of ['alice', 'bob']) kubeconfig[who] = await serviceAccountKubeconfig(ns.cluster, ns.name, who, ROUTE_RULES);
    await waitPodReady(ns.cluster, 'app=web');
    serviceBefore = await raw.get(ns.cluster, { apiVersion: 'v1', plural: 'services', namespace: ns.name, name: 'web' });
    url = `http://${serviceBefore.spec!.clusterIP as string}/`;
  });
  after(async () => {
    await ns?.remove();
  });

  it('bad --route input is refused with a clear error and changes nothing', async () => {
    await applyAll(ns.cluster, [namedWeb(ns.name, 'lonely', 1)[0]!]);
    const cases: Array<[string[], RegExp]> = [
      [['web', '--mode', 'duplicate', '--route', 'x y=1'], /"x y" is not an HTTP header name/],
      [['web', '--mode', 'duplicate', '--route', 'x-kdev-route='], /not a usable header value/],
      [['web', '--route', 'alice'], /--route needs --mode duplicate/],
      [['lonely', '--mode', 'duplicate', '--route'], /no Service selects the pods of deployment\/lonely/],
    ];
    for (const [args, message] of cases) {
      const r = await runKdev(['dev', 'start', ...args, '--no-sync', '-n', ns.name]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
    assert.deepEqual(await routingLeftovers(ns.cluster), []);
    const copies = await raw.list(ns.cluster, { apiVersion: 'apps/v1', plural: 'deployments', namespace: ns.name }, 'kdev.dev/duplicate-of');
    assert.deepEqual(copies.items.map((d) => d.metadata!.name), []);
  });

  it('alice and bob each start a routed copy (default header and value: their user name)', async () => {
    // both original pods Ready before their identity is recorded
    for (let i = 0; i < 60 && [...(await podIdentities(ns.cluster, 'app=web')).keys()].length < 2; i++) await new Promise((r) => setTimeout(r, 500));
    await load(url, 20);
    originalPods = await podIdentities(ns.cluster, 'app=web');
    assert.equal(originalPods.size, 2);
    for (const who of ['alice', 'bob']) {
      const r = await as(who, ['-o', 'json', 'dev', 'start', 'web', '--mode', 'duplicate', '--route', '--no-sync']);
      const session = jsonOf<{ pod: string; route?: { header: string; value: string } }>(r);
      assert.deepEqual(session.route, { header: 'x-kdev-route', value: `system:serviceaccount:${ns.name}:${who}` }, r.stderr);
      dupPod[who] = session.pod;
      await serveInDevPod(ns.cluster, session.pod);
    }
    const svc = await raw.get(ns.cluster, { apiVersion: 'v1', plural: 'services', namespace: ns.name, name: 'web' });
    assert.deepEqual(svc.spec!.ports, serviceBefore.spec!.ports, 'ports unchanged');
    assert.equal(svc.spec!.clusterIP, serviceBefore.spec!.clusterIP, 'cluster IP unchanged');
    assert.deepEqual(JSON.parse(svc.metadata!.annotations!['kdev.dev/route-original']!), { workload: 'deployment/web', selector: { app: 'web' } });
  });

  it('the same value for another developer is refused, changing nothing', async () => {
    const before = await routingLeftovers(ns.cluster);
    const r = await as('bob', ['dev', 'start', 'web', '--mode', 'duplicate', '--route', `x-kdev-route=system:serviceaccount:${ns.name}:alice`, '--no-sync']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /already routes to the duplicate of deployment\/web that system:serviceaccount:.*:alice runs/);
    assert.deepEqual(await routingLeftovers(ns.cluster), before);
  });

  it(`${N} requests each with alice's header, bob's and none reach exactly the right pods`, async () => {
    const [a, b, none] = await Promise.all([load(url, N, { headers: header('alice') }), load(url, N, { headers: header('bob') }), load(url, N)]);
    allFrom(a, [dupPod.alice!], 'alice');
    allFrom(b, [dupPod.bob!], 'bob');
    allFrom(none, [...originalPods.keys()], 'no header');
    assert.equal([...a.byPod.values()][0], N);
    assert.equal([...b.byPod.values()][0], N);
    assert.equal([...none.byPod.values()].reduce((x, y) => x + y, 0), N);
    // a W3C baggage member with the header's name routes too
    allFrom(await load(url, 20, { headers: { baggage: `x-kdev-route=system:serviceaccount:${ns.name}:bob` } }), [dupPod.bob!], 'bob by baggage');
  });

  it('a WebSocket upgrade is routed by its header and its bytes piped both ways', async () => {
    for (const [who, pods] of [['alice', [dupPod.alice!]], ['bob', [dupPod.bob!]], ['', [...originalPods.keys()]]] as const) {
      for (let i = 0; i < 5; i++) {
        const r = await upgradeThrough(url, who ? header(who) : {});
        assert.ok(pods.includes(r.pod), `${who || 'no header'}: upgraded by ${r.pod}`);
        assert.equal(r.echoed, true);
      }
    }
  });

  it('dev status shows who holds which route on which workload', async () => {
    const r = await as('alice', ['dev', 'status']);
    assert.equal(r.code, 0, r.stderr);
    for (const who of ['alice', 'bob']) assert.match(r.stdout, new RegExp(`system:serviceaccount:${ns.name}:${who} +\\S+ +web .*duplicate +x-kdev-route: system:serviceaccount:${ns.name}:${who} → deployment/web`));
  });

  const routerPod = async () => {
    const pods = await raw.list(ns.cluster, { apiVersion: 'v1', plural: 'pods', namespace: ns.name }, 'kdev.dev/router-of');
    const live = pods.items.filter((p) => !p.metadata?.deletionTimestamp);
    assert.equal(live.length, 1);
    return live[0]!.metadata!.name!;
  };
  /** Waits until a new router serves alice's route again. */
  const routerBack = async () => {
    await waitPodReady(ns.cluster, 'kdev.dev/router-of');
    let a: LoadResult | undefined;
    for (let i = 0; i < 40; i++) {
      a = await load(url, 10, { headers: header('alice') });
      if (a.byPod.has(dupPod.alice!) && a.byPod.size === 1) break;
      await new Promise((res) => setTimeout(res, 500));
    }
    allFrom(a!, [dupPod.alice!], 'alice after the router came back');
  };

  it('the router pod deleted mid-load: every request without the header is answered', async () => {
    const running = load(url, 100_000, { concurrency: 4, forMs: 10_000 });
    await new Promise((r) => setTimeout(r, 2000));
    const deletedAt = Date.now();
    await raw.delete(ns.cluster, { apiVersion: 'v1', plural: 'pods', namespace: ns.name, name: await routerPod() });
    const r = await running;
    allFrom(r, [...originalPods.keys()], 'no header while the router was deleted');
    const after = r.answeredAt.filter((t) => t > deletedAt).length;
    process.stdout.write(`# router deleted mid-load: ${r.answeredAt.length} answered, ${after} after the delete, ${r.retried} sent again after a reset connection\n`);
    assert.ok(after > 100, `${after} answered after the delete`);
    await routerBack();
  });

  it('the router killed (no grace) mid-load: requests without the header are answered again within seconds, by the original pods', async () => {
    const running = load(url, 100_000, { concurrency: 4, forMs: 10_000 });
    await new Promise((r) => setTimeout(r, 2000));
    const killedAt = Date.now();
    await raw.delete(ns.cluster, { apiVersion: 'v1', plural: 'pods', namespace: ns.name, name: await routerPod() }, { gracePeriodSeconds: 0 });
    const r = await running;
    const window = r.failedAt.length > 0 ? Math.max(...r.failedAt) - killedAt : 0;
    const total = r.answeredAt.length + r.failures.length;
    const after = r.answeredAt.filter((t) => t > killedAt + window).length;
    process.stdout.write(`# router killed mid-load: ${r.failures.length} of ${total} refused, the last ${window} ms after the kill; ${after} answered after that; ${r.retried} sent again after a reset\n`);
    assert.ok(r.failures.every((f) => /ECONNREFUSED|ECONNRESET|socket hang up/.test(f)), r.failures.join('\n'));
    assert.ok(window < 5000, `refused for ${window} ms`);
    assert.ok(after > 100, `${after} answered after the last refusal`);
    assert.deepEqual([...r.byPod.keys()].filter((p) => !originalPods.has(p)), [], 'answered by the original pods only');
    await routerBack();
  });

  it("bob's end keeps alice's route; alice's end restores the Service exactly and removes the router", async () => {
    const r = await as('bob', ['dev', 'end', 'web']);
    assert.equal(r.code, 0, r.stderr);
    const [a, b] = await Promise.all([load(url, 100, { headers: header('alice') }), load(url, 100, { headers: header('bob') })]);
    allFrom(a, [dupPod.alice!], 'alice after bob ended');
    allFrom(b, [...originalPods.keys()], "bob's header after bob ended");
    const e = await as('alice', ['dev', 'end', 'web']);
    assert.equal(e.code, 0, e.stderr);
    await assertRoutingUndone(ns.cluster, serviceBefore, 'app=web', originalPods);
    allFrom(await load(url, 50), [...originalPods.keys()], 'after end');
  });
});

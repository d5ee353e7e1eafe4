// A scheduler replica killed in the middle of a run, the way the kernel's OOM killer would
// (SIGKILL through containerd, no chance to clean up): the requests it held go back to the
// shared queue (another replica's sweep: Store.sweep), and every one of 100,000 requests is
// answered, none placed twice, every host's usage equal to what the results put on it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { watchUntil } from '@kdev/core/internals';
import { TEMPLATES_DIR } from '@kdev/templates/bundle.js';
import { Redis } from '@kdev/templates/meeting/src/lib/redis.js';
import { makeFleet, makeRequests } from '@kdev/templates/meeting/src/scheduler/fleet.js';
import { registerHosts } from '@kdev/templates/meeting/src/scheduler/redis-store.js';
import { KEYS } from '@kdev/templates/meeting/src/scheduler/store.js';
import { scale } from '@kdev/templates/tools/bench-common.js';
import { assertLocalTarget, deployTemplate, podIps, waitDeploymentReady } from '@kdev/templates/tools/deploy.js';
import { CONTAINERD_SOCK } from '../cluster/config.js';
import { tempNamespace } from '../lib/cluster.js';

const REQUESTS = 100_000;

describe('scheduler replica killed mid-run', { timeout: 300_000 }, () => {
  let ns: Awaited<ReturnType<typeof tempNamespace>>;
  let redis: Redis;

  before(async () => {
    ns = await tempNamespace('kdev-e2e-sched-crash');
    await deployTemplate(ns.cluster, join(TEMPLATES_DIR, 'meeting'), { only: ['redis', 'scheduler'], params: { hosts: '0', schedulerReplicas: '0' } });
    const [ip] = await podIps(ns.cluster, 'redis');
    assert.ok(ip, 'redis has a ready pod');
    assertLocalTarget(ip);
    redis = new Redis({ host: ip, port: 6379 });
  });
  after(async () => {
    redis?.close();
    await ns?.remove();
  });

  it('loses no request and places none twice', { skip: existsSync(CONTAINERD_SOCK) ? false : 'kills a container through the local cluster\'s containerd' }, async () => {
    const fleet = makeFleet(10_000, 1);
    await registerHosts(redis, fleet);
    const requests = makeRequests(REQUESTS, 9, 'crash');
    for (let i = 0; i < requests.length; i += 1000) await redis.call('RPUSH', KEYS.queue, ...requests.slice(i, i + 1000).map((r) => JSON.stringify(r)));
    await scale(ns.cluster, 'scheduler', 2);
    await waitDeploymentReady(ns.cluster, 'scheduler', 120_000);

    // once the replicas are busy, kill one of them
    const t0 = Date.now();
    while (Number(await redis.call('LLEN', KEYS.results)) < 5000) {
      assert.ok(Date.now() - t0 < 60_000, 'the replicas place requests');
      await new Promise((r) => setTimeout(r, 5));
    }
    const pods = await ns.cluster.core.listNamespacedPod({ namespace: ns.name, labelSelector: 'app=scheduler' });
    const victim = pods.items[0]!;
    const container = victim.status!.containerStatuses![0]!.containerID!.replace(/^containerd:\/\//, '');
    execFileSync('ctr', ['--address', CONTAINERD_SOCK, '--namespace', 'k8s.io', 'task', 'kill', '--signal', 'SIGKILL', container]);
    const killedAt = Number(await redis.call('LLEN', KEYS.results));
    // the kubelet restarts it (a new process: a new store id)
    await watchUntil<V1Pod, true>(ns.cluster, {
      resource: { apiVersion: 'v1', plural: 'pods', namespace: ns.name },
      fieldSelector: `metadata.name=${victim.metadata!.name}`,
      timeoutMs: 60_000,
      what: 'the killed replica to be restarted',
      onEvent: (_type, pod) => ((pod.status?.containerStatuses?.[0]?.restartCount ?? 0) > 0 ? { done: true, value: true } : { done: false }),
    });

    // every request answered (a result may come twice: the same placement)
    const answers = new Map<string, { ok: boolean; host?: string }>();
    const deadline = Date.now() + 120_000;
    while (answers.size < REQUESTS) {
      assert.ok(Date.now() < deadline, `answered ${answers.size} of ${REQUESTS} (killed at ${killedAt} results)`);
      let got = await redis.call('LPOP', KEYS.results, 1000);
      if (!Array.isArray(got)) {
        const one = await redis.call('BLPOP', KEYS.results, 1); // blocks until a result comes
        got = Array.isArray(one) ? [one[1]!] : [];
      }
      for (const raw of got) {
        const r = JSON.parse(String(raw)) as { id: string; ok: boolean; host?: string };
        const seen = answers.get(r.id);
        if (seen) assert.deepEqual({ ok: r.ok, host: r.host }, { ok: seen.ok, host: seen.host }, `${r.id} answered twice, differently`);
        answers.set(r.id, r);
      }
    }
    assert.deepEqual([...answers.keys()].sort(), requests.map((r) => r.id).sort());

    // the requests the killed replica held were put back by a sweep
    const ips = await podIps(ns.cluster, 'scheduler');
    let requeued = 0;
    for (const ip of ips) {
      assertLocalTarget(ip);
      requeued += ((await (await fetch(`http://${ip}:8080/stats`)).json()) as { requeued: number }).requeued;
    }
    assert.ok(requeued > 0, 'a sweep put requests back');

    // each placed once, where its result says; each host's usage is what its results add up to
    const placed = [...answers].filter(([, r]) => r.ok);
    assert.equal(Number(await redis.call('HLEN', KEYS.placements)), placed.length);
    const cpuOf = new Map(requests.map((r) => [r.id, r.cpu]));
    const want = new Map<string, number>();
    for (const [id, r] of placed) want.set(r.host!, (want.get(r.host!) ?? 0) + cpuOf.get(id)!);
    const uses = (await redis.call('HGETALL', KEYS.use)) as string[];
    for (let i = 0; i < uses.length; i += 2) assert.equal(Number(uses[i + 1]!.split('|')[1]), want.get(uses[i]!) ?? 0, `cpu used on ${uses[i]}`);
    const hosts = await redis.call('HMGET', KEYS.placements, ...placed.slice(0, 1000).map(([id]) => id));
    assert.deepEqual((hosts as string[]).map((h) => h.split('|')[0]), placed.slice(0, 1000).map(([, r]) => r.host));
  });
});

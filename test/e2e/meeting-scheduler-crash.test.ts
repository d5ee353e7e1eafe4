// A scheduler replica killed in the middle of a run, the way the kernel's OOM killer would
// (SIGKILL through containerd, no chance to clean up): the requests it held go back to the
// shared queue (another replica's sweep: Store.sweep), and every one of 100,000 requests is
// answered, none placed twice, every host's usage equal to what the results put on it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { watchUntil } from '@kdev/core/internals';
import { Redis } from '@kdev/templates/meeting/src/lib/redis.js';
import { makeRequests } from '@kdev/templates/meeting/src/scheduler/fleet.js';
import { KEYS } from '@kdev/templates/meeting/src/scheduler/store.js';
import { assertLocalTarget, podIps } from '@kdev/templates/tools/deploy.js';
import { CONTAINERD_SOCK } from '../cluster/config.js';
import { tempNamespace } from '../lib/cluster.js';
import { assertPlacedOnce, busyReplicas, deployScheduler, readAnswers } from '../lib/scheduler.js';

const REQUESTS = 100_000;
/** The scheduler's sweep puts back what a replica silent this long held (its staleMs). */
const STALE_MS = 15_000;

describe('scheduler replica killed mid-run', { timeout: 300_000 }, () => {
  let ns: Awaited<ReturnType<typeof tempNamespace>>;
  let redis: Redis;

  before(async () => {
    ns = await tempNamespace('kdev-e2e-sched-crash');
    redis = await deployScheduler(ns.cluster);
  });
  after(async () => {
    redis?.close();
    await ns?.remove();
  });

  it('loses no request and places none twice', { skip: existsSync(CONTAINERD_SOCK) ? false : 'kills a container through the local cluster\'s containerd' }, async (t) => {
    const requests = makeRequests(REQUESTS, 9, 'crash');
    // once the replicas are busy, kill one of them
    const { pods, container } = await busyReplicas(ns.cluster, redis, requests);
    const victim = pods[0]!;
    execFileSync('ctr', ['--address', CONTAINERD_SOCK, '--namespace', 'k8s.io', 'task', 'kill', '--signal', 'SIGKILL', container]);
    const killedAt = Number(await redis.call('LLEN', KEYS.results));
    const killedMs = Date.now();
    // the kubelet restarts it (a new process: a new store id)
    await watchUntil<V1Pod, true>(ns.cluster, {
      resource: { apiVersion: 'v1', plural: 'pods', namespace: ns.name },
      fieldSelector: `metadata.name=${victim.metadata!.name}`,
      timeoutMs: 60_000,
      what: 'the killed replica to be restarted',
      onEvent: (_type, pod) => ((pod.status?.containerStatuses?.[0]?.restartCount ?? 0) > 0 ? { done: true, value: true } : { done: false }),
    });

    // every request answered (a result may come twice: the same placement)
    const answers = await readAnswers(redis, REQUESTS, 120_000, (r, seen) => assert.deepEqual({ ok: r.ok, host: r.host }, { ok: seen.ok, host: seen.host }, `${r.id} answered twice, differently (killed at ${killedAt} results)`));
    assert.deepEqual([...answers.keys()].sort(), requests.map((r) => r.id).sort());
    const answeredMs = Date.now() - killedMs;

    // the requests the killed replica held were put back by a sweep
    const ips = await podIps(ns.cluster, 'scheduler');
    let requeued = 0;
    for (const ip of ips) {
      assertLocalTarget(ip);
      requeued += ((await (await fetch(`http://${ip}:8080/stats`)).json()) as { requeued: number }).requeued;
    }
    // Requests the victim held can only come back through a sweep, which waits until it has
    // been silent for STALE_MS: answers that all came sooner mean it held none at the kill
    // (on a quiet machine the kill can land between its exchanges), and there is nothing to sweep.
    if (answeredMs >= STALE_MS) assert.ok(requeued > 0, `a sweep put requests back (all answered ${answeredMs} ms after the kill)`);
    else t.diagnostic(`all answered ${answeredMs} ms after the kill, before any sweep: the victim held no request (requeued ${requeued})`);

    // each placed once, where its result says; each host's usage is what its results add up to
    await assertPlacedOnce(redis, answers, requests);
  });
});

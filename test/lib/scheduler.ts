// Shared steps of the scheduler's e2e tests on the cluster's Redis: queue a workload, wait
// for the replicas to be busy, read every answer, and check each placement was made once.
import assert from 'node:assert/strict';
import type { Cluster } from '@kdev/core/internals';
import type { V1Pod } from '@kubernetes/client-node';
import type { Redis } from '@kdev/templates/meeting/src/lib/redis.js';
import { makeFleet } from '@kdev/templates/meeting/src/scheduler/fleet.js';
import { registerHosts } from '@kdev/templates/meeting/src/scheduler/redis-store.js';
import { scale } from '@kdev/templates/tools/bench-common.js';
import { join } from 'node:path';
import { TEMPLATES_DIR } from '@kdev/templates/bundle.js';
import { Redis as RedisClient } from '@kdev/templates/meeting/src/lib/redis.js';
import { assertLocalTarget, deployTemplate, podIps, waitDeploymentReady } from '@kdev/templates/tools/deploy.js';
import type { PlacementRequest } from '@kdev/templates/meeting/src/scheduler/placement.js';
import { KEYS } from '@kdev/templates/meeting/src/scheduler/store.js';

export type Answer = { id: string; ok: boolean; host?: string };

/** Pushes the requests to the shared queue, 1000 per RPUSH. */
export async function queueRequests(redis: Redis, requests: readonly PlacementRequest[]): Promise<void> {
  for (let i = 0; i < requests.length; i += 1000) await redis.call('RPUSH', KEYS.queue, ...requests.slice(i, i + 1000).map((r) => JSON.stringify(r)));
}

/** The meeting template's Redis and scheduler (0 replicas) in the namespace; a client of that Redis. */
export async function deployScheduler(cluster: Cluster): Promise<Redis> {
  await deployTemplate(cluster, join(TEMPLATES_DIR, 'meeting'), { only: ['redis', 'scheduler'], params: { hosts: '0', schedulerReplicas: '0' } });
  const [ip] = await podIps(cluster, 'redis');
  assert.ok(ip, 'redis has a ready pod');
  assertLocalTarget(ip);
  return new RedisClient({ host: ip, port: 6379 });
}

/**
 * 10,000 hosts, the requests queued, `replicas` scheduler replicas started and busy (5,000
 * results out); returns their pods and the containerd id of the first one's container.
 */
export async function busyReplicas(cluster: Cluster, redis: Redis, requests: readonly PlacementRequest[], replicas = 2): Promise<{ pods: V1Pod[]; container: string }> {
  await registerHosts(redis, makeFleet(10_000, 1));
  await queueRequests(redis, requests);
  await scale(cluster, 'scheduler', replicas);
  await waitDeploymentReady(cluster, 'scheduler', 120_000);
  await waitForResults(redis, 5000);
  const pods = (await cluster.core.listNamespacedPod({ namespace: cluster.namespace, labelSelector: 'app=scheduler' })).items;
  return { pods, container: pods[0]!.status!.containerStatuses![0]!.containerID!.replace(/^containerd:\/\//, '') };
}

/** Waits until at least n results are queued (the replicas are busy). */
export async function waitForResults(redis: Redis, n: number, timeoutMs = 60_000): Promise<void> {
  const t0 = Date.now();
  while (Number(await redis.call('LLEN', KEYS.results)) < n) {
    assert.ok(Date.now() - t0 < timeoutMs, 'the replicas place requests');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Reads results until `count` distinct requests are answered; `seen` is called for a repeated
 * id with the earlier answer. Blocks on BLPOP when the list is empty.
 */
export async function readAnswers(redis: Redis, count: number, timeoutMs: number, seen: (now: Answer, before: Answer) => void): Promise<Map<string, Answer>> {
  const answers = new Map<string, Answer>();
  const deadline = Date.now() + timeoutMs;
  while (answers.size < count) {
    assert.ok(Date.now() < deadline, `answered ${answers.size} of ${count}`);
    let got = await redis.call('LPOP', KEYS.results, 1000);
    if (!Array.isArray(got)) {
      const one = await redis.call('BLPOP', KEYS.results, 1); // blocks until a result comes
      got = Array.isArray(one) ? [one[1]!] : [];
    }
    for (const raw of got) {
      const r = JSON.parse(String(raw)) as Answer;
      const before = answers.get(r.id);
      if (before) seen(r, before);
      answers.set(r.id, r);
    }
  }
  return answers;
}

/** Each placed request placed once, where its answer says; each host's cpu what its answers add up to. */
export async function assertPlacedOnce(redis: Redis, answers: ReadonlyMap<string, Answer>, requests: readonly PlacementRequest[]): Promise<void> {
  const placed = [...answers].filter(([, r]) => r.ok);
  assert.equal(Number(await redis.call('HLEN', KEYS.placements)), placed.length);
  const cpuOf = new Map(requests.map((r) => [r.id, r.cpu]));
  const want = new Map<string, number>();
  for (const [id, r] of placed) want.set(r.host!, (want.get(r.host!) ?? 0) + cpuOf.get(id)!);
  const uses = (await redis.call('HGETALL', KEYS.use)) as string[];
  for (let i = 0; i < uses.length; i += 2) assert.equal(Number(uses[i + 1]!.split('|')[1]), want.get(uses[i]!) ?? 0, `cpu used on ${uses[i]}`);
  const hosts = await redis.call('HMGET', KEYS.placements, ...placed.slice(0, 1000).map(([id]) => id));
  assert.deepEqual((hosts as string[]).map((h) => h.split('|')[0]), placed.slice(0, 1000).map(([, r]) => r.host));
}

// A scheduler replica alive but silent past the sweep window (SIGSTOP of its container's
// process, found through containerd by the container id of the pod this test created): the
// other replica's sweep puts the requests it held back in the queue and takes its lease
// away; when it is continued, its next exchange is refused (fenced) and it drops what it
// held. Every request is answered exactly once, none placed twice.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Redis } from '@kdev/templates/meeting/src/lib/redis.js';
import { makeRequests } from '@kdev/templates/meeting/src/scheduler/fleet.js';
import { KEYS } from '@kdev/templates/meeting/src/scheduler/store.js';
import { assertLocalTarget } from '@kdev/templates/tools/deploy.js';
import { CONTAINERD_SOCK } from '../cluster/config.js';
import { tempNamespace } from '../lib/cluster.js';
import { assertPlacedOnce, busyReplicas, deployScheduler, queueRequests, readAnswers } from '../lib/scheduler.js';

/** Queued before the replicas start; more are fed, up to POOL, until the replica is stopped. */
const FIRST = 50_000;
const POOL = 300_000;
/** The scheduler's defaults: a replica silent for 15 s is swept by a sweep every 5 s. */
const PAUSE_MS = 24_000;

/** The PIDs of a container's task, from containerd (the container of a pod this test made). */
function containerPids(containerId: string): number[] {
  const out = execFileSync('ctr', ['--address', CONTAINERD_SOCK, '--namespace', 'k8s.io', 'task', 'ps', containerId], { encoding: 'utf8' });
  return out
    .split('\n')
    .slice(1)
    .map((l) => Number(l.trim().split(/\s+/)[0]))
    .filter((p) => Number.isInteger(p) && p > 1);
}

async function stats(ip: string): Promise<{ fenced: number; requeued: number; replica: string; storeId: string }> {
  assertLocalTarget(ip);
  return (await (await fetch(`http://${ip}:8080/stats`)).json()) as { fenced: number; requeued: number; replica: string; storeId: string };
}

describe('scheduler replica silent past the sweep window', { timeout: 300_000 }, () => {
  let ns: Awaited<ReturnType<typeof tempNamespace>>;
  let redis: Redis;
  let stopped: number[] = [];

  before(async () => {
    ns = await tempNamespace('kdev-e2e-sched-fence');
    redis = await deployScheduler(ns.cluster);
  });
  after(async () => {
    for (const pid of stopped) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // gone already
      }
    }
    redis?.close();
    await ns?.remove();
  });

  it('loses its claim: every request answered exactly once, none placed twice', { skip: existsSync(CONTAINERD_SOCK) ? false : "stops a container's process found through the local cluster's containerd" }, async () => {
    const pool = makeRequests(POOL, 11, 'fence');
    let sent = FIRST;
    // once both replicas are busy, stop one (its process keeps its state and its connection)
    const { pods, container } = await busyReplicas(ns.cluster, redis, pool.slice(0, sent));
    const [victim, other] = pods;
    const victimStore = (await stats(victim!.status!.podIP!)).storeId;
    const pids = containerPids(container);
    assert.ok(pids.length > 0, `container ${container} has a process`);
    // Stop it at a moment it holds requests (its store is listed in sched:takers): a replica
    // that took nothing in its last two exchanges holds nothing a sweep could put back, and
    // is not fenced. The queue is kept fed meanwhile, since two replicas drain it in seconds
    // on a quiet machine; if the moment was wrong, continue it and try again.
    for (let attempt = 0; ; attempt++) {
      if (Number(await redis.call('LLEN', KEYS.queue)) < 5000 && sent < pool.length) {
        await queueRequests(redis, pool.slice(sent, sent + 5000));
        sent = Math.min(sent + 5000, pool.length);
      }
      stopped = pids;
      for (const pid of pids) process.kill(pid, 'SIGSTOP');
      if ((await redis.call('ZSCORE', KEYS.takers, victimStore)) !== null) break;
      for (const pid of pids) process.kill(pid, 'SIGCONT');
      stopped = [];
      assert.ok(attempt < 50, `the replica held requests at one of 50 moments (queue ${String(await redis.call('LLEN', KEYS.queue))})`);
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 80));
    }
    const requests = pool.slice(0, sent);
    const heldAt = Number(await redis.call('HLEN', KEYS.leases));
    assert.equal(heldAt, 2, 'both replicas hold a lease');
    await new Promise((r) => setTimeout(r, PAUSE_MS));
    // the other replica swept the silent one: its lease is gone
    assert.equal(Number(await redis.call('HLEN', KEYS.leases)) <= 1, true, 'the silent replica lost its lease');
    for (const pid of stopped) process.kill(pid, 'SIGCONT');
    stopped = [];

    // every request answered; then the continued replica has been refused
    let twice = 0;
    const answers = await readAnswers(redis, requests.length, 120_000, () => twice++);
    const victimIp = victim!.status!.podIP!;
    const fenceDeadline = Date.now() + 30_000;
    let v = await stats(victimIp);
    while (v.fenced === 0) {
      assert.ok(Date.now() < fenceDeadline, 'the continued replica was refused (fenced)');
      await new Promise((r) => setTimeout(r, 200));
      v = await stats(victimIp);
    }
    // anything it still sent would be here by now: give it a moment beyond its first refusal
    await new Promise((r) => setTimeout(r, 2000));
    const late = (await redis.call('LRANGE', KEYS.results, 0, -1)) as string[];
    for (const raw of late) {
      const r = JSON.parse(raw) as { id: string };
      if (answers.has(r.id)) twice++;
    }
    assert.equal(twice, 0, 'no request answered twice');
    assert.deepEqual([...answers.keys()].sort(), requests.map((r) => r.id).sort());
    assert.ok((await stats(other!.status!.podIP!)).requeued > 0, 'a sweep put the silent replica\'s requests back');

    // each placed once, where its result says; each host's usage is what its results add up to
    await assertPlacedOnce(redis, answers, requests);
  });
});

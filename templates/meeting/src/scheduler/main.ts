// scheduler: places media-server instances on hosts. Several replicas share one Redis;
// each keeps its own cache. HTTP: POST /schedule, POST /release/:id, GET /stats.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { envUrl, HttpError, jsonLog, onShutdown, Router, serve } from '../lib/http.js';
import { parseRedisUrl, Redis } from '../lib/redis.js';
import { makeFleet } from './fleet.js';
import { RedisStore, registerHosts } from './redis-store.js';
import { parsePlacementRequest } from './request.js';
import { Scheduler } from './scheduler.js';
import { QueueFullError } from './queue.js';
import { KEYS } from './store.js';

const redisOpts = parseRedisUrl(envUrl('REDIS_URL', 'redis://redis:6379'));
const redis = new Redis(redisOpts);
const store = new RedisStore(redis, { blocking: new Redis(redisOpts), skipOwn: true });
const intEnv = (name: string, fallback: number) => {
  const v = Number(process.env[name]);
  return Number.isInteger(v) && v > 0 ? v : fallback;
};
const sched = new Scheduler(store, {
  replica: process.env.HOSTNAME ?? hostname(),
  batch: intEnv('SCHED_BATCH', 64),
  pick: { sample: intEnv('SCHED_SAMPLE', 48), topK: intEnv('SCHED_TOPK', 5) },
  // 0 is allowed: a conflict then always costs a round trip
  alternates: process.env.SCHED_ALTERNATES === '0' ? 0 : intEnv('SCHED_ALTERNATES', 2),
  queueCapacity: intEnv('SCHED_QUEUE', 1000),
  shared: process.env.SCHED_SHARED_QUEUE !== '0',
  onError: (err) => jsonLog({ svc: 'scheduler', msg: `step failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}` }),
});
let ready = false;

/** Key-value lines (cgroup cpu.stat). */
function statFile(path: string): Record<string, number> {
  return Object.fromEntries(
    readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => {
        const [k, v] = l.split(' ');
        return [k, Number(v)];
      }),
  ) as Record<string, number>;
}

/**
 * The container's CPU limit and how long it was throttled: cgroup v2 (cpu.max, cpu.stat
 * throttled_usec) or v1 (cpu.cfs_quota_us / cpu.cfs_period_us, cpu.stat throttled_time ns).
 */
function cgroupCpu(): { max: string; throttledUs: number; periods: number; throttled: number } | undefined {
  try {
    const st = statFile('/sys/fs/cgroup/cpu.stat');
    return { max: readFileSync('/sys/fs/cgroup/cpu.max', 'utf8').trim(), throttledUs: st.throttled_usec!, periods: st.nr_periods!, throttled: st.nr_throttled! };
  } catch {
    // not cgroup v2
  }
  try {
    const dir = '/sys/fs/cgroup/cpu';
    const st = statFile(`${dir}/cpu.stat`);
    const max = `${readFileSync(`${dir}/cpu.cfs_quota_us`, 'utf8').trim()} ${readFileSync(`${dir}/cpu.cfs_period_us`, 'utf8').trim()}`;
    return { max, throttledUs: st.throttled_time! / 1000, periods: st.nr_periods!, throttled: st.nr_throttled! };
  } catch {
    return undefined;
  }
}

function schedStat(): { runNs: number; waitNs: number } | undefined {
  try {
    const [run, wait] = readFileSync('/proc/self/schedstat', 'utf8').trim().split(/\s+/).map(Number);
    return { runNs: run!, waitNs: wait! };
  } catch {
    return undefined;
  }
}

async function init(): Promise<void> {
  for (;;) {
    try {
      // a fresh environment gets a small fleet once (SET NX: only the first replica seeds)
      const seed = intEnv('SEED_HOSTS', 0);
      if (seed > 0 && (await redis.call('SET', 'sched:seeded', '1', 'NX')) === 'OK') await registerHosts(redis, makeFleet(seed));
      await sched.init();
      sched.start();
      ready = true;
      jsonLog({ svc: 'scheduler', msg: `cache loaded: ${sched.cache.size} hosts at version ${sched.cache.version}` });
      return;
    } catch (err) {
      jsonLog({ svc: 'scheduler', msg: `waiting for redis: ${err instanceof Error ? err.message : String(err)}` });
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

const router = new Router()
  .post('/schedule', async (ctx) => {
    const req = parsePlacementRequest(ctx.body);
    try {
      const p = await sched.schedule(req, 20_000);
      if (!p.ok) throw new HttpError(409, p.error ?? 'not placed', p);
      return p;
    } catch (err) {
      if (err instanceof QueueFullError) return { status: 503, headers: { 'retry-after': String(err.retryAfterS) }, body: { error: err.message } };
      throw err;
    }
  })
  .post('/release/:id', async (ctx) => ({ released: await store.release(ctx.params.id!) }))
  .get('/hosts/:id', async (ctx) => {
    const h = sched.cache.hosts.get(ctx.params.id!);
    if (!h) throw new HttpError(404, `no host ${ctx.params.id}`);
    return h;
  })
  .get('/stats', async () => ({
    replica: sched.opts.replica,
    /** This replica's store id: its entry in sched:takers, sched:leases and its taken lists. */
    storeId: store.id,
    hosts: sched.cache.size,
    version: sched.cache.version,
    cache: sched.cache.stats,
    /** Reading the change log: ms spent decoding entries, changes decoded. */
    store: store.stats,
    memory: process.memoryUsage(),
    cgroup: cgroupCpu(),
    queue: { depth: sched.local.length, capacity: sched.local.capacity, ...sched.local.stats },
    ...sched.stats,
    /** CPU time of this process (µs), so a benchmark can say where each core's time went. */
    cpu: process.cpuUsage(),
    /** Linux schedstat: ns on a CPU, ns waiting for one (runnable but not running). */
    sched: schedStat(),
    sharedQueue: await redis.call('LLEN', KEYS.queue),
  }));

const server = await serve({ name: 'scheduler', port: intEnv('PORT', 8080), router, ready: () => ready });
onShutdown(server, async () => {
  await sched.stop();
  store.close();
});
void init();

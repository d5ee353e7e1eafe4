// quality-indexer: reads the report stream as a consumer group (so replicas share the
// work and a crash loses nothing), bulk-indexes into OpenSearch, then acknowledges.
import { hostname } from 'node:os';
import { envUrl, jsonLog, onShutdown, Router, serve } from '../lib/http.js';
import { ok, parseRedisUrl, Redis, RedisReplyError } from '../lib/redis.js';
import { SearchClient } from './search.js';
import { entries } from './stream.js';

const STREAM = 'quality:reports';
const GROUP = 'indexers';
const CONSUMER = process.env.HOSTNAME ?? hostname();
const BATCH = Number(process.env.INDEX_BATCH ?? 2000);
const redis = new Redis(parseRedisUrl(envUrl('REDIS_URL', 'redis://redis:6379')));
const search = new SearchClient(envUrl('SEARCH_URL', 'http://opensearch:9200'));
const stats = { indexed: 0, failed: 0, batches: 0, lastError: '' };
let ready = false;
let running = true;

async function loop(): Promise<void> {
  let pendingFirst = true; // after a restart, first finish what this consumer had taken
  while (running) {
    try {
      if (!ready) {
        const r = await redis.pipeline([['XGROUP', 'CREATE', STREAM, GROUP, '0', 'MKSTREAM']]);
        if (r[0] instanceof RedisReplyError && !r[0].message.startsWith('BUSYGROUP')) throw r[0];
        await search.ensureIndex();
        ready = true;
        jsonLog({ svc: 'quality-indexer', msg: 'index and consumer group ready' });
      }
      const reply = ok(await redis.call('XREADGROUP', 'GROUP', GROUP, CONSUMER, 'COUNT', BATCH, ...(pendingFirst ? [] : ['BLOCK', 2000]), 'STREAMS', STREAM, pendingFirst ? '0' : '>'));
      const docs = entries(reply);
      if (pendingFirst && docs.length === 0) {
        pendingFirst = false;
        continue;
      }
      if (docs.length === 0) continue;
      const r = await search.bulk(docs);
      stats.batches++;
      stats.indexed += docs.length - r.errors;
      stats.failed += r.errors;
      if (r.first) stats.lastError = r.first;
      // failed documents are rejected by the mapping (bad data), not transient: ack them too
      await redis.call('XACK', STREAM, GROUP, ...docs.map((d) => d.id));
    } catch (err) {
      stats.lastError = err instanceof Error ? err.message : String(err);
      jsonLog({ svc: 'quality-indexer', msg: `retrying: ${stats.lastError}` });
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

const router = new Router().get('/stats', async () => {
  const pending = await redis.call('XPENDING', STREAM, GROUP).catch(() => null);
  return { ...stats, consumer: CONSUMER, pending: Array.isArray(pending) ? pending[0] : null, streamLength: await redis.call('XLEN', STREAM) };
});
const server = await serve({ name: 'quality-indexer', port: Number(process.env.PORT ?? 8080), router, ready: () => ready });
onShutdown(server, () => {
  running = false;
});
void loop();

// quality-ingest: POST /reports (one report or {reports: [...]}). Admission follows the
// process's memory between two watermarks (smooth throttling); admitted reports are
// buffered and appended to the Redis stream that the indexer reads, so a slow search
// engine never blocks clients.
import { envUrl, HttpError, jsonLog, onShutdown, Router, serve } from '../lib/http.js';
import { detached } from '../lib/propagate.js';
import { ok, parseRedisUrl, Redis } from '../lib/redis.js';
import { parseReport, reportsOf, type QualityReport } from './report.js';
import { SmoothThrottle } from './throttle.js';

export const STREAM = 'quality:reports';
const MB = 1024 * 1024;
const redis = new Redis(parseRedisUrl(envUrl('REDIS_URL', 'redis://redis:6379')));
const LOW = Number(process.env.MEM_LOW_MB ?? 96) * MB;
const HIGH = Number(process.env.MEM_HIGH_MB ?? 160) * MB;
const MAX_BUFFER = Number(process.env.MAX_BUFFER ?? 100_000);
const STREAM_MAXLEN = Number(process.env.STREAM_MAXLEN ?? 2_000_000);

const throttle = new SmoothThrottle({ lowBytes: LOW, highBytes: HIGH, tauS: 1, memory: () => process.memoryUsage().rss, now: Date.now });
setInterval(() => throttle.update(), 100).unref();

let buffer: Array<{ rid: string; r: QualityReport }> = [];
let flushing = false;
const stats = { received: 0, invalid: 0, queued: 0, writeErrors: 0 };

async function flush(): Promise<void> {
  if (flushing || buffer.length === 0) return;
  flushing = true;
  try {
    while (buffer.length > 0) {
      const batch = buffer.slice(0, 2000);
      const cmds = batch.map((b) => ['XADD', STREAM, 'MAXLEN', '~', STREAM_MAXLEN, '*', 'r', JSON.stringify(b.r), 'rid', b.rid]);
      try {
        for (const r of await redis.pipeline(cmds)) ok(r);
        buffer = buffer.slice(batch.length);
        stats.queued += batch.length;
      } catch (err) {
        stats.writeErrors++;
        jsonLog({ svc: 'quality-ingest', msg: `queue write failed, keeping ${buffer.length} reports: ${err instanceof Error ? err.message : String(err)}` });
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  } finally {
    flushing = false;
  }
}

const router = new Router()
  .post('/reports', (ctx) => {
    const items = reportsOf(ctx.body);
    const reports = items.map((it, i) => {
      try {
        return parseReport(it);
      } catch (err) {
        stats.invalid++;
        throw new HttpError(400, items.length > 1 ? `report ${i}: ${(err as Error).message}` : (err as Error).message);
      }
    });
    stats.received += reports.length;
    if (buffer.length + reports.length > MAX_BUFFER) {
      return { status: 503, headers: { 'retry-after': '1' }, body: { error: 'the ingest buffer is full', accepted: 0, rejected: reports.length } };
    }
    let accepted = 0;
    for (const r of reports) {
      if (throttle.admit()) {
        buffer.push({ rid: ctx.requestId, r });
        accepted++;
      }
    }
    // the flush writes the buffer of many requests: started outside this one's context
    if (accepted > 0) detached(() => setImmediate(() => void flush()));
    const rejected = reports.length - accepted;
    const body = { accepted, rejected, admissionRate: Math.round(throttle.currentRate * 1000) / 1000 };
    if (accepted === 0) return { status: 429, headers: { 'retry-after': '1' }, body: { error: 'throttled: memory above the low watermark', ...body } };
    return { status: 202, body };
  })
  .get('/stats', async () => ({
    ...stats,
    buffered: buffer.length,
    rssMb: Math.round(process.memoryUsage().rss / MB),
    watermarksMb: { low: LOW / MB, high: HIGH / MB },
    admissionRate: throttle.currentRate,
    admitted: throttle.admitted,
    throttled: throttle.rejected,
    streamLength: await redis.call('XLEN', STREAM),
  }));

const server = await serve({
  name: 'quality-ingest',
  port: Number(process.env.PORT ?? 8080),
  router,
  quietPaths: ['/reports'],
  ready: async () => (await redis.call('PING')) === 'PONG',
});
onShutdown(server, flush);

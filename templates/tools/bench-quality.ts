// npm run bench:quality — the meeting quality stack on the local cluster. A bounded load
// generator (at most BENCH_REPORTS reports and BENCH_SECONDS seconds, aimed only at the
// cluster's own pod addresses) posts batches of reports to quality-ingest; then the
// queries behind the dashboard (per user, per room, by region and by version over time)
// are timed through the gateway. Writes bench/results/quality.json.
import { request, Agent } from 'node:http';
import { MEETING_DIR, percentile, withNamespace, writeResult } from './bench-common.js';
import { assertLocalTarget, deployTemplate, podIps } from './deploy.js';

const MAX_REPORTS = Number(process.env.BENCH_REPORTS ?? 200_000);
const MAX_SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const BATCH = 200;
const CONCURRENCY = 8;
const QUERIES = Number(process.env.BENCH_QUERIES ?? 200);
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function post(url: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function get(url: string): Promise<{ status: number; body: string; ms: number }> {
  const t = performance.now();
  return new Promise((resolve, reject) => {
    request(url, { agent }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, ms: performance.now() - t }));
    })
      .on('error', reject)
      .end();
  });
}

const REGIONS = ['eu-west', 'eu-central', 'us-east', 'us-west', 'ap-south'];
const VERSIONS = ['5.0.3', '5.1.0', '5.1.2', '5.2.0'];
const NETWORKS = ['wifi', 'ethernet', 'cellular'];

function report(i: number, now: number): Record<string, unknown> {
  const user = i % 2000;
  return {
    ts: now - (i % 600) * 1000,
    user: `u-${user}`,
    room: `r-${user % 300}`,
    region: REGIONS[user % REGIONS.length],
    network: NETWORKS[i % 3],
    bitrateKbps: 300 + ((i * 37) % 2500),
    lossPct: (i % 50) / 10,
    jitterMs: (i * 7) % 80,
    rttMs: 20 + (i % 200),
    cpuPct: (i * 13) % 100,
    memMb: 200 + (i % 900),
    os: ['Windows 11', 'macOS 14', 'Linux', 'iOS 17', 'Android 14'][i % 5],
    appVersion: VERSIONS[user % VERSIONS.length],
  };
}

async function main(): Promise<void> {
  const result = await withNamespace('kdev-bench-quality', async (cluster) => {
    console.log(`namespace ${cluster.namespace}: deploying the meeting template`);
    await deployTemplate(cluster, MEETING_DIR, { params: { hosts: '100', schedulerReplicas: '1' } });
    const [ingestIp] = await podIps(cluster, 'quality-ingest');
    const [gatewayIp] = await podIps(cluster, 'gateway');
    const [indexerIp] = await podIps(cluster, 'quality-indexer');
    for (const ip of [ingestIp, gatewayIp, indexerIp]) {
      if (!ip) throw new Error('a quality service has no ready pod');
      assertLocalTarget(ip);
    }
    const ingest = `http://${ingestIp}:8080/reports`;
    const now = Date.now();
    let next = 0;
    let accepted = 0;
    let throttled = 0;
    const t0 = performance.now();
    const deadline = t0 + MAX_SECONDS * 1000;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < MAX_REPORTS && performance.now() < deadline) {
          const first = next;
          next += BATCH;
          const body = JSON.stringify({ reports: Array.from({ length: BATCH }, (_, k) => report(first + k, now)) });
          const r = await post(ingest, body);
          if (r.status === 202 || r.status === 429) {
            const j = JSON.parse(r.body) as { accepted: number; rejected: number };
            accepted += j.accepted;
            throttled += j.rejected;
            if (r.status === 429) await new Promise((res) => setTimeout(res, 200));
          } else throw new Error(`ingest answered ${r.status}: ${r.body.slice(0, 200)}`);
        }
      }),
    );
    const ingestSeconds = (performance.now() - t0) / 1000;
    console.log(`ingest: ${accepted} accepted, ${throttled} throttled in ${ingestSeconds.toFixed(1)} s`);

    // wait (bounded) for the indexer to catch up, to report the end-to-end indexing rate too
    let indexed = 0;
    const idxDeadline = performance.now() + 300_000;
    while (performance.now() < idxDeadline) {
      const s = JSON.parse((await get(`http://${indexerIp}:8080/stats`)).body) as { indexed: number; failed: number };
      indexed = s.indexed + s.failed;
      if (indexed >= accepted) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const indexSeconds = (performance.now() - t0) / 1000;
    console.log(`indexed: ${indexed} in ${indexSeconds.toFixed(1)} s`);
    await new Promise((r) => setTimeout(r, 1500)); // one refresh interval

    const gw = `http://${gatewayIp}:8080`;
    const paths = (i: number) =>
      [
        `/api/quality/users/u-${(i * 7) % 2000}?since=3600`,
        `/api/quality/rooms/r-${(i * 11) % 300}?since=3600`,
        '/api/quality/aggregate?by=region&interval=60&since=3600',
        '/api/quality/aggregate?by=version&interval=60&since=3600',
      ][i % 4]!;
    for (let i = 0; i < 8; i++) await get(gw + paths(i)); // warm-up, not counted
    const times: number[] = [];
    for (let i = 0; i < QUERIES; i++) {
      const r = await get(gw + paths(i));
      if (r.status !== 200) throw new Error(`query ${paths(i)} answered ${r.status}: ${r.body.slice(0, 200)}`);
      times.push(r.ms);
    }
    times.sort((a, b) => a - b);
    return {
      ingest_per_s: Math.round(accepted / ingestSeconds),
      query_p50_ms: Math.round(percentile(times, 50) * 10) / 10,
      query_p95_ms: Math.round(percentile(times, 95) * 10) / 10,
      accepted,
      throttled,
      ingest_seconds: Math.round(ingestSeconds * 10) / 10,
      indexed,
      indexed_per_s: Math.round(indexed / indexSeconds),
      queries: QUERIES,
      setup: {
        load: `${CONCURRENCY} concurrent clients posting batches of ${BATCH} reports to quality-ingest's pod address, at most ${MAX_REPORTS} reports / ${MAX_SECONDS} s`,
        queries: 'sequential, through the gateway: per user, per room, by region and by version (1-min buckets over 1 h), in turn',
        search_engine: 'OpenSearch 2.19.1 (integ-test-zip from Maven Central) on Debian OpenJDK 17, heap 512m, 1 shard',
        queue: 'Redis stream, consumer group',
        machine: '2 cores shared by the load generator and every pod',
      },
    };
  });
  console.log(JSON.stringify(result, null, 2));
  console.log(`wrote ${writeResult('quality', result)}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

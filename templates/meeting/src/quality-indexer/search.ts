// The search engine side of the quality stack: the index mapping, bulk bodies and the
// queries behind the per-user, per-room and aggregate APIs (OpenSearch query DSL), and
// the shaping of their answers. A small HTTP client for OpenSearch is at the end.
import { Agent, request } from 'node:http';
import { propagated } from '../lib/propagate.js';
import type { QualityReport } from '../quality-ingest/report.js';

export const INDEX = 'quality-reports';

export const MAPPING = {
  settings: { number_of_shards: 1, number_of_replicas: 0, refresh_interval: '1s' },
  mappings: {
    dynamic: 'strict',
    properties: {
      ts: { type: 'date' },
      user: { type: 'keyword' },
      room: { type: 'keyword' },
      region: { type: 'keyword' },
      network: { type: 'keyword' },
      os: { type: 'keyword' },
      appVersion: { type: 'keyword' },
      bitrateKbps: { type: 'float' },
      lossPct: { type: 'float' },
      jitterMs: { type: 'float' },
      rttMs: { type: 'float' },
      cpuPct: { type: 'float' },
      memMb: { type: 'float' },
    },
  },
};

/** The _bulk body: one index action per report, its id from the queue (redelivery is idempotent). */
export function bulkBody(docs: ReadonlyArray<{ id: string; doc: QualityReport }>): string {
  let out = '';
  for (const d of docs) out += `${JSON.stringify({ index: { _index: INDEX, _id: d.id } })}\n${JSON.stringify(d.doc)}\n`;
  return out;
}

export const METRICS = ['bitrateKbps', 'lossPct', 'jitterMs', 'rttMs', 'cpuPct', 'memMb'] as const;
export type Metric = (typeof METRICS)[number];

const avgAggs = Object.fromEntries(METRICS.map((m) => [m, { avg: { field: m } }]));

/** The latest reports of one user or room, with averages over the window. */
export function entityQuery(field: 'user' | 'room', value: string, sinceMs: number, limit: number): object {
  return {
    size: limit,
    sort: [{ ts: 'desc' }],
    query: { bool: { filter: [{ term: { [field]: value } }, { range: { ts: { gte: sinceMs, format: 'epoch_millis' } } }] } },
    aggs: {
      ...avgAggs,
      ...(field === 'room' ? { byUser: { terms: { field: 'user', size: 50 }, aggs: avgAggs } } : { byRoom: { terms: { field: 'room', size: 50 } } }),
      byNetwork: { terms: { field: 'network', size: 10 } },
    },
  };
}

export const GROUPS = { region: 'region', version: 'appVersion', os: 'os', network: 'network' } as const;
export type Group = keyof typeof GROUPS;

/** Time series of averages per group (region, app version, ...). */
export function aggregateQuery(by: Group, intervalS: number, sinceMs: number): object {
  return {
    size: 0,
    query: { range: { ts: { gte: sinceMs, format: 'epoch_millis' } } },
    aggs: {
      groups: {
        terms: { field: GROUPS[by], size: 20 },
        aggs: { over: { date_histogram: { field: 'ts', fixed_interval: `${intervalS}s`, min_doc_count: 1 }, aggs: avgAggs } },
      },
    },
  };
}

type AvgBuckets = Partial<Record<Metric, { value: number | null }>>;
export interface Point {
  t: number;
  count: number;
  avg: Partial<Record<Metric, number>>;
}

function avgs(b: AvgBuckets): Partial<Record<Metric, number>> {
  const out: Partial<Record<Metric, number>> = {};
  for (const m of METRICS) {
    const v = b[m]?.value;
    if (typeof v === 'number') out[m] = Math.round(v * 100) / 100;
  }
  return out;
}

interface SearchResponse {
  hits?: { total?: { value: number } | number; hits?: Array<{ _source: QualityReport }> };
  aggregations?: Record<string, unknown>;
}

export function shapeEntity(resp: SearchResponse): { total: number; reports: QualityReport[]; avg: Partial<Record<Metric, number>>; breakdown: Array<{ key: string; count: number; avg?: Partial<Record<Metric, number>> }>; networks: Record<string, number> } {
  const aggs = (resp.aggregations ?? {}) as AvgBuckets & Record<string, { buckets?: Array<{ key: string; doc_count: number } & AvgBuckets> }>;
  const total = typeof resp.hits?.total === 'number' ? resp.hits.total : (resp.hits?.total?.value ?? 0);
  const bd = aggs.byUser ?? aggs.byRoom;
  return {
    total,
    reports: (resp.hits?.hits ?? []).map((h) => h._source),
    avg: avgs(aggs),
    breakdown: (bd?.buckets ?? []).map((b) => ({ key: b.key, count: b.doc_count, ...(aggs.byUser ? { avg: avgs(b) } : {}) })),
    networks: Object.fromEntries((aggs.byNetwork?.buckets ?? []).map((b) => [b.key, b.doc_count])),
  };
}

export function shapeAggregate(resp: SearchResponse): Array<{ key: string; count: number; points: Point[] }> {
  const groups = (resp.aggregations?.groups as { buckets?: Array<{ key: string; doc_count: number; over: { buckets: Array<{ key: number; doc_count: number } & AvgBuckets> } }> } | undefined)?.buckets ?? [];
  return groups.map((g) => ({ key: g.key, count: g.doc_count, points: g.over.buckets.map((b) => ({ t: b.key, count: b.doc_count, avg: avgs(b) })) }));
}

export class SearchError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const agent = new Agent({ keepAlive: true, maxSockets: 16 });

/** A minimal OpenSearch HTTP client; a call made for a request carries its route (lib/propagate.ts). */
export class SearchClient {
  constructor(readonly baseUrl: string) {}

  request<T = unknown>(method: string, path: string, body?: string | object, timeoutMs = 30_000): Promise<T> {
    const url = new URL(path, this.baseUrl);
    const payload = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const ndjson = typeof body === 'string';
    return new Promise<T>((resolve, reject) => {
      const req = request(url, { method, agent, timeout: timeoutMs, headers: { ...propagated(), ...(payload ? { 'content-type': ndjson ? 'application/x-ndjson' : 'application/json', 'content-length': String(payload.length) } : {}) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            try {
              resolve((text ? JSON.parse(text) : undefined) as T);
            } catch {
              reject(new SearchError(502, `search engine: bad JSON from ${path}`));
            }
          } else reject(new SearchError(status, `search engine ${method} ${url.pathname}: ${status} ${text.slice(0, 300)}`));
        });
      });
      req.on('timeout', () => req.destroy(new SearchError(504, `search engine ${method} ${url.pathname}: no answer in ${timeoutMs} ms`)));
      req.on('error', (e) => reject(e instanceof SearchError ? e : new SearchError(502, `search engine: ${e.message}`)));
      req.end(payload);
    });
  }

  /** Creates the index with its mapping unless it exists. */
  async ensureIndex(): Promise<void> {
    try {
      await this.request('HEAD', `/${INDEX}`);
    } catch (err) {
      if (!(err instanceof SearchError) || err.status !== 404) throw err;
      try {
        await this.request('PUT', `/${INDEX}`, MAPPING);
      } catch (e) {
        if (!(e instanceof SearchError && e.status === 400 && /already_exists/.test(e.message))) throw e;
      }
    }
  }

  /** Bulk-indexes; returns how many items failed. */
  async bulk(docs: ReadonlyArray<{ id: string; doc: QualityReport }>): Promise<{ errors: number; first?: string }> {
    const r = await this.request<{ errors: boolean; items: Array<{ index?: { status: number; error?: { reason?: string } } }> }>('POST', '/_bulk', bulkBody(docs));
    if (!r.errors) return { errors: 0 };
    const failed = r.items.filter((i) => (i.index?.status ?? 500) >= 300);
    return { errors: failed.length, first: failed[0]?.index?.error?.reason };
  }
}

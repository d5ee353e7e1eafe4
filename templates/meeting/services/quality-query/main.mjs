// GENERATED from templates/meeting/src/quality-query by `npm run -w templates bundle`; edit the TypeScript source.

// templates/meeting/src/lib/http.ts
import { randomUUID } from "node:crypto";
import { Agent, createServer, request as httpRequest } from "node:http";
var REQUEST_ID = "x-request-id";
var HttpError = class extends Error {
  constructor(status, message, details) {
    super(message);
    this.status = status;
    this.details = details;
  }
};
function matchPath(pattern, path) {
  const parts = path.split("/").filter((p) => p !== "");
  const wildcard = pattern[pattern.length - 1] === "*";
  if (wildcard ? parts.length < pattern.length - 1 : parts.length !== pattern.length) return void 0;
  const params = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p === "*") {
      params["*"] = parts.slice(i).join("/");
      return params;
    }
    const v = parts[i];
    if (p.startsWith(":")) {
      try {
        params[p.slice(1)] = decodeURIComponent(v);
      } catch {
        return void 0;
      }
    } else if (p !== v) return void 0;
  }
  return params;
}
var Router = class {
  routes = [];
  add(method, pattern, handler2) {
    this.routes.push({ method, parts: pattern.split("/").filter((p) => p !== ""), handler: handler2 });
    return this;
  }
  get(p, h) {
    return this.add("GET", p, h);
  }
  post(p, h) {
    return this.add("POST", p, h);
  }
  delete(p, h) {
    return this.add("DELETE", p, h);
  }
  find(method, path) {
    let pathMatched = false;
    for (const r of this.routes) {
      const params = matchPath(r.parts, path);
      if (!params) continue;
      if (r.method === method || method === "HEAD" && r.method === "GET") return { handler: r.handler, params };
      pathMatched = true;
    }
    return pathMatched ? "method" : void 0;
  }
};
var agent = new Agent({ keepAlive: true, maxSockets: 64 });
function exchange(baseUrl, method, path, body, requestId, timeoutMs = 1e4) {
  const url = new URL(path, baseUrl);
  const payload = body === void 0 ? void 0 : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method,
        agent,
        timeout: timeoutMs,
        headers: {
          accept: "application/json",
          [REQUEST_ID]: requestId,
          ...payload ? { "content-type": "application/json", "content-length": String(payload.length) } : {}
        }
      },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed = text;
          try {
            parsed = text === "" ? void 0 : JSON.parse(text);
          } catch {
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, headers: res.headers });
        });
      }
    );
    req.on("timeout", () => req.destroy(new HttpError(504, `${url.host}${url.pathname}: no answer in ${timeoutMs} ms`)));
    req.on("error", (e) => reject(e instanceof HttpError ? e : new HttpError(502, `${url.host}: ${e.message}`)));
    req.end(payload);
  });
}
async function callJson(baseUrl, method, path, body, requestId, timeoutMs = 1e4) {
  const a = await exchange(baseUrl, method, path, body, requestId, timeoutMs);
  if (a.status >= 200 && a.status < 300) return a.body;
  const p = a.body;
  const msg = typeof p === "object" && p !== null && "error" in p ? String(p.error) : String(p ?? "").slice(0, 200);
  throw new HttpError(a.status >= 400 && a.status < 500 || a.status === 503 ? a.status : 502, `${new URL(baseUrl).host}: ${msg}`, p);
}
function readBody(req, limit = 1 << 20) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on("data", (c) => {
      size += c.length;
      if (size > limit) {
        reject(new HttpError(413, `body larger than ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}
function isReply(v) {
  return typeof v === "object" && v !== null && ("status" in v || "text" in v || "body" in v) && Object.keys(v).every((k) => ["status", "body", "text", "contentType", "headers"].includes(k));
}
function send(res, requestId, reply) {
  const status = reply.status ?? 200;
  const headers = { [REQUEST_ID]: requestId, ...reply.headers };
  let data;
  if (reply.text !== void 0) {
    data = reply.text;
    headers["content-type"] = reply.contentType ?? "text/plain; charset=utf-8";
  } else {
    data = reply.body === void 0 ? "" : JSON.stringify(reply.body);
    if (reply.body !== void 0) headers["content-type"] = "application/json";
  }
  res.writeHead(status, headers);
  res.end(data);
}
function jsonLog(line) {
  process.stdout.write(JSON.stringify({ t: (/* @__PURE__ */ new Date()).toISOString(), ...line }) + "\n");
}
function handler(opts) {
  const log = opts.log ?? jsonLog;
  const quiet = /* @__PURE__ */ new Set(["/healthz", "/readyz", ...opts.quietPaths ?? []]);
  return (req, res) => {
    const started = process.hrtime.bigint();
    const incoming = req.headers[REQUEST_ID];
    const requestId = typeof incoming === "string" && /^[\w.:-]{1,128}$/.test(incoming) ? incoming : randomUUID();
    const url = new URL(req.url ?? "/", "http://local");
    const method = req.method ?? "GET";
    const done = (status, error) => {
      if (quiet.has(url.pathname) && !error) return;
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      log({ svc: opts.name, rid: requestId, method, path: url.pathname, status, ms: Math.round(ms * 10) / 10, ...error ? { error } : {} });
    };
    void (async () => {
      try {
        if (url.pathname === "/healthz") return send(res, requestId, { body: { ok: true, service: opts.name } });
        if (url.pathname === "/readyz") {
          let ok = false;
          try {
            ok = opts.ready ? await opts.ready() : true;
          } catch {
          }
          return send(res, requestId, { status: ok ? 200 : 503, body: { ready: ok, service: opts.name } });
        }
        const found = opts.router.find(method, url.pathname);
        if (found === void 0) throw new HttpError(404, `no route ${method} ${url.pathname}`);
        if (found === "method") throw new HttpError(405, `${method} is not allowed on ${url.pathname}`);
        const raw = method === "GET" || method === "HEAD" ? Buffer.alloc(0) : await readBody(req, opts.bodyLimit);
        let body;
        if (raw.length > 0) {
          try {
            body = JSON.parse(raw.toString("utf8"));
          } catch {
            throw new HttpError(400, "the body is not valid JSON");
          }
        }
        const ctx = {
          method,
          path: url.pathname,
          params: found.params,
          query: url.searchParams,
          headers: req.headers,
          requestId,
          body,
          call: (base, m, p, b) => callJson(base, m, p, b, requestId),
          forward: async (base, m, p, b) => {
            const a = await exchange(base, m, p, b, requestId);
            const retry = a.headers["retry-after"];
            return { status: a.status, body: a.body, ...typeof retry === "string" ? { headers: { "retry-after": retry } } : {} };
          }
        };
        const out = await found.handler(ctx);
        const reply = isReply(out) ? out : { body: out };
        send(res, requestId, reply);
        done(reply.status ?? 200);
      } catch (err) {
        const status = err instanceof HttpError ? err.status : 500;
        const message = err instanceof Error ? err.message : String(err);
        if (!res.headersSent) send(res, requestId, { status, body: { error: message, requestId } });
        else res.end();
        done(status, message);
      }
    })();
  };
}
function serve(opts) {
  const server2 = createServer(handler(opts));
  server2.keepAliveTimeout = 65e3;
  return new Promise((resolve) => {
    server2.listen(opts.port, () => {
      (opts.log ?? jsonLog)({ svc: opts.name, msg: `listening on ${opts.port}` });
      resolve(server2);
    });
  });
}
function onShutdown(server2, extra) {
  const stop = () => {
    server2.close();
    Promise.resolve(extra?.()).catch(() => void 0).finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2e3).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
function envUrl(name, fallback) {
  return process.env[name] ?? fallback;
}

// templates/meeting/src/quality-indexer/search.ts
import { Agent as Agent2, request } from "node:http";
var INDEX = "quality-reports";
var MAPPING = {
  settings: { number_of_shards: 1, number_of_replicas: 0, refresh_interval: "1s" },
  mappings: {
    dynamic: "strict",
    properties: {
      ts: { type: "date" },
      user: { type: "keyword" },
      room: { type: "keyword" },
      region: { type: "keyword" },
      network: { type: "keyword" },
      os: { type: "keyword" },
      appVersion: { type: "keyword" },
      bitrateKbps: { type: "float" },
      lossPct: { type: "float" },
      jitterMs: { type: "float" },
      rttMs: { type: "float" },
      cpuPct: { type: "float" },
      memMb: { type: "float" }
    }
  }
};
function bulkBody(docs) {
  let out = "";
  for (const d of docs) out += `${JSON.stringify({ index: { _index: INDEX, _id: d.id } })}
${JSON.stringify(d.doc)}
`;
  return out;
}
var METRICS = ["bitrateKbps", "lossPct", "jitterMs", "rttMs", "cpuPct", "memMb"];
var avgAggs = Object.fromEntries(METRICS.map((m) => [m, { avg: { field: m } }]));
function entityQuery(field, value, sinceMs, limit) {
  return {
    size: limit,
    sort: [{ ts: "desc" }],
    query: { bool: { filter: [{ term: { [field]: value } }, { range: { ts: { gte: sinceMs, format: "epoch_millis" } } }] } },
    aggs: {
      ...avgAggs,
      ...field === "room" ? { byUser: { terms: { field: "user", size: 50 }, aggs: avgAggs } } : { byRoom: { terms: { field: "room", size: 50 } } },
      byNetwork: { terms: { field: "network", size: 10 } }
    }
  };
}
var GROUPS = { region: "region", version: "appVersion", os: "os", network: "network" };
function aggregateQuery(by, intervalS, sinceMs) {
  return {
    size: 0,
    query: { range: { ts: { gte: sinceMs, format: "epoch_millis" } } },
    aggs: {
      groups: {
        terms: { field: GROUPS[by], size: 20 },
        aggs: { over: { date_histogram: { field: "ts", fixed_interval: `${intervalS}s`, min_doc_count: 1 }, aggs: avgAggs } }
      }
    }
  };
}
function avgs(b) {
  const out = {};
  for (const m of METRICS) {
    const v = b[m]?.value;
    if (typeof v === "number") out[m] = Math.round(v * 100) / 100;
  }
  return out;
}
function shapeEntity(resp) {
  const aggs = resp.aggregations ?? {};
  const total = typeof resp.hits?.total === "number" ? resp.hits.total : resp.hits?.total?.value ?? 0;
  const bd = aggs.byUser ?? aggs.byRoom;
  return {
    total,
    reports: (resp.hits?.hits ?? []).map((h) => h._source),
    avg: avgs(aggs),
    breakdown: (bd?.buckets ?? []).map((b) => ({ key: b.key, count: b.doc_count, ...aggs.byUser ? { avg: avgs(b) } : {} })),
    networks: Object.fromEntries((aggs.byNetwork?.buckets ?? []).map((b) => [b.key, b.doc_count]))
  };
}
function shapeAggregate(resp) {
  const groups = resp.aggregations?.groups?.buckets ?? [];
  return groups.map((g) => ({ key: g.key, count: g.doc_count, points: g.over.buckets.map((b) => ({ t: b.key, count: b.doc_count, avg: avgs(b) })) }));
}
var SearchError = class extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
};
var agent2 = new Agent2({ keepAlive: true, maxSockets: 16 });
var SearchClient = class {
  constructor(baseUrl) {
    this.baseUrl = baseUrl;
  }
  request(method, path, body, timeoutMs = 3e4) {
    const url = new URL(path, this.baseUrl);
    const payload = body === void 0 ? void 0 : Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
    const ndjson = typeof body === "string";
    return new Promise((resolve, reject) => {
      const req = request(url, { method, agent: agent2, timeout: timeoutMs, headers: payload ? { "content-type": ndjson ? "application/x-ndjson" : "application/json", "content-length": String(payload.length) } : {} }, (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            try {
              resolve(text ? JSON.parse(text) : void 0);
            } catch {
              reject(new SearchError(502, `search engine: bad JSON from ${path}`));
            }
          } else reject(new SearchError(status, `search engine ${method} ${url.pathname}: ${status} ${text.slice(0, 300)}`));
        });
      });
      req.on("timeout", () => req.destroy(new SearchError(504, `search engine ${method} ${url.pathname}: no answer in ${timeoutMs} ms`)));
      req.on("error", (e) => reject(e instanceof SearchError ? e : new SearchError(502, `search engine: ${e.message}`)));
      req.end(payload);
    });
  }
  /** Creates the index with its mapping unless it exists. */
  async ensureIndex() {
    try {
      await this.request("HEAD", `/${INDEX}`);
    } catch (err) {
      if (!(err instanceof SearchError) || err.status !== 404) throw err;
      try {
        await this.request("PUT", `/${INDEX}`, MAPPING);
      } catch (e) {
        if (!(e instanceof SearchError && e.status === 400 && /already_exists/.test(e.message))) throw e;
      }
    }
  }
  /** Bulk-indexes; returns how many items failed. */
  async bulk(docs) {
    const r = await this.request("POST", "/_bulk", bulkBody(docs));
    if (!r.errors) return { errors: 0 };
    const failed = r.items.filter((i) => (i.index?.status ?? 500) >= 300);
    return { errors: failed.length, first: failed[0]?.index?.error?.reason };
  }
};

// templates/meeting/src/quality-query/params.ts
function window(q) {
  const since = Number(q.get("since") ?? 3600);
  const interval = Number(q.get("interval") ?? 60);
  const limit = Number(q.get("limit") ?? 50);
  if (!Number.isInteger(since) || since < 1 || since > 30 * 86400) throw new HttpError(400, "since is seconds back, 1..2592000");
  if (!Number.isInteger(interval) || interval < 1 || interval > 86400) throw new HttpError(400, "interval is seconds, 1..86400");
  if (!Number.isInteger(limit) || limit < 0 || limit > 500) throw new HttpError(400, "limit is 0..500");
  if (since / interval > 2e3) throw new HttpError(400, "since/interval would make more than 2000 points");
  return { sinceMs: Date.now() - since * 1e3, intervalS: interval, limit };
}

// templates/meeting/src/quality-query/main.ts
var search = new SearchClient(envUrl("SEARCH_URL", "http://opensearch:9200"));
async function run(body) {
  try {
    return await search.request("POST", `/${INDEX}/_search`, body);
  } catch (err) {
    if (err instanceof SearchError && err.status === 404) throw new HttpError(404, "no reports indexed yet");
    if (err instanceof SearchError) throw new HttpError(502, err.message);
    throw err;
  }
}
var router = new Router().get("/users/:id", async (ctx) => {
  const w = window(ctx.query);
  return { user: ctx.params.id, ...shapeEntity(await run(entityQuery("user", ctx.params.id, w.sinceMs, w.limit))) };
}).get("/rooms/:id", async (ctx) => {
  const w = window(ctx.query);
  return { room: ctx.params.id, ...shapeEntity(await run(entityQuery("room", ctx.params.id, w.sinceMs, w.limit))) };
}).get("/aggregate", async (ctx) => {
  const by = ctx.query.get("by") ?? "region";
  if (!(by in GROUPS)) throw new HttpError(400, `by must be one of ${Object.keys(GROUPS).join(", ")}`);
  const w = window(ctx.query);
  return { by, intervalS: w.intervalS, series: shapeAggregate(await run(aggregateQuery(by, w.intervalS, w.sinceMs))) };
});
var server = await serve({
  name: "quality-query",
  port: Number(process.env.PORT ?? 8080),
  router,
  ready: async () => {
    await search.request("GET", "/_cluster/health");
    return true;
  }
});
onShutdown(server);

// GENERATED from templates/meeting/src/quality-indexer by `npm run -w templates bundle`; edit the TypeScript source.

// templates/meeting/src/quality-indexer/main.ts
import { hostname } from "node:os";

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
          let ok2 = false;
          try {
            ok2 = opts.ready ? await opts.ready() : true;
          } catch {
          }
          return send(res, requestId, { status: ok2 ? 200 : 503, body: { ready: ok2, service: opts.name } });
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

// templates/meeting/src/lib/redis.ts
import { createHash } from "node:crypto";
import { connect } from "node:net";
var RedisReplyError = class extends Error {
};
function encodeCommand(args) {
  let text = `*${args.length}\r
`;
  let parts;
  for (const a of args) {
    if (Buffer.isBuffer(a)) {
      parts ??= [];
      parts.push(Buffer.from(`${text}$${a.length}\r
`), a);
      text = "\r\n";
      continue;
    }
    const s = String(a);
    text += `$${Buffer.byteLength(s)}\r
${s}\r
`;
  }
  if (!parts) return Buffer.from(text);
  parts.push(Buffer.from(text));
  return Buffer.concat(parts);
}
var RespParser = class {
  buf = Buffer.alloc(0);
  pos = 0;
  /** Arrays being filled, outermost first. */
  open = [];
  feed(chunk) {
    this.buf = this.pos < this.buf.length ? Buffer.concat([this.buf.subarray(this.pos), chunk]) : chunk;
    this.pos = 0;
    const out = [];
    for (; ; ) {
      const start = this.pos;
      const el = this.element();
      if (el === INCOMPLETE) {
        this.pos = start;
        break;
      }
      let value;
      if (el instanceof ArrayHeader) {
        if (el.n > 0) {
          this.open.push({ items: [], left: el.n });
          continue;
        }
        value = [];
      } else value = el;
      for (; ; ) {
        const top = this.open[this.open.length - 1];
        if (!top) {
          out.push(value);
          break;
        }
        top.items.push(value);
        if (--top.left > 0) break;
        this.open.pop();
        value = top.items;
      }
    }
    return out;
  }
  line() {
    const end = this.buf.indexOf("\r\n", this.pos);
    if (end < 0) return void 0;
    const s = this.buf.toString("utf8", this.pos, end);
    this.pos = end + 2;
    return s;
  }
  /** One scalar, or the header of an array (its items follow as elements of their own). */
  element() {
    if (this.pos >= this.buf.length) return INCOMPLETE;
    const type = String.fromCharCode(this.buf[this.pos]);
    this.pos++;
    const l = this.line();
    if (l === void 0) return INCOMPLETE;
    switch (type) {
      case "+":
        return l;
      case "-":
        return new RedisReplyError(l);
      case ":":
        return Number(l);
      case "$": {
        const n = Number(l);
        if (n < 0) return null;
        if (this.pos + n + 2 > this.buf.length) return INCOMPLETE;
        const s = this.buf.toString("utf8", this.pos, this.pos + n);
        this.pos += n + 2;
        return s;
      }
      case "*": {
        const n = Number(l);
        return n < 0 ? null : new ArrayHeader(n);
      }
      default:
        throw new Error(`RESP: unexpected type byte ${JSON.stringify(type)}`);
    }
  }
};
var INCOMPLETE = Symbol("incomplete");
var ArrayHeader = class {
  constructor(n) {
    this.n = n;
  }
};
function parseRedisUrl(url) {
  const u = new URL(url);
  if (u.protocol !== "redis:") throw new Error(`not a redis:// URL: ${url}`);
  return { host: u.hostname, port: Number(u.port || 6379) };
}
var Redis = class {
  constructor(opts) {
    this.opts = opts;
  }
  socket;
  connecting;
  pending = [];
  parser = new RespParser();
  scripts = /* @__PURE__ */ new Map();
  closed = false;
  connect() {
    if (this.socket) return Promise.resolve(this.socket);
    if (this.connecting) return this.connecting;
    this.connecting = new Promise((resolve, reject) => {
      const s = connect({ host: this.opts.host, port: this.opts.port });
      s.setNoDelay(true);
      const timer = setTimeout(() => s.destroy(new Error(`redis ${this.opts.host}:${this.opts.port}: connect timeout`)), this.opts.connectTimeoutMs ?? 5e3);
      s.once("connect", () => {
        clearTimeout(timer);
        this.socket = s;
        this.connecting = void 0;
        this.parser = new RespParser();
        resolve(s);
      });
      s.on("data", (chunk) => {
        for (const v of this.parser.feed(chunk)) {
          const p = this.pending.shift();
          p?.resolve(v);
        }
      });
      s.on("error", (e) => {
        clearTimeout(timer);
        this.fail(e);
        if (this.connecting) {
          this.connecting = void 0;
          reject(e);
        }
      });
      s.on("close", () => this.fail(new Error(`redis ${this.opts.host}:${this.opts.port}: connection closed`)));
    });
    return this.connecting;
  }
  fail(e) {
    this.socket = void 0;
    const pending = this.pending;
    this.pending = [];
    for (const p of pending) p.reject(e);
  }
  /** Sends one command. */
  async call(...args) {
    const [v] = await this.pipeline([args]);
    return ok(v);
  }
  /** Sends commands in one write; resolves with every reply (errors as values). */
  async pipeline(commands) {
    if (this.closed) throw new Error("redis client is closed");
    const s = await this.connect();
    const replies = commands.map(() => new Promise((resolve, reject) => this.pending.push({ resolve, reject })));
    s.write(Buffer.concat(commands.map(encodeCommand)));
    return Promise.all(replies);
  }
  /** Runs a Lua script by SHA, loading it on NOSCRIPT. */
  async eval(script, keys, args) {
    let sha = this.scripts.get(script);
    if (!sha) {
      sha = createHash("sha1").update(script).digest("hex");
      this.scripts.set(script, sha);
    }
    const r = await this.pipeline([["EVALSHA", sha, keys.length, ...keys, ...args]]);
    const v = r[0];
    if (v instanceof RedisReplyError && v.message.startsWith("NOSCRIPT")) {
      const [again] = await this.pipeline([["EVAL", script, keys.length, ...keys, ...args]]);
      if (again instanceof RedisReplyError) throw again;
      return again;
    }
    if (v instanceof RedisReplyError) throw v;
    return v;
  }
  close() {
    this.closed = true;
    this.socket?.end();
    this.socket = void 0;
  }
};
function ok(v) {
  if (v instanceof RedisReplyError) throw v;
  return v ?? null;
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

// templates/meeting/src/quality-indexer/stream.ts
function entries(reply) {
  if (!Array.isArray(reply)) return [];
  const out = [];
  for (const stream of reply) {
    const items = stream[1];
    for (const e of items) {
      const [id, fields] = e;
      if (!fields) continue;
      const i = fields.indexOf("r");
      try {
        if (i >= 0) out.push({ id, doc: JSON.parse(fields[i + 1]) });
      } catch {
      }
    }
  }
  return out;
}

// templates/meeting/src/quality-indexer/main.ts
var STREAM = "quality:reports";
var GROUP = "indexers";
var CONSUMER = process.env.HOSTNAME ?? hostname();
var BATCH = Number(process.env.INDEX_BATCH ?? 2e3);
var redis = new Redis(parseRedisUrl(envUrl("REDIS_URL", "redis://redis:6379")));
var search = new SearchClient(envUrl("SEARCH_URL", "http://opensearch:9200"));
var stats = { indexed: 0, failed: 0, batches: 0, lastError: "" };
var ready = false;
var running = true;
async function loop() {
  let pendingFirst = true;
  while (running) {
    try {
      if (!ready) {
        const r2 = await redis.pipeline([["XGROUP", "CREATE", STREAM, GROUP, "0", "MKSTREAM"]]);
        if (r2[0] instanceof RedisReplyError && !r2[0].message.startsWith("BUSYGROUP")) throw r2[0];
        await search.ensureIndex();
        ready = true;
        jsonLog({ svc: "quality-indexer", msg: "index and consumer group ready" });
      }
      const reply = ok(await redis.call("XREADGROUP", "GROUP", GROUP, CONSUMER, "COUNT", BATCH, ...pendingFirst ? [] : ["BLOCK", 2e3], "STREAMS", STREAM, pendingFirst ? "0" : ">"));
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
      await redis.call("XACK", STREAM, GROUP, ...docs.map((d) => d.id));
    } catch (err) {
      stats.lastError = err instanceof Error ? err.message : String(err);
      jsonLog({ svc: "quality-indexer", msg: `retrying: ${stats.lastError}` });
      await new Promise((r) => setTimeout(r, 1e3));
    }
  }
}
var router = new Router().get("/stats", async () => {
  const pending = await redis.call("XPENDING", STREAM, GROUP).catch(() => null);
  return { ...stats, consumer: CONSUMER, pending: Array.isArray(pending) ? pending[0] : null, streamLength: await redis.call("XLEN", STREAM) };
});
var server = await serve({ name: "quality-indexer", port: Number(process.env.PORT ?? 8080), router, ready: () => ready });
onShutdown(server, () => {
  running = false;
});
void loop();

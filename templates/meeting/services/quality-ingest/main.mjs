// GENERATED from templates/meeting/src/quality-ingest by `npm run -w templates bundle`; edit the TypeScript source.

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
function obj(v, what = "body") {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new HttpError(400, `${what} must be a JSON object`);
  return v;
}
function str(o, key, opts = {}) {
  const v = o[key];
  if (v === void 0 || v === null || v === "") {
    if (opts.optional) return "";
    throw new HttpError(400, `${key} is required`);
  }
  if (typeof v !== "string") throw new HttpError(400, `${key} must be a string`);
  if (v.length > (opts.max ?? 200)) throw new HttpError(400, `${key} is longer than ${opts.max ?? 200} characters`);
  if (opts.pattern && !opts.pattern.test(v)) throw new HttpError(400, `${key} has an invalid format`);
  return v;
}
function num(o, key, opts = {}) {
  const v = o[key];
  if (v === void 0 || v === null) {
    if (opts.fallback !== void 0) return opts.fallback;
    if (opts.optional) return NaN;
    throw new HttpError(400, `${key} is required`);
  }
  if (typeof v !== "number" || !Number.isFinite(v)) throw new HttpError(400, `${key} must be a number`);
  if (opts.min !== void 0 && v < opts.min) throw new HttpError(400, `${key} must be ≥ ${opts.min}`);
  if (opts.max !== void 0 && v > opts.max) throw new HttpError(400, `${key} must be ≤ ${opts.max}`);
  return v;
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

// templates/meeting/src/quality-ingest/report.ts
var NETWORKS = /* @__PURE__ */ new Set(["wifi", "ethernet", "cellular", "unknown"]);
var ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/;
var LABEL = /^[A-Za-z0-9][A-Za-z0-9 ._+-]{0,59}$/;
function parseReport(v, now = Date.now()) {
  const o = obj(v, "a report");
  const network = str(o, "network", { optional: true }) || "unknown";
  if (!NETWORKS.has(network)) throw new HttpError(400, `network must be one of ${[...NETWORKS].join(", ")}`);
  let ts = new Date(now).toISOString();
  if (o.ts !== void 0) {
    const t = typeof o.ts === "number" ? o.ts : typeof o.ts === "string" ? Date.parse(o.ts) : NaN;
    if (!Number.isFinite(t)) throw new HttpError(400, "ts must be a date (ISO string or epoch ms)");
    if (t > now + 5 * 6e4 || t < now - 7 * 864e5) throw new HttpError(400, "ts is more than 5 minutes ahead or 7 days behind");
    ts = new Date(t).toISOString();
  }
  return {
    ts,
    user: str(o, "user", { pattern: ID }),
    room: str(o, "room", { pattern: ID }),
    region: str(o, "region", { pattern: LABEL }),
    network,
    bitrateKbps: num(o, "bitrateKbps", { min: 0, max: 1e5 }),
    lossPct: num(o, "lossPct", { min: 0, max: 100 }),
    jitterMs: num(o, "jitterMs", { min: 0, max: 1e4 }),
    rttMs: num(o, "rttMs", { min: 0, max: 6e4, fallback: 0 }),
    cpuPct: num(o, "cpuPct", { min: 0, max: 100 }),
    memMb: num(o, "memMb", { min: 0, max: 1048576 }),
    os: str(o, "os", { pattern: LABEL }),
    appVersion: str(o, "appVersion", { pattern: LABEL })
  };
}
function reportsOf(body, max = 1e3) {
  if (typeof body === "object" && body !== null && !Array.isArray(body) && "reports" in body) {
    const list = body.reports;
    if (!Array.isArray(list)) throw new HttpError(400, "reports must be a list");
    if (list.length > max) throw new HttpError(413, `at most ${max} reports per request`);
    return list;
  }
  return [body];
}

// templates/meeting/src/quality-ingest/throttle.ts
function targetRate(mem, low, high) {
  if (mem <= low) return 1;
  if (mem >= high) return 0;
  const t = (mem - low) / (high - low);
  return 1 - t * t * (3 - 2 * t);
}
var SmoothThrottle = class {
  constructor(opts) {
    this.opts = opts;
    if (!(opts.lowBytes < opts.highBytes)) throw new Error("the low watermark must be below the high one");
    this.last = opts.now();
  }
  rate = 1;
  credit = 0;
  last;
  admitted = 0;
  rejected = 0;
  /** Updates the applied rate from the current memory use; returns it. */
  update() {
    const now = this.opts.now();
    const dt = Math.max(0, (now - this.last) / 1e3);
    this.last = now;
    const target = targetRate(this.opts.memory(), this.opts.lowBytes, this.opts.highBytes);
    const alpha = 1 - Math.exp(-dt / this.opts.tauS);
    this.rate += (target - this.rate) * alpha;
    if (this.rate < 1e-3) this.rate = 0;
    if (this.rate > 0.999) this.rate = 1;
    return this.rate;
  }
  get currentRate() {
    return this.rate;
  }
  /** Admits a fraction `rate` of calls, deterministically spread (no random bursts). */
  admit() {
    this.credit += this.rate;
    if (this.credit >= 1 - 1e-9) {
      this.credit = Math.min(this.credit - 1, 1);
      this.admitted++;
      return true;
    }
    this.rejected++;
    return false;
  }
};

// templates/meeting/src/quality-ingest/main.ts
var STREAM = "quality:reports";
var MB = 1024 * 1024;
var redis = new Redis(parseRedisUrl(envUrl("REDIS_URL", "redis://redis:6379")));
var LOW = Number(process.env.MEM_LOW_MB ?? 96) * MB;
var HIGH = Number(process.env.MEM_HIGH_MB ?? 160) * MB;
var MAX_BUFFER = Number(process.env.MAX_BUFFER ?? 1e5);
var STREAM_MAXLEN = Number(process.env.STREAM_MAXLEN ?? 2e6);
var throttle = new SmoothThrottle({ lowBytes: LOW, highBytes: HIGH, tauS: 1, memory: () => process.memoryUsage().rss, now: Date.now });
setInterval(() => throttle.update(), 100).unref();
var buffer = [];
var flushing = false;
var stats = { received: 0, invalid: 0, queued: 0, writeErrors: 0 };
async function flush() {
  if (flushing || buffer.length === 0) return;
  flushing = true;
  try {
    while (buffer.length > 0) {
      const batch = buffer.slice(0, 2e3);
      const cmds = batch.map((b) => ["XADD", STREAM, "MAXLEN", "~", STREAM_MAXLEN, "*", "r", JSON.stringify(b.r), "rid", b.rid]);
      try {
        for (const r of await redis.pipeline(cmds)) ok(r);
        buffer = buffer.slice(batch.length);
        stats.queued += batch.length;
      } catch (err) {
        stats.writeErrors++;
        jsonLog({ svc: "quality-ingest", msg: `queue write failed, keeping ${buffer.length} reports: ${err instanceof Error ? err.message : String(err)}` });
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  } finally {
    flushing = false;
  }
}
var router = new Router().post("/reports", (ctx) => {
  const items = reportsOf(ctx.body);
  const reports = items.map((it, i) => {
    try {
      return parseReport(it);
    } catch (err) {
      stats.invalid++;
      throw new HttpError(400, items.length > 1 ? `report ${i}: ${err.message}` : err.message);
    }
  });
  stats.received += reports.length;
  if (buffer.length + reports.length > MAX_BUFFER) {
    return { status: 503, headers: { "retry-after": "1" }, body: { error: "the ingest buffer is full", accepted: 0, rejected: reports.length } };
  }
  let accepted = 0;
  for (const r of reports) {
    if (throttle.admit()) {
      buffer.push({ rid: ctx.requestId, r });
      accepted++;
    }
  }
  if (accepted > 0) setImmediate(() => void flush());
  const rejected = reports.length - accepted;
  const body = { accepted, rejected, admissionRate: Math.round(throttle.currentRate * 1e3) / 1e3 };
  if (accepted === 0) return { status: 429, headers: { "retry-after": "1" }, body: { error: "throttled: memory above the low watermark", ...body } };
  return { status: 202, body };
}).get("/stats", async () => ({
  ...stats,
  buffered: buffer.length,
  rssMb: Math.round(process.memoryUsage().rss / MB),
  watermarksMb: { low: LOW / MB, high: HIGH / MB },
  admissionRate: throttle.currentRate,
  admitted: throttle.admitted,
  throttled: throttle.rejected,
  streamLength: await redis.call("XLEN", STREAM)
}));
var server = await serve({
  name: "quality-ingest",
  port: Number(process.env.PORT ?? 8080),
  router,
  quietPaths: ["/reports"],
  ready: async () => await redis.call("PING") === "PONG"
});
onShutdown(server, flush);
export {
  STREAM
};

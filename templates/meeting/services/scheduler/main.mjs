// GENERATED from templates/meeting/src/scheduler by `npm run -w templates bundle`; edit the TypeScript source.

// templates/meeting/src/scheduler/main.ts
import { readFileSync } from "node:fs";
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
    let sha2 = this.scripts.get(script);
    if (!sha2) {
      sha2 = createHash("sha1").update(script).digest("hex");
      this.scripts.set(script, sha2);
    }
    const r = await this.pipeline([["EVALSHA", sha2, keys.length, ...keys, ...args]]);
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

// templates/meeting/src/scheduler/placement.ts
function feasible(h, r) {
  const s = h.spec;
  const u = h.use;
  if (u.cpu + r.cpu > s.cpu || u.mem + r.mem > s.mem || u.gpu + r.gpu > s.gpu) return false;
  if (r.zone !== "" && s.zone !== r.zone) return false;
  for (const f of r.features) if (!s.features.includes(f)) return false;
  return true;
}
var DEFAULT_WEIGHTS = { balance: 1, image: 0.3, antiAffinity: 0.5 };
function seededRng(seed) {
  let a = seed >>> 0;
  return () => {
    a = a + 1831565813 >>> 0;
    let t = a;
    t = Math.imul(t ^ t >>> 15, t | 1);
    t ^= t + Math.imul(t ^ t >>> 7, t | 61);
    return ((t ^ t >>> 14) >>> 0) / 4294967296;
  };
}
var DEFAULT_PICK = { sample: 48, topK: 5 };

// templates/meeting/src/scheduler/fleet.ts
var ZONES = ["zone-a", "zone-b", "zone-c", "zone-d"];
var FEATURES = ["h264-hw", "av1", "simulcast", "e2ee", "recording"];
var IMAGES = Array.from({ length: 8 }, (_, i) => `media-server:1.${i}`);
function makeFleet(n, seed = 1) {
  const rng = seededRng(seed);
  const pick = (xs) => xs[Math.floor(rng() * xs.length)];
  return Array.from({ length: n }, (_, i) => {
    const big = rng() < 0.3;
    const gpu = rng() < 0.15 ? 1 + Math.floor(rng() * 4) : 0;
    return {
      id: `host-${String(i).padStart(5, "0")}`,
      zone: ZONES[i % ZONES.length],
      cpu: big ? 64e3 : 32e3,
      mem: big ? 262144 : 131072,
      gpu,
      features: FEATURES.filter(() => rng() < 0.5),
      images: [pick(IMAGES), pick(IMAGES), pick(IMAGES)]
    };
  });
}

// templates/meeting/src/scheduler/redis-store.ts
import { createHash as createHash2, randomBytes } from "node:crypto";

// templates/meeting/src/scheduler/store.ts
var LOG_KEEP = 5e3;
var LOG_TRIM = 500;
var LOG_SEPARATORS = /[|;,]/;
function decodeEntry(s, skip, out) {
  const bar1 = s.indexOf("|");
  const bar2 = bar1 < 0 ? -1 : s.indexOf("|", bar1 + 1);
  if (bar2 < 0) return NaN;
  const v = numberAt(s, 0, bar1);
  if (!Number.isFinite(v)) return NaN;
  if (skip !== void 0 && skip !== "" && bar2 - bar1 - 1 === skip.length && s.startsWith(skip, bar1 + 1)) return v;
  const mark = out.length;
  let pos = bar2 + 1;
  while (pos < s.length) {
    let end = s.indexOf(";", pos);
    if (end < 0) end = s.length;
    const c1 = s.indexOf(",", pos);
    const c2 = c1 < 0 ? -1 : s.indexOf(",", c1 + 1);
    const c3 = c2 < 0 ? -1 : s.indexOf(",", c2 + 1);
    const c4 = c3 < 0 ? -1 : s.indexOf(",", c3 + 1);
    const c5 = c4 < 0 ? -1 : s.indexOf(",", c4 + 1);
    if (c5 < 0 || c5 >= end || c1 === pos) {
      out.length = mark;
      return NaN;
    }
    const cpu = numberAt(s, c1 + 1, c2);
    const mem = numberAt(s, c2 + 1, c3);
    const gpu = numberAt(s, c3 + 1, c4);
    const n = numberAt(s, c4 + 1, c5);
    if (!Number.isFinite(cpu + mem + gpu + n)) {
      out.length = mark;
      return NaN;
    }
    out.push({ v, host: s.slice(pos, c1), cpu, mem, gpu, n: n < 0 ? -1 : 1, tenant: s.slice(c5 + 1, end) });
    if (end === s.length) break;
    pos = end + 1;
    if (pos === s.length) {
      out.length = mark;
      return NaN;
    }
  }
  return v;
}
function numberAt(s, from, to) {
  if (to <= from) return NaN;
  let neg = false;
  let i = from;
  if (s.charCodeAt(i) === 45) {
    neg = true;
    i++;
  }
  let x = 0;
  if (i === to || to - i > 15) return Number(s.slice(from, to));
  for (; i < to; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return Number(s.slice(from, to));
    x = x * 10 + c;
  }
  return neg ? -x : x;
}
var FencedError = class extends Error {
  constructor(store2) {
    super(`store ${store2} was fenced: silent past the sweep window, its requests were put back in the shared queue`);
    this.store = store2;
    this.name = "FencedError";
  }
};
var KEYS = {
  version: "sched:ver",
  /** host → its HostSpec as JSON (read by replicas' snapshots). */
  spec: "sched:spec",
  /** host → `cpu|mem|gpu` capacity (read by the commit script). */
  cap: "sched:cap",
  /** host → `v|cpu|mem|gpu`: the host's version and what is placed on it. */
  use: "sched:use",
  /** `sched:ten:<host>`: tenant → instances on that host (anti-affinity). */
  tenantsPrefix: "sched:ten:",
  /** The change log: a sorted set of entries (encodeEntry: one per commit) scored by version. */
  log: "sched:log",
  /** The log was trimmed up to this version. */
  logFloor: "sched:logfloor",
  placements: "sched:placements",
  queue: "sched:queue",
  /**
   * `sched:taken:<store id>`: the requests one store's last exchange took, after its number;
   * `…:prev` the exchange's before (committed, results not yet sent).
   */
  takenPrefix: "sched:taken:",
  /** Store id → time (ms, Redis's clock) of its last exchange, while it holds taken requests. */
  takers: "sched:takers",
  /**
   * Store id → its lease epoch (from sched:epoch). A store's first taking exchange gets one;
   * a sweep of the store deletes it, and every later exchange of the store that carries
   * the old epoch (commit, results, take, give-back) is refused whole: fencing.
   */
  leases: "sched:leases",
  epoch: "sched:epoch",
  results: "sched:results"
};

// templates/meeting/src/scheduler/redis-store.ts
var TRIM_LUA = `
if redis.call('ZCARD', '${KEYS.log}') > ${LOG_KEEP + LOG_TRIM} then
  redis.call('ZREMRANGEBYRANK', '${KEYS.log}', 0, ${LOG_TRIM - 1})
  local first = redis.call('ZRANGE', '${KEYS.log}', 0, 0, 'WITHSCORES')
  redis.call('SET', '${KEYS.logFloor}', tonumber(first[2]) - 1)
end
`;
var HELPERS_LUA = `
local NUM = '(-?[%d.e+]+)'
local function use_of(raw)
  local v, cpu, mem, gpu = string.match(raw, '^' .. NUM .. '|' .. NUM .. '|' .. NUM .. '|' .. NUM .. '$')
  return tonumber(v), tonumber(cpu), tonumber(mem), tonumber(gpu)
end
local function tenants_of(host)
  return redis.call('HGETALL', '${KEYS.tenantsPrefix}' .. host)
end
local function placement_host(pid)
  local rec = redis.call('HGET', '${KEYS.placements}', pid)
  return rec and string.match(rec, '^([^|]*)')
end
-- a store that holds a lease (epoch ~= '0') and no longer has it was swept: fenced
local function fenced(id, epoch)
  return epoch ~= '0' and redis.call('HGET', '${KEYS.leases}', id) ~= epoch
end
local function push_all(cmd, key, args, from, to)
  for i = from, to, 1000 do
    redis.call(cmd, key, unpack(args, i, math.min(i + 999, to)))
  end
end
local function hset_all(key, args)
  for i = 1, #args, 400 do
    redis.call('HSET', key, unpack(args, i, math.min(i + 399, #args)))
  end
end
`;
var COMMIT_LUA = `
${HELPERS_LUA}
local writer = ARGV[1]
if fenced(ARGV[2], ARGV[3]) then return redis.error_reply('FENCED') end
local out, uses, placed, changes, pending, now = {}, {}, {}, {}, {}, {}
local nv, nvs = nil, nil
local a = 4
while a <= #ARGV do
  local pid, cpu, mem, gpu, tenant, n = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], tonumber(ARGV[a + 5])
  local first = a + 6
  a = first + 2 * n
  local refused = {}
  local outcome = {0, 0, -1, refused}
  local before = now[pid] or placement_host(pid)
  if before then
    outcome = {2, 0, -1, refused, before, pending[before] or redis.call('HGET', '${KEYS.use}', before), tenants_of(before)}
    n = 0
  end
  for k = 0, n - 1 do
    local host, expect = ARGV[first + 2 * k], tonumber(ARGV[first + 2 * k + 1])
    local raw = pending[host] or redis.call('HGET', '${KEYS.use}', host)
    if not raw then
      refused[#refused + 1] = {host, 'unknown-host'}
    else
      local v, ucpu, umem, ugpu = use_of(raw)
      local fits = false
      if v ~= expect then
        refused[#refused + 1] = {host, 'conflict', raw, tenants_of(host)}
      else
        local ccpu, cmem, cgpu = string.match(redis.call('HGET', '${KEYS.cap}', host), '^' .. NUM .. '|' .. NUM .. '|' .. NUM .. '$')
        fits = ucpu + cpu <= tonumber(ccpu) and umem + mem <= tonumber(cmem) and ugpu + gpu <= tonumber(cgpu)
        if not fits then refused[#refused + 1] = {host, 'capacity', raw, tenants_of(host)} end
      end
      if fits then
        if not nv then
          nv = redis.call('INCR', '${KEYS.version}')
          nvs = tostring(nv)
        end
        local rec = nvs .. '|' .. (ucpu + cpu) .. '|' .. (umem + mem) .. '|' .. (ugpu + gpu)
        pending[host] = rec
        uses[#uses + 1] = host
        uses[#uses + 1] = rec
        placed[#placed + 1] = pid
        placed[#placed + 1] = host .. '|' .. cpu .. '|' .. mem .. '|' .. gpu .. '|' .. tenant
        now[pid] = host
        changes[#changes + 1] = host .. ',' .. cpu .. ',' .. mem .. ',' .. gpu .. ',1,' .. tenant
        redis.call('HINCRBY', '${KEYS.tenantsPrefix}' .. host, tenant, 1)
        outcome = {1, nv, k, refused}
        break
      end
    end
  end
  out[#out + 1] = outcome
end
if nv then
  hset_all('${KEYS.use}', uses)
  hset_all('${KEYS.placements}', placed)
  redis.call('ZADD', '${KEYS.log}', nv, nvs .. '|' .. writer .. '|' .. table.concat(changes, ';'))
${TRIM_LUA}
end
return out
`;
var RELEASE_LUA = `
${HELPERS_LUA}
local raw = redis.call('HGET', '${KEYS.placements}', ARGV[1])
if not raw then return 0 end
local host, cpu, mem, gpu, tenant = string.match(raw, '^([^|]*)|' .. NUM .. '|' .. NUM .. '|' .. NUM .. '|(.*)$')
cpu, mem, gpu = tonumber(cpu), tonumber(mem), tonumber(gpu)
local v, ucpu, umem, ugpu = use_of(redis.call('HGET', '${KEYS.use}', host))
local nv = redis.call('INCR', '${KEYS.version}')
redis.call('HSET', '${KEYS.use}', host, nv .. '|' .. (ucpu - cpu) .. '|' .. (umem - mem) .. '|' .. (ugpu - gpu))
if redis.call('HINCRBY', '${KEYS.tenantsPrefix}' .. host, tenant, -1) <= 0 then
  redis.call('HDEL', '${KEYS.tenantsPrefix}' .. host, tenant)
end
redis.call('ZADD', '${KEYS.log}', nv, nv .. '||' .. host .. ',' .. cpu .. ',' .. mem .. ',' .. gpu .. ',-1,' .. tenant)
redis.call('HDEL', '${KEYS.placements}', ARGV[1])
${TRIM_LUA}
return 1
`;
var CHANGES_LUA = `
local floor = tonumber(redis.call('GET', '${KEYS.logFloor}') or '0')
local out = redis.call('ZRANGEBYSCORE', '${KEYS.log}', '(' .. ARGV[1], '+inf')
table.insert(out, 1, floor)
return out
`;
var TAKE_LUA = `
${HELPERS_LUA}
local epoch = ARGV[4]
if fenced(ARGV[1], epoch) then return redis.error_reply('FENCED') end
if epoch == '0' then
  epoch = tostring(redis.call('INCR', '${KEYS.epoch}'))
  redis.call('HSET', '${KEYS.leases}', ARGV[1], epoch)
end
if #ARGV > 4 then push_all('RPUSH', '${KEYS.results}', ARGV, 5, #ARGV) end
local key = '${KEYS.takenPrefix}' .. ARGV[1]
local prev = key .. ':prev'
redis.call('DEL', prev)
if redis.call('EXISTS', key) == 1 then redis.call('RENAME', key, prev) end
local items = redis.call('LPOP', '${KEYS.queue}', ARGV[3])
if items then
  redis.call('RPUSH', key, ARGV[2])
  for i = 1, #items, 1000 do
    redis.call('RPUSH', key, unpack(items, i, math.min(i + 999, #items)))
  end
end
if items or redis.call('EXISTS', prev) == 1 then
  local t = redis.call('TIME')
  redis.call('ZADD', '${KEYS.takers}', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), ARGV[1])
else
  redis.call('ZREM', '${KEYS.takers}', ARGV[1])
end
return {epoch, items or {}}
`;
var SWEEP_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local back = 0
for _, id in ipairs(redis.call('ZRANGEBYSCORE', '${KEYS.takers}', '-inf', now - tonumber(ARGV[1]))) do
  local key = '${KEYS.takenPrefix}' .. id
  -- the newest list first, each in reverse, so that LPUSH leaves them in their order
  for _, list in ipairs({key, key .. ':prev'}) do
    local items = redis.call('LRANGE', list, 1, -1)
    for i = #items, 1, -1 do
      redis.call('LPUSH', '${KEYS.queue}', items[i])
      back = back + 1
    end
    redis.call('DEL', list)
  end
  redis.call('ZREM', '${KEYS.takers}', id)
  redis.call('HDEL', '${KEYS.leases}', id)
end
return back
`;
var GIVE_BACK_LUA = `
${HELPERS_LUA}
if fenced(ARGV[1], ARGV[2]) then return 0 end
local n = tonumber(ARGV[3])
for i = 3 + n, 4, -1 do redis.call('LPUSH', '${KEYS.queue}', ARGV[i]) end
if #ARGV > 3 + n then push_all('RPUSH', '${KEYS.results}', ARGV, 4 + n, #ARGV) end
local key = '${KEYS.takenPrefix}' .. ARGV[1]
redis.call('DEL', key, key .. ':prev')
redis.call('ZREM', '${KEYS.takers}', ARGV[1])
redis.call('HDEL', '${KEYS.leases}', ARGV[1])
return 1
`;
var PLACED_LUA = `
${HELPERS_LUA}
local out = {}
for i = 1, #ARGV do
  local host = placement_host(ARGV[i])
  if host then out[#out + 1] = {ARGV[i], host, redis.call('HGET', '${KEYS.use}', host), tenants_of(host)} end
end
return out
`;
function parseUse(raw, tenants = []) {
  const f = raw.split("|");
  if (f.length !== 4) throw new Error(`bad usage record ${JSON.stringify(raw)}`);
  const ten = {};
  for (let i = 0; i + 1 < tenants.length; i += 2) {
    const n = Number(tenants[i + 1]);
    if (n > 0) ten[String(tenants[i])] = n;
  }
  return { v: Number(f[0]), cpu: Number(f[1]), mem: Number(f[2]), gpu: Number(f[3]), ten };
}
var packUse = (u) => `${u.v}|${u.cpu}|${u.mem}|${u.gpu}`;
var RedisStore = class {
  constructor(redis2, opts = {}) {
    this.redis = redis2;
    this.blocking = opts.blocking;
    this.writer = opts.skipOwn ? this.id : "";
  }
  blocking;
  /** Names this store: its taken lists (TAKE_LUA) and, with skipOwn, its commits. */
  id = randomBytes(6).toString("hex");
  /** The writer id of this store's commits ('' when it reads its own commits back). */
  writer;
  exchanges = 0;
  /** The number of the last exchange that took requests and whose answer has not been read. */
  unansweredTake;
  /**
   * This store's lease epoch ('0': none yet). The first taking exchange gets one; every
   * commit, take and give-back carries it, and Redis refuses them once a sweep deleted it.
   */
  epoch = "0";
  /** Reading the change log: time spent decoding its entries, and the changes they held (others' only). */
  stats = { decodeMs: 0, changesDecoded: 0 };
  /**
   * Every host's spec and usage at one moment: one MULTI/EXEC, so no commit lands between
   * reading the version, the usages and the tenant counts.
   */
  async snapshot() {
    const ids = ok(await this.redis.call("HKEYS", KEYS.spec));
    const cmds = [["MULTI"], ["GET", KEYS.version], ["HGETALL", KEYS.spec], ["HGETALL", KEYS.use]];
    for (const id of ids) cmds.push(["HGETALL", KEYS.tenantsPrefix + id]);
    cmds.push(["EXEC"]);
    const replies = await this.redis.pipeline(cmds);
    const exec = ok(replies[replies.length - 1]);
    if (!Array.isArray(exec)) throw new Error("snapshot transaction aborted");
    const [ver, specs, uses, ...tenants] = exec.map(ok);
    const specList = specs;
    const useList = uses;
    const useById = /* @__PURE__ */ new Map();
    for (let i = 0; i < useList.length; i += 2) useById.set(useList[i], useList[i + 1]);
    const tenantsById = /* @__PURE__ */ new Map();
    ids.forEach((id, i) => tenantsById.set(id, tenants[i] ?? []));
    const hosts = [];
    for (let i = 0; i < specList.length; i += 2) {
      const id = specList[i];
      const raw = useById.get(id);
      if (raw) hosts.push({ spec: JSON.parse(specList[i + 1]), use: parseUse(raw, tenantsById.get(id)) });
    }
    return { version: Number(ver ?? 0), hosts };
  }
  async sync(since, pop, results) {
    const replies = await this.redis.pipeline(this.syncCommands(since, pop, results));
    return this.syncResult(replies, since, pop, results);
  }
  async commit(items) {
    if (items.length === 0) return [];
    const reply = await this.redis.eval(COMMIT_LUA, [], this.commitArgs(items)).catch((err) => err instanceof RedisReplyError ? err : Promise.reject(err));
    return parseOutcomes(this.unfenced(reply));
  }
  async commitThenSync(items, since, pop, results) {
    if (items.length === 0) return { outcomes: [], sync: await this.sync(since, pop, results) };
    const args = this.commitArgs(items);
    const replies = await this.redis.pipeline([["EVALSHA", sha(COMMIT_LUA), 0, ...args], ...this.syncCommands(since, pop, results)]);
    const outcomes = parseOutcomes(this.unfenced(await this.scriptReply(replies[0], COMMIT_LUA, args)));
    return { outcomes, sync: await this.syncResult(replies.slice(1), since, pop, results) };
  }
  /**
   * A script's reply, with FENCED (this store's lease is gone) thrown as a FencedError: the
   * store forgets its lease and what its last exchange took (a sweep put it back).
   */
  unfenced(reply) {
    if (reply instanceof RedisReplyError && /^(ERR )?FENCED\b/.test(reply.message)) {
      this.epoch = "0";
      this.unansweredTake = void 0;
      throw new FencedError(this.id);
    }
    return ok(reply);
  }
  /** COMMIT_LUA's arguments: the writer, this store's id and lease, then each item flat (see the script). */
  commitArgs(items) {
    const args = [this.writer, this.id, this.epoch];
    for (const i of items) {
      args.push(i.placement, String(i.cpu), String(i.mem), String(i.gpu), i.tenant, String(1 + (i.alternates?.length ?? 0)), i.host, String(i.expect));
      for (const a of i.alternates ?? []) args.push(a.host, String(a.expect));
    }
    return args;
  }
  /** TAKE_LUA's arguments (the results travel in the script, checked against the lease). */
  takeArgs(pop, results) {
    return [this.id, this.unansweredTake, pop, this.epoch, ...results];
  }
  /**
   * The changes, then (pop > 0) the fenced exchange: results pushed and requests taken.
   * Without a pop (a replica not on the shared queue) there are no results to push.
   */
  syncCommands(since, pop, results) {
    const cmds = [];
    if (pop === 0 && results.length > 0) cmds.push(["RPUSH", KEYS.results, ...results]);
    cmds.push(["EVALSHA", sha(CHANGES_LUA), 0, since]);
    if (pop > 0) {
      this.unansweredTake = ++this.exchanges;
      cmds.push(["EVALSHA", sha(TAKE_LUA), 0, ...this.takeArgs(pop, results)]);
    }
    return cmds;
  }
  async syncResult(replies, since, pop, results) {
    let idx = pop === 0 && results.length > 0 ? 1 : 0;
    if (idx === 1) ok(replies[0]);
    const arr = ok(await this.scriptReply(replies[idx], CHANGES_LUA, [since]));
    const deltas = [];
    let top = since;
    const t0 = performance.now();
    for (let i = 1; i < arr.length; i++) {
      const entry = arr[i];
      const v = typeof entry === "string" ? decodeEntry(entry, this.writer, deltas) : NaN;
      if (v > top) top = v;
    }
    this.stats.decodeMs += performance.now() - t0;
    this.stats.changesDecoded += deltas.length;
    idx++;
    let popped = null;
    if (pop > 0) {
      const [epoch, items] = this.unfenced(await this.scriptReply(replies[idx], TAKE_LUA, this.takeArgs(pop, results)));
      this.epoch = String(epoch);
      popped = items;
      this.unansweredTake = void 0;
    }
    return { floor: Number(arr[0]), deltas, top, requests: Array.isArray(popped) ? popped : [] };
  }
  /**
   * The reply of a script sent by EVALSHA in a pipeline. One that Redis had not cached (a
   * restarted Redis) did not run, so it runs now.
   */
  async scriptReply(reply, script, args) {
    return reply instanceof Error && reply.message.startsWith("NOSCRIPT") ? this.redis.eval(script, [], args) : reply;
  }
  async placedAlready(ids) {
    const out = /* @__PURE__ */ new Map();
    if (ids.length === 0) return out;
    for (const row of ok(await this.redis.eval(PLACED_LUA, [], ids))) {
      const [id, host, use, tenants] = row;
      out.set(id, { host, use: parseUse(use, tenants) });
    }
    return out;
  }
  async reclaim() {
    const exchange2 = this.unansweredTake;
    if (exchange2 === void 0) return [];
    const [list, lease] = await this.redis.pipeline([
      ["LRANGE", KEYS.takenPrefix + this.id, 0, -1],
      ["HGET", KEYS.leases, this.id]
    ]);
    const taken = ok(list);
    this.unansweredTake = void 0;
    if (taken[0] !== String(exchange2)) return [];
    const epoch = ok(lease);
    if (epoch === null) return [];
    this.epoch = String(epoch);
    return taken.slice(1);
  }
  async sweep(staleMs) {
    return Number(await this.redis.eval(SWEEP_LUA, [], [staleMs]));
  }
  async release(placement) {
    return await this.redis.eval(RELEASE_LUA, [], [placement]) === 1;
  }
  async giveBack(requests, results) {
    ok(await this.redis.eval(GIVE_BACK_LUA, [], [this.id, this.epoch, requests.length, ...requests, ...results]));
    this.epoch = "0";
  }
  /**
   * BLMOVE from the queue's head back to its head: blocks until a request is queued, then
   * leaves it there (the list is unchanged), so a request is only ever taken by an exchange
   * that keeps it in a taken list. Every replica blocked on it wakes.
   */
  async waitRequest(timeoutMs) {
    const conn = this.blocking ?? this.redis;
    const r = await conn.call("BLMOVE", KEYS.queue, KEYS.queue, "LEFT", "LEFT", Math.max(0.01, timeoutMs / 1e3));
    return r !== null;
  }
  close() {
    this.redis.close();
    this.blocking?.close();
  }
};
function parseOutcomes(reply) {
  if (!Array.isArray(reply)) throw new Error(`unexpected commit reply ${JSON.stringify(reply)}`);
  return reply.map((o) => {
    const [ok2, v, at, list] = o;
    const refused = list.map((r) => {
      const [host, reason, use, tenants] = r;
      return { host, reason, ...use ? { use: parseUse(use, Array.isArray(tenants) ? tenants : []) } : {} };
    });
    if (ok2 === 1) return { ok: true, v, at, refused };
    if (ok2 === 2) {
      const [, , , , host, use, tenants] = o;
      const now = parseUse(use, Array.isArray(tenants) ? tenants : []);
      return { ok: true, v: now.v, at: -1, refused, earlier: { host, use: now } };
    }
    const last = refused.at(-1);
    return { ok: false, reason: last?.reason ?? "unknown-host", ...last?.use ? { use: last.use } : {}, refused };
  });
}
var shas = /* @__PURE__ */ new Map();
function sha(script) {
  let s = shas.get(script);
  if (!s) shas.set(script, s = createHash2("sha1").update(script).digest("hex"));
  return s;
}
async function registerHosts(redis2, specs, chunk = 1e3) {
  for (let i = 0; i < specs.length; i += chunk) {
    const part = specs.slice(i, i + chunk);
    const [first] = await redis2.pipeline([["INCRBY", KEYS.version, part.length]]);
    const top = Number(ok(first));
    const base = top - part.length;
    const specArgs = [];
    const capArgs = [];
    const useArgs = [];
    part.forEach((s, j) => {
      if (LOG_SEPARATORS.test(s.id)) throw new Error(`host id ${JSON.stringify(s.id)}: '|', ';' and ',' separate the change log's fields`);
      const v = base + j + 1;
      specArgs.push(s.id, JSON.stringify(s));
      capArgs.push(s.id, `${s.cpu}|${s.mem}|${s.gpu}`);
      useArgs.push(s.id, packUse({ v, cpu: 0, mem: 0, gpu: 0 }));
    });
    for (const r of await redis2.pipeline([["HSET", KEYS.spec, ...specArgs], ["HSET", KEYS.cap, ...capArgs], ["HSET", KEYS.use, ...useArgs]])) ok(r);
  }
}

// templates/meeting/src/scheduler/request.ts
import { randomUUID as randomUUID2 } from "node:crypto";
var NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
function parsePlacementRequest(body) {
  const o = obj(body);
  const features = o.features ?? [];
  if (!Array.isArray(features) || !features.every((f) => typeof f === "string" && NAME.test(f))) throw new HttpError(400, "features must be a list of names");
  return {
    id: str(o, "id", { optional: true, max: 100, pattern: NAME }) || randomUUID2(),
    tenant: str(o, "tenant", { max: 100, pattern: NAME }),
    cpu: num(o, "cpu", { min: 1, max: 1e6 }),
    mem: num(o, "mem", { min: 1, max: 1e7 }),
    gpu: num(o, "gpu", { min: 0, max: 16, fallback: 0 }),
    zone: str(o, "zone", { optional: true, max: 60, pattern: NAME }),
    features,
    image: str(o, "image", { max: 200, pattern: NAME })
  };
}

// templates/meeting/src/scheduler/cache.ts
var Bits = class {
  bit = /* @__PURE__ */ new Map();
  /** A bit for a name, assigning one if there is room; -1 when all 31 are taken. */
  of(name, assign) {
    let b = this.bit.get(name);
    if (b === void 0) {
      if (!assign || this.bit.size >= 31) return -1;
      this.bit.set(name, b = this.bit.size);
    }
    return b;
  }
  /** The mask of a list of names, or -1 if one cannot have a bit. */
  mask(names, assign) {
    let m = 0;
    for (const n of names) {
      const b = this.of(n, assign);
      if (b < 0) return -1;
      m |= 1 << b;
    }
    return m;
  }
};
function dictTenants(u) {
  u.ten = Object.assign(/* @__PURE__ */ Object.create(null), u.ten);
  return u;
}
var REC = 8;
var USE_CPU = 0;
var USE_MEM = 1;
var USE_GPU = 2;
var CAP_CPU = 3;
var CAP_MEM = 4;
var CAP_GPU = 5;
var FEAT = 6;
var IMG = 7;
var HostClaims = class {
  constructor(cache) {
    this.cache = cache;
  }
  ids = /* @__PURE__ */ new Set();
  marks = new Uint32Array(0);
  gen = 1;
  load = -1;
  add(id) {
    this.ids.add(id);
    if (this.load !== this.cache.loads) {
      this.marks = new Uint32Array(this.cache.size);
      this.gen = 1;
      this.load = this.cache.loads;
      for (const c of this.ids) this.mark(c);
    } else this.mark(id);
    return this;
  }
  mark(id) {
    const i = this.cache.slot(id);
    if (i !== void 0) this.marks[i] = this.gen;
  }
  /** Whether slot i of `cache` is claimed; undefined if the slots are not that cache's current ones. */
  marked(cache, i) {
    return cache === this.cache && this.load === cache.loads ? this.marks[i] === this.gen : void 0;
  }
  clear() {
    this.ids.clear();
    if (++this.gen === 4294967295) {
      this.marks.fill(0);
      this.gen = 1;
    }
  }
  has(id) {
    return this.ids.has(id);
  }
  get size() {
    return this.ids.size;
  }
};
var HostCache = class {
  hosts = /* @__PURE__ */ new Map();
  zones = /* @__PURE__ */ new Map();
  all = new Int32Array(0);
  list = [];
  index = /* @__PURE__ */ new Map();
  /**
   * What a scan reads of each host, one contiguous 64-byte record per host (REC doubles):
   * usage, capacity, feature and image bits. A host costs a scan one or two cache lines
   * however many of its fields it reads, instead of one line in each of eight arrays —
   * with several replicas sharing a core's caches, memory is what a scan waits on.
   */
  rec = new Float64Array(0);
  features = new Bits();
  images = new Bits();
  /** tenant → host index → instances (anti-affinity). */
  tenants = /* @__PURE__ */ new Map();
  /** Scratch space of candidates(): the feasible hosts found so far and their scores. */
  foundScratch = new Int32Array(0);
  scoreScratch = new Float64Array(0);
  /** The highest store version this cache has seen. */
  version = 0;
  /** applyMs: time spent in apply() (the refresh's share of a replica's time). */
  stats = { full: 0, incremental: 0, changesRead: 0, changesApplied: 0, applyMs: 0, loadMs: 0 };
  /** How many times load() ran: slots (host positions) are valid for one load. */
  loads = 0;
  load(version, hosts) {
    const t0 = performance.now();
    const n = hosts.length;
    this.hosts.clear();
    this.index.clear();
    this.tenants.clear();
    this.list = [];
    this.all = new Int32Array(n);
    this.rec = new Float64Array(n * REC);
    const byZone = /* @__PURE__ */ new Map();
    hosts.forEach((h, i) => {
      const host = { spec: h.spec, use: dictTenants(h.use) };
      this.hosts.set(h.spec.id, host);
      this.index.set(h.spec.id, i);
      this.list.push(host);
      this.all[i] = i;
      let z = byZone.get(h.spec.zone);
      if (!z) byZone.set(h.spec.zone, z = []);
      z.push(i);
      const r = i * REC;
      this.rec[r + CAP_CPU] = h.spec.cpu;
      this.rec[r + CAP_MEM] = h.spec.mem;
      this.rec[r + CAP_GPU] = h.spec.gpu;
      this.rec[r + FEAT] = this.features.mask(h.spec.features, true);
      this.rec[r + IMG] = this.images.mask(h.spec.images, true);
      this.setArrays(i, h.use);
      for (const [t, c] of Object.entries(h.use.ten)) this.tenantAdd(t, i, c);
    });
    this.zones.clear();
    for (const [z, ids] of byZone) this.zones.set(z, Int32Array.from(ids));
    this.version = version;
    this.stats.full++;
    this.stats.loadMs += performance.now() - t0;
    this.loads++;
  }
  setArrays(i, u) {
    const r = i * REC;
    this.rec[r + USE_CPU] = u.cpu;
    this.rec[r + USE_MEM] = u.mem;
    this.rec[r + USE_GPU] = u.gpu;
  }
  tenantAdd(tenant, i, d) {
    let m = this.tenants.get(tenant);
    if (!m) this.tenants.set(tenant, m = /* @__PURE__ */ new Map());
    const c = (m.get(i) ?? 0) + d;
    if (c > 0) m.set(i, c);
    else m.delete(i);
  }
  /**
   * Applies the change log after this cache's version, in version order; returns how many
   * deltas were newer than the cache's copy of their host. A host's copy at version x
   * already holds every change up to x (its own commits, a conflict's current state), so a
   * delta at or below x is skipped and the later ones are added on top. `top` is the
   * highest version the store's answer covered, changes it left out included (this
   * replica's own commits, which placed() applied already).
   */
  apply(deltas, top = 0) {
    const t0 = performance.now();
    let n = 0;
    for (const d of deltas) {
      if (d.v > this.version) this.version = d.v;
      if (this.add(d)) n++;
    }
    if (top > this.version) this.version = top;
    this.stats.changesRead += deltas.length;
    this.stats.incremental++;
    this.stats.changesApplied += n;
    this.stats.applyMs += performance.now() - t0;
    return n;
  }
  /**
   * Records this replica's own committed placement (the store answered version d.v): the
   * same arithmetic in place. The cache's version does not move, since changes by others
   * before d.v may still be unread.
   */
  placed(d) {
    return this.add(d);
  }
  add(d) {
    const i = this.index.get(d.host);
    if (i === void 0) return false;
    const u = this.list[i].use;
    if (d.v <= u.v) return false;
    u.v = d.v;
    u.cpu += d.cpu * d.n;
    u.mem += d.mem * d.n;
    u.gpu += d.gpu * d.n;
    const t = (u.ten[d.tenant] ?? 0) + d.n;
    if (t > 0) u.ten[d.tenant] = t;
    else delete u.ten[d.tenant];
    this.setArrays(i, u);
    this.tenantAdd(d.tenant, i, d.n);
    return true;
  }
  /** Replaces one host's usage if the new one is newer. */
  set(id, use) {
    const i = this.index.get(id);
    if (i === void 0) return false;
    const h = this.list[i];
    if (use.v <= h.use.v) return false;
    for (const [t, c] of Object.entries(h.use.ten)) this.tenantAdd(t, i, -c);
    for (const [t, c] of Object.entries(use.ten)) this.tenantAdd(t, i, c);
    h.use = dictTenants(use);
    this.setArrays(i, use);
    return true;
  }
  /** The hosts a request may land on: its zone's, or all. */
  pool(zone) {
    const ids = zone === "" ? this.all : this.zones.get(zone);
    return ids ? Array.from(ids, (i) => this.list[i]) : [];
  }
  /**
   * candidates() of placement.ts over this cache's pool for the request, computed from the
   * packed arrays: the same scan from the same random offset, the same scores, the same
   * order and shuffle (a unit test holds the two equal), at a fraction of the cost. This
   * is where a replica spends the largest share of its time, so: the arrays are read
   * through locals, each feasible host is insertion-ranked as it is found (a stable sort
   * by descending score, without a comparator call per step), into scratch arrays reused
   * from call to call.
   */
  candidates(r, rng, opts) {
    const ids = r.zone === "" ? this.all : this.zones.get(r.zone);
    const n = ids?.length ?? 0;
    if (!ids || n === 0) return [];
    const need = this.features.mask(r.features, false);
    const img = this.images.of(r.image, false);
    const imgBit = img >= 0 ? 1 << img : 0;
    const w = opts.weights ?? DEFAULT_WEIGHTS;
    const ten = this.tenants.get(r.tenant);
    const exclude = opts.exclude && opts.exclude.size > 0 ? opts.exclude : void 0;
    const claims = exclude instanceof HostClaims && exclude.marked(this, 0) !== void 0 ? exclude : void 0;
    const sample = opts.sample;
    if (this.foundScratch.length < sample) {
      this.foundScratch = new Int32Array(sample);
      this.scoreScratch = new Float64Array(sample);
    }
    const found = this.foundScratch;
    const scores = this.scoreScratch;
    const { rec, list } = this;
    const rc = r.cpu;
    const rm = r.mem;
    const rg = r.gpu;
    let m = 0;
    let pos = Math.floor(rng() * n);
    for (let k = 0; k < n && m < sample; k++) {
      const i = ids[pos];
      if (++pos === n) pos = 0;
      const at = i * REC;
      const cpu = rec[at + CAP_CPU];
      const mem = rec[at + CAP_MEM];
      const uc = rec[at + USE_CPU] + rc;
      const um = rec[at + USE_MEM] + rm;
      if (uc > cpu || um > mem || rec[at + USE_GPU] + rg > rec[at + CAP_GPU]) continue;
      const fm = rec[at + FEAT];
      if (fm < 0 ? !r.features.every((f) => list[i].spec.features.includes(f)) : need < 0 || (fm & need) !== need) continue;
      if (claims ? claims.marked(this, i) : exclude?.has(list[i].spec.id)) continue;
      const ucpu = uc / cpu;
      const umem = um / mem;
      const balance = 1 - Math.max(ucpu, umem) - 0.5 * Math.abs(ucpu - umem);
      const im = rec[at + IMG];
      const image = (im < 0 ? list[i].spec.images.includes(r.image) : (im & imgBit) !== 0) ? 1 : 0;
      const same = ten?.get(i) ?? 0;
      const score = w.balance * balance + w.image * image - w.antiAffinity * Math.min(same, 4);
      let j = m++;
      while (j > 0 && scores[j - 1] < score) {
        scores[j] = scores[j - 1];
        found[j] = found[j - 1];
        j--;
      }
      scores[j] = score;
      found[j] = i;
    }
    const ranked = new Array(m);
    for (let j = 0; j < m; j++) ranked[j] = list[found[j]];
    for (let j = Math.min(opts.topK, m) - 1; j > 0; j--) {
      const x = Math.floor(rng() * (j + 1));
      const t = ranked[j];
      ranked[j] = ranked[x];
      ranked[x] = t;
    }
    return ranked;
  }
  get size() {
    return this.list.length;
  }
  /** A host's slot in this load of the cache. */
  slot(id) {
    return this.index.get(id);
  }
  /** A set of claimed hosts whose lookups by candidates() go by slot. */
  claims() {
    return new HostClaims(this);
  }
};

// templates/meeting/src/scheduler/queue.ts
var QueueFullError = class extends Error {
  constructor(retryAfterS) {
    super("the scheduler is overloaded: the request waited too long for a place in the queue");
    this.retryAfterS = retryAfterS;
  }
};
var FlowQueue = class {
  constructor(capacity) {
    this.capacity = capacity;
  }
  items = [];
  spaceWaiters = [];
  itemWaiters = [];
  waiting;
  stats = { accepted: 0, waited: 0, rejected: 0, maxDepth: 0 };
  get length() {
    return this.items.length;
  }
  /** Adds an item; when full, waits up to `waitMs` for room, then throws QueueFullError. */
  async push(item, waitMs = 3e4) {
    if (this.items.length >= this.capacity) {
      this.stats.waited++;
      const deadline = Date.now() + waitMs;
      while (this.items.length >= this.capacity) {
        const left = deadline - Date.now();
        if (left <= 0) {
          this.stats.rejected++;
          throw new QueueFullError(Math.max(1, Math.ceil(this.items.length / this.capacity)));
        }
        await new Promise((resolve) => {
          const timer = setTimeout(() => {
            this.spaceWaiters = this.spaceWaiters.filter((w2) => w2 !== wake);
            resolve();
          }, left);
          const wake = () => {
            clearTimeout(timer);
            resolve();
          };
          this.spaceWaiters.push(wake);
        });
      }
    }
    this.items.push(item);
    this.stats.accepted++;
    if (this.items.length > this.stats.maxDepth) this.stats.maxDepth = this.items.length;
    const w = this.itemWaiters.shift();
    w?.();
  }
  /** Takes up to n items (oldest first) and lets waiting producers in. */
  take(n) {
    const out = this.items.splice(0, n);
    for (let i = 0; i < out.length && this.spaceWaiters.length > 0; i++) this.spaceWaiters.shift()();
    return out;
  }
  /** Resolves when an item is there (at once if one is). */
  nonEmpty() {
    if (this.items.length > 0) return Promise.resolve();
    if (!this.waiting) {
      this.waiting = new Promise(
        (resolve) => this.itemWaiters.push(() => {
          this.waiting = void 0;
          resolve();
        })
      );
    }
    return this.waiting;
  }
};

// templates/meeting/src/scheduler/scheduler.ts
var DEFAULT_OPTIONS = { replica: "r0", batch: 64, pick: DEFAULT_PICK, maxAttempts: 8, alternates: 2, shared: true, queueCapacity: 1e3, sweepEveryMs: 5e3, staleMs: 15e3 };
var Scheduler = class {
  constructor(store2, opts = {}) {
    this.store = store2;
    this.opts = { ...DEFAULT_OPTIONS, ...opts };
    this.local = new FlowQueue(this.opts.queueCapacity);
    this.rng = seededRng(this.opts.seed ?? Math.floor(Math.random() * 2 ** 31));
  }
  cache = new HostCache();
  /**
   * The hosts claimed by the current commit round. One set for the replica's life (batches
   * run one at a time): its slot marks are made once per cache load, not once per batch.
   */
  claimed = this.cache.claims();
  local;
  opts;
  rng;
  running = false;
  pendingResults = [];
  sharedBuffer = [];
  /** The jobs of a step whose exchange with the store failed: placed first by the next step. */
  retry = [];
  /** A step failed: the store may hold requests its exchange took (Store.reclaim). */
  reclaimNext = false;
  blockingWait;
  loopDone;
  /**
   * retried: requests that needed another commit round (every candidate sent refused);
   * rescans: requests whose candidate list ran out, so the fleet was scanned again (a full
   * reschedule); alternates: placements made on a candidate sent along, not the host
   * planned; fenced: times this replica's lease was taken away (Store FencedError).
   */
  stats = { placed: 0, failed: 0, conflicts: 0, commits: 0, attempts: 0, batches: 0, errors: 0, requeued: 0, retried: 0, rescans: 0, alternates: 0, fenced: 0 };
  nextSweep = 0;
  async init() {
    const snap = await this.store.snapshot();
    this.cache.load(snap.version, snap.hosts);
  }
  /** Schedules one request through the local queue (waits for room when it is full). */
  async schedule(req, waitMs) {
    let resolve;
    const result = new Promise((r) => resolve = r);
    await this.local.push({ req, resolve }, waitMs);
    return result;
  }
  /**
   * Plans and commits one batch; returns the placements. With `next`, the first commit
   * round also syncs (see Store.commitThenSync): the changes are applied to the cache and
   * the requests popped are kept for the next step. Exposed for tests.
   */
  async placeBatch(jobs, next) {
    this.stats.batches++;
    const claimed = this.claimed;
    claimed.clear();
    const plans = jobs.map((job) => ({ job, cands: [], next: 0, alternates: [], attempts: 0, conflicts: 0 }));
    for (const p of plans) {
      p.cands = this.cache.candidates(p.job.req, this.rng, { ...this.opts.pick, exclude: claimed });
      this.choose(p, claimed);
    }
    for (; ; ) {
      const round = plans.filter((p) => !p.done && p.host);
      for (const p of plans) if (!p.done && !p.host) p.done = this.fail(p, p.attempts === 0 ? "unschedulable: no host satisfies the hard constraints" : "unschedulable after conflicts");
      if (round.length === 0 && !next) break;
      const items = round.map((p) => {
        this.pickAlternates(p, claimed);
        return {
          placement: p.job.req.id,
          host: p.host.spec.id,
          expect: p.host.use.v,
          alternates: p.alternates.map((h) => ({ host: h.spec.id, expect: h.use.v })),
          cpu: p.job.req.cpu,
          mem: p.job.req.mem,
          gpu: p.job.req.gpu,
          tenant: p.job.req.tenant
        };
      });
      let outcomes;
      let sync;
      if (next) {
        ({ outcomes, sync } = await this.store.commitThenSync(items, this.cache.version, next.pop, next.results));
        next = void 0;
      } else outcomes = await this.store.commit(items);
      this.stats.commits++;
      claimed.clear();
      const retry = [];
      round.forEach((p, i) => {
        const o = outcomes[i];
        for (const f of o.refused) if (f.use) this.cache.set(f.host, f.use);
        const tried = o.refused.length + (o.ok ? 1 : 0);
        p.attempts += tried;
        p.conflicts += o.refused.length;
        this.stats.attempts += tried;
        this.stats.conflicts += o.refused.length;
        if (o.ok && o.earlier) {
          this.cache.set(o.earlier.host, o.earlier.use);
          p.done = this.success(p.job.req.id, o.earlier.host, p.attempts, p.conflicts);
          this.stats.placed++;
        } else if (o.ok) {
          const h = o.at === 0 ? p.host : p.alternates[o.at - 1];
          if (o.at > 0) this.stats.alternates++;
          const r = p.job.req;
          this.cache.placed({ v: o.v, host: h.spec.id, cpu: r.cpu, mem: r.mem, gpu: r.gpu, tenant: r.tenant, n: 1 });
          p.done = this.success(p.job.req.id, h.spec.id, p.attempts, p.conflicts);
          this.stats.placed++;
        } else {
          p.host = void 0;
          if (p.attempts >= this.opts.maxAttempts) p.done = this.fail(p, `gave up after ${p.attempts} conflicting attempts`);
          else {
            if (p.conflicts === o.refused.length) this.stats.retried++;
            retry.push(p);
          }
        }
        p.alternates = [];
      });
      if (sync) await this.applySync(sync);
      for (const p of retry) {
        if (!this.choose(p, claimed)) {
          this.stats.rescans++;
          p.cands = this.cache.candidates(p.job.req, this.rng, { ...this.opts.pick, exclude: claimed });
          p.next = 0;
          this.choose(p, claimed);
        }
      }
    }
    return plans.map((p) => p.done);
  }
  /** Brings the cache up to date and keeps the requests popped for the next step. */
  async applySync(sync) {
    if (this.cache.version < sync.floor) await this.init();
    else this.cache.apply(sync.deltas, sync.top);
    this.sharedBuffer.push(...sync.requests);
  }
  /**
   * The next feasible candidates after the plan's host, up to `alternates` of them and
   * within its attempts left. They are not claimed: if another plan of this commit takes
   * one first, the store sees that host's new version and refuses it for this plan.
   */
  pickAlternates(p, claimed) {
    const max = Math.min(this.opts.alternates, this.opts.maxAttempts - p.attempts - 1);
    while (p.alternates.length < max && p.next < p.cands.length) {
      const h = p.cands[p.next++];
      if (!claimed.has(h.spec.id) && feasible(h, p.job.req)) p.alternates.push(h);
    }
  }
  choose(p, claimed) {
    while (p.next < p.cands.length) {
      const h = p.cands[p.next++];
      if (claimed.has(h.spec.id) || !feasible(h, p.job.req)) continue;
      p.host = h;
      claimed.add(h.spec.id);
      return true;
    }
    return false;
  }
  fail(p, error) {
    this.stats.failed++;
    return this.refusal(p.job.req.id, error, p.attempts, p.conflicts);
  }
  /** A request's result: placed on `host`. */
  success(id, host, attempts, conflicts) {
    return { id, ok: true, host, zone: this.cache.hosts.get(host)?.spec.zone, attempts, conflicts, replica: this.opts.replica };
  }
  /** A request's failed result. */
  refusal(id, error, attempts = 0, conflicts = 0) {
    return { id, ok: false, error, attempts, conflicts, replica: this.opts.replica };
  }
  /**
   * One iteration: place and commit a batch. Its requests were popped by the previous
   * step's exchange; when there are none (the first step, or after idling) a sync round
   * fetches them first.
   */
  async step() {
    if (this.reclaimNext) {
      this.sharedBuffer.unshift(...await this.store.reclaim());
      this.reclaimNext = false;
    }
    const jobs = this.retry.splice(0, this.opts.batch);
    const answered = await this.answerPlaced(jobs);
    jobs.push(...this.local.take(this.opts.batch - jobs.length));
    const take = () => {
      for (const raw of this.sharedBuffer.splice(0, this.opts.batch - jobs.length)) {
        let body;
        try {
          body = JSON.parse(raw);
        } catch {
          continue;
        }
        try {
          jobs.push({ req: parsePlacementRequest(body) });
        } catch (err) {
          const id = body?.id;
          if (typeof id === "string") this.pendingResults.push(JSON.stringify(this.refusal(id, `invalid request: ${err instanceof Error ? err.message : String(err)}`)));
        }
      }
    };
    take();
    let placements;
    const want = this.opts.shared ? this.opts.batch : 0;
    let results = [];
    try {
      if (jobs.length === 0) {
        results = this.pendingResults.splice(0);
        await this.applySync(await this.store.sync(this.cache.version, want, results));
        results = [];
        take();
        if (jobs.length === 0) return answered;
      }
      results = this.pendingResults.splice(0);
      placements = await this.placeBatch(jobs, { pop: want, results });
    } catch (err) {
      if (err instanceof FencedError) {
        this.fenced(jobs);
        throw err;
      }
      this.pendingResults.unshift(...results);
      this.retry.unshift(...jobs);
      this.reclaimNext = true;
      throw err;
    }
    placements.forEach((p, i) => this.deliver(jobs[i], p));
    return answered + jobs.length;
  }
  /**
   * This replica's lease was taken away (it was silent past the sweep window): every request
   * from the shared queue it holds, and every result of one, went back to the queue with the
   * sweep and is someone else's now, so it drops them; its own HTTP requests (never in the
   * shared queue) are placed by the next step, looked up first in case their commit ran.
   */
  fenced(jobs) {
    this.stats.fenced++;
    this.pendingResults.length = 0;
    this.sharedBuffer.length = 0;
    this.retry = [...jobs, ...this.retry].filter((j) => j.resolve);
    this.reclaimNext = false;
  }
  /**
   * Jobs of a failed exchange whose commit did run: answered from the store's placements
   * (and taken out of `jobs`) instead of being planned again. Returns how many.
   */
  async answerPlaced(jobs) {
    if (jobs.length === 0) return 0;
    let placed;
    try {
      placed = await this.store.placedAlready(jobs.map((j) => j.req.id));
    } catch (err) {
      this.retry.unshift(...jobs);
      throw err;
    }
    const open = jobs.filter((j) => {
      const p = placed.get(j.req.id);
      if (!p) return true;
      this.cache.set(p.host, p.use);
      this.stats.placed++;
      this.deliver(j, this.success(j.req.id, p.host, 1, 0));
      return false;
    });
    const n = jobs.length - open.length;
    jobs.splice(0, jobs.length, ...open);
    return n;
  }
  deliver(job, p) {
    if (job.resolve) job.resolve(p);
    else this.pendingResults.push(JSON.stringify(p));
  }
  /** Runs until stop(): batches back to back while there is work, blocks when idle. */
  start() {
    if (this.running) return;
    this.running = true;
    this.loopDone = (async () => {
      while (this.running) {
        let n = 0;
        try {
          if (this.opts.shared && Date.now() >= this.nextSweep) {
            this.nextSweep = Date.now() + this.opts.sweepEveryMs;
            this.stats.requeued += await this.store.sweep(this.opts.staleMs);
          }
          n = await this.step();
        } catch (err) {
          this.stats.errors++;
          this.opts.onError?.(err);
          await new Promise((r) => setTimeout(r, 200));
          continue;
        }
        if (n === 0 && this.pendingResults.length === 0) await this.idle();
      }
    })();
  }
  idle() {
    const waits = [this.local.nonEmpty()];
    if (this.opts.shared) {
      if (!this.blockingWait) {
        this.blockingWait = this.store.waitRequest(1e3).then(() => void 0).catch(() => new Promise((r) => setTimeout(r, 200))).finally(() => this.blockingWait = void 0);
      }
      waits.push(this.blockingWait);
    } else waits.push(new Promise((r) => setTimeout(r, 1e3)));
    return Promise.race(waits);
  }
  /**
   * Stops the loop after its current step; requests taken from the shared queue but not
   * placed go back to its head, and results not yet sent are sent, so a replica going away
   * loses nothing.
   */
  async stop() {
    this.running = false;
    await this.loopDone;
    await this.blockingWait;
    if (this.reclaimNext) this.sharedBuffer.unshift(...await this.store.reclaim().catch(() => []));
    const requests = [];
    for (const j of this.retry.splice(0)) {
      if (j.resolve) j.resolve(this.refusal(j.req.id, "the scheduler replica stopped before it could place this request"));
      else requests.push(JSON.stringify(j.req));
    }
    requests.push(...this.sharedBuffer.splice(0));
    await this.store.giveBack(requests, this.pendingResults.splice(0));
  }
};

// templates/meeting/src/scheduler/main.ts
var redisOpts = parseRedisUrl(envUrl("REDIS_URL", "redis://redis:6379"));
var redis = new Redis(redisOpts);
var store = new RedisStore(redis, { blocking: new Redis(redisOpts), skipOwn: true });
var intEnv = (name, fallback) => {
  const v = Number(process.env[name]);
  return Number.isInteger(v) && v > 0 ? v : fallback;
};
var sched = new Scheduler(store, {
  replica: process.env.HOSTNAME ?? hostname(),
  batch: intEnv("SCHED_BATCH", 64),
  pick: { sample: intEnv("SCHED_SAMPLE", 48), topK: intEnv("SCHED_TOPK", 5) },
  // 0 is allowed: a conflict then always costs a round trip
  alternates: process.env.SCHED_ALTERNATES === "0" ? 0 : intEnv("SCHED_ALTERNATES", 2),
  queueCapacity: intEnv("SCHED_QUEUE", 1e3),
  shared: process.env.SCHED_SHARED_QUEUE !== "0",
  onError: (err) => jsonLog({ svc: "scheduler", msg: `step failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}` })
});
var ready = false;
function statFile(path) {
  return Object.fromEntries(
    readFileSync(path, "utf8").trim().split("\n").map((l) => {
      const [k, v] = l.split(" ");
      return [k, Number(v)];
    })
  );
}
function cgroupCpu() {
  try {
    const st = statFile("/sys/fs/cgroup/cpu.stat");
    return { max: readFileSync("/sys/fs/cgroup/cpu.max", "utf8").trim(), throttledUs: st.throttled_usec, periods: st.nr_periods, throttled: st.nr_throttled };
  } catch {
  }
  try {
    const dir = "/sys/fs/cgroup/cpu";
    const st = statFile(`${dir}/cpu.stat`);
    const max = `${readFileSync(`${dir}/cpu.cfs_quota_us`, "utf8").trim()} ${readFileSync(`${dir}/cpu.cfs_period_us`, "utf8").trim()}`;
    return { max, throttledUs: st.throttled_time / 1e3, periods: st.nr_periods, throttled: st.nr_throttled };
  } catch {
    return void 0;
  }
}
function schedStat() {
  try {
    const [run, wait] = readFileSync("/proc/self/schedstat", "utf8").trim().split(/\s+/).map(Number);
    return { runNs: run, waitNs: wait };
  } catch {
    return void 0;
  }
}
async function init() {
  for (; ; ) {
    try {
      const seed = intEnv("SEED_HOSTS", 0);
      if (seed > 0 && await redis.call("SET", "sched:seeded", "1", "NX") === "OK") await registerHosts(redis, makeFleet(seed));
      await sched.init();
      sched.start();
      ready = true;
      jsonLog({ svc: "scheduler", msg: `cache loaded: ${sched.cache.size} hosts at version ${sched.cache.version}` });
      return;
    } catch (err) {
      jsonLog({ svc: "scheduler", msg: `waiting for redis: ${err instanceof Error ? err.message : String(err)}` });
      await new Promise((r) => setTimeout(r, 1e3));
    }
  }
}
var router = new Router().post("/schedule", async (ctx) => {
  const req = parsePlacementRequest(ctx.body);
  try {
    const p = await sched.schedule(req, 2e4);
    if (!p.ok) throw new HttpError(409, p.error ?? "not placed", p);
    return p;
  } catch (err) {
    if (err instanceof QueueFullError) return { status: 503, headers: { "retry-after": String(err.retryAfterS) }, body: { error: err.message } };
    throw err;
  }
}).post("/release/:id", async (ctx) => ({ released: await store.release(ctx.params.id) })).get("/hosts/:id", async (ctx) => {
  const h = sched.cache.hosts.get(ctx.params.id);
  if (!h) throw new HttpError(404, `no host ${ctx.params.id}`);
  return h;
}).get("/stats", async () => ({
  replica: sched.opts.replica,
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
  sharedQueue: await redis.call("LLEN", KEYS.queue)
}));
var server = await serve({ name: "scheduler", port: intEnv("PORT", 8080), router, ready: () => ready });
onShutdown(server, async () => {
  await sched.stop();
  store.close();
});
void init();

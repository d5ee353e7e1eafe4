// GENERATED from templates/meeting/src/media by `npm run -w templates bundle`; edit the TypeScript source.

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
    let size2 = 0;
    req.on("data", (c) => {
      size2 += c.length;
      if (size2 > limit) {
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

// templates/meeting/src/media/sizing.ts
function parseAllocation(body) {
  const o = obj(body);
  const codec = str(o, "codec", { optional: true }) || "h264";
  if (codec !== "h264" && codec !== "av1") throw new HttpError(400, "codec must be h264 or av1");
  return {
    roomId: str(o, "roomId"),
    tenant: str(o, "tenant"),
    zone: str(o, "zone", { optional: true }),
    participants: num(o, "participants", { min: 1, max: 1e3, fallback: 2 }),
    recording: o.recording === true,
    codec,
    gpu: o.gpu === true
  };
}
var MEDIA_IMAGE = "media-server:1.3";
function size(a) {
  const n = a.participants;
  const cpu = Math.min(16e3, 500 + 50 * n + Math.ceil(n * (n - 1) / 20) * 10);
  const mem = Math.min(32768, 512 + 32 * n);
  const features = [...a.recording ? ["recording"] : [], ...a.codec === "av1" ? ["av1"] : ["h264-hw"]];
  return { cpu, mem, gpu: a.gpu ? 1 : 0, features, image: MEDIA_IMAGE };
}

// templates/meeting/src/media/main.ts
var SCHEDULER = envUrl("SCHEDULER_URL", "http://scheduler");
var allocations = /* @__PURE__ */ new Map();
var router = new Router().post("/allocations", async (ctx) => {
  const a = parseAllocation(ctx.body);
  const existing = allocations.get(a.roomId);
  if (existing) return existing;
  const req = size(a);
  const placement = `${a.roomId}-${Date.now().toString(36)}`;
  const p = await ctx.call(SCHEDULER, "POST", "/schedule", { id: placement, tenant: a.tenant, zone: a.zone, ...req });
  const alloc = { roomId: a.roomId, placement, host: p.host, zone: p.zone, request: req, replica: p.replica };
  allocations.set(a.roomId, alloc);
  return { status: 201, body: alloc };
}).get("/allocations/:roomId", (ctx) => {
  const a = allocations.get(ctx.params.roomId);
  if (!a) throw new HttpError(404, `room ${ctx.params.roomId} has no media server`);
  return a;
}).delete("/allocations/:roomId", async (ctx) => {
  const a = allocations.get(ctx.params.roomId);
  if (!a) throw new HttpError(404, `room ${ctx.params.roomId} has no media server`);
  await ctx.call(SCHEDULER, "POST", `/release/${encodeURIComponent(a.placement)}`);
  allocations.delete(a.roomId);
  return { released: true };
});
var server = await serve({ name: "media", port: Number(process.env.PORT ?? 8080), router });
onShutdown(server);

// GENERATED from templates/meeting/src/rooms by `npm run -w templates bundle`; edit the TypeScript source.

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

// templates/meeting/src/rooms/rooms.ts
import { randomUUID as randomUUID2 } from "node:crypto";
var REGION = /^[a-z0-9-]{1,40}$/;
var RoomRegistry = class {
  rooms = /* @__PURE__ */ new Map();
  create(body, owner) {
    const o = obj(body);
    const room = {
      id: `r-${randomUUID2().slice(0, 8)}`,
      name: str(o, "name", { max: 120 }),
      owner: owner.id,
      tenant: owner.tenant,
      region: str(o, "region", { optional: true, pattern: REGION }) || "zone-a",
      capacity: num(o, "capacity", { min: 2, max: 1e3, fallback: 50 }),
      participants: [],
      createdAt: (/* @__PURE__ */ new Date()).toISOString()
    };
    this.rooms.set(room.id, room);
    return room;
  }
  get(id) {
    const r = this.rooms.get(id);
    if (!r) throw new HttpError(404, `no room ${id}`);
    return r;
  }
  /** Checks that a user may join (before side effects elsewhere). */
  canJoin(room, user) {
    if (user.tenant !== room.tenant) throw new HttpError(403, `user ${user.id} is not in tenant ${room.tenant}`);
    if (room.participants.some((p) => p.userId === user.id)) return;
    if (room.participants.length >= room.capacity) throw new HttpError(409, `room ${room.id} is full (${room.capacity})`);
  }
  join(room, p) {
    if (!room.participants.some((x) => x.userId === p.userId)) room.participants.push(p);
    return room;
  }
  leave(room, userId) {
    const before = room.participants.length;
    room.participants = room.participants.filter((p) => p.userId !== userId);
    return room.participants.length < before;
  }
};

// templates/meeting/src/rooms/main.ts
var USERS = envUrl("USERS_URL", "http://users");
var SIGNALLING = envUrl("SIGNALLING_URL", "http://signalling");
var MEDIA = envUrl("MEDIA_URL", "http://media");
var rooms = new RoomRegistry();
var router = new Router().post("/rooms", async (ctx) => {
  const owner = await ctx.call(USERS, "GET", `/users/${encodeURIComponent(str(obj(ctx.body), "owner"))}`);
  return { status: 201, body: rooms.create(ctx.body, owner) };
}).get("/rooms/:id", (ctx) => rooms.get(ctx.params.id)).post("/rooms/:id/join", async (ctx) => {
  const room = rooms.get(ctx.params.id);
  const user = await ctx.call(USERS, "GET", `/users/${encodeURIComponent(str(obj(ctx.body), "userId"))}`);
  rooms.canJoin(room, user);
  const session = await ctx.call(SIGNALLING, "POST", "/sessions", { roomId: room.id, userId: user.id });
  rooms.join(room, { userId: user.id, name: user.name, sessionId: session.id, joinedAt: (/* @__PURE__ */ new Date()).toISOString() });
  return { room, sessionId: session.id };
}).post("/rooms/:id/leave", async (ctx) => {
  const room = rooms.get(ctx.params.id);
  const userId = str(obj(ctx.body), "userId");
  const p = room.participants.find((x) => x.userId === userId);
  if (p) await ctx.call(SIGNALLING, "DELETE", `/sessions/${encodeURIComponent(p.sessionId)}`);
  return { left: rooms.leave(room, userId), room };
}).post("/rooms/:id/media", async (ctx) => {
  const room = rooms.get(ctx.params.id);
  const o = ctx.body === void 0 ? {} : obj(ctx.body);
  const alloc = await ctx.call(MEDIA, "POST", "/allocations", {
    roomId: room.id,
    tenant: room.tenant,
    zone: room.region,
    participants: Math.max(room.participants.length, 1),
    ...o
  });
  room.media = { host: alloc.host, zone: alloc.zone, placement: alloc.placement };
  return { room, allocation: alloc };
});
var server = await serve({ name: "rooms", port: Number(process.env.PORT ?? 8080), router });
onShutdown(server);

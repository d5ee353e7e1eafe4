// GENERATED from templates/meeting/src/signalling by `npm run -w templates bundle`; edit the TypeScript source.

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

// templates/meeting/src/signalling/signalling.ts
import { randomUUID as randomUUID2 } from "node:crypto";
var TYPES = /* @__PURE__ */ new Set(["offer", "answer", "candidate", "bye"]);
var SignallingHub = class {
  constructor(mailboxLimit = 256) {
    this.mailboxLimit = mailboxLimit;
  }
  sessions = /* @__PURE__ */ new Map();
  mailboxes = /* @__PURE__ */ new Map();
  seq = 0;
  open(body) {
    const o = obj(body);
    const s = { id: `s-${randomUUID2().slice(0, 12)}`, roomId: str(o, "roomId"), userId: str(o, "userId"), createdAt: (/* @__PURE__ */ new Date()).toISOString() };
    this.sessions.set(s.id, s);
    this.mailboxes.set(s.id, []);
    return s;
  }
  close(id) {
    const s = this.sessions.get(id);
    if (!s) return false;
    for (const peer of this.peers(s.roomId)) if (peer.id !== id) this.push({ from: id, to: peer.id, type: "bye", payload: "" });
    this.sessions.delete(id);
    this.mailboxes.delete(id);
    return true;
  }
  peers(roomId) {
    return [...this.sessions.values()].filter((s) => s.roomId === roomId);
  }
  /** Sends a message to one peer of the same room; the oldest messages drop when a mailbox is full. */
  send(body) {
    const o = obj(body);
    const from = str(o, "from");
    const to = str(o, "to");
    const type = str(o, "type");
    if (!TYPES.has(type)) throw new HttpError(400, `type must be one of ${[...TYPES].join(", ")}`);
    const a = this.sessions.get(from);
    const b = this.sessions.get(to);
    if (!a || !b) throw new HttpError(404, `no session ${!a ? from : to}`);
    if (a.roomId !== b.roomId) throw new HttpError(403, "peers are in different rooms");
    return this.push({ from, to, type, payload: str(o, "payload", { optional: true, max: 64e3 }) });
  }
  push(m) {
    const box = this.mailboxes.get(m.to);
    const msg = { seq: ++this.seq, ...m };
    if (!box) return msg;
    box.push(msg);
    if (box.length > this.mailboxLimit) box.splice(0, box.length - this.mailboxLimit);
    return msg;
  }
  /** Messages for a session after `after` (the last seq the client saw). */
  inbox(id, after = 0) {
    const box = this.mailboxes.get(id);
    if (!box) throw new HttpError(404, `no session ${id}`);
    return box.filter((m) => m.seq > after);
  }
};

// templates/meeting/src/signalling/main.ts
var hub = new SignallingHub();
var router = new Router().post("/sessions", (ctx) => ({ status: 201, body: hub.open(ctx.body) })).delete("/sessions/:id", (ctx) => ({ closed: hub.close(ctx.params.id) })).get("/rooms/:id/peers", (ctx) => ({ peers: hub.peers(ctx.params.id) })).post("/messages", (ctx) => ({ status: 201, body: hub.send(ctx.body) })).get("/sessions/:id/messages", (ctx) => ({ messages: hub.inbox(ctx.params.id, Number(ctx.query.get("after") ?? 0)) }));
var server = await serve({ name: "signalling", port: Number(process.env.PORT ?? 8080), router });
onShutdown(server);

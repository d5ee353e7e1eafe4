// GENERATED from templates/meeting/src/gateway by `npm run -w templates bundle`; edit the TypeScript source.

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

// templates/meeting/src/gateway/dashboard.ts
function dashboardPage() {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>call quality</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5rem;color:#1d2330}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:1rem}
.card{border:1px solid #d6dbe4;border-radius:8px;padding:.8rem}h2{font-size:1rem;margin:.2rem 0 .6rem}
svg{width:100%;height:200px}.legend span{display:inline-block;margin-right:.8rem;font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
pre{background:#f4f6fa;padding:.6rem;max-height:240px;overflow:auto;font-size:12px}
</style></head><body>
<h1>Call quality</h1>
<p>Window <select id="since"><option value="900">15 min</option><option value="3600" selected>1 h</option><option value="21600">6 h</option></select>
interval <select id="interval"><option value="10">10 s</option><option value="60" selected>1 min</option><option value="300">5 min</option></select>
<span id="status"></span></p>
<div class="grid">
<div class="card"><h2>Bitrate (kbps) by region</h2><svg id="c1"></svg><div class="legend" id="l1"></div></div>
<div class="card"><h2>Packet loss (%) by region</h2><svg id="c2"></svg><div class="legend" id="l2"></div></div>
<div class="card"><h2>Jitter (ms) by app version</h2><svg id="c3"></svg><div class="legend" id="l3"></div></div>
<div class="card"><h2>Reports by app version</h2><svg id="c4"></svg><div class="legend" id="l4"></div></div>
</div>
<div class="card" style="margin-top:1rem"><h2>Look up</h2>
<select id="kind"><option value="users">user</option><option value="rooms">room</option></select><input id="key" placeholder="id"><button id="go">show</button>
<pre id="detail"></pre></div>
<script>
const COLORS = ['#2f6fdf','#e0603a','#2b9b63','#9a4fd0','#c79a1a','#1aa6b7','#d04f86','#6b7385'];
function chart(svg, legend, series, pick) {
  const W = 600, H = 200, P = 30;
  svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
  const pts = series.flatMap((s) => s.points.map((p) => [p.t, pick(p)])).filter((p) => p[1] != null);
  if (!pts.length) { svg.innerHTML = '<text x="20" y="100" fill="#6b7385">no data yet</text>'; legend.innerHTML = ''; return; }
  const t0 = Math.min(...pts.map((p) => p[0])), t1 = Math.max(...pts.map((p) => p[0])) || t0 + 1;
  const vmax = Math.max(...pts.map((p) => p[1])) * 1.1 || 1;
  const x = (t) => P + (W - 2 * P) * (t1 === t0 ? 0.5 : (t - t0) / (t1 - t0));
  const y = (v) => H - P - (H - 2 * P) * (v / vmax);
  let out = '<line x1="' + P + '" y1="' + (H - P) + '" x2="' + (W - P) + '" y2="' + (H - P) + '" stroke="#ccd"/>';
  out += '<text x="2" y="' + (P - 8) + '" font-size="11" fill="#6b7385">' + vmax.toFixed(1) + '</text>';
  out += '<text x="' + P + '" y="' + (H - 8) + '" font-size="11" fill="#6b7385">' + new Date(t0).toLocaleTimeString() + '</text>';
  out += '<text x="' + (W - P - 60) + '" y="' + (H - 8) + '" font-size="11" fill="#6b7385">' + new Date(t1).toLocaleTimeString() + '</text>';
  series.forEach((s, i) => {
    const d = s.points.filter((p) => pick(p) != null).map((p, j) => (j ? 'L' : 'M') + x(p.t).toFixed(1) + ' ' + y(pick(p)).toFixed(1)).join(' ');
    out += '<path d="' + d + '" fill="none" stroke-width="2" stroke="' + COLORS[i % COLORS.length] + '"/>';
  });
  svg.innerHTML = out;
  legend.innerHTML = series.map((s, i) => '<span><i style="background:' + COLORS[i % COLORS.length] + '"></i>' + s.key + ' (' + s.count + ')</span>').join('');
}
async function get(path) { const r = await fetch(path); if (!r.ok) throw new Error(path + ': ' + r.status); return r.json(); }
async function refresh() {
  const q = 'since=' + $('since').value + '&interval=' + $('interval').value;
  try {
    const [reg, ver] = await Promise.all([get('/api/quality/aggregate?by=region&' + q), get('/api/quality/aggregate?by=version&' + q)]);
    chart($('c1'), $('l1'), reg.series, (p) => p.avg.bitrateKbps);
    chart($('c2'), $('l2'), reg.series, (p) => p.avg.lossPct);
    chart($('c3'), $('l3'), ver.series, (p) => p.avg.jitterMs);
    chart($('c4'), $('l4'), ver.series, (p) => p.count);
    $('status').textContent = 'updated ' + new Date().toLocaleTimeString();
  } catch (e) { $('status').textContent = String(e); }
}
function $(id) { return document.getElementById(id); }
$('go').onclick = async () => { try { $('detail').textContent = JSON.stringify(await get('/api/quality/' + $('kind').value + '/' + encodeURIComponent($('key').value)), null, 2); } catch (e) { $('detail').textContent = String(e); } };
$('since').onchange = $('interval').onchange = refresh;
refresh(); setInterval(refresh, 5000);
</script></body></html>`;
}

// templates/meeting/src/gateway/page.ts
var GREETING = "kdev meeting";
function homePage(version) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${GREETING}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px system-ui,sans-serif;margin:2rem auto;max-width:880px;color:#1d2330;padding:0 1rem}
h1{font-size:1.5rem}section{border:1px solid #d6dbe4;border-radius:8px;padding:1rem;margin:1rem 0}
input,select,button{font:inherit;padding:.3rem .5rem;margin:.2rem}button{cursor:pointer}
pre{background:#f4f6fa;padding:.6rem;overflow:auto;max-height:260px;font-size:12px}
.muted{color:#6b7385}
</style></head><body>
<h1 id="title">${GREETING}</h1>
<p class="muted">gateway version <b id="version">${version}</b> · <a href="/dashboard">quality dashboard</a> · <a href="/api/status">service status</a></p>
<section><h2>1. People</h2>
<input id="name" placeholder="name" value="Ada"><input id="tenant" placeholder="tenant" value="acme">
<button id="mkuser">create user</button> <span id="users" class="muted"></span></section>
<section><h2>2. Room</h2>
<input id="room" placeholder="room name" value="standup"><select id="region"><option>zone-a</option><option>zone-b</option><option>zone-c</option><option>zone-d</option></select>
<button id="mkroom">create room</button> <button id="join">join with every user</button> <button id="media">get a media server</button></section>
<section><h2>3. Call quality</h2>
<button id="report">send 20 reports</button> <button id="query">query this room</button></section>
<pre id="out">ready</pre>
<script>
const $ = (id) => document.getElementById(id);
const state = { users: [], room: null };
async function api(method, path, body) {
  const r = await fetch(path, { method, headers: { 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
  const j = await r.json().catch(() => ({}));
  $('out').textContent = method + ' ' + path + ' → ' + r.status + ' (request id ' + r.headers.get('x-request-id') + ')\\n' + JSON.stringify(j, null, 2);
  if (!r.ok) throw new Error(j.error || r.status);
  return j;
}
$('mkuser').onclick = async () => { const u = await api('POST', '/api/users', { name: $('name').value, tenant: $('tenant').value }); state.users.push(u); $('users').textContent = state.users.map((x) => x.name + ' (' + x.id + ')').join(', '); };
$('mkroom').onclick = async () => { if (!state.users.length) return alert('create a user first'); state.room = await api('POST', '/api/rooms', { name: $('room').value, owner: state.users[0].id, region: $('region').value }); };
$('join').onclick = async () => { for (const u of state.users) await api('POST', '/api/rooms/' + state.room.id + '/join', { userId: u.id }); };
$('media').onclick = () => api('POST', '/api/rooms/' + state.room.id + '/media', {});
$('report').onclick = () => api('POST', '/api/quality', { reports: Array.from({ length: 20 }, (_, i) => { const u = state.users[i % state.users.length]; return { user: u.id, room: state.room.id, region: state.room.region, network: ['wifi', 'ethernet', 'cellular'][i % 3], bitrateKbps: 800 + Math.random() * 1500, lossPct: Math.random() * 3, jitterMs: Math.random() * 40, cpuPct: 10 + Math.random() * 60, memMb: 300 + Math.random() * 400, os: 'web', appVersion: '5.1.0' }; }) });
$('query').onclick = () => api('GET', '/api/quality/rooms/' + state.room.id);
</script></body></html>`;
}

// templates/meeting/src/gateway/routes.ts
var enc = encodeURIComponent;
function relay(ctx, base, method, path, body) {
  return ctx.forward(base, method, path, body);
}
function gatewayRouter(up, version) {
  const qs = (ctx) => ctx.query.toString() ? `?${ctx.query.toString()}` : "";
  return new Router().get("/", () => ({ text: homePage(version), contentType: "text/html; charset=utf-8" })).get("/dashboard", () => ({ text: dashboardPage(), contentType: "text/html; charset=utf-8" })).get("/api/version", () => ({ service: "gateway", version })).post("/api/users", (ctx) => relay(ctx, up.users, "POST", "/users", ctx.body)).get("/api/users/:id", (ctx) => relay(ctx, up.users, "GET", `/users/${enc(ctx.params.id)}`)).post("/api/rooms", (ctx) => relay(ctx, up.rooms, "POST", "/rooms", ctx.body)).get("/api/rooms/:id", (ctx) => relay(ctx, up.rooms, "GET", `/rooms/${enc(ctx.params.id)}`)).post("/api/rooms/:id/join", (ctx) => relay(ctx, up.rooms, "POST", `/rooms/${enc(ctx.params.id)}/join`, ctx.body)).post("/api/rooms/:id/leave", (ctx) => relay(ctx, up.rooms, "POST", `/rooms/${enc(ctx.params.id)}/leave`, ctx.body)).post("/api/rooms/:id/media", (ctx) => relay(ctx, up.rooms, "POST", `/rooms/${enc(ctx.params.id)}/media`, ctx.body ?? {})).get("/api/rooms/:id/media", (ctx) => relay(ctx, up.media, "GET", `/allocations/${enc(ctx.params.id)}`)).get("/api/rooms/:id/peers", (ctx) => relay(ctx, up.signalling, "GET", `/rooms/${enc(ctx.params.id)}/peers`)).post("/api/signalling/messages", (ctx) => relay(ctx, up.signalling, "POST", "/messages", ctx.body)).get("/api/signalling/sessions/:id/messages", (ctx) => relay(ctx, up.signalling, "GET", `/sessions/${enc(ctx.params.id)}/messages${qs(ctx)}`)).get("/api/scheduler/stats", (ctx) => relay(ctx, up.scheduler, "GET", "/stats")).post("/api/quality", (ctx) => relay(ctx, up.ingest, "POST", "/reports", ctx.body)).get("/api/quality/stats", (ctx) => relay(ctx, up.ingest, "GET", "/stats")).get("/api/quality/users/:id", (ctx) => relay(ctx, up.query, "GET", `/users/${enc(ctx.params.id)}${qs(ctx)}`)).get("/api/quality/rooms/:id", (ctx) => relay(ctx, up.query, "GET", `/rooms/${enc(ctx.params.id)}${qs(ctx)}`)).get("/api/quality/aggregate", (ctx) => relay(ctx, up.query, "GET", `/aggregate${qs(ctx)}`)).get("/api/status", async (ctx) => {
    const entries = await Promise.all(
      Object.entries(up).map(async ([name, base]) => {
        try {
          await ctx.call(base, "GET", "/readyz");
          return [name, "ready"];
        } catch (err) {
          return [name, err instanceof Error ? err.message : "down"];
        }
      })
    );
    return { gateway: "ready", ...Object.fromEntries(entries) };
  });
}

// templates/meeting/src/gateway/main.ts
var router = gatewayRouter(
  {
    users: envUrl("USERS_URL", "http://users"),
    rooms: envUrl("ROOMS_URL", "http://rooms"),
    signalling: envUrl("SIGNALLING_URL", "http://signalling"),
    media: envUrl("MEDIA_URL", "http://media"),
    scheduler: envUrl("SCHEDULER_URL", "http://scheduler"),
    ingest: envUrl("INGEST_URL", "http://quality-ingest"),
    query: envUrl("QUERY_URL", "http://quality-query")
  },
  process.env.APP_VERSION ?? "1"
);
var server = await serve({ name: "gateway", port: Number(process.env.PORT ?? 8080), router, quietPaths: ["/api/quality"] });
onShutdown(server);

// A small HTTP toolkit for the meeting services: a router with :params, JSON bodies,
// request ids (x-request-id) carried across calls, the route header and baggage
// propagated on every call made for a request (lib/propagate.ts), /healthz and /readyz,
// one log line per request. Node 18's standard library only, so a bundle runs on
// kdev.local/node:18.
import { randomUUID } from 'node:crypto';
import { Agent, createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { pickPropagated, propagated, propagatedNames, routeOf, withPropagated } from './propagate.js';

export const REQUEST_ID = 'x-request-id';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export interface Ctx {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  requestId: string;
  /** The parsed JSON body (undefined when there is none). */
  body: unknown;
  /** Calls another service, carrying this request's id. */
  call: <T = unknown>(baseUrl: string, method: string, path: string, body?: unknown) => Promise<T>;
  /** Relays a call: the callee's status, body and retry-after come back as they were. */
  forward: (baseUrl: string, method: string, path: string, body?: unknown) => Promise<Reply>;
}

export interface Reply {
  status?: number;
  body?: unknown;
  /** Raw text (HTML, CSV...) instead of JSON. */
  text?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

export type Handler = (ctx: Ctx) => Promise<Reply | unknown> | Reply | unknown;

interface Route {
  method: string;
  parts: string[];
  handler: Handler;
}

/** Splits "/rooms/:id/join" into parts; matches a path and returns its params. */
export function matchPath(pattern: string[], path: string): Record<string, string> | undefined {
  const parts = path.split('/').filter((p) => p !== '');
  const wildcard = pattern[pattern.length - 1] === '*';
  if (wildcard ? parts.length < pattern.length - 1 : parts.length !== pattern.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    if (p === '*') {
      params['*'] = parts.slice(i).join('/');
      return params;
    }
    const v = parts[i]!;
    if (p.startsWith(':')) {
      try {
        params[p.slice(1)] = decodeURIComponent(v);
      } catch {
        return undefined;
      }
    } else if (p !== v) return undefined;
  }
  return params;
}

export class Router {
  private readonly routes: Route[] = [];
  add(method: string, pattern: string, handler: Handler): this {
    this.routes.push({ method, parts: pattern.split('/').filter((p) => p !== ''), handler });
    return this;
  }
  get(p: string, h: Handler): this {
    return this.add('GET', p, h);
  }
  post(p: string, h: Handler): this {
    return this.add('POST', p, h);
  }
  delete(p: string, h: Handler): this {
    return this.add('DELETE', p, h);
  }
  find(method: string, path: string): { handler: Handler; params: Record<string, string> } | 'method' | undefined {
    let pathMatched = false;
    for (const r of this.routes) {
      const params = matchPath(r.parts, path);
      if (!params) continue;
      if (r.method === method || (method === 'HEAD' && r.method === 'GET')) return { handler: r.handler, params };
      pathMatched = true;
    }
    return pathMatched ? 'method' : undefined;
  }
}

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

export interface Answer {
  status: number;
  body: unknown;
  headers: IncomingMessage['headers'];
}

/**
 * One HTTP exchange with JSON in and out; rejects only when there is no answer. Made while
 * handling a request, it carries that request's route header and baggage.
 */
export function exchange(baseUrl: string, method: string, path: string, body: unknown, requestId: string, timeoutMs = 10_000): Promise<Answer> {
  const url = new URL(path, baseUrl);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise<Answer>((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method,
        agent,
        timeout: timeoutMs,
        headers: {
          ...propagated(),
          accept: 'application/json',
          [REQUEST_ID]: requestId,
          ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch {}
          resolve({ status: res.statusCode ?? 0, body: parsed, headers: res.headers });
        });
      },
    );
    req.on('timeout', () => req.destroy(new HttpError(504, `${url.host}${url.pathname}: no answer in ${timeoutMs} ms`)));
    req.on('error', (e: Error) => reject(e instanceof HttpError ? e : new HttpError(502, `${url.host}: ${e.message}`)));
    req.end(payload);
  });
}

/** A JSON call to another service; a 4xx keeps the callee's status and message, anything else is a 502. */
export async function callJson<T = unknown>(baseUrl: string, method: string, path: string, body: unknown, requestId: string, timeoutMs = 10_000): Promise<T> {
  const a = await exchange(baseUrl, method, path, body, requestId, timeoutMs);
  if (a.status >= 200 && a.status < 300) return a.body as T;
  const p = a.body;
  const msg = typeof p === 'object' && p !== null && 'error' in p ? String((p as { error: unknown }).error) : String(p ?? '').slice(0, 200);
  throw new HttpError((a.status >= 400 && a.status < 500) || a.status === 503 ? a.status : 502, `${new URL(baseUrl).host}: ${msg}`, p);
}

export function readBody(req: IncomingMessage, limit = 1 << 20): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new HttpError(413, `body larger than ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function isReply(v: unknown): v is Reply {
  return typeof v === 'object' && v !== null && ('status' in v || 'text' in v || 'body' in v) && Object.keys(v).every((k) => ['status', 'body', 'text', 'contentType', 'headers'].includes(k));
}

function send(res: ServerResponse, requestId: string, reply: Reply): void {
  const status = reply.status ?? 200;
  const headers: Record<string, string> = { [REQUEST_ID]: requestId, ...reply.headers };
  let data: string;
  if (reply.text !== undefined) {
    data = reply.text;
    headers['content-type'] = reply.contentType ?? 'text/plain; charset=utf-8';
  } else {
    data = reply.body === undefined ? '' : JSON.stringify(reply.body);
    if (reply.body !== undefined) headers['content-type'] = 'application/json';
  }
  res.writeHead(status, headers);
  res.end(data);
}

export interface ServiceOptions {
  name: string;
  port: number;
  router: Router;
  /** Readiness: throw or return false while dependencies are not there. */
  ready?: () => Promise<boolean> | boolean;
  log?: (line: Record<string, unknown>) => void;
  /** Requests to these paths are not logged (probes, hot paths). */
  quietPaths?: string[];
  bodyLimit?: number;
  /**
   * Headers passed on from each request to the calls made for it; by default x-kdev-route,
   * baggage and the names in KDEV_PROPAGATE_HEADERS (comma-separated).
   */
  propagate?: string[];
}

export function jsonLog(line: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify({ t: new Date().toISOString(), ...line }) + '\n');
}

/** Handles one request through a router: the testable core of `serve`. */
export function handler(opts: ServiceOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const log = opts.log ?? jsonLog;
  const quiet = new Set(['/healthz', '/readyz', ...(opts.quietPaths ?? [])]);
  const names = opts.propagate ?? propagatedNames(process.env.KDEV_PROPAGATE_HEADERS);
  return (req, res) => withPropagated(pickPropagated(req.headers, names), () => handle(opts, log, quiet, req, res));
}

/** One request, run on behalf of its propagated headers (see handler). */
function handle(opts: ServiceOptions, log: (line: Record<string, unknown>) => void, quiet: Set<string>, req: IncomingMessage, res: ServerResponse): void {
  const started = process.hrtime.bigint();
  const incoming = req.headers[REQUEST_ID];
  const requestId = typeof incoming === 'string' && /^[\w.:-]{1,128}$/.test(incoming) ? incoming : randomUUID();
  const url = new URL(req.url ?? '/', 'http://local');
  const method = req.method ?? 'GET';
  const done = (status: number, error?: string) => {
    if (quiet.has(url.pathname) && !error) return;
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const route = routeOf(req.headers);
    log({ svc: opts.name, rid: requestId, method, path: url.pathname, status, ms: Math.round(ms * 10) / 10, ...(route ? { route } : {}), ...(error ? { error } : {}) });
  };
  void (async () => {
    try {
      if (url.pathname === '/healthz') return send(res, requestId, { body: { ok: true, service: opts.name } });
      if (url.pathname === '/readyz') {
        let ok = false;
        try {
          ok = opts.ready ? await opts.ready() : true;
        } catch {}
        return send(res, requestId, { status: ok ? 200 : 503, body: { ready: ok, service: opts.name } });
      }
      const found = opts.router.find(method, url.pathname);
      if (found === undefined) throw new HttpError(404, `no route ${method} ${url.pathname}`);
      if (found === 'method') throw new HttpError(405, `${method} is not allowed on ${url.pathname}`);
      const raw = method === 'GET' || method === 'HEAD' ? Buffer.alloc(0) : await readBody(req, opts.bodyLimit);
      let body: unknown;
      if (raw.length > 0) {
        try {
          body = JSON.parse(raw.toString('utf8'));
        } catch {
          throw new HttpError(400, 'the body is not valid JSON');
        }
      }
      const ctx: Ctx = {
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
          const retry = a.headers['retry-after'];
          return { status: a.status, body: a.body, ...(typeof retry === 'string' ? { headers: { 'retry-after': retry } } : {}) };
        },
      };
      const out = await found.handler(ctx);
      const reply: Reply = isReply(out) ? out : { body: out };
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
}

export function serve(opts: ServiceOptions): Promise<Server> {
  const server = createServer(handler(opts));
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve) => {
    server.listen(opts.port, () => {
      (opts.log ?? jsonLog)({ svc: opts.name, msg: `listening on ${opts.port}` });
      resolve(server);
    });
  });
}

/** Stops cleanly on SIGTERM (the pods have a short grace period). */
export function onShutdown(server: Server, extra?: () => Promise<void> | void): void {
  const stop = () => {
    server.close();
    Promise.resolve(extra?.())
      .catch(() => undefined)
      .finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

// --- input validation helpers -------------------------------------------------------

export function obj(v: unknown, what = 'body'): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new HttpError(400, `${what} must be a JSON object`);
  return v as Record<string, unknown>;
}

export function str(o: Record<string, unknown>, key: string, opts: { optional?: boolean; max?: number; pattern?: RegExp } = {}): string {
  const v = o[key];
  if (v === undefined || v === null || v === '') {
    if (opts.optional) return '';
    throw new HttpError(400, `${key} is required`);
  }
  if (typeof v !== 'string') throw new HttpError(400, `${key} must be a string`);
  if (v.length > (opts.max ?? 200)) throw new HttpError(400, `${key} is longer than ${opts.max ?? 200} characters`);
  if (opts.pattern && !opts.pattern.test(v)) throw new HttpError(400, `${key} has an invalid format`);
  return v;
}

export function num(o: Record<string, unknown>, key: string, opts: { min?: number; max?: number; optional?: boolean; fallback?: number } = {}): number {
  const v = o[key];
  if (v === undefined || v === null) {
    if (opts.fallback !== undefined) return opts.fallback;
    if (opts.optional) return NaN;
    throw new HttpError(400, `${key} is required`);
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new HttpError(400, `${key} must be a number`);
  if (opts.min !== undefined && v < opts.min) throw new HttpError(400, `${key} must be ≥ ${opts.min}`);
  if (opts.max !== undefined && v > opts.max) throw new HttpError(400, `${key} must be ≤ ${opts.max}`);
  return v;
}

export function envUrl(name: string, fallback: string): string {
  return process.env[name] ?? fallback;
}

// Loopback upstreams and a router for the router's unit tests and bench/route-local.ts: each
// upstream answers with its own name, so where a request landed is visible in the reply.
import { createServer as httpServer, Agent, request, type Server, type IncomingHttpHeaders } from 'node:http';
import { createServer as h2Server, type Http2Server } from 'node:http2';
import { createServer as tcpServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { Router, type Limits } from '@kdev/router';

export interface Upstream { name: string; port: number; addr: string; close(): Promise<void> }

function closing(server: NetServer | Server | Http2Server, sockets: Set<Socket>): () => Promise<void> {
  return () => new Promise((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  });
}

function tracked(server: NetServer): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return sockets;
}

async function listening(server: NetServer): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** HTTP/1.1 upstream: replies `name` (plus the body's length and sha-less byte sum for POSTs),
 *  and echoes WebSocket messages prefixed with its name. */
export async function httpUpstream(name: string): Promise<Upstream> {
  const server = httpServer((req, res) => {
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      res.setHeader('x-upstream', name);
      res.end(JSON.stringify({ name, method: req.method, url: req.url, bytes, chunked: req.headers['transfer-encoding'] === 'chunked', route: req.headers['x-kdev-route'] ?? null }));
    });
  });
  server.keepAliveTimeout = 30_000;
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => ws.on('message', (m) => ws.send(`${name}:${m.toString()}`)));
  const sockets = tracked(server);
  const port = await listening(server);
  const close = closing(server, sockets);
  return { name, port, addr: `127.0.0.1:${port}`, close: async () => { for (const c of wss.clients) c.terminate(); wss.close(); await close(); } };
}

/** HTTP/2 cleartext upstream shaped like a gRPC server: POST /Unary echoes the request's
 *  frames back and ends with trailers (grpc-status 0 and the upstream's name); POST /Stream
 *  answers every request frame with one reply frame as it arrives. */
export async function h2Upstream(name: string): Promise<Upstream> {
  const server = h2Server();
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    const replies: Buffer[] = [];
    let clientTrailers: IncomingHttpHeaders = {};
    stream.on('trailers', (t) => (clientTrailers = t));
    stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'x-upstream': name }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': name, 'x-client-trailer': String(clientTrailers['x-end'] ?? '') }));
    stream.on('data', (c: Buffer) => {
      if (headers[':path'] === '/Stream') stream.write(Buffer.concat([Buffer.from(`${name}:`), c]));
      else replies.push(c);
    });
    stream.on('end', () => stream.end(Buffer.concat([Buffer.from(`${name}:`), ...replies])));
  });
  const sockets = tracked(server as unknown as NetServer);
  const port = await listening(server as unknown as NetServer);
  return { name, port, addr: `127.0.0.1:${port}`, close: closing(server, sockets) };
}

/** Plain TCP upstream: echoes bytes prefixed once with its name. */
export async function tcpUpstream(name: string): Promise<Upstream> {
  const server = tcpServer((s) => {
    s.on('error', () => undefined);
    s.write(`${name}|`);
    s.pipe(s);
  });
  const sockets = tracked(server);
  const port = await listening(server);
  return { name, port, addr: `127.0.0.1:${port}`, close: closing(server, sockets) };
}

export interface TestRouter { router: Router; port: number; ports: number[]; dir: string; path: string; write(table: unknown): void; logs: string[]; close(): Promise<void> }

export async function startRouter(table: unknown, limits?: Partial<Limits>): Promise<TestRouter> {
  const dir = mkdtempSync(join(tmpdir(), 'kdev-router-'));
  const path = join(dir, 'table.json');
  writeFileSync(path, JSON.stringify(table));
  const logs: string[] = [];
  const router = new Router({ tablePath: path, host: '127.0.0.1', limits, pollMs: 100, log: (l) => logs.push(l) });
  await router.start();
  const ports = router.ports();
  return {
    router, port: ports[0]!, ports, dir, path, logs,
    write: (t) => writeFileSync(path, JSON.stringify(t)),
    close: async () => { await router.close(); rmSync(dir, { recursive: true, force: true }); },
  };
}

export interface Reply { status: number; body: string; headers: IncomingHttpHeaders }

/** One HTTP/1.1 request; `body` as an array of chunks is sent chunked. */
export function get(port: number, headers: Record<string, string> = {}, opts: { agent?: Agent; method?: string; body?: Buffer[]; path?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: opts.path ?? '/', method: opts.method ?? 'GET', headers, agent: opts.agent ?? false, timeout: 10_000 }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(parts).toString(), headers: res.headers }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    for (const c of opts.body ?? []) req.write(c);
    req.end();
  });
}

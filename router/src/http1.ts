// HTTP/1.1: each request (keep-alive or not) is routed on its own headers and forwarded with a
// keep-alive agent per upstream; bodies stream both ways (chunked stays chunked). An Upgrade
// request (WebSocket) is routed the same way, then the two sockets are piped together.
import { Agent, STATUS_CODES, createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Choice, Chooser } from './choose.js';
import type { Limits, Log } from './limits.js';
import type { Upstream } from './table.js';

const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'http2-settings']);

/** The headers to forward: end-to-end ones only (hop-by-hop and those Connection names dropped). */
export function endToEnd(headers: IncomingMessage['headers']): Record<string, string | string[]> {
  const named = String(headers.connection ?? '').toLowerCase().split(',').map((s) => s.trim());
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v !== undefined && !HOP.has(k) && !named.includes(k)) out[k] = v;
  }
  return out;
}

export function failureText(choice: Choice, err: Error): string {
  const code = (err as NodeJS.ErrnoException).code ?? err.message;
  const route = choice.route ? `route ${choice.route}` : 'default route';
  return `kdev router: upstream ${choice.upstream.key} (${route}) unreachable: ${code}\n`;
}

export class Http1Proxy {
  readonly server: Server;
  private readonly agents = new Map<string, Agent>();

  constructor(private readonly chooser: Chooser, private readonly limits: Limits, private readonly log: Log) {
    // (its headersTimeout is checked only for a server that listens itself: see router.ts)
    this.server = createServer({ maxHeaderSize: limits.maxHeaderSize });
    this.server.keepAliveTimeout = limits.idleTimeoutMs;
    this.server.requestTimeout = 0;
    this.server.on('request', (req, res) => this.forward(req, res));
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket as Socket, head));
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      if (socket.writable && !(socket as Socket & { _httpMessage?: unknown })._httpMessage) {
        socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      }
      socket.destroy();
    });
  }

  private agent(u: Upstream): Agent {
    let a = this.agents.get(u.key);
    if (!a) {
      a = new Agent({ keepAlive: true, maxSockets: this.limits.maxConnections, maxFreeSockets: 64, timeout: this.limits.idleTimeoutMs });
      this.agents.set(u.key, a);
    }
    return a;
  }

  /** Timers that cut off a connection whose first request head is late, by socket. */
  readonly firstRequest = new WeakMap<object, NodeJS.Timeout>();

  private headArrived(req: IncomingMessage): void {
    const t = this.firstRequest.get(req.socket);
    if (t) {
      clearTimeout(t);
      this.firstRequest.delete(req.socket);
    }
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    this.headArrived(req);
    const choice = this.chooser.choose(req.headers);
    const { upstream } = choice;
    const up = request({
      host: upstream.host, port: upstream.port, method: req.method, path: req.url, headers: endToEnd(req.headers),
      agent: this.agent(upstream),
    });
    up.on('socket', (s) => {
      if (!s.connecting) return; // a kept-alive connection
      const timer = setTimeout(() => up.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })), this.limits.connectTimeoutMs);
      s.once('connect', () => clearTimeout(timer));
      s.once('close', () => clearTimeout(timer));
    });
    up.on('response', (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.statusMessage, endToEnd(ur.headers));
      ur.pipe(res);
      ur.on('error', () => res.destroy());
      ur.on('aborted', () => res.destroy());
    });
    up.on('error', (err) => {
      if (!res.headersSent) {
        this.log(failureText(choice, err).trimEnd());
        res.writeHead(502, { 'content-type': 'text/plain', connection: 'close' }).end(failureText(choice, err));
      } else res.destroy();
      req.resume();
    });
    req.on('error', () => up.destroy());
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    req.pipe(up);
  }

  private upgrade(req: IncomingMessage, client: Socket, head: Buffer): void {
    this.headArrived(req);
    client.setTimeout(0);
    const choice = this.chooser.choose(req.headers);
    client.on('error', () => upstream.destroy());
    const upstream = connect({ host: choice.upstream.host, port: choice.upstream.port });
    const timer = setTimeout(() => upstream.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })), this.limits.connectTimeoutMs);
    upstream.once('connect', () => {
      clearTimeout(timer);
      const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', (err) => {
      clearTimeout(timer);
      if (upstream.bytesRead === 0 && client.writable && !upstream.readableEnded) {
        const body = failureText(choice, err);
        this.log(body.trimEnd());
        client.end(`HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      } else client.destroy();
    });
    upstream.on('close', () => client.end());
    client.on('close', () => upstream.destroy());
  }

  close(): void {
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }
}

// HTTP/2 cleartext with prior knowledge (what gRPC clients speak): each client stream is
// routed on its own request headers and opened on one shared client session per upstream;
// data flows both ways as it comes, and trailers are carried in both directions (gRPC's
// status travels in the response trailers).
import {
  connect, constants, createServer, type ClientHttp2Session, type ClientHttp2Stream, type Http2Server,
  type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream,
} from 'node:http2';
import type { Chooser } from './choose.js';
import { failureText } from './http1.js';
import type { Limits, Log } from './limits.js';
import type { Upstream } from './table.js';

const { NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR, NGHTTP2_REFUSED_STREAM } = constants;
const DROP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings']);

/** Headers to forward; `keepPseudo` keeps the pseudo-headers named (:method, :path, …). */
function forwardable(h: IncomingHttpHeaders, keepPseudo: string[]): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined || DROP.has(k)) continue;
    if (k.startsWith(':') && !keepPseudo.includes(k)) continue;
    out[k] = v;
  }
  return out;
}

function headerListSize(h: IncomingHttpHeaders): number {
  let n = 0;
  for (const [k, v] of Object.entries(h)) {
    for (const item of Array.isArray(v) ? v : [v]) n += k.length + String(item).length + 32;
  }
  return n;
}

export class H2Proxy {
  readonly server: Http2Server;
  private readonly sessions = new Map<string, ClientHttp2Session>();

  constructor(private readonly chooser: Chooser, private readonly limits: Limits, private readonly log: Log) {
    this.server = createServer({
      maxSessionMemory: 16,
      settings: { maxConcurrentStreams: limits.maxConcurrentStreams, maxHeaderListSize: limits.maxHeaderSize },
    });
    this.server.on('stream', (stream, headers) => this.forward(stream, headers));
    this.server.on('sessionError', (e) => log('h2 session error: ' + e.message));
    this.server.on('session', (s) => {
      s.setTimeout(limits.idleTimeoutMs, () => s.close());
      s.on('error', () => undefined);
    });
  }

  private session(u: Upstream): ClientHttp2Session {
    const existing = this.sessions.get(u.key);
    if (existing && !existing.closed && !existing.destroyed) return existing;
    const host = u.host.includes(':') ? `[${u.host}]` : u.host;
    const s = connect(`http://${host}:${u.port}`, { maxSessionMemory: 16 });
    const forget = () => this.sessions.get(u.key) === s && this.sessions.delete(u.key);
    s.on('error', forget);
    s.on('close', forget);
    s.on('goaway', forget);
    s.setTimeout(this.limits.idleTimeoutMs, () => s.close());
    this.sessions.set(u.key, s);
    return s;
  }

  private forward(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    stream.on('error', () => undefined);
    // SETTINGS_MAX_HEADER_LIST_SIZE is only advice to the peer: the size (as HPACK counts it)
    // is checked here
    if (headerListSize(headers) > this.limits.maxHeaderSize) {
      stream.respond({ ':status': 431 }, { endStream: true });
      return;
    }
    const choice = this.chooser.choose(headers);
    let up: ClientHttp2Stream;
    const fail = (err: Error) => {
      if (stream.destroyed) return;
      if (!stream.headersSent) {
        this.log(failureText(choice, err).trimEnd());
        stream.respond({ ':status': 502, 'content-type': 'text/plain' });
        stream.end(failureText(choice, err));
      } else stream.close(NGHTTP2_INTERNAL_ERROR);
    };
    const timer = setTimeout(() => {
      up?.close(NGHTTP2_CANCEL);
      fail(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' }));
    }, this.limits.connectTimeoutMs);
    try {
      const hasBody = !stream.endAfterHeaders;
      up = this.session(choice.upstream).request(forwardable(headers, [':method', ':path', ':authority', ':scheme']), {
        endStream: !hasBody, waitForTrailers: hasBody,
      });
    } catch (err) {
      clearTimeout(timer);
      return fail(err as Error);
    }
    this.requestSide(stream, up);
    this.responseSide(stream, up, () => clearTimeout(timer));
    up.on('error', (err) => {
      clearTimeout(timer);
      fail(err);
    });
    up.on('close', () => {
      clearTimeout(timer);
      if (!stream.destroyed && !stream.headersSent) fail(new Error(`stream reset (${up.rstCode})`));
      else if (!stream.destroyed && up.rstCode !== constants.NGHTTP2_NO_ERROR) stream.close(up.rstCode === NGHTTP2_REFUSED_STREAM ? NGHTTP2_REFUSED_STREAM : NGHTTP2_INTERNAL_ERROR);
    });
  }

  /** Client → upstream: body, then the client's trailers (or an empty trailer block). */
  private requestSide(stream: ServerHttp2Stream, up: ClientHttp2Stream): void {
    let trailers: OutgoingHttpHeaders = {};
    stream.on('trailers', (t: IncomingHttpHeaders) => (trailers = forwardable(t, [])));
    up.on('wantTrailers', () => up.sendTrailers(trailers));
    if (!stream.endAfterHeaders) stream.pipe(up);
    stream.on('aborted', () => up.close(NGHTTP2_CANCEL));
    stream.on('close', () => {
      if (!up.closed && stream.rstCode !== undefined && stream.rstCode !== constants.NGHTTP2_NO_ERROR) up.close(NGHTTP2_CANCEL);
    });
  }

  /** Upstream → client: status and headers, body, then the upstream's trailers. */
  private responseSide(stream: ServerHttp2Stream, up: ClientHttp2Stream, connected: () => void): void {
    let trailers: OutgoingHttpHeaders = {};
    up.on('response', (h, flags) => {
      connected();
      if (stream.destroyed) return;
      const endStream = (flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0;
      stream.respond(forwardable(h, [':status']), { endStream, waitForTrailers: !endStream });
      if (!endStream) {
        stream.on('wantTrailers', () => stream.sendTrailers(trailers));
        up.pipe(stream);
      }
    });
    up.on('trailers', (t: IncomingHttpHeaders) => (trailers = forwardable(t, [])));
  }

  close(): void {
    for (const s of this.sessions.values()) s.destroy();
    this.sessions.clear();
  }
}

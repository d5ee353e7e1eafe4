// The router: one listener per port of the table. An http port looks at the first bytes of
// each connection: the HTTP/2 preface goes to the h2c proxy, anything else to the HTTP/1.1
// proxy. A tcp port pipes each connection to the next default upstream, untouched.
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { Chooser } from './choose.js';
import { H2Proxy } from './h2.js';
import { Http1Proxy } from './http1.js';
import { DEFAULT_LIMITS, type Limits, type Log } from './limits.js';
import { TableFile, type PortTable, type Table } from './table.js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

export interface RouterOptions {
  /** The routing table's JSON file; re-read when it changes. */
  tablePath: string;
  /** Address to listen on (default all interfaces). */
  host?: string;
  limits?: Partial<Limits>;
  pollMs?: number;
  log?: Log;
  /** Called after each change of table taking effect (or being refused, with the error). */
  onReload?: (err?: Error) => void;
}

interface Listener { server: Server; chooser: Chooser; http1?: Http1Proxy; h2?: H2Proxy; sockets: Set<Socket>; table: PortTable }

export class Router {
  private readonly listeners: Listener[] = [];
  private file: TableFile | undefined;
  readonly limits: Limits;
  private readonly log: Log;

  constructor(private readonly options: RouterOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.log = options.log ?? (() => undefined);
  }

  /** Reads the table and opens every port; rejects with the table's error if it is invalid. */
  async start(): Promise<void> {
    this.file = new TableFile(this.options.tablePath, (t) => this.apply(t), (err) => this.refused(err), this.options.pollMs);
    const table = await this.file.start();
    try {
      for (const p of table.ports) this.listeners.push(await this.listen(p));
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /** The bound port of each table entry, in table order (useful when the table says 0). */
  ports(): number[] {
    return this.listeners.map((l) => (l.server.address() as AddressInfo).port);
  }

  /** Re-reads the table file now (the watch and the poll do it on their own). */
  reload(): Promise<void> {
    return this.file?.check() ?? Promise.resolve();
  }

  private refused(err: Error): void {
    this.log(`${err.message}; the table in use is kept`);
    this.options.onReload?.(err);
  }

  private apply(table: Table): void {
    if (table.ports.length !== this.listeners.length || table.ports.some((p, i) => !sameListen(p, this.listeners[i]!.table))) {
      return this.refused(new Error('routing table: its ports (listen, protocol) changed; a restart is needed for that'));
    }
    table.ports.forEach((p, i) => {
      const l = this.listeners[i]!;
      l.table = p;
      l.chooser.table = p;
    });
    this.log(`routing table reloaded: ${table.ports.map((p) => `${p.listen}/${p.protocol} ${p.routes.length} route(s), ${p.defaults.length} default(s)`).join('; ')}`);
    this.options.onReload?.();
  }

  private async listen(table: PortTable): Promise<Listener> {
    const chooser = new Chooser(table);
    const l: Listener = { server: createServer({ pauseOnConnect: true }), chooser, sockets: new Set(), table };
    if (table.protocol === 'http') {
      l.http1 = new Http1Proxy(chooser, this.limits, this.log);
      l.h2 = new H2Proxy(chooser, this.limits, this.log);
    }
    l.server.maxConnections = this.limits.maxConnections;
    l.server.on('connection', (socket: Socket) => {
      l.sockets.add(socket);
      socket.on('close', () => l.sockets.delete(socket));
      socket.on('error', () => undefined);
      if (l.table.protocol === 'tcp') this.pipeTcp(socket, chooser);
      else this.sniff(socket, l);
    });
    l.server.on('error', (err) => this.log(`listener ${table.listen}: ${err.message}`));
    await new Promise<void>((resolve, reject) => {
      l.server.once('error', reject);
      l.server.listen(table.listen, this.options.host, () => {
        l.server.off('error', reject);
        resolve();
      });
    });
    return l;
  }

  /** Reads until the bytes are or cannot be the HTTP/2 preface, puts them back, hands over. */
  private sniff(socket: Socket, l: Listener): void {
    let seen = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), this.limits.headersTimeoutMs);
    const onData = (chunk: Buffer) => {
      seen = Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, PREFACE.length);
      const h2 = seen.subarray(0, n).equals(PREFACE.subarray(0, n));
      if (h2 && n < PREFACE.length) return;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.pause();
      if (h2) return void l.h2!.server.emit('connection', replayed(socket, seen));
      socket.unshift(seen);
      // the first request's head must be complete in time (http.Server's own headersTimeout is
      // enforced only for servers that listen themselves); later ones are bounded by the
      // keep-alive idle timeout
      const head = setTimeout(() => socket.destroy(), this.limits.headersTimeoutMs);
      l.http1!.firstRequest.set(socket, head);
      socket.once('close', () => clearTimeout(head));
      l.http1!.server.emit('connection', socket);
      socket.resume();
    };
    const onEnd = () => {
      clearTimeout(timer);
      socket.destroy();
    };
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.resume();
  }

  private pipeTcp(client: Socket, chooser: Chooser): void {
    const u = chooser.nextDefault();
    const upstream = connect({ host: u.host, port: u.port });
    const timer = setTimeout(() => upstream.destroy(), this.limits.connectTimeoutMs);
    upstream.once('connect', () => {
      clearTimeout(timer);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.on('error', (err) => {
      clearTimeout(timer);
      this.log(`tcp upstream ${u.key} unreachable: ${(err as NodeJS.ErrnoException).code ?? err.message}`);
    });
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
  }

  async close(): Promise<void> {
    this.file?.close();
    await Promise.all(this.listeners.map((l) => new Promise<void>((resolve) => {
      l.server.close(() => resolve());
      for (const s of l.sockets) s.destroy();
      l.http1?.close();
      l.h2?.close();
    })));
    this.listeners.length = 0;
  }
}

/** The socket as a plain Duplex that first replays `seen`. node:http2 reads a net.Socket's
 *  handle directly, past anything put back with unshift(); a Duplex it reads as a stream. */
function replayed(socket: Socket, seen: Buffer): Duplex {
  const d = new Duplex({
    read: () => void socket.resume(),
    write: (chunk: Buffer, _enc, cb) => void socket.write(chunk, cb),
    final: (cb) => void socket.end(cb),
    destroy: (err, cb) => {
      socket.destroy();
      cb(err);
    },
  });
  d.push(seen);
  socket.on('data', (c: Buffer) => d.push(c) || socket.pause());
  socket.on('end', () => d.push(null));
  socket.on('close', () => d.destroy());
  d.on('error', () => undefined);
  return d;
}

function sameListen(a: PortTable, b: PortTable): boolean {
  return a.listen === b.listen && a.protocol === b.protocol;
}

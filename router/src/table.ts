// The routing table: a JSON file (see docs/routing.md) naming, per listening port, its
// protocol, the default upstreams (the original pods, used round-robin) and the header routes
// (header name + value → one upstream). Parsed strictly: a bad file is refused with a message
// naming the field, and the table in use stays as it was.
import { readFile } from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

export type Protocol = 'http' | 'tcp';

export interface Upstream { host: string; port: number; key: string }

export interface Route { header: string; value: string; upstream: Upstream }

export interface PortTable {
  listen: number;
  protocol: Protocol;
  defaults: Upstream[];
  routes: Route[];
}

export interface Table { ports: PortTable[] }

export class TableError extends Error {}

function fail(where: string, what: string): never {
  throw new TableError(`routing table: ${where}: ${what}`);
}

export function parseUpstream(text: unknown, where: string): Upstream {
  if (typeof text !== 'string') fail(where, 'expected "host:port"');
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : 0;
  if (!m || port < 1 || port > 65535) fail(where, `"${text}" is not host:port (port 1-65535)`);
  const host = m[1]!.replace(/^\[(.*)\]$/, '$1');
  return { host, port, key: `${host}:${port}` };
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

function parseRoute(raw: unknown, where: string): Route {
  if (!raw || typeof raw !== 'object') fail(where, 'expected an object { header, value, upstream }');
  const r = raw as Record<string, unknown>;
  const header = typeof r.header === 'string' ? r.header.toLowerCase() : '';
  if (!HEADER_NAME.test(header) || header.startsWith(':')) fail(`${where}.header`, 'expected an HTTP header name');
  if (typeof r.value !== 'string' || r.value === '' || /[\r\n\0]/.test(r.value)) fail(`${where}.value`, 'expected a non-empty string');
  return { header, value: r.value, upstream: parseUpstream(r.upstream, `${where}.upstream`) };
}

function parsePort(raw: unknown, where: string): PortTable {
  if (!raw || typeof raw !== 'object') fail(where, 'expected an object');
  const p = raw as Record<string, unknown>;
  const listen = p.listen;
  if (typeof listen !== 'number' || !Number.isInteger(listen) || listen < 0 || listen > 65535) fail(`${where}.listen`, 'expected a port number 0-65535');
  const protocol = p.protocol ?? 'http';
  if (protocol !== 'http' && protocol !== 'tcp') fail(`${where}.protocol`, 'expected "http" or "tcp"');
  const list = typeof p.default === 'string' ? [p.default] : p.default;
  if (!Array.isArray(list) || list.length === 0) fail(`${where}.default`, 'expected "host:port" or a non-empty list of them');
  const defaults = list.map((u, i) => parseUpstream(u, `${where}.default[${i}]`));
  const rawRoutes = p.routes ?? [];
  if (!Array.isArray(rawRoutes)) fail(`${where}.routes`, 'expected a list');
  if (protocol === 'tcp' && rawRoutes.length > 0) fail(`${where}.routes`, 'a tcp port has no header to route on');
  const routes = rawRoutes.map((r, i) => parseRoute(r, `${where}.routes[${i}]`));
  return { listen, protocol, defaults, routes };
}

export function parseTable(text: string): Table {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    fail('file', `not JSON (${(err as Error).message})`);
  }
  const ports = (raw as { ports?: unknown })?.ports;
  if (!Array.isArray(ports)) fail('ports', 'expected a list');
  const table = { ports: ports.map((p, i) => parsePort(p, `ports[${i}]`)) };
  const seen = new Set<number>();
  for (const p of table.ports) {
    if (p.listen !== 0 && seen.has(p.listen)) fail('ports', `port ${p.listen} is listed twice`);
    seen.add(p.listen);
  }
  return table;
}

/** Reads `path` now and again whenever it changes: fs.watch on its folder (a ConfigMap volume
 *  swaps a symlink, which a watch on the file itself misses) plus a poll as the fallback. */
export class TableFile {
  private last = '';
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> | undefined;

  constructor(
    readonly path: string,
    private readonly onTable: (table: Table) => void,
    private readonly onError: (err: Error) => void,
    private readonly pollMs = 1000,
  ) {}

  async start(): Promise<Table> {
    const text = await readFile(this.path, 'utf8');
    const table = parseTable(text);
    this.last = text;
    try {
      this.watcher = watch(dirname(this.path), (_event, name) => {
        if (!name || name === basename(this.path) || name.startsWith('..')) void this.check();
      });
      this.watcher.on('error', () => this.watcher?.close());
    } catch {
      // no inotify: the poll alone
    }
    this.timer = setInterval(() => void this.check(), this.pollMs);
    this.timer.unref();
    return table;
  }

  /** Re-reads the file; a changed, valid table is handed on, an invalid one reported. */
  check(): Promise<void> {
    this.reading ??= this.read().finally(() => (this.reading = undefined));
    return this.reading;
  }

  private async read(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      return this.onError(new TableError(`routing table: cannot read ${this.path}: ${(err as Error).message}`));
    }
    if (text === this.last) return;
    this.last = text;
    try {
      this.onTable(parseTable(text));
    } catch (err) {
      this.onError(err as Error);
    }
  }

  close(): void {
    this.watcher?.close();
    if (this.timer) clearInterval(this.timer);
  }
}

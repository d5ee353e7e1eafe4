// Header propagation: the route header (x-kdev-route) and W3C baggage of the request a
// service is handling go out again on every call it makes on that request's behalf, so a
// developer's route follows the request through the mesh. One AsyncLocalStorage holds the
// incoming request's headers for everything that runs on its behalf (awaits, timers,
// callbacks); the shared HTTP client (lib/http.ts) adds them to each call.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingHttpHeaders } from 'node:http';

/** The header kdev's router matches by default. */
export const ROUTE_HEADER = 'x-kdev-route';
/** W3C baggage: the router also matches a member named like its header (x-kdev-route=alice). */
export const BAGGAGE = 'baggage';
/** W3C baggage's limit on a header's size; a longer value is not passed on. */
export const MAX_PROPAGATED_BYTES = 8192;

const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]{1,100}$/;

/**
 * The names to propagate: x-kdev-route, baggage and any listed in `extra` (comma-separated,
 * the KDEV_PROPAGATE_HEADERS variable, for a route header other than the default).
 */
export function propagatedNames(extra = ''): string[] {
  const names = [ROUTE_HEADER, BAGGAGE];
  for (const raw of extra.split(',')) {
    const n = raw.trim().toLowerCase();
    if (n === '') continue;
    if (!TOKEN.test(n)) throw new Error(`KDEV_PROPAGATE_HEADERS: "${raw.trim()}" is not a header name`);
    if (!names.includes(n)) names.push(n);
  }
  return names;
}

/** The headers of an incoming request that travel on (repeated headers arrive joined by ", "). */
export function pickPropagated(headers: IncomingHttpHeaders, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of names) {
    const v = headers[n];
    if (typeof v === 'string' && v !== '' && Buffer.byteLength(v) <= MAX_PROPAGATED_BYTES) out[n] = v;
  }
  return out;
}

/**
 * The route a request is on, as kdev's router reads it: the route header, or else the
 * baggage member of that name (percent-decoded, properties after ';' dropped). For logs:
 * which route a request was on, without writing the rest of its baggage.
 */
export function routeOf(headers: Readonly<Record<string, string | string[] | undefined>>, header = ROUTE_HEADER): string | undefined {
  const direct = headers[header];
  if (typeof direct === 'string' && direct !== '') return direct;
  const baggage = headers[BAGGAGE];
  if (typeof baggage !== 'string') return undefined;
  for (const member of baggage.split(',')) {
    const eq = member.indexOf('=');
    if (eq < 0 || member.slice(0, eq).trim().toLowerCase() !== header) continue;
    try {
      return decodeURIComponent(member.slice(eq + 1).split(';')[0]!.trim());
    } catch {
      return undefined;
    }
  }
  return undefined;
}

const current = new AsyncLocalStorage<Readonly<Record<string, string>>>();

/** Runs `fn` (and everything it starts) on behalf of a request carrying these headers. */
export function withPropagated<T>(headers: Readonly<Record<string, string>>, fn: () => T): T {
  return current.run(headers, fn);
}

/** The headers to add to a call made now: those of the request being handled, if any. */
export function propagated(): Readonly<Record<string, string>> {
  return current.getStore() ?? {};
}

/**
 * Runs `fn` outside any request: for work one request only happens to start but that
 * serves many (a flush of a shared buffer, a background loop), which must not carry
 * that request's route on its own calls.
 */
export function detached<T>(fn: () => T): T {
  return current.exit(fn);
}

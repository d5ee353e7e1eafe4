// Which upstream a request goes to: the first route whose header carries its value (or, when
// the header is absent, whose name is a W3C `baggage` member with that value), else the next
// default upstream in round-robin order.
import type { PortTable, Upstream } from './table.js';

export type Headers = Record<string, string | string[] | undefined>;

export interface Choice { upstream: Upstream; route: string | undefined }

function baggage(headers: Headers, key: string): string | undefined {
  const raw = headers.baggage;
  const text = Array.isArray(raw) ? raw.join(',') : raw;
  if (!text || text.length > 8192) return undefined;
  for (const member of text.split(',')) {
    const kv = member.split(';')[0]!;
    const eq = kv.indexOf('=');
    if (eq < 0 || kv.slice(0, eq).trim().toLowerCase() !== key) continue;
    try {
      return decodeURIComponent(kv.slice(eq + 1).trim());
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function headerValues(headers: Headers, name: string): string[] {
  const v = headers[name];
  if (v === undefined) {
    const b = baggage(headers, name);
    return b === undefined ? [] : [b];
  }
  return (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim());
}

export class Chooser {
  private next = 0;

  constructor(public table: PortTable) {}

  choose(headers: Headers): Choice {
    for (const r of this.table.routes) {
      if (headerValues(headers, r.header).includes(r.value)) return { upstream: r.upstream, route: `${r.header}=${r.value}` };
    }
    return { upstream: this.nextDefault(), route: undefined };
  }

  nextDefault(): Upstream {
    const list = this.table.defaults;
    const u = list[this.next % list.length]!;
    this.next = (this.next + 1) % list.length;
    return u;
  }
}

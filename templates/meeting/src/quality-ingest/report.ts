// A call-quality report as clients send it, validated and normalised.
import { HttpError, num, obj, str } from '../lib/http.js';

export interface QualityReport {
  ts: string;
  user: string;
  room: string;
  region: string;
  network: 'wifi' | 'ethernet' | 'cellular' | 'unknown';
  bitrateKbps: number;
  lossPct: number;
  jitterMs: number;
  rttMs: number;
  cpuPct: number;
  memMb: number;
  os: string;
  appVersion: string;
}

const NETWORKS = new Set(['wifi', 'ethernet', 'cellular', 'unknown']);
const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/;
const LABEL = /^[A-Za-z0-9][A-Za-z0-9 ._+-]{0,59}$/;

export function parseReport(v: unknown, now = Date.now()): QualityReport {
  const o = obj(v, 'a report');
  const network = str(o, 'network', { optional: true }) || 'unknown';
  if (!NETWORKS.has(network)) throw new HttpError(400, `network must be one of ${[...NETWORKS].join(', ')}`);
  let ts = new Date(now).toISOString();
  if (o.ts !== undefined) {
    const t = typeof o.ts === 'number' ? o.ts : typeof o.ts === 'string' ? Date.parse(o.ts) : NaN;
    if (!Number.isFinite(t)) throw new HttpError(400, 'ts must be a date (ISO string or epoch ms)');
    if (t > now + 5 * 60_000 || t < now - 7 * 86_400_000) throw new HttpError(400, 'ts is more than 5 minutes ahead or 7 days behind');
    ts = new Date(t).toISOString();
  }
  return {
    ts,
    user: str(o, 'user', { pattern: ID }),
    room: str(o, 'room', { pattern: ID }),
    region: str(o, 'region', { pattern: LABEL }),
    network: network as QualityReport['network'],
    bitrateKbps: num(o, 'bitrateKbps', { min: 0, max: 100_000 }),
    lossPct: num(o, 'lossPct', { min: 0, max: 100 }),
    jitterMs: num(o, 'jitterMs', { min: 0, max: 10_000 }),
    rttMs: num(o, 'rttMs', { min: 0, max: 60_000, fallback: 0 }),
    cpuPct: num(o, 'cpuPct', { min: 0, max: 100 }),
    memMb: num(o, 'memMb', { min: 0, max: 1_048_576 }),
    os: str(o, 'os', { pattern: LABEL }),
    appVersion: str(o, 'appVersion', { pattern: LABEL }),
  };
}

/** A body is one report or { reports: [...] } (at most `max`). */
export function reportsOf(body: unknown, max = 1000): unknown[] {
  if (typeof body === 'object' && body !== null && !Array.isArray(body) && 'reports' in body) {
    const list = (body as { reports: unknown }).reports;
    if (!Array.isArray(list)) throw new HttpError(400, 'reports must be a list');
    if (list.length > max) throw new HttpError(413, `at most ${max} reports per request`);
    return list;
  }
  return [body];
}

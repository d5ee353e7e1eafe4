// Text both UIs show the same way: durations, "kind/name", tables. UI-neutral strings only.
import type { AppEvent } from './events.js';

/** 42s, 5m, 3h12m, 2d4h. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

/** The time since an instant (a Date or ISO string), as duration(); "never" for none. */
export function since(at: Date | string | undefined, now = Date.now()): string {
  if (at === undefined) return 'never';
  return duration((now - new Date(at).getTime()) / 1000);
}

/** "5m ago", or "in 5m" for an instant to come; "never" for none. */
export function ago(at: Date | string | undefined, now = Date.now()): string {
  if (at === undefined) return 'never';
  const s = (now - new Date(at).getTime()) / 1000;
  return s < 0 ? `in ${duration(-s)}` : `${duration(s)} ago`;
}

/** "deployment/web" from a kind ("Deployment") and a name. */
export function kindName(kind: string, name: string): string {
  return `${kind.toLowerCase()}/${name}`;
}

/** Columns padded to the widest cell, `gap` spaces apart; the first row is the header. */
export function table(rows: string[][], gap = 2): string {
  if (rows.length === 0) return '';
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const sep = ' '.repeat(gap);
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join(sep)).join('\n') + '\n';
}

/** One line for an event of the session, or undefined for those a UI shows otherwise (progress, live sync state). */
export function describeEvent(e: AppEvent): string | undefined {
  switch (e.type) {
    case 'forward':
      return `${e.state === 'ready' ? '⇄' : e.state === 'stopped' ? '■' : '…'} ${e.message}`;
    case 'forward-error':
      return `! 127.0.0.1:${e.localPort}: ${e.message}${e.retryInMs !== undefined ? ` (retrying in ${e.retryInMs} ms)` : ''}`;
    case 'run':
    case 'debug':
      return `› ${e.message}`;
    case 'info':
      return `  ${e.message}`;
    case 'sync':
      return e.state === 'watching' ? `⇅ sync: ${e.status.syncedFiles} files in step; watching ${e.status.localRoot}` : undefined;
    case 'sync-error':
      return `! sync: ${e.message}${e.hint ? ` (${e.hint})` : ''}`;
    case 'sync-elsewhere':
      return `⇅ sync: already running in pid ${e.pid} (${e.ui}${e.localRoot ? `, ${e.localRoot}` : ''}); its batches restart the command`;
    case 'lease-lost':
      return `✗ ${e.message}`;
    default:
      return undefined;
  }
}

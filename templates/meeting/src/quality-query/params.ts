// Query parameters of the quality APIs: the time window, the interval, the page size.
import { HttpError } from '../lib/http.js';

export function window(q: URLSearchParams): { sinceMs: number; intervalS: number; limit: number } {
  const since = Number(q.get('since') ?? 3600);
  const interval = Number(q.get('interval') ?? 60);
  const limit = Number(q.get('limit') ?? 50);
  if (!Number.isInteger(since) || since < 1 || since > 30 * 86400) throw new HttpError(400, 'since is seconds back, 1..2592000');
  if (!Number.isInteger(interval) || interval < 1 || interval > 86400) throw new HttpError(400, 'interval is seconds, 1..86400');
  if (!Number.isInteger(limit) || limit < 0 || limit > 500) throw new HttpError(400, 'limit is 0..500');
  if (since / interval > 2000) throw new HttpError(400, 'since/interval would make more than 2000 points');
  return { sinceMs: Date.now() - since * 1000, intervalS: interval, limit };
}

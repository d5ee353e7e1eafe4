// Reading the report stream's XREADGROUP replies.
import type { RespValue } from '../lib/redis.js';
import type { QualityReport } from '../quality-ingest/report.js';

/** Stream entries → [{id, doc}]. */
export function entries(reply: RespValue): Array<{ id: string; doc: QualityReport }> {
  if (!Array.isArray(reply)) return [];
  const out: Array<{ id: string; doc: QualityReport }> = [];
  for (const stream of reply) {
    const items = (stream as RespValue[])[1] as RespValue[];
    for (const e of items) {
      const [id, fields] = e as [string, string[] | null];
      if (!fields) continue; // deleted entry
      const i = fields.indexOf('r');
      try {
        if (i >= 0) out.push({ id, doc: JSON.parse(fields[i + 1]!) as QualityReport });
      } catch {}
    }
  }
  return out;
}

// Validation of a placement request arriving over HTTP.
import { randomUUID } from 'node:crypto';
import { HttpError, num, obj, str } from '../lib/http.js';
import type { PlacementRequest } from './placement.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;

export function parsePlacementRequest(body: unknown): PlacementRequest {
  const o = obj(body);
  const features = o.features ?? [];
  if (!Array.isArray(features) || !features.every((f) => typeof f === 'string' && NAME.test(f))) throw new HttpError(400, 'features must be a list of names');
  return {
    id: str(o, 'id', { optional: true, max: 100, pattern: NAME }) || randomUUID(),
    tenant: str(o, 'tenant', { max: 100, pattern: NAME }),
    cpu: num(o, 'cpu', { min: 1, max: 1_000_000 }),
    mem: num(o, 'mem', { min: 1, max: 10_000_000 }),
    gpu: num(o, 'gpu', { min: 0, max: 16, fallback: 0 }),
    zone: str(o, 'zone', { optional: true, max: 60, pattern: NAME }),
    features: features as string[],
    image: str(o, 'image', { max: 200, pattern: NAME }),
  };
}

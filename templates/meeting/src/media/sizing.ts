// How big a media server a room needs: an SFU forwards every sender's streams to every
// receiver, so cost grows with participants; recording and AV1 need host features.
import { HttpError, num, obj, str } from '../lib/http.js';

export interface AllocationRequest {
  roomId: string;
  tenant: string;
  zone: string;
  participants: number;
  recording: boolean;
  codec: 'h264' | 'av1';
  gpu: boolean;
}

export function parseAllocation(body: unknown): AllocationRequest {
  const o = obj(body);
  const codec = str(o, 'codec', { optional: true }) || 'h264';
  if (codec !== 'h264' && codec !== 'av1') throw new HttpError(400, 'codec must be h264 or av1');
  return {
    roomId: str(o, 'roomId'),
    tenant: str(o, 'tenant'),
    zone: str(o, 'zone', { optional: true }),
    participants: num(o, 'participants', { min: 1, max: 1000, fallback: 2 }),
    recording: o.recording === true,
    codec,
    gpu: o.gpu === true,
  };
}

export const MEDIA_IMAGE = 'media-server:1.3';

/** The scheduler request for a room: millicores, MiB, GPUs, features. */
export function size(a: AllocationRequest): { cpu: number; mem: number; gpu: number; features: string[]; image: string } {
  const n = a.participants;
  const cpu = Math.min(16_000, 500 + 50 * n + Math.ceil((n * (n - 1)) / 20) * 10);
  const mem = Math.min(32_768, 512 + 32 * n);
  const features = [...(a.recording ? ['recording'] : []), ...(a.codec === 'av1' ? ['av1'] : ['h264-hw'])];
  return { cpu, mem, gpu: a.gpu ? 1 : 0, features, image: MEDIA_IMAGE };
}

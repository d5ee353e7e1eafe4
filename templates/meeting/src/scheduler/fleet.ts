// A synthetic fleet of media-server hosts and a stream of placement requests, seeded so
// that the benchmark, the tests and a fresh environment see the same data.
import { seededRng, type HostSpec, type PlacementRequest } from './placement.js';

export const ZONES = ['zone-a', 'zone-b', 'zone-c', 'zone-d'];
export const FEATURES = ['h264-hw', 'av1', 'simulcast', 'e2ee', 'recording'];
export const IMAGES = Array.from({ length: 8 }, (_, i) => `media-server:1.${i}`);

export function makeFleet(n: number, seed = 1): HostSpec[] {
  const rng = seededRng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rng() * xs.length)]!;
  return Array.from({ length: n }, (_, i) => {
    const big = rng() < 0.3;
    const gpu = rng() < 0.15 ? 1 + Math.floor(rng() * 4) : 0;
    return {
      id: `host-${String(i).padStart(5, '0')}`,
      zone: ZONES[i % ZONES.length]!,
      cpu: big ? 64_000 : 32_000,
      mem: big ? 262_144 : 131_072,
      gpu,
      features: FEATURES.filter(() => rng() < 0.5),
      images: [pick(IMAGES), pick(IMAGES), pick(IMAGES)],
    };
  });
}

export function makeRequests(n: number, seed = 2, prefix = 'req'): PlacementRequest[] {
  const rng = seededRng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rng() * xs.length)]!;
  return Array.from({ length: n }, (_, i) => {
    const gpu = rng() < 0.02 ? 1 : 0;
    return {
      id: `${prefix}-${i}`,
      tenant: `tenant-${Math.floor(rng() * 500)}`,
      cpu: 250 * (1 + Math.floor(rng() * 8)),
      mem: 512 * (1 + Math.floor(rng() * 8)),
      gpu,
      zone: rng() < 0.4 ? pick(ZONES) : '',
      features: rng() < 0.3 ? [pick(FEATURES)] : [],
      image: pick(IMAGES),
    };
  });
}

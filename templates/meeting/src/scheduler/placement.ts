// The scheduler's pure logic: hard constraints filter, soft constraints rank, the top k
// are shuffled so that replicas working from the same state rarely pick the same host.
// No I/O here: the cache, the store and the loop live in their own modules.

/** What never changes about a host (written once when the fleet is registered). */
export interface HostSpec {
  id: string;
  zone: string;
  /** Millicores. */
  cpu: number;
  /** MiB. */
  mem: number;
  gpu: number;
  features: string[];
  /** Media-server images already pulled on this host. */
  images: string[];
}

/** What placements change; `v` is the version of the host's last change in the store. */
export interface HostUsage {
  v: number;
  cpu: number;
  mem: number;
  gpu: number;
  /** Instances per tenant on this host (anti-affinity). */
  ten: Record<string, number>;
}

export interface Host {
  spec: HostSpec;
  use: HostUsage;
}

export interface PlacementRequest {
  id: string;
  tenant: string;
  cpu: number;
  mem: number;
  gpu: number;
  /** Required zone; empty = any. */
  zone: string;
  /** Required host features (all of them). */
  features: string[];
  image: string;
}

export const emptyUsage = (): HostUsage => ({ v: 0, cpu: 0, mem: 0, gpu: 0, ten: {} });

/** Hard constraints: capacity left (cpu, memory, GPU), zone, feature flags. */
export function feasible(h: Host, r: PlacementRequest): boolean {
  const s = h.spec;
  const u = h.use;
  if (u.cpu + r.cpu > s.cpu || u.mem + r.mem > s.mem || u.gpu + r.gpu > s.gpu) return false;
  if (r.zone !== '' && s.zone !== r.zone) return false;
  for (const f of r.features) if (!s.features.includes(f)) return false;
  return true;
}

/** Why a host is not feasible (for errors and tests); undefined when it is. */
export function violation(spec: HostSpec, use: Pick<HostUsage, 'cpu' | 'mem' | 'gpu'>, r: PlacementRequest): string | undefined {
  if (use.cpu + r.cpu > spec.cpu) return 'cpu';
  if (use.mem + r.mem > spec.mem) return 'memory';
  if (use.gpu + r.gpu > spec.gpu) return 'gpu';
  if (r.zone !== '' && spec.zone !== r.zone) return 'zone';
  const missing = r.features.find((f) => !spec.features.includes(f));
  return missing ? `feature ${missing}` : undefined;
}

export interface Weights {
  balance: number;
  image: number;
  antiAffinity: number;
}

export const DEFAULT_WEIGHTS: Weights = { balance: 1, image: 0.3, antiAffinity: 0.5 };

/**
 * Soft constraints, higher is better: balanced utilisation (after placing, the host's
 * fullest dimension stays low and cpu/memory stay even), the image already cached, few
 * instances of the same tenant on the host.
 */
export function score(h: Host, r: PlacementRequest, w: Weights = DEFAULT_WEIGHTS): number {
  const s = h.spec;
  const ucpu = (h.use.cpu + r.cpu) / s.cpu;
  const umem = (h.use.mem + r.mem) / s.mem;
  const balance = 1 - Math.max(ucpu, umem) - 0.5 * Math.abs(ucpu - umem);
  const image = s.images.includes(r.image) ? 1 : 0;
  const same = h.use.ten[r.tenant] ?? 0;
  return w.balance * balance + w.image * image - w.antiAffinity * Math.min(same, 4);
}

export type Rng = () => number;

/** A small seeded PRNG (mulberry32), so tests and benchmarks are reproducible. */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffle<T>(items: T[], rng: Rng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

export interface PickOptions {
  /** Stop scanning once this many feasible hosts are found (Borg's relaxed randomisation). */
  sample: number;
  /** How many of the best are shuffled. */
  topK: number;
  weights?: Weights;
  /** Hosts to skip (already chosen in this batch). */
  exclude?: Pick<ReadonlySet<string>, 'has' | 'size'>;
}

export const DEFAULT_PICK: PickOptions = { sample: 48, topK: 5 };

/**
 * Candidate hosts for a request, best first, the top k shuffled. Scans the pool from a
 * random offset and stops after `sample` feasible hosts, so a request costs O(sample)
 * instead of O(fleet) and different replicas look at different slices.
 */
export function candidates(pool: readonly Host[], r: PlacementRequest, rng: Rng, opts: PickOptions = DEFAULT_PICK): Host[] {
  const n = pool.length;
  if (n === 0) return [];
  const found: Array<{ h: Host; s: number }> = [];
  const start = Math.floor(rng() * n);
  for (let i = 0; i < n && found.length < opts.sample; i++) {
    const h = pool[(start + i) % n]!;
    if (opts.exclude?.has(h.spec.id)) continue;
    if (feasible(h, r)) found.push({ h, s: score(h, r, opts.weights) });
  }
  found.sort((a, b) => b.s - a.s);
  const ranked = found.map((f) => f.h);
  const k = Math.min(opts.topK, ranked.length);
  const top = shuffle(ranked.slice(0, k), rng);
  return [...top, ...ranked.slice(k)];
}

/** Applies a placement to a usage record (the same arithmetic as the store's script). */
export function applyUsage(u: HostUsage, r: Pick<PlacementRequest, 'cpu' | 'mem' | 'gpu' | 'tenant'>, sign: 1 | -1 = 1): HostUsage {
  const ten = { ...u.ten };
  const n = (ten[r.tenant] ?? 0) + sign;
  if (n > 0) ten[r.tenant] = n;
  else delete ten[r.tenant];
  return { v: u.v, cpu: u.cpu + sign * r.cpu, mem: u.mem + sign * r.mem, gpu: u.gpu + sign * r.gpu, ten };
}

// A replica's private copy of the fleet. Filled once from a snapshot, then refreshed
// incrementally: the store hands out the changes since the cache's version, and a change
// older than what the cache holds is ignored (it is already there).
//
// Besides the Host objects, the cache keeps what placement reads for every scanned host in
// flat typed arrays (capacity, usage, feature and image bits) and the per-tenant instance
// counts in one small map per tenant: a request scans dozens of hosts, and reading packed
// arrays instead of chasing each host's objects is what its time goes to.
import { DEFAULT_WEIGHTS, shuffle, type Host, type HostSpec, type HostUsage, type PickOptions, type PlacementRequest, type Rng } from './placement.js';
import type { UsageDelta } from './store.js';

/** Names (features, images) → bit numbers, for as many as fit in 31 bits. */
class Bits {
  private readonly bit = new Map<string, number>();
  /** A bit for a name, assigning one if there is room; -1 when all 31 are taken. */
  of(name: string, assign: boolean): number {
    let b = this.bit.get(name);
    if (b === undefined) {
      if (!assign || this.bit.size >= 31) return -1;
      this.bit.set(name, (b = this.bit.size));
    }
    return b;
  }
  /** The mask of a list of names, or -1 if one cannot have a bit. */
  mask(names: readonly string[], assign: boolean): number {
    let m = 0;
    for (const n of names) {
      const b = this.of(n, assign);
      if (b < 0) return -1;
      m |= 1 << b;
    }
    return m;
  }
}

/**
 * Gives a usage's tenant counts a prototype-less object: V8 keeps those in dictionary mode,
 * so adding a tenant is a hash insert. A plain object would get a new hidden class for
 * every new tenant key sequence — one per placement on 10,000 hosts, on every replica —
 * and those hidden classes, left behind as garbage, kept the garbage collector busy.
 */
function dictTenants(u: HostUsage): HostUsage {
  u.ten = Object.assign(Object.create(null) as Record<string, number>, u.ten);
  return u;
}

export class HostCache {
  readonly hosts = new Map<string, Host>();
  private readonly zones = new Map<string, Int32Array>();
  private all = new Int32Array(0);
  private list: Host[] = [];
  private readonly index = new Map<string, number>();
  private capCpu = new Float64Array(0);
  private capMem = new Float64Array(0);
  private capGpu = new Float64Array(0);
  private useCpu = new Float64Array(0);
  private useMem = new Float64Array(0);
  private useGpu = new Float64Array(0);
  /** Feature and image bits per host; -1 when a host has more names than bits (slow path). */
  private featMask = new Int32Array(0);
  private imgMask = new Int32Array(0);
  private readonly features = new Bits();
  private readonly images = new Bits();
  /** tenant → host index → instances (anti-affinity). */
  private readonly tenants = new Map<string, Map<number, number>>();
  /** The highest store version this cache has seen. */
  version = 0;
  stats = { full: 0, incremental: 0, changesRead: 0, changesApplied: 0 };

  load(version: number, hosts: Array<{ spec: HostSpec; use: HostUsage }>): void {
    const n = hosts.length;
    this.hosts.clear();
    this.index.clear();
    this.tenants.clear();
    this.list = [];
    this.all = new Int32Array(n);
    this.capCpu = new Float64Array(n);
    this.capMem = new Float64Array(n);
    this.capGpu = new Float64Array(n);
    this.useCpu = new Float64Array(n);
    this.useMem = new Float64Array(n);
    this.useGpu = new Float64Array(n);
    this.featMask = new Int32Array(n);
    this.imgMask = new Int32Array(n);
    const byZone = new Map<string, number[]>();
    hosts.forEach((h, i) => {
      const host: Host = { spec: h.spec, use: dictTenants(h.use) };
      this.hosts.set(h.spec.id, host);
      this.index.set(h.spec.id, i);
      this.list.push(host);
      this.all[i] = i;
      let z = byZone.get(h.spec.zone);
      if (!z) byZone.set(h.spec.zone, (z = []));
      z.push(i);
      this.capCpu[i] = h.spec.cpu;
      this.capMem[i] = h.spec.mem;
      this.capGpu[i] = h.spec.gpu;
      this.featMask[i] = this.features.mask(h.spec.features, true);
      this.imgMask[i] = this.images.mask(h.spec.images, true);
      this.setArrays(i, h.use);
      for (const [t, c] of Object.entries(h.use.ten)) this.tenantAdd(t, i, c);
    });
    this.zones.clear();
    for (const [z, ids] of byZone) this.zones.set(z, Int32Array.from(ids));
    this.version = version;
    this.stats.full++;
  }

  private setArrays(i: number, u: HostUsage): void {
    this.useCpu[i] = u.cpu;
    this.useMem[i] = u.mem;
    this.useGpu[i] = u.gpu;
  }

  private tenantAdd(tenant: string, i: number, d: number): void {
    let m = this.tenants.get(tenant);
    if (!m) this.tenants.set(tenant, (m = new Map()));
    const c = (m.get(i) ?? 0) + d;
    if (c > 0) m.set(i, c);
    else m.delete(i);
  }

  /**
   * Applies the change log after this cache's version, in version order; returns how many
   * deltas were newer than the cache's copy of their host. A host's copy at version x
   * already holds every change up to x (its own commits, a conflict's current state), so a
   * delta at or below x is skipped and the later ones are added on top.
   */
  apply(deltas: readonly UsageDelta[]): number {
    let n = 0;
    for (const d of deltas) {
      if (d.v > this.version) this.version = d.v;
      if (this.add(d)) n++;
    }
    this.stats.changesRead += deltas.length;
    this.stats.incremental++;
    this.stats.changesApplied += n;
    return n;
  }

  /**
   * Records this replica's own committed placement (the store answered version d.v): the
   * same arithmetic in place. The cache's version does not move, since changes by others
   * before d.v may still be unread.
   */
  placed(d: UsageDelta): boolean {
    return this.add(d);
  }

  private add(d: UsageDelta): boolean {
    const i = this.index.get(d.host);
    if (i === undefined) return false;
    const u = this.list[i]!.use;
    if (d.v <= u.v) return false;
    u.v = d.v;
    u.cpu += d.cpu * d.n;
    u.mem += d.mem * d.n;
    u.gpu += d.gpu * d.n;
    const t = (u.ten[d.tenant] ?? 0) + d.n;
    if (t > 0) u.ten[d.tenant] = t;
    else delete u.ten[d.tenant];
    this.setArrays(i, u);
    this.tenantAdd(d.tenant, i, d.n);
    return true;
  }

  /** Replaces one host's usage if the new one is newer. */
  set(id: string, use: HostUsage): boolean {
    const i = this.index.get(id);
    if (i === undefined) return false;
    const h = this.list[i]!;
    if (use.v <= h.use.v) return false;
    for (const [t, c] of Object.entries(h.use.ten)) this.tenantAdd(t, i, -c);
    for (const [t, c] of Object.entries(use.ten)) this.tenantAdd(t, i, c);
    h.use = dictTenants(use);
    this.setArrays(i, use);
    return true;
  }

  /** The hosts a request may land on: its zone's, or all. */
  pool(zone: string): readonly Host[] {
    const ids = zone === '' ? this.all : this.zones.get(zone);
    return ids ? Array.from(ids, (i) => this.list[i]!) : [];
  }

  /**
   * candidates() of placement.ts over this cache's pool for the request, computed from the
   * packed arrays: the same scan from the same random offset, the same scores, the same
   * order and shuffle (a unit test holds the two equal), at a fraction of the memory reads.
   */
  candidates(r: PlacementRequest, rng: Rng, opts: PickOptions): Host[] {
    const ids = r.zone === '' ? this.all : this.zones.get(r.zone);
    const n = ids?.length ?? 0;
    if (!ids || n === 0) return [];
    const need = this.features.mask(r.features, false);
    const img = this.images.of(r.image, false);
    const w = opts.weights ?? DEFAULT_WEIGHTS;
    const ten = this.tenants.get(r.tenant);
    const exclude = opts.exclude && opts.exclude.size > 0 ? opts.exclude : undefined;
    const found: number[] = [];
    const scores: number[] = [];
    const start = Math.floor(rng() * n);
    for (let k = 0; k < n && found.length < opts.sample; k++) {
      const i = ids[(start + k) % n]!;
      if (this.useCpu[i]! + r.cpu > this.capCpu[i]! || this.useMem[i]! + r.mem > this.capMem[i]! || this.useGpu[i]! + r.gpu > this.capGpu[i]!) continue;
      const fm = this.featMask[i]!;
      // need < 0: the request names a feature without a bit, which only a slow-path host can have
      if (fm < 0 ? !r.features.every((f) => this.list[i]!.spec.features.includes(f)) : need < 0 || (fm & need) !== need) continue;
      if (exclude?.has(this.list[i]!.spec.id)) continue;
      const cpu = this.capCpu[i]!;
      const mem = this.capMem[i]!;
      const ucpu = (this.useCpu[i]! + r.cpu) / cpu;
      const umem = (this.useMem[i]! + r.mem) / mem;
      const balance = 1 - Math.max(ucpu, umem) - 0.5 * Math.abs(ucpu - umem);
      const im = this.imgMask[i]!;
      const image = (im < 0 ? this.list[i]!.spec.images.includes(r.image) : img >= 0 && (im & (1 << img)) !== 0) ? 1 : 0;
      const same = ten?.get(i) ?? 0;
      found.push(i);
      scores.push(w.balance * balance + w.image * image - w.antiAffinity * Math.min(same, 4));
    }
    const order = found.map((_, j) => j);
    order.sort((a, b) => scores[b]! - scores[a]!);
    const ranked = order.map((j) => this.list[found[j]!]!);
    const k = Math.min(opts.topK, ranked.length);
    const top = shuffle(ranked.slice(0, k), rng);
    for (let j = 0; j < k; j++) ranked[j] = top[j]!;
    return ranked;
  }

  get size(): number {
    return this.list.length;
  }
}

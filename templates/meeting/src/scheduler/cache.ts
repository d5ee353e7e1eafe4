// A replica's private copy of the fleet. Filled once from a snapshot, then refreshed
// incrementally: the store hands out the changes since the cache's version, and a change
// older than what the cache holds is ignored (it is already there).
//
// Besides the Host objects, the cache keeps what placement reads for every scanned host in
// one packed typed array (capacity, usage, feature and image bits) and the per-tenant instance
// counts in one small map per tenant: a request scans dozens of hosts, and reading packed
// arrays instead of chasing each host's objects is what its time goes to.
import { DEFAULT_WEIGHTS, type Host, type HostSpec, type HostUsage, type PickOptions, type PlacementRequest, type Rng } from './placement.js';
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

// A host's record in HostCache.rec: REC doubles, its fields at these offsets. The feature
// and image bits are -1 when a host has more names than bits (the slow path).
const REC = 8;
const USE_CPU = 0;
const USE_MEM = 1;
const USE_GPU = 2;
const CAP_CPU = 3;
const CAP_MEM = 4;
const CAP_GPU = 5;
const FEAT = 6;
const IMG = 7;

/**
 * The hosts claimed by one commit round's plans: a set of host ids that also marks each
 * host's slot in the cache it was made for, so that candidates() checks a claim by slot
 * instead of hashing the host's id for every host it scans. After the cache reloads, the
 * slots no longer match and candidates() falls back to the ids.
 */
export class HostClaims implements Pick<ReadonlySet<string>, 'has' | 'size'> {
  private readonly ids = new Set<string>();
  private marks = new Uint32Array(0);
  private gen = 1;
  private load = -1;

  constructor(private readonly cache: HostCache) {}

  add(id: string): this {
    this.ids.add(id);
    if (this.load !== this.cache.loads) {
      this.marks = new Uint32Array(this.cache.size);
      this.gen = 1;
      this.load = this.cache.loads;
      for (const c of this.ids) this.mark(c);
    } else this.mark(id);
    return this;
  }

  private mark(id: string): void {
    const i = this.cache.slot(id);
    if (i !== undefined) this.marks[i] = this.gen;
  }

  /** Whether slot i of `cache` is claimed; undefined if the slots are not that cache's current ones. */
  marked(cache: HostCache, i: number): boolean | undefined {
    return cache === this.cache && this.load === cache.loads ? this.marks[i] === this.gen : undefined;
  }

  clear(): void {
    this.ids.clear();
    if (++this.gen === 0xffffffff) {
      this.marks.fill(0);
      this.gen = 1;
    }
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  get size(): number {
    return this.ids.size;
  }
}

export class HostCache {
  readonly hosts = new Map<string, Host>();
  private readonly zones = new Map<string, Int32Array>();
  private all = new Int32Array(0);
  private list: Host[] = [];
  private readonly index = new Map<string, number>();
  /**
   * What a scan reads of each host, one contiguous 64-byte record per host (REC doubles):
   * usage, capacity, feature and image bits. A host costs a scan one or two cache lines
   * however many of its fields it reads, instead of one line in each of eight arrays —
   * with several replicas sharing a core's caches, memory is what a scan waits on.
   */
  private rec = new Float64Array(0);
  private readonly features = new Bits();
  private readonly images = new Bits();
  /** tenant → host index → instances (anti-affinity). */
  private readonly tenants = new Map<string, Map<number, number>>();
  /** Scratch space of candidates(): the feasible hosts found so far and their scores. */
  private foundScratch = new Int32Array(0);
  private scoreScratch = new Float64Array(0);
  /** The highest store version this cache has seen. */
  version = 0;
  /** applyMs: time spent in apply() (the refresh's share of a replica's time). */
  stats = { full: 0, incremental: 0, changesRead: 0, changesApplied: 0, applyMs: 0, loadMs: 0 };
  /** How many times load() ran: slots (host positions) are valid for one load. */
  loads = 0;

  load(version: number, hosts: Array<{ spec: HostSpec; use: HostUsage }>): void {
    const t0 = performance.now();
    const n = hosts.length;
    this.hosts.clear();
    this.index.clear();
    this.tenants.clear();
    this.list = [];
    this.all = new Int32Array(n);
    this.rec = new Float64Array(n * REC);
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
      const r = i * REC;
      this.rec[r + CAP_CPU] = h.spec.cpu;
      this.rec[r + CAP_MEM] = h.spec.mem;
      this.rec[r + CAP_GPU] = h.spec.gpu;
      this.rec[r + FEAT] = this.features.mask(h.spec.features, true);
      this.rec[r + IMG] = this.images.mask(h.spec.images, true);
      this.setArrays(i, h.use);
      for (const [t, c] of Object.entries(h.use.ten)) this.tenantAdd(t, i, c);
    });
    this.zones.clear();
    for (const [z, ids] of byZone) this.zones.set(z, Int32Array.from(ids));
    this.version = version;
    this.stats.full++;
    this.stats.loadMs += performance.now() - t0;
    this.loads++;
  }

  private setArrays(i: number, u: HostUsage): void {
    const r = i * REC;
    this.rec[r + USE_CPU] = u.cpu;
    this.rec[r + USE_MEM] = u.mem;
    this.rec[r + USE_GPU] = u.gpu;
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
   * delta at or below x is skipped and the later ones are added on top. `top` is the
   * highest version the store's answer covered, changes it left out included (this
   * replica's own commits, which placed() applied already).
   */
  apply(deltas: readonly UsageDelta[], top = 0): number {
    const t0 = performance.now();
    let n = 0;
    // hosts this call moved to a commit's version: that commit's other changes on the same
    // host (one commit, one version) are added too, not taken for ones already held
    const moved = new Map<string, number>();
    for (const d of deltas) {
      if (d.v > this.version) this.version = d.v;
      if (this.add(d, moved.get(d.host) === d.v)) {
        moved.set(d.host, d.v);
        n++;
      }
    }
    if (top > this.version) this.version = top;
    this.stats.changesRead += deltas.length;
    this.stats.incremental++;
    this.stats.changesApplied += n;
    this.stats.applyMs += performance.now() - t0;
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

  private add(d: UsageDelta, sameCommit = false): boolean {
    const i = this.index.get(d.host);
    if (i === undefined) return false;
    const u = this.list[i]!.use;
    if (d.v < u.v || (d.v === u.v && !sameCommit)) return false;
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

  /**
   * Replaces one host's usage if the new one is newer. With `sameVersion`, also one at the
   * version the cache holds: a commit's answer for a host an earlier item of the same
   * commit changed (one commit, one version; the later answer holds more of it).
   */
  set(id: string, use: HostUsage, sameVersion = false): boolean {
    const i = this.index.get(id);
    if (i === undefined) return false;
    const h = this.list[i]!;
    if (use.v < h.use.v || (use.v === h.use.v && !sameVersion)) return false;
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
   * order and shuffle (a unit test holds the two equal), at a fraction of the cost. This
   * is where a replica spends the largest share of its time, so: the arrays are read
   * through locals, each feasible host is insertion-ranked as it is found (a stable sort
   * by descending score, without a comparator call per step), into scratch arrays reused
   * from call to call.
   */
  candidates(r: PlacementRequest, rng: Rng, opts: PickOptions): Host[] {
    const ids = r.zone === '' ? this.all : this.zones.get(r.zone);
    const n = ids?.length ?? 0;
    if (!ids || n === 0) return [];
    const need = this.features.mask(r.features, false);
    const img = this.images.of(r.image, false);
    const imgBit = img >= 0 ? 1 << img : 0;
    const w = opts.weights ?? DEFAULT_WEIGHTS;
    const ten = this.tenants.get(r.tenant);
    const exclude = opts.exclude && opts.exclude.size > 0 ? opts.exclude : undefined;
    const claims = exclude instanceof HostClaims && exclude.marked(this, 0) !== undefined ? exclude : undefined;
    const sample = opts.sample;
    if (this.foundScratch.length < sample) {
      this.foundScratch = new Int32Array(sample);
      this.scoreScratch = new Float64Array(sample);
    }
    const found = this.foundScratch;
    const scores = this.scoreScratch;
    const { rec, list } = this;
    const rc = r.cpu;
    const rm = r.mem;
    const rg = r.gpu;
    let m = 0;
    let pos = Math.floor(rng() * n);
    for (let k = 0; k < n && m < sample; k++) {
      const i = ids[pos]!;
      if (++pos === n) pos = 0;
      const at = i * REC;
      const cpu = rec[at + CAP_CPU]!;
      const mem = rec[at + CAP_MEM]!;
      const uc = rec[at + USE_CPU]! + rc;
      const um = rec[at + USE_MEM]! + rm;
      if (uc > cpu || um > mem || rec[at + USE_GPU]! + rg > rec[at + CAP_GPU]!) continue;
      const fm = rec[at + FEAT]!;
      // need < 0: the request names a feature without a bit, which only a slow-path host can have
      if (fm < 0 ? !r.features.every((f) => list[i]!.spec.features.includes(f)) : need < 0 || (fm & need) !== need) continue;
      if (claims ? claims.marked(this, i) : exclude?.has(list[i]!.spec.id)) continue;
      const ucpu = uc / cpu;
      const umem = um / mem;
      const balance = 1 - Math.max(ucpu, umem) - 0.5 * Math.abs(ucpu - umem);
      const im = rec[at + IMG]!;
      const image = (im < 0 ? list[i]!.spec.images.includes(r.image) : (im & imgBit) !== 0) ? 1 : 0;
      const same = ten?.get(i) ?? 0;
      const score = w.balance * balance + w.image * image - w.antiAffinity * Math.min(same, 4);
      // after every equal or higher score found before it (stable, descending)
      let j = m++;
      while (j > 0 && scores[j - 1]! < score) {
        scores[j] = scores[j - 1]!;
        found[j] = found[j - 1]!;
        j--;
      }
      scores[j] = score;
      found[j] = i;
    }
    const ranked: Host[] = new Array(m);
    for (let j = 0; j < m; j++) ranked[j] = list[found[j]!]!;
    // shuffle() of the top k, in place
    for (let j = Math.min(opts.topK, m) - 1; j > 0; j--) {
      const x = Math.floor(rng() * (j + 1));
      const t = ranked[j]!;
      ranked[j] = ranked[x]!;
      ranked[x] = t;
    }
    return ranked;
  }

  get size(): number {
    return this.list.length;
  }

  /** A host's slot in this load of the cache. */
  slot(id: string): number | undefined {
    return this.index.get(id);
  }

  /** A set of claimed hosts whose lookups by candidates() go by slot. */
  claims(): HostClaims {
    return new HostClaims(this);
  }
}

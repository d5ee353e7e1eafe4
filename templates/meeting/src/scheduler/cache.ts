// A replica's private copy of the fleet. Filled once from a snapshot, then refreshed
// incrementally: the store hands out the hosts changed since the cache's version, and a
// change older than what the cache holds is ignored (it is already there).
import type { Host, HostSpec, HostUsage } from './placement.js';
import type { UsageDelta } from './store.js';

export class HostCache {
  readonly hosts = new Map<string, Host>();
  private readonly zones = new Map<string, Host[]>();
  private all: Host[] = [];
  /** The highest store version this cache has seen. */
  version = 0;
  stats = { full: 0, incremental: 0, changesApplied: 0 };

  load(version: number, hosts: Array<{ spec: HostSpec; use: HostUsage }>): void {
    this.hosts.clear();
    this.zones.clear();
    this.all = [];
    for (const h of hosts) {
      const host: Host = { spec: h.spec, use: h.use };
      this.hosts.set(h.spec.id, host);
      this.all.push(host);
      let z = this.zones.get(h.spec.zone);
      if (!z) this.zones.set(h.spec.zone, (z = []));
      z.push(host);
    }
    this.version = version;
    this.stats.full++;
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
      const h = this.hosts.get(d.host);
      if (!h || d.v <= h.use.v) continue;
      const u = h.use;
      u.v = d.v;
      u.cpu += d.cpu * d.n;
      u.mem += d.mem * d.n;
      u.gpu += d.gpu * d.n;
      const t = (u.ten[d.tenant] ?? 0) + d.n;
      if (t > 0) u.ten[d.tenant] = t;
      else delete u.ten[d.tenant];
      n++;
    }
    this.stats.incremental++;
    this.stats.changesApplied += n;
    return n;
  }

  /** Replaces one host's usage if the new one is newer. */
  set(id: string, use: HostUsage): boolean {
    const h = this.hosts.get(id);
    if (!h || use.v <= h.use.v) return false;
    h.use = use;
    return true;
  }

  /** The hosts a request may land on: its zone's, or all. */
  pool(zone: string): readonly Host[] {
    return zone === '' ? this.all : (this.zones.get(zone) ?? []);
  }

  get size(): number {
    return this.all.length;
  }
}

// The manifest diff, streamed: the client sends its manifest in chunks, sorted by (folder,
// name) with folders in depth-first order (manifestOrder), and the sidecar answers in diff
// chunks as it goes. It holds one folder's listing and the queue of manifest folders still
// to visit, never the whole manifest: a tree of a million files diffs in bounded memory.
import { closeDir, lstatAt, openDirPath, readdirAt, type Dir } from './fsfd.js';
import { ProtocolError, STAGING_DIR, comparePaths, sameEntry, type Entry, type ServerMessage } from './protocol.js';
import { entryAt, type HashCache } from './tree.js';

/** Most entries one folder of the root may hold for a diff (its listing is kept in memory). */
export const MAX_DIR_ENTRIES = 200_000;
/** A diff chunk leaves once it holds this many paths. */
const CHUNK = 2000;

type DiffMessage = Extract<ServerMessage, { t: 'diff' }>;

function parentOf(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
}

function baseOf(rel: string): string {
  return rel.slice(rel.lastIndexOf('/') + 1);
}

interface Group {
  rel: string;
  dir: Dir | undefined;
  names: Set<string> | undefined;
  /** A folder of the manifest (or the root): what it holds beyond the manifest is `extra`. */
  manifestDir: boolean;
  /** Its sub-folders that are folders on both sides, in name order: visited next. */
  found: string[];
}

export interface DiffContext {
  root: Dir;
  cache: HashCache;
  /** Two-way: entries both sides agree on are recorded here. */
  agree?: (e: Entry) => void;
  send: (msg: DiffMessage) => Promise<void>;
}

export class ManifestDiff {
  private prev: [string, string] | undefined;
  private group: Group | undefined;
  /** Manifest folders not visited yet: a stack of name-ordered queues (depth-first order). */
  private readonly stack: string[][] = [['']];
  private out: DiffMessage = { t: 'diff', missing: [], differ: [], extra: [] };
  private count = 0;

  constructor(private readonly ctx: DiffContext) {}

  /** Takes the next chunk of (already validated) entries. */
  async add(entries: Entry[]): Promise<void> {
    for (const e of entries) {
      const parent = parentOf(e.p);
      const name = baseOf(e.p);
      if (this.prev && (comparePaths(parent, this.prev[0]) || (name < this.prev[1] ? -1 : name > this.prev[1] ? 1 : 0)) <= 0) {
        throw new ProtocolError(`manifest out of order at ${JSON.stringify(e.p)} (entries are sorted by folder, then name, each path once)`);
      }
      this.prev = [parent, name];
      if (this.group?.rel !== parent) await this.startGroup(parent);
      await this.check(this.group!, name, e);
      if (this.count >= CHUNK) await this.flush(true);
    }
  }

  /** The manifest is complete: visits the folders still queued, sends the last chunk. */
  async end(): Promise<void> {
    await this.finishGroup();
    for (;;) {
      const next = this.popNext();
      if (next === undefined) break;
      await this.visitEmpty(next);
    }
    await this.flush(false);
  }

  close(): void {
    closeDir(this.group?.dir);
    this.group = undefined;
  }

  private async flush(more: boolean): Promise<void> {
    const msg = more ? { ...this.out, more: true } : this.out;
    this.out = { t: 'diff', missing: [], differ: [], extra: [] };
    this.count = 0;
    await this.ctx.send(msg);
  }

  private peekNext(): string | undefined {
    while (this.stack.length > 0 && this.stack[this.stack.length - 1]!.length === 0) this.stack.pop();
    return this.stack[this.stack.length - 1]?.[0];
  }

  private popNext(): string | undefined {
    const v = this.peekNext();
    if (v !== undefined) this.stack[this.stack.length - 1]!.shift();
    return v;
  }

  /** A manifest folder with no entries of its own in the manifest: all it holds is extra. */
  private async visitEmpty(rel: string): Promise<void> {
    this.open(rel, true);
    await this.finishGroup();
  }

  private async startGroup(rel: string): Promise<void> {
    await this.finishGroup();
    for (;;) {
      const next = this.peekNext();
      if (next === undefined || comparePaths(next, rel) > 0) break;
      this.popNext();
      if (next === rel) return void this.open(rel, true);
      await this.visitEmpty(next);
    }
    this.open(rel, false);
  }

  private open(rel: string, manifestDir: boolean): void {
    const dir = openDirPath(this.ctx.root, rel);
    let names: Set<string> | undefined;
    if (dir) {
      const dirents = readdirAt(dir);
      if (dirents.length > MAX_DIR_ENTRIES) {
        closeDir(dir);
        throw new ProtocolError(`folder ${JSON.stringify(rel || '.')} holds ${dirents.length} entries, more than the ${MAX_DIR_ENTRIES} a diff accepts`);
      }
      names = new Set(dirents.map((d) => d.name));
    }
    this.group = { rel, dir, names, manifestDir, found: [] };
  }

  private async finishGroup(): Promise<void> {
    const g = this.group;
    if (!g) return;
    this.group = undefined;
    try {
      if (g.manifestDir && g.dir && g.names) {
        for (const name of g.names) {
          const rel = g.rel ? `${g.rel}/${name}` : name;
          if (rel === STAGING_DIR) continue;
          const st = lstatAt(g.dir, name);
          const kind = !st ? undefined : st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isFile() ? 'f' : undefined;
          if (!st || !kind) continue;
          this.out.extra.push({ p: rel, t: kind, m: st.mode & 0o777, ...(kind === 'f' ? { s: st.size } : {}) });
          if (++this.count >= CHUNK) await this.flush(true);
        }
      }
    } finally {
      closeDir(g.dir);
    }
    if (g.found.length > 0) this.stack.push(g.found);
  }

  private async check(g: Group, name: string, e: Entry): Promise<void> {
    this.count++;
    if (!g.dir || !g.names?.delete(name)) return void this.out.missing.push(e.p);
    const st = lstatAt(g.dir, name);
    const quick = st ? await entryAt(g.dir, name, e.p, st, this.ctx.cache, { hash: false }) : undefined;
    if (!st || !quick) return void this.out.missing.push(e.p);
    let remote = quick;
    if (e.t === 'f' && quick.t === 'f' && quick.s === e.s && (quick.m & 0o111) === (e.m & 0o111) && quick.h === undefined) {
      const hashed = await entryAt(g.dir, name, e.p, st, this.ctx.cache);
      if (!hashed) return void this.out.missing.push(e.p);
      remote = hashed;
    }
    if (e.t === 'd' && remote.t === 'd') g.found.push(e.p);
    if (sameEntry(e, remote)) this.ctx.agree?.(remote);
    else this.out.differ.push(remote);
  }
}

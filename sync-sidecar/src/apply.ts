// Receiving one batch: a tar stream (parsed by ./tar.ts) whose files are written to temp files
// in the staging folder as they arrive. Every name, link and type is checked while the stream
// comes in, so a batch is known valid before anything in the tree changes. Once END arrives,
// the commit makes the deletions and renames everything into place, all by descriptor (see
// ./fsfd.ts), recording each step in a journal: a failure mid-commit undoes the steps already
// made, so a batch lands whole or not at all. Whatever a commit replaces or deletes is first
// moved into a per-batch trash folder (a rename: O(1) whatever its size) and removed after.
import { createHash, type Hash } from 'node:crypto';
import { closeSync, constants, fchmodSync, fstatSync, openSync, rmdirSync, symlinkSync, writeSync, type Stats } from 'node:fs';
import { type Dir, at, closeDir, lstatAt, mkdirAt, openDirAt, openDirPath, openRoot, removeAt, renameAt } from './fsfd.js';
import { ProtocolError, STAGING_DIR, checkLinkTarget, checkRelPath, type Entry } from './protocol.js';
import { TarParser, type TarHandler, type TarHeader } from './tar.js';

/** The process umask: fchmod after a write only when it would have stripped a wanted bit. */
const UMASK = process.umask();

/**
 * The tar parser run on its own, with nowhere to put the data: it throws on exactly what a
 * batch would reject in its structure (oversize extension headers, bad numbers, cut streams).
 */
export class TarHeaderGuard extends TarParser {
  constructor() {
    super({ entry: () => undefined, data: () => undefined, entryEnd: () => undefined });
  }
}

export interface AppliedItem {
  p: string;
  t: Entry['t'];
  /** sha256 of what was written (files). */
  h?: string;
  /** Link target (symlinks). */
  l?: string;
  stat?: Stats;
}

export interface ApplyResult {
  items: AppliedItem[];
  deletes: string[];
  bytes: number;
}

interface Pending {
  rel: string;
  type: Entry['t'];
  mode: number;
  tmp?: string;
  hash?: string;
  target?: string;
}

let tmpCounter = 0;

function parentOf(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
}

function baseOf(rel: string): string {
  return rel.slice(rel.lastIndexOf('/') + 1);
}

/** Opens the staging folder, replacing whatever else (a symlink, a file) is in its place. */
export function openStaging(root: Dir): Dir {
  for (let attempt = 0; attempt < 4; attempt++) {
    const d = openDirAt(root, STAGING_DIR);
    if (d) return d;
    if (lstatAt(root, STAGING_DIR)) removeAt(root, STAGING_DIR);
    mkdirAt(root, STAGING_DIR, 0o700);
  }
  throw new ProtocolError('the staging folder keeps changing');
}

/** One incoming batch into `root`. Feed it with write(), then finish() or abort(). */
export class BatchReceiver implements TarHandler {
  private readonly parser = new TarParser(this);
  private readonly pending: Pending[] = [];
  private readonly temps: string[] = [];
  private failure: Error | undefined;
  private bytes = 0;
  private rootDir: Dir | undefined;
  private staging: Dir | undefined;
  /** The file being received: its temp descriptor and hash (none when skipped). */
  private current: { fd?: number; hash?: Hash; item?: Pending } | undefined;

  /** `accept` may turn entries away (they are read past, not written): the client's ignore rules. */
  constructor(
    private readonly root: string,
    private readonly accept?: (rel: string, type: Entry['t']) => boolean,
    /** Tests only: the commit fails after this many steps (to check the rollback). */
    private readonly failAfterSteps?: number,
  ) {}

  private stagingDir(): Dir {
    if (!this.staging) {
      this.rootDir = openRoot(this.root);
      this.staging = openStaging(this.rootDir);
    }
    return this.staging;
  }

  private fail(e: unknown): Error {
    this.failure ??= e instanceof ProtocolError ? e : new ProtocolError(`malformed tar stream: ${e instanceof Error ? e.message : String(e)}`);
    return this.failure;
  }

  entry(h: TarHeader): void {
    const name = h.type === 'directory' && h.name.endsWith('/') ? h.name.slice(0, -1) : h.name;
    const rel = checkRelPath(name);
    const mode = h.mode & 0o777;
    const kind: Entry['t'] = h.type === 'directory' ? 'd' : h.type === 'symlink' ? 'l' : 'f';
    if (kind === 'l') checkLinkTarget(rel, h.linkname);
    if (this.accept && !this.accept(rel, kind)) {
      this.current = {};
      return;
    }
    if (kind !== 'f') {
      this.pending.push({ rel, type: kind, mode, target: kind === 'l' ? h.linkname : undefined });
      this.current = {};
      return;
    }
    const staging = this.stagingDir();
    const tmp = `${process.pid}-${++tmpCounter}`;
    this.temps.push(tmp);
    const fd = openSync(at(staging, tmp), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
    const item: Pending = { rel, type: 'f', mode, tmp };
    this.pending.push(item);
    this.bytes += h.size;
    this.current = { fd, hash: createHash('sha256'), item };
  }

  data(chunk: Buffer): void {
    const cur = this.current!;
    if (cur.fd === undefined) return;
    cur.hash!.update(chunk);
    let off = 0;
    while (off < chunk.length) off += writeSync(cur.fd, chunk, off, chunk.length - off);
  }

  entryEnd(): void {
    const cur = this.current!;
    this.current = undefined;
    if (cur.fd === undefined) return;
    try {
      if ((cur.item!.mode & UMASK) !== 0) fchmodSync(cur.fd, cur.item!.mode);
    } finally {
      closeSync(cur.fd);
    }
    cur.item!.hash = cur.hash!.digest('hex');
  }

  /** Feeds tar bytes (parsed and written synchronously). */
  async write(chunk: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    try {
      this.parser.push(chunk);
    } catch (e) {
      throw this.fail(e);
    }
  }

  /** Ends the stream, then makes `deletes` and moves every received entry into place. */
  async finish(deletes: string[]): Promise<ApplyResult> {
    try {
      if (this.failure) throw this.failure;
      for (const d of deletes) checkRelPath(d);
      this.parser.end();
      if (deletes.length === 0 && this.pending.length === 0) return { items: [], deletes, bytes: 0 };
      this.stagingDir();
      const result = new Commit(this.rootDir!, this.staging!, this.failAfterSteps).run(deletes, this.pending);
      this.temps.length = 0; // all renamed into place or removed by the commit
      return { ...result, bytes: this.bytes };
    } catch (e) {
      this.fail(e);
      await this.abort();
      throw this.failure!;
    } finally {
      this.close();
    }
  }

  /** Drops the batch: removes its temp files. */
  async abort(): Promise<void> {
    this.fail(new ProtocolError('batch aborted'));
    if (this.current?.fd !== undefined) closeSync(this.current.fd);
    this.current = undefined;
    if (this.staging) for (const t of this.temps) removeAt(this.staging, t);
    this.temps.length = 0;
    this.close();
  }

  private close(): void {
    closeDir(this.staging);
    closeDir(this.rootDir);
    this.staging = undefined;
    this.rootDir = undefined;
  }
}

/**
 * One commit: deletions, folders (shallow to deep), then files and links, each step undoable.
 * Folders along the way are opened once per commit and kept open: a descriptor names the
 * folder it was opened on, so a swap of a path component by another process afterwards
 * cannot redirect a later step of the same commit.
 */
class Commit {
  private readonly undo: Array<() => void> = [];
  private readonly dirs = new Map<string, Dir>();
  /** Every folder opened: closed only when the commit ends (undo steps may still use them). */
  private readonly opened: Dir[] = [];
  private trash: Dir | undefined;
  private readonly trashName = `trash-${process.pid}-${++tmpCounter}`;
  private trashed = 0;

  constructor(
    private readonly root: Dir,
    private readonly staging: Dir,
    private readonly failAfterSteps = Infinity,
  ) {}

  private step(undo: () => void): void {
    this.undo.push(undo);
    if (this.undo.length >= this.failAfterSteps) throw new Error(`injected failure after ${this.undo.length} steps`);
  }

  run(deletes: string[], pending: Pending[]): Omit<ApplyResult, 'bytes'> {
    try {
      const out = this.apply(deletes, pending);
      this.undo.length = 0;
      return out;
    } catch (e) {
      for (let i = this.undo.length - 1; i >= 0; i--) {
        try {
          this.undo[i]!();
        } catch {
          // best effort: the step's target was changed by someone else meanwhile
        }
      }
      for (const p of pending) if (p.tmp) removeAt(this.staging, p.tmp);
      throw new ProtocolError(`batch not applied (rolled back): ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      for (const d of this.opened) closeDir(d);
      if (this.trash) {
        closeDir(this.trash);
        removeAt(this.staging, this.trashName);
      }
    }
  }

  private apply(deletes: string[], pending: Pending[]): Omit<ApplyResult, 'bytes'> {
    this.dirs.set('', this.root);
    const done: string[] = [];
    for (const d of deletes) {
      const parent = this.findDir(parentOf(d));
      if (parent && lstatAt(parent, baseOf(d))) this.moveAside(parent, d);
      done.push(d);
    }
    // later entries for the same path win
    const last = new Map<string, Pending>();
    for (const p of pending) last.set(p.rel, p);
    for (const p of pending) if (p.tmp && last.get(p.rel) !== p) removeAt(this.staging, p.tmp);
    const all = [...last.values()];
    const items: AppliedItem[] = [];
    const dirs = all.filter((p) => p.type === 'd').sort((a, b) => a.rel.split('/').length - b.rel.split('/').length);
    for (const p of dirs) {
      const d = this.ensureDir(p.rel);
      const old = fstatSync(d.fd).mode & 0o7777;
      const want = p.mode | 0o700;
      if (old !== want) {
        fchmodSync(d.fd, want);
        this.step(() => fchmodSync(d.fd, old));
      }
      items.push({ p: p.rel, t: 'd' });
    }
    for (const p of all) {
      if (p.type === 'd') continue;
      const parent = this.ensureDir(parentOf(p.rel));
      const name = baseOf(p.rel);
      let tmp = p.tmp!;
      if (p.type === 'l') {
        tmp = `${process.pid}-${++tmpCounter}`;
        symlinkSync(p.target!, at(this.staging, tmp));
        p.tmp = tmp;
      }
      this.place(tmp, parent, p.rel);
      items.push({ p: p.rel, t: p.type, h: p.hash, l: p.target, stat: lstatAt(parent, name) });
    }
    return { items, deletes: done };
  }

  /** Renames temp `tmp` to `rel` in `parent`, moving whatever is there aside first. */
  private place(tmp: string, parent: Dir, rel: string): void {
    const name = baseOf(rel);
    for (let attempt = 0; ; attempt++) {
      if (lstatAt(parent, name)) this.moveAside(parent, rel);
      try {
        renameAt(this.staging, tmp, parent, name);
        this.step(() => renameAt(parent, name, this.staging, tmp));
        return;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        // something was put there meanwhile (a folder cannot be replaced by rename)
        if (attempt >= 3 || (code !== 'EISDIR' && code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOTDIR')) throw e;
      }
    }
  }

  /** Moves `rel` (in its open parent) into this batch's trash; undone by moving it back. */
  private moveAside(parent: Dir, rel: string): void {
    if (!this.trash) {
      mkdirAt(this.staging, this.trashName, 0o700);
      this.trash = openDirAt(this.staging, this.trashName);
      if (!this.trash) throw new Error('the trash folder could not be opened');
    }
    const trash = this.trash;
    const name = baseOf(rel);
    const slot = String(++this.trashed);
    renameAt(parent, name, trash, slot);
    this.step(() => renameAt(trash, slot, parent, name));
    // folders opened under it are in the trash now: forget them
    // (a folder is only ever opened through its parent, so none is cached when `rel` is not)
    if (this.dirs.has(rel)) {
      const prefix = rel + '/';
      for (const k of this.dirs.keys()) if (k === rel || k.startsWith(prefix)) this.dirs.delete(k);
    }
  }

  /** The open real folder `rel`, or undefined when some component is missing or not a folder. */
  private findDir(rel: string): Dir | undefined {
    const cached = this.dirs.get(rel);
    if (cached) return cached;
    const parent = this.findDir(parentOf(rel));
    if (!parent) return undefined;
    const d = openDirAt(parent, baseOf(rel));
    if (d) this.keep(rel, d);
    return d;
  }

  /** Makes `rel` a real folder, component by component: anything else in the way is moved aside. */
  private ensureDir(rel: string): Dir {
    const cached = this.dirs.get(rel);
    if (cached) return cached;
    const parent = this.ensureDir(parentOf(rel));
    const name = baseOf(rel);
    for (let attempt = 0; attempt < 4; attempt++) {
      const d = openDirAt(parent, name);
      if (d) return this.keep(rel, d);
      if (lstatAt(parent, name)) this.moveAside(parent, rel);
      if (mkdirAt(parent, name)) this.step(() => rmdirSync(at(parent, name)));
    }
    throw new Error(`${rel} keeps changing`);
  }

  private keep(rel: string, d: Dir): Dir {
    this.dirs.set(rel, d);
    this.opened.push(d);
    return d;
  }
}

/** Removes `rel` (file, link or whole folder) unless a parent is a symlink or missing. */
export async function removeInside(root: string, rel: string): Promise<boolean> {
  checkRelPath(rel);
  const rootDir = openRoot(root);
  try {
    const parent = openDirPath(rootDir, parentOf(rel));
    if (!parent) return false;
    try {
      removeAt(parent, baseOf(rel));
    } finally {
      closeDir(parent);
    }
    return true;
  } finally {
    closeDir(rootDir);
  }
}

// Receiving one batch: a tar stream (tar-stream) whose entries are written to temp files in
// the staging folder as they arrive, then, once the whole stream is in and valid, deletions
// are made and every temp file is renamed into place. A stream that breaks off or is
// malformed is aborted: its temp files are removed and nothing in the tree changes.
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, createWriteStream, fchmodSync, lstatSync, mkdirSync, openSync, renameSync, rmSync, symlinkSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { chmod, lstat, mkdir, rm, unlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import * as tar from 'tar-stream';
import { MAX_TAR_EXT_HEADER, ProtocolError, STAGING_DIR, checkLinkTarget, checkRelPath, type Entry } from './protocol.js';

const SMALL_ENTRY = 4 * 1024 * 1024;
/** The process umask: chmod after a write only when it would have stripped a wanted bit. */
const UMASK = process.umask();

/**
 * Watches the 512-byte block structure of a tar stream ahead of the parser and rejects
 * extension headers (pax, GNU long names) larger than MAX_TAR_EXT_HEADER, which a parser
 * would otherwise buffer whole in memory.
 */
export class TarHeaderGuard {
  private skip = 0; // bytes of entry data (plus padding) still to pass
  private header = Buffer.alloc(512);
  private headerFill = 0;

  push(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        this.skip -= n;
        i += n;
        continue;
      }
      const n = Math.min(512 - this.headerFill, chunk.length - i);
      chunk.copy(this.header, this.headerFill, i, i + n);
      this.headerFill += n;
      i += n;
      if (this.headerFill < 512) break;
      this.headerFill = 0;
      if (this.header.every((b) => b === 0)) continue; // end-of-archive blocks
      const size = parseTarSize(this.header.subarray(124, 136));
      const flag = String.fromCharCode(this.header[156]!);
      if ((flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') && size > MAX_TAR_EXT_HEADER) {
        throw new ProtocolError(`oversize tar extension header: ${size} bytes (max ${MAX_TAR_EXT_HEADER})`);
      }
      this.skip = Math.ceil(size / 512) * 512;
    }
  }
}

function parseTarSize(field: Buffer): number {
  if (field[0]! & 0x80) {
    // base-256: anything this large is beyond what we accept for a header anyway
    let v = 0;
    for (let i = 1; i < field.length; i++) v = v * 256 + field[i]!;
    return v;
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  const v = text === '' ? 0 : parseInt(text, 8);
  return Number.isFinite(v) ? v : 0;
}

export interface AppliedItem {
  p: string;
  t: Entry['t'];
  /** sha256 of what was written (files). */
  h?: string;
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

/** One incoming batch into `root`. Feed it with write(), then finish() or abort(). */
export class BatchReceiver {
  private readonly extract = tar.extract();
  private readonly guard = new TarHeaderGuard();
  private readonly pending: Pending[] = [];
  private readonly temps: string[] = [];
  private failure: Error | undefined;
  private aborted = false;
  private finished: Promise<void>;
  private bytes = 0;
  private readonly staging: string;
  private stagingReady: Promise<unknown>;

  /** `accept` may turn entries away (they are read past, not written): the client's ignore rules. */
  constructor(
    private readonly root: string,
    private readonly accept?: (rel: string, type: Entry['t']) => boolean,
  ) {
    this.staging = join(root, STAGING_DIR);
    this.stagingReady = mkdir(this.staging, { recursive: true });
    this.finished = new Promise<void>((resolve, reject) => {
      this.extract.on('finish', () => resolve());
      this.extract.on('error', (e: Error) => {
        this.fail(e);
        reject(this.failure);
      });
    });
    this.finished.catch(() => undefined);
    this.extract.on('entry', (header, stream, next) => {
      this.onEntry(header, stream, next).catch((e: unknown) => {
        this.fail(e);
        this.extract.destroy(this.failure);
      });
    });
  }

  private fail(e: unknown): void {
    if (this.failure) return;
    this.failure = e instanceof ProtocolError ? e : new ProtocolError(`malformed tar stream: ${e instanceof Error ? e.message : String(e)}`);
  }

  private tempPath(): string {
    const p = join(this.staging, `${process.pid}-${++tmpCounter}`);
    this.temps.push(p);
    return p;
  }

  private async onEntry(header: tar.Headers, stream: NodeJS.ReadableStream, next: () => void): Promise<void> {
    stream.on('error', () => undefined); // a destroyed batch destroys its entry stream too
    let name = header.name;
    if (header.type === 'directory' && name.endsWith('/')) name = name.slice(0, -1);
    const rel = checkRelPath(name);
    const mode = (header.mode ?? 0o644) & 0o777;
    await this.stagingReady;
    const kind: Entry['t'] = header.type === 'directory' ? 'd' : header.type === 'symlink' ? 'l' : 'f';
    if (this.accept && !this.accept(rel, kind)) {
      stream.resume();
      stream.on('end', next);
      return;
    }
    if (header.type === 'directory') {
      this.pending.push({ rel, type: 'd', mode });
      stream.resume();
      stream.on('end', next);
      return;
    }
    if (header.type === 'symlink') {
      const target = checkLinkTarget(rel, header.linkname);
      this.pending.push({ rel, type: 'l', mode, target });
      stream.resume();
      stream.on('end', next);
      return;
    }
    if (header.type !== 'file') throw new ProtocolError(`tar entry type ${header.type} of ${rel} is not allowed`);
    const size = header.size ?? 0;
    const tmp = this.tempPath();
    const item: Pending = { rel, type: 'f', mode, tmp };
    this.pending.push(item);
    this.bytes += size;
    const hash = createHash('sha256');
    if (size <= SMALL_ENTRY) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => {
        chunks.push(c);
        hash.update(c);
      });
      await new Promise<void>((resolve, reject) => {
        stream.on('end', resolve);
        stream.on('error', reject);
      });
      item.hash = hash.digest('hex');
      if (this.aborted) return;
      // one open, write and close, synchronously: for small files the thread-pool round
      // trips of fs/promises cost more than the writes themselves
      writeTemp(tmp, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), mode);
      next();
      return;
    }
    const out = createWriteStream(tmp, { mode });
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (c: Buffer) => {
        hash.update(c);
        if (!out.write(c)) {
          stream.pause();
          out.once('drain', () => stream.resume());
        }
      });
      stream.on('end', () => out.end());
      stream.on('error', reject);
      out.on('error', reject);
      out.on('finish', resolve);
    }).catch(async (e: unknown) => {
      out.destroy();
      await rm(tmp, { force: true });
      throw e;
    });
    if (this.aborted) return void (await rm(tmp, { force: true }));
    await chmod(tmp, mode);
    item.hash = hash.digest('hex');
    next();
  }

  /** Feeds tar bytes; resolves when the parser can take more. */
  async write(chunk: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    try {
      this.guard.push(chunk);
    } catch (e) {
      this.fail(e);
      this.extract.destroy(this.failure);
      throw this.failure;
    }
    if (!this.extract.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.extract.off('drain', done);
          this.extract.off('close', done);
          resolve();
        };
        this.extract.on('drain', done);
        this.extract.on('close', done);
      });
    }
    if (this.failure) throw this.failure;
  }

  /** Ends the stream, then makes `deletes` and moves every received entry into place. */
  async finish(deletes: string[]): Promise<ApplyResult> {
    try {
      return await this.commit(deletes);
    } catch (e) {
      this.fail(e);
      await this.abort();
      throw this.failure ?? e;
    }
  }

  private async commit(deletes: string[]): Promise<ApplyResult> {
    for (const d of deletes) checkRelPath(d);
    if (this.failure) throw this.failure;
    this.extract.end();
    try {
      await this.finished;
    } catch (e) {
      this.fail(e);
    }
    if (this.failure) throw this.failure;
    const items: AppliedItem[] = [];
    const ok = new Set<string>();
    for (const d of deletes) await removeInside(this.root, d);
    // later entries for the same path win
    const last = new Map<string, Pending>();
    for (const p of this.pending) last.set(p.rel, p);
    const all = [...last.values()];
    // folders first, shallow to deep; then files and links. Synchronous calls: a rename or
    // an lstat takes microseconds, a thread-pool round trip several times that.
    const dirs = all.filter((p) => p.type === 'd').sort((a, b) => depth(a.rel) - depth(b.rel));
    for (const p of dirs) {
      ensureDirInsideSync(this.root, p.rel, ok);
      const path = join(this.root, p.rel);
      const want = p.mode | 0o700;
      if ((lstatSync(path).mode & 0o7777) !== want) chmodSync(path, want);
      items.push({ p: p.rel, t: 'd' });
    }
    for (const p of all) {
      if (p.type === 'd') continue;
      ensureDirInsideSync(this.root, posix.dirname(p.rel), ok);
      const target = join(this.root, p.rel);
      let from = p.tmp;
      if (p.type === 'l') {
        from = this.tempPath();
        symlinkSync(p.target!, from);
      }
      try {
        renameSync(from!, target);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'EISDIR' && code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOTDIR') throw e;
        rmSync(target, { recursive: true, force: true }); // a folder where a file goes
        renameSync(from!, target);
      }
      items.push({ p: p.rel, t: p.type, h: p.hash, stat: lstatSync(target) });
    }
    for (const p of this.pending) if (p.tmp && last.get(p.rel) !== p) rmSync(p.tmp, { force: true });
    return { items, deletes, bytes: this.bytes };
  }

  /** Drops the batch: stops parsing and removes its temp files. */
  async abort(): Promise<void> {
    this.aborted = true;
    this.fail(new ProtocolError('batch aborted'));
    this.extract.destroy();
    await Promise.all(this.temps.map((t) => rm(t, { force: true })));
  }
}

function depth(rel: string): number {
  return rel.split('/').length;
}

/** Writes a temp file with one open, write(s) and close; sets `mode` exactly. */
function writeTemp(path: string, data: Buffer, mode: number): void {
  const fd = openSync(path, 'wx', mode);
  try {
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    if ((mode & UMASK) !== 0) fchmodSync(fd, mode);
  } finally {
    closeSync(fd);
  }
}

/** ensureDirInside, with synchronous calls (used while committing a batch). */
function ensureDirInsideSync(root: string, rel: string, known: Set<string>): void {
  if (rel === '.' || rel === '') return;
  let cur = '';
  for (const part of rel.split('/')) {
    cur = cur ? `${cur}/${part}` : part;
    if (known.has(cur)) continue;
    const path = join(root, cur);
    let st: Stats | undefined;
    try {
      st = lstatSync(path);
    } catch {
      st = undefined;
    }
    if (!st) {
      try {
        mkdirSync(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    } else if (!st.isDirectory()) {
      unlinkSync(path);
      mkdirSync(path);
    }
    known.add(cur);
  }
}

/**
 * Makes `rel` (relative to root) a real directory, component by component, never following a
 * symlink: a symlink or file in the way is replaced by a directory.
 */
export async function ensureDirInside(root: string, rel: string, known: Set<string> = new Set()): Promise<void> {
  if (rel === '.' || rel === '') return;
  const parts = rel.split('/');
  let cur = '';
  for (const part of parts) {
    cur = cur ? `${cur}/${part}` : part;
    if (known.has(cur)) continue;
    const path = join(root, cur);
    const st = await lstat(path).catch(() => undefined);
    if (!st) {
      await mkdir(path).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
      });
    } else if (!st.isDirectory()) {
      await unlink(path);
      await mkdir(path);
    }
    known.add(cur);
  }
}

/** True when every parent of `rel` is a real directory (no symlink on the way). */
export async function parentsInside(root: string, rel: string): Promise<boolean> {
  const parts = rel.split('/').slice(0, -1);
  let cur = root;
  for (const part of parts) {
    cur = join(cur, part);
    const st = await lstat(cur).catch(() => undefined);
    if (!st || !st.isDirectory()) return false;
  }
  return true;
}

/** Removes `rel` (file, link or whole folder) unless a parent is a symlink or missing. */
export async function removeInside(root: string, rel: string): Promise<boolean> {
  checkRelPath(rel);
  if (!(await parentsInside(root, rel))) return false;
  await rm(join(root, rel), { recursive: true, force: true });
  return true;
}

// The kdev sync wire protocol: frames, messages and the path rules both ends enforce.
// See ../PROTOCOL.md. This module is shared by the sidecar and the client in core, and runs
// on Node 18 inside the pod, so it uses nothing beyond Node's standard library.
import { posix } from 'node:path';

export const PROTOCOL_VERSION = 2;
export const DEFAULT_PORT = 7878;
/** Scratch folder inside the synced root: temp files live here until renamed into place. */
export const STAGING_DIR = '.kdev-sync.tmp';

export const FRAME_JSON = 0x4a; // 'J': one UTF-8 JSON message
export const FRAME_DATA = 0x44; // 'D': a chunk of the current batch's tar stream
export const FRAME_END = 0x45; // 'E': the current batch's tar stream is complete
export const FRAME_HEADER_BYTES = 5;
export const MAX_JSON_BYTES = 32 * 1024 * 1024;
export const MAX_DATA_BYTES = 1024 * 1024;
/**
 * Largest JSON frame the sidecar takes (its heap is small: a parsed frame costs several times
 * its size). Clients cut manifests, pulls and long delete lists to fit; see PROTOCOL.md.
 */
export const MAX_JSON_TO_SIDECAR = 4 * 1024 * 1024;
/** A manifest chunk or a pull request leaves once its JSON reaches about this size. */
export const CHUNK_JSON_BYTES = 512 * 1024;
/** Largest tar extension header (pax / GNU long name) accepted. */
export const MAX_TAR_EXT_HEADER = 64 * 1024;
export const MAX_PATH_BYTES = 4096;
/** Longest path component (NAME_MAX of Linux file systems), in bytes. */
export const MAX_NAME_BYTES = 255;

export type EntryType = 'f' | 'd' | 'l';

/** One manifest entry: a file (size, mode, sha256), a directory, or a symlink (target). */
export interface Entry {
  p: string;
  t: EntryType;
  /** Permission bits (mode & 0o777). */
  m: number;
  /** Size in bytes (files). */
  s?: number;
  /**
   * sha256 of the content, hex (files). Optional in a manifest: a client that has no cached
   * hash for a file leaves it out, and the sidecar answers with its own hash when it cannot
   * tell the files apart by type, size and exec bits (see PROTOCOL.md, "diff").
   */
  h?: string;
  /** Link target (symlinks), relative. */
  l?: string;
}

export type SyncMode = 'send-only' | 'two-way';

export type ClientMessage =
  | { t: 'hello'; v: number; mode: SyncMode; client?: string; token?: string }
  | { t: 'manifest'; entries: Entry[]; more?: boolean }
  | { t: 'batch'; id: number; deletes: string[] }
  | { t: 'pull'; paths: string[] }
  | { t: 'applied'; id: number }
  | { t: 'ping'; n: number };

export type ServerMessage =
  | { t: 'welcome'; v: number; pid: number; empty?: boolean }
  | { t: 'error'; message: string }
  | { t: 'diff'; missing: string[]; differ: Entry[]; extra: Entry[]; more?: boolean }
  | { t: 'warning'; message: string }
  | { t: 'applied'; id: number; files: number; deletes: number; bytes: number }
  | { t: 'batch'; id: number; deletes: string[] }
  | { t: 'changes'; entries: Entry[]; deletes: string[] }
  | { t: 'pong'; n: number };

export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

export function encodeFrame(type: number, payload: Buffer): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header[0] = type;
  header.writeUInt32BE(payload.length, 1);
  return Buffer.concat([header, payload]);
}

export function encodeJson(msg: ClientMessage | ServerMessage): Buffer {
  return encodeFrame(FRAME_JSON, Buffer.from(JSON.stringify(msg), 'utf8'));
}

export interface Frame {
  type: number;
  payload: Buffer;
}

/** Incremental frame decoder: push bytes, take whole frames. Throws ProtocolError on bad input. */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  /** Bytes held: a partial frame (never more than one frame's header and payload). */
  buffered = 0;

  constructor(private readonly maxJson = MAX_JSON_BYTES) {}

  push(chunk: Buffer): Frame[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Frame[] = [];
    for (;;) {
      if (this.buffered < FRAME_HEADER_BYTES) break;
      const head = this.peek(FRAME_HEADER_BYTES);
      const type = head[0]!;
      const length = head.readUInt32BE(1);
      if (type !== FRAME_JSON && type !== FRAME_DATA && type !== FRAME_END) throw new ProtocolError(`unknown frame type 0x${type.toString(16)}`);
      const max = type === FRAME_JSON ? this.maxJson : type === FRAME_DATA ? MAX_DATA_BYTES : 0;
      if (length > max) throw new ProtocolError(`oversize frame: ${length} bytes for type ${String.fromCharCode(type)} (max ${max})`);
      if (this.buffered < FRAME_HEADER_BYTES + length) break;
      const whole = this.take(FRAME_HEADER_BYTES + length);
      frames.push({ type, payload: whole.subarray(FRAME_HEADER_BYTES) });
    }
    return frames;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length >= n) return this.chunks[0]!.subarray(0, n);
    const all = Buffer.concat(this.chunks);
    this.chunks = [all];
    return all.subarray(0, n);
  }

  private take(n: number): Buffer {
    if (this.chunks[0]!.length < n) this.chunks = [Buffer.concat(this.chunks)];
    const first = this.chunks[0]!;
    const out = first.subarray(0, n);
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.buffered -= n;
    return out;
  }
}

/** Parses a JSON frame; anything that is not an object with a string `t` is a protocol error. */
export function parseMessage<T extends { t: string }>(payload: Buffer): T {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new ProtocolError('malformed JSON frame');
  }
  if (typeof value !== 'object' || value === null || typeof (value as { t?: unknown }).t !== 'string') throw new ProtocolError('a message must be an object with a type');
  return value as T;
}

/**
 * Checks a path relative to the sync root: POSIX separators, no absolute path, no empty,
 * `.` or `..` component, no NUL, not inside the staging folder. Returns it unchanged.
 */
export function checkRelPath(p: unknown): string {
  if (typeof p !== 'string' || p.length === 0) throw new ProtocolError('empty path');
  if (Buffer.byteLength(p) > MAX_PATH_BYTES) throw new ProtocolError('path too long');
  if (p.includes('\0')) throw new ProtocolError('path contains NUL');
  if (p.startsWith('/') || /^[a-zA-Z]:/.test(p) || p.includes('\\')) throw new ProtocolError(`absolute or non-POSIX path rejected: ${JSON.stringify(p)}`);
  const parts = p.split('/');
  for (const part of parts) {
    if (part === '' || part === '.' || part === '..') throw new ProtocolError(`path component "${part}" rejected in ${JSON.stringify(p)}`);
    if (part.length > MAX_NAME_BYTES / 3 && Buffer.byteLength(part) > MAX_NAME_BYTES) throw new ProtocolError(`path component over ${MAX_NAME_BYTES} bytes in ${JSON.stringify(p.slice(0, 80))}…`);
  }
  if (parts[0] === STAGING_DIR) throw new ProtocolError('the staging folder is not synced');
  return p;
}

/** Checks that a symlink at `p` with `target` stays inside the root; returns the target. */
export function checkLinkTarget(p: string, target: unknown): string {
  if (typeof target !== 'string' || target.length === 0) throw new ProtocolError(`symlink ${p}: empty target`);
  if (target.includes('\0')) throw new ProtocolError(`symlink ${p}: target contains NUL`);
  if (Buffer.byteLength(target) >= MAX_PATH_BYTES) throw new ProtocolError(`symlink ${p}: target over ${MAX_PATH_BYTES - 1} bytes`);
  if (target.startsWith('/')) throw new ProtocolError(`symlink ${p}: absolute target ${JSON.stringify(target)} rejected`);
  const resolved = posix.normalize(posix.join(posix.dirname(p), target));
  if (resolved === '..' || resolved.startsWith('../') || resolved.startsWith('/')) {
    throw new ProtocolError(`symlink ${p} -> ${target} points outside the sync root`);
  }
  return target;
}

/** Validates one manifest entry received from the peer. */
export function checkEntry(e: unknown): Entry {
  if (typeof e !== 'object' || e === null) throw new ProtocolError('manifest entry must be an object');
  const entry = e as Partial<Entry>;
  checkRelPath(entry.p);
  if (entry.t !== 'f' && entry.t !== 'd' && entry.t !== 'l') throw new ProtocolError(`bad entry type for ${entry.p}`);
  if (typeof entry.m !== 'number' || !Number.isInteger(entry.m) || entry.m < 0 || entry.m > 0o7777) throw new ProtocolError(`bad mode for ${entry.p}`);
  if (entry.t === 'f') {
    if (typeof entry.s !== 'number' || !Number.isSafeInteger(entry.s) || entry.s < 0) throw new ProtocolError(`bad size for ${entry.p}`);
    if (entry.h !== undefined && (typeof entry.h !== 'string' || !/^[0-9a-f]{64}$/.test(entry.h))) throw new ProtocolError(`bad hash for ${entry.p}`);
  }
  if (entry.t === 'l') checkLinkTarget(entry.p!, entry.l);
  return entry as Entry;
}

/**
 * True when two entries describe the same content (type, mode bits that matter, hash or
 * target). Two files are never the same when either hash is unknown.
 */
export function sameEntry(a: Entry, b: Entry): boolean {
  if (a.t !== b.t) return false;
  if (a.t === 'f') return a.s === b.s && a.h !== undefined && a.h === b.h && (a.m & 0o111) === (b.m & 0o111);
  if (a.t === 'l') return a.l === b.l;
  return true;
}

/**
 * Orders paths by their components (so a folder comes right before what it holds: depth-first
 * order); '' (the root) comes first. Both ends use it for the manifest order.
 */
export function comparePaths(a: string, b: string): number {
  if (a === b) return 0;
  if (a === '') return -1;
  if (b === '') return 1;
  const pa = a.split('/');
  const pb = b.split('/');
  const n = Math.min(pa.length, pb.length);
  for (let i = 0; i < n; i++) {
    if (pa[i] !== pb[i]) return pa[i]! < pb[i]! ? -1 : 1;
  }
  return pa.length - pb.length;
}

/** The manifest order: by folder (comparePaths), then by name. */
export function manifestOrder(a: Entry, b: Entry): number {
  const ia = a.p.lastIndexOf('/');
  const ib = b.p.lastIndexOf('/');
  const c = comparePaths(ia < 0 ? '' : a.p.slice(0, ia), ib < 0 ? '' : b.p.slice(0, ib));
  if (c !== 0) return c;
  const na = a.p.slice(ia + 1);
  const nb = b.p.slice(ib + 1);
  return na < nb ? -1 : na > nb ? 1 : 0;
}

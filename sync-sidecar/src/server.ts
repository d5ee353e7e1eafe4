// The sidecar's side of a connection: handshake, manifest diff, batches in, and (two-way)
// remote changes out. One SidecarState per synced root is shared by its connections. Every
// access to the tree goes through folder descriptors (./fsfd.ts); the limits below bound what
// any client can make the sidecar hold or do (see PROTOCOL.md, "Limits").
import { createHash, timingSafeEqual } from 'node:crypto';
import { closeSync, readdirSync, watch, type FSWatcher } from 'node:fs';
import type { Duplex } from 'node:stream';
import { BatchReceiver } from './apply.js';
import { ManifestDiff } from './diff.js';
import { type Dir, at, closeDir, lstatAt, openDirAt, openDirPath, openFileAt, openRoot, readAll, readdirAt, removeAt } from './fsfd.js';
import { TarSender } from './send.js';
import { HashCache, entryAt, sha256 } from './tree.js';
import {
  FRAME_DATA,
  FRAME_END,
  FRAME_JSON,
  FrameDecoder,
  MAX_JSON_TO_SIDECAR,
  PROTOCOL_VERSION,
  ProtocolError,
  STAGING_DIR,
  checkEntry,
  checkLinkTarget,
  checkRelPath,
  encodeJson,
  manifestOrder,
  parseMessage,
  sameEntry,
  type ClientMessage,
  type Entry,
  type ServerMessage,
  type SyncMode,
} from './protocol.js';

export interface SidecarLimits {
  /** Connections served at once; more are refused with an error. */
  maxConnections: number;
  /** Largest JSON frame accepted. */
  maxJson: number;
  /** Bytes all connections may hold in partial frames together. */
  maxBuffered: number;
  /** A connection that sends nothing for this long is closed (clients ping every 5 s). */
  idleMs: number;
  /** Folders one two-way connection watches at most. */
  maxWatches: number;
  /** Hash-cache slots (and, two-way, agreed entries) kept in memory. */
  maxCached: number;
}

export const DEFAULT_LIMITS: SidecarLimits = {
  maxConnections: 8,
  maxJson: MAX_JSON_TO_SIDECAR,
  maxBuffered: 16 * 1024 * 1024,
  idleMs: 60_000,
  maxWatches: 8192,
  maxCached: 100_000,
};

export interface ServerOptions {
  root: string;
  /** Called after each batch has been applied (the sidecar notifies the supervisor). */
  onApplied?: () => void;
  log?: (line: string) => void;
  /** The per-session secret a client must present in hello (none: any client is served). */
  token?: string;
  limits?: Partial<SidecarLimits>;
}

/** What the sidecar knows of its root across connections: content hashes and synced entries. */
export class SidecarState {
  readonly limits: SidecarLimits;
  readonly cache: HashCache;
  /** Entries both sides agree on (sent by the client, or sent to it). */
  readonly known = new Map<string, Entry>();
  connections = 0;
  buffered = 0;

  constructor(readonly opts: ServerOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.cache = new HashCache(this.limits.maxCached);
  }

  /** Removes leftovers of interrupted batches (by descriptor: the folder may be anything now). */
  async cleanStaging(): Promise<void> {
    const root = openRoot(this.opts.root);
    try {
      if (lstatAt(root, STAGING_DIR)) removeAt(root, STAGING_DIR);
    } finally {
      closeDir(root);
    }
  }

  /** Records an entry both sides agree on (bounded: the oldest goes first). */
  agree(e: Entry): void {
    if (this.known.size >= this.limits.maxCached && !this.known.has(e.p)) {
      const oldest = this.known.keys().next();
      if (!oldest.done) this.known.delete(oldest.value);
    }
    this.known.set(e.p, e);
  }

  /** Forgets a deleted path: O(1) for a file; a folder's entries are looked for under it. */
  forget(rel: string): void {
    const was = this.known.get(rel);
    this.known.delete(rel);
    this.cache.deletePrefix(rel, false);
    if (was?.t !== 'd') return;
    const prefix = rel + '/';
    for (const k of this.known.keys()) if (k.startsWith(prefix)) this.known.delete(k);
  }
}

function parentOf(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
}

function baseOf(rel: string): string {
  return rel.slice(rel.lastIndexOf('/') + 1);
}

function tokenMatches(expected: string, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(given).digest();
  return timingSafeEqual(a, b);
}

/** Serves one connection until it ends; resolves then (never rejects). */
export async function serveConnection(stream: Duplex, state: SidecarState): Promise<void> {
  const conn = new Connection(stream, state);
  await conn.run();
}

class Connection {
  private mode: SyncMode | undefined;
  private batch: { id: number; deletes: string[]; receiver: BatchReceiver } | undefined;
  private diff: ManifestDiff | undefined;
  private watcher: RemoteWatcher | undefined;
  private outgoing = Promise.resolve();
  private nextRemoteBatch = 1;
  private closed = false;
  private rootDir!: Dir;
  private idle: NodeJS.Timeout | undefined;
  private held = 0;

  constructor(
    private readonly stream: Duplex,
    private readonly state: SidecarState,
  ) {
    stream.on('error', () => undefined);
  }

  private write(frame: Buffer): Promise<void> {
    if (this.closed || this.stream.destroyed) return Promise.resolve();
    if (this.stream.write(frame)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.stream.off('drain', done);
        this.stream.off('close', done);
        resolve();
      };
      this.stream.on('drain', done);
      this.stream.on('close', done);
    });
  }

  private send(msg: ServerMessage): Promise<void> {
    return this.write(encodeJson(msg));
  }

  private touch(): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = setTimeout(() => {
      this.state.opts.log?.('connection closed: idle');
      void this.send({ t: 'error', message: `no message for ${this.state.limits.idleMs} ms: connection closed` }).finally(() => this.stream.destroy());
    }, this.state.limits.idleMs);
  }

  /** Accounts for the bytes the decoder holds, against the budget of all connections. */
  private account(decoder: FrameDecoder): void {
    this.state.buffered += decoder.buffered - this.held;
    this.held = decoder.buffered;
    if (this.state.buffered > this.state.limits.maxBuffered) throw new ProtocolError(`the sidecar holds ${this.state.buffered} bytes of partial frames, over its budget of ${this.state.limits.maxBuffered}: connection closed`);
  }

  async run(): Promise<void> {
    const decoder = new FrameDecoder(this.state.limits.maxJson);
    this.state.connections++;
    try {
      if (this.state.connections > this.state.limits.maxConnections) throw new ProtocolError(`too many connections (at most ${this.state.limits.maxConnections})`);
      this.rootDir = openRoot(this.state.opts.root);
      this.touch();
      // destroyOnReturn: false, so that an error can still be sent before closing
      for await (const chunk of this.stream.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
        this.touch();
        const frames = decoder.push(chunk);
        this.account(decoder);
        for (const frame of frames) await this.handle(frame.type, frame.payload);
      }
    } catch (e) {
      const message = e instanceof ProtocolError ? e.message : `sidecar error: ${e instanceof Error ? e.message : String(e)}`;
      if (!this.stream.destroyed) {
        this.state.opts.log?.(`connection closed: ${message}`);
        await this.send({ t: 'error', message }).catch(() => undefined);
      }
    } finally {
      this.closed = true;
      this.state.connections--;
      this.state.buffered -= this.held;
      this.held = 0;
      if (this.idle) clearTimeout(this.idle);
      this.watcher?.close();
      this.diff?.close();
      if (this.batch) await this.batch.receiver.abort().catch(() => undefined);
      this.batch = undefined;
      // closed first: a pull still sending stops at its next write (a client that no longer
      // reads cannot hold the connection, and its slot, open); then its descriptors go
      this.stream.end();
      this.stream.destroy();
      await this.outgoing;
      if (this.rootDir) closeDir(this.rootDir);
    }
  }

  private async handle(type: number, payload: Buffer): Promise<void> {
    if (type === FRAME_DATA) {
      if (!this.batch) throw new ProtocolError('data frame outside a batch');
      await this.batch.receiver.write(payload);
      return;
    }
    if (type === FRAME_END) {
      if (!this.batch) throw new ProtocolError('end frame outside a batch');
      const { id, deletes, receiver } = this.batch;
      this.batch = undefined;
      // the watcher waits until `known` reflects this batch, so it does not echo it back
      this.watcher?.hold();
      try {
        await this.commit(id, deletes, receiver);
      } finally {
        this.watcher?.release();
      }
      return;
    }
    if (type !== FRAME_JSON) throw new ProtocolError('unknown frame');
    await this.onMessage(payload);
  }

  private async commit(id: number, deletes: string[], receiver: BatchReceiver): Promise<void> {
    const result = await receiver.finish(deletes);
    for (const d of result.deletes) this.state.forget(d);
    // `known` serves the two-way watcher only: in send-only mode it is not kept (memory)
    const track = this.mode === 'two-way';
    for (const item of result.items) {
      if (item.t === 'f' && item.stat && item.h) {
        this.state.cache.set(item.p, item.stat, item.h);
        if (track) this.state.agree({ p: item.p, t: 'f', m: item.stat.mode & 0o777, s: item.stat.size, h: item.h });
        else this.state.known.delete(item.p);
      } else if (item.t === 'd') {
        if (track) this.state.agree({ p: item.p, t: 'd', m: 0o755 });
        this.watcher?.watchDir(item.p);
      } else if (item.t === 'l') {
        if (track && item.l !== undefined) this.state.agree({ p: item.p, t: 'l', m: 0o777, l: item.l });
        else this.state.known.delete(item.p);
      }
    }
    this.state.opts.onApplied?.();
    await this.send({ t: 'applied', id, files: result.items.length, deletes: result.deletes.length, bytes: result.bytes });
  }

  private async onMessage(payload: Buffer): Promise<void> {
    const msg = parseMessage<ClientMessage>(payload);
    if (!this.mode && msg.t !== 'hello') throw new ProtocolError('expected hello first');
    switch (msg.t) {
      case 'hello':
        return this.hello(msg);
      case 'manifest': {
        if (!Array.isArray(msg.entries)) throw new ProtocolError('manifest without entries');
        // each chunk in manifest order (a client may send one unsorted chunk); chunks in order
        const entries = msg.entries.map(checkEntry).sort(manifestOrder);
        this.diff ??= new ManifestDiff({
          root: this.rootDir,
          cache: this.state.cache,
          agree: this.mode === 'two-way' ? (e) => this.state.agree(e) : undefined,
          send: (m) => this.send(m),
        });
        await this.diff.add(entries);
        if (msg.more === true) return;
        await this.diff.end();
        this.diff = undefined;
        if (this.mode === 'two-way' && !this.watcher) {
          this.watcher = new RemoteWatcher(this.state, (changes, deletes) => this.send({ t: 'changes', entries: changes, deletes }), (m) => void this.send({ t: 'warning', message: m }));
          this.watcher.start();
        }
        return;
      }
      case 'batch': {
        if (this.batch) throw new ProtocolError('batch inside a batch');
        if (typeof msg.id !== 'number' || !Array.isArray(msg.deletes)) throw new ProtocolError('bad batch header');
        const deletes = msg.deletes.map(checkRelPath);
        this.batch = { id: msg.id, deletes, receiver: new BatchReceiver(this.state.opts.root) };
        return;
      }
      case 'pull': {
        if (this.mode !== 'two-way') throw new ProtocolError('pull is only served on a two-way connection');
        if (!Array.isArray(msg.paths)) throw new ProtocolError('bad pull');
        const paths = msg.paths.map(checkRelPath);
        this.outgoing = this.outgoing.then(() => this.sendPaths(paths)).catch((e: unknown) => {
          this.state.opts.log?.(`pull failed: ${e instanceof Error ? e.message : String(e)}`);
          this.stream.destroy();
        });
        return;
      }
      case 'applied':
        return;
      case 'ping':
        await this.send({ t: 'pong', n: typeof msg.n === 'number' ? msg.n : 0 });
        return;
      default:
        throw new ProtocolError(`unknown message ${JSON.stringify((msg as { t: string }).t).slice(0, 80)}`);
    }
  }

  private async hello(msg: Extract<ClientMessage, { t: 'hello' }>): Promise<void> {
    if (this.mode) throw new ProtocolError('duplicate hello');
    if (msg.v !== PROTOCOL_VERSION) throw new ProtocolError(`protocol version ${String(msg.v).slice(0, 20)} is not supported (sidecar speaks ${PROTOCOL_VERSION})`);
    if (msg.mode !== 'send-only' && msg.mode !== 'two-way') throw new ProtocolError('bad mode');
    const token = this.state.opts.token;
    if (token && !tokenMatches(token, msg.token)) throw new ProtocolError('authentication failed: hello must carry this session\'s sync token');
    this.mode = msg.mode;
    // an empty root lets a send-only client skip the manifest: everything is missing
    let empty = false;
    try {
      empty = readdirSync(at(this.rootDir)).every((n) => n === STAGING_DIR);
    } catch {
      empty = false;
    }
    await this.send({ t: 'welcome', v: PROTOCOL_VERSION, pid: process.pid, empty });
  }

  /**
   * Sends paths (folders recursively) to the client as one batch, read by descriptor: a
   * folder is entered only when it is a real folder, a symlink travels as a link (when its
   * target stays inside the root), and a file is read through an O_NOFOLLOW descriptor —
   * large ones streamed, so a pull holds at most a few MiB whatever the file sizes.
   */
  private async sendPaths(paths: string[]): Promise<void> {
    const id = this.nextRemoteBatch++;
    await this.send({ t: 'batch', id, deletes: [] });
    const sender = new TarSender((f) => this.write(f));
    for (const p of paths) {
      const parent = openDirPath(this.rootDir, parentOf(p));
      if (!parent) continue;
      try {
        await this.sendEntry(sender, parent, baseOf(p), p, 0);
      } finally {
        closeDir(parent);
      }
    }
    await sender.end();
  }

  // one function per kind of entry would pass the same five arguments around: kept together
  private async sendEntry(sender: TarSender, parent: Dir, name: string, rel: string, depth: number): Promise<void> {
    if (this.closed) return;
    const st = lstatAt(parent, name);
    if (!st) return;
    if (st.isDirectory()) {
      const dir = openDirAt(parent, name);
      if (!dir || depth > 1024) return closeDir(dir);
      try {
        await sender.dir(rel, st.mode & 0o777);
        this.state.agree({ p: rel, t: 'd', m: st.mode & 0o777 });
        this.watcher?.watchDir(rel);
        const names = readdirAt(dir)
          .map((d) => d.name)
          .sort();
        for (const n of names) await this.sendEntry(sender, dir, n, `${rel}/${n}`, depth + 1);
      } finally {
        closeDir(dir);
      }
    } else if (st.isSymbolicLink()) {
      const e = await entryAt(parent, name, rel, st);
      if (!e?.l) return;
      try {
        checkLinkTarget(rel, e.l); // only links that stay inside the root travel
      } catch {
        return;
      }
      await sender.link(rel, e.l);
      this.state.agree(e);
    } else if (st.isFile()) {
      const f = openFileAt(parent, name);
      if (!f) return;
      const mode = f.st.mode & 0o777;
      if (f.st.size > 4 * 1024 * 1024) {
        // streamed from the descriptor (closed by the stream); its hash is not cached
        await sender.fileFd(rel, mode, f.fd, f.st.size);
        return;
      }
      let content: Buffer;
      try {
        content = readAll(f.fd, f.st.size);
      } finally {
        closeSync(f.fd);
      }
      const h = sha256(content);
      if (f.st.size === content.length) this.state.cache.set(rel, f.st, h);
      await sender.file(rel, mode, content);
      this.state.agree({ p: rel, t: 'f', m: mode, s: content.length, h });
    }
  }
}

/**
 * Two-way: watches every synced folder of the root (fs.watch per folder: Node 18 has no
 * recursive watch on Linux) and reports entries that differ from what both sides agreed on.
 * A folder is watched through a descriptor opened without following symlinks (inotify on
 * /proc/self/fd/N watches the folder the descriptor holds), at most `maxWatches` of them.
 */
class RemoteWatcher {
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly queue = new Set<string>();
  private scheduled = false;
  private busy = false;
  private held = 0;
  private closed = false;
  private warned = false;

  constructor(
    private readonly state: SidecarState,
    private readonly report: (changes: Entry[], deletes: string[]) => Promise<void>,
    private readonly warn: (message: string) => void,
  ) {}

  start(): void {
    this.watchDir('');
    for (const [rel, e] of this.state.known) if (e.t === 'd') this.watchDir(rel);
  }

  watchDir(rel: string): void {
    if (this.closed || this.watchers.has(rel)) return;
    if (this.watchers.size >= this.state.limits.maxWatches) {
      if (!this.warned) this.warn(`two-way sync watches at most ${this.state.limits.maxWatches} folders in the pod; changes made in the pod in further folders (such as ${rel}) are not reported`);
      this.warned = true;
      return;
    }
    let root: Dir | undefined;
    let dir: Dir | undefined;
    try {
      root = openRoot(this.state.opts.root);
      dir = openDirPath(root, rel);
      if (!dir) return;
      const w = watch(at(dir), (_event, name) => {
        if (!name) return;
        const child = rel ? `${rel}/${name.toString()}` : name.toString();
        if (child === STAGING_DIR || child.startsWith(STAGING_DIR + '/')) return;
        this.queue.add(child);
        this.schedule();
      });
      w.on('error', () => this.unwatch(rel));
      this.watchers.set(rel, w);
    } catch {
      // the folder is gone already
    } finally {
      closeDir(dir);
      closeDir(root);
    }
  }

  private unwatch(rel: string): void {
    const w = this.watchers.get(rel);
    w?.close();
    this.watchers.delete(rel);
  }

  hold(): void {
    this.held++;
  }

  release(): void {
    this.held--;
    if (this.held === 0 && this.queue.size > 0) this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.busy || this.held > 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  /** The entry at `rel` now, read by descriptor; undefined when it is gone (or not synced). */
  private async current(root: Dir, rel: string): Promise<Entry | undefined | null> {
    const parent = openDirPath(root, parentOf(rel));
    if (!parent) return undefined;
    try {
      const st = lstatAt(parent, baseOf(rel));
      if (!st) return undefined;
      return (await entryAt(parent, baseOf(rel), rel, st, this.state.cache)) ?? null;
    } finally {
      closeDir(parent);
    }
  }

  private async flush(): Promise<void> {
    if (this.closed || this.queue.size === 0 || this.held > 0) return;
    this.busy = true;
    let root: Dir | undefined;
    try {
      root = openRoot(this.state.opts.root);
      const paths = [...this.queue];
      this.queue.clear();
      const changes: Entry[] = [];
      const deletes: string[] = [];
      for (const rel of paths) {
        const e = await this.current(root, rel).catch(() => null);
        const known = this.state.known.get(rel);
        if (e === undefined) {
          if (known) {
            deletes.push(rel);
            this.state.forget(rel);
            this.unwatch(rel);
          }
          continue;
        }
        if (!e) continue;
        if (known && sameEntry(known, e)) continue;
        if (e.t === 'd' && known?.t === 'd') continue;
        changes.push(e);
      }
      if (changes.length > 0 || deletes.length > 0) await this.report(changes, deletes);
    } catch {
      // the next event retries
    } finally {
      closeDir(root);
      this.busy = false;
    }
    if (this.queue.size > 0) this.schedule();
  }

  close(): void {
    this.closed = true;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }
}

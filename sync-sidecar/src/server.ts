// The sidecar's side of a connection: handshake, manifest diff, batches in, and (two-way)
// remote changes out. One SidecarState per synced root is shared by its connections.
import { lstatSync, readdirSync, watch, type Dirent, type FSWatcher, type Stats } from 'node:fs';
import { lstat, readFile, readdir, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Duplex } from 'node:stream';
import { BatchReceiver } from './apply.js';
import { TarSender } from './send.js';
import { HashCache, entryOf, lstatOrUndefined, pool, sha256 } from './tree.js';
import {
  FRAME_DATA,
  FRAME_END,
  FRAME_JSON,
  FrameDecoder,
  PROTOCOL_VERSION,
  ProtocolError,
  STAGING_DIR,
  checkEntry,
  checkLinkTarget,
  checkRelPath,
  encodeJson,
  parseMessage,
  sameEntry,
  type ClientMessage,
  type Entry,
  type ServerMessage,
  type SyncMode,
} from './protocol.js';

export interface ServerOptions {
  root: string;
  /** Called after each batch has been applied (the sidecar notifies the supervisor). */
  onApplied?: () => void;
  log?: (line: string) => void;
}

/** What the sidecar knows of its root across connections: content hashes and synced entries. */
export class SidecarState {
  readonly cache = new HashCache();
  /** Entries both sides agree on (sent by the client, or sent to it). */
  readonly known = new Map<string, Entry>();

  constructor(readonly opts: ServerOptions) {}

  /** Removes leftovers of interrupted batches. */
  async cleanStaging(): Promise<void> {
    await rm(join(this.opts.root, STAGING_DIR), { recursive: true, force: true });
  }

  forget(rel: string): void {
    const prefix = rel + '/';
    this.known.delete(rel);
    for (const k of this.known.keys()) if (k.startsWith(prefix)) this.known.delete(k);
    this.cache.deletePrefix(rel);
  }
}

function lstatSyncOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
}

function depthOf(rel: string): number {
  let n = 0;
  for (let i = 0; i < rel.length; i++) if (rel.charCodeAt(i) === 47) n++;
  return n;
}

function parentOf(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
}

function baseOf(rel: string): string {
  return rel.slice(rel.lastIndexOf('/') + 1);
}

/** Serves one connection until it ends; resolves then (never rejects). */
export async function serveConnection(stream: Duplex, state: SidecarState): Promise<void> {
  const conn = new Connection(stream, state);
  await conn.run();
}

class Connection {
  private readonly root: string;
  private mode: SyncMode | undefined;
  private batch: { id: number; deletes: string[]; receiver: BatchReceiver } | undefined;
  private watcher: RemoteWatcher | undefined;
  private outgoing = Promise.resolve();
  private nextRemoteBatch = 1;
  private closed = false;

  constructor(
    private readonly stream: Duplex,
    private readonly state: SidecarState,
  ) {
    this.root = state.opts.root;
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

  async run(): Promise<void> {
    const decoder = new FrameDecoder();
    try {
      // destroyOnReturn: false, so that an error can still be sent before closing
      for await (const chunk of this.stream.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
        for (const frame of decoder.push(chunk)) await this.handle(frame.type, frame.payload);
      }
    } catch (e) {
      const message = e instanceof ProtocolError ? e.message : `sidecar error: ${e instanceof Error ? e.message : String(e)}`;
      this.state.opts.log?.(`connection closed: ${message}`);
      await this.send({ t: 'error', message }).catch(() => undefined);
    } finally {
      this.closed = true;
      this.watcher?.close();
      if (this.batch) await this.batch.receiver.abort();
      this.batch = undefined;
      this.stream.end();
      this.stream.destroy();
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
    {
      const result = await receiver.finish(deletes);
      for (const d of result.deletes) this.state.forget(d);
      // `known` serves the two-way watcher only: in send-only mode it is not kept (memory)
      const track = this.mode === 'two-way';
      for (const item of result.items) {
        if (item.t === 'f' && item.stat && item.h) {
          this.state.cache.set(item.p, item.stat, item.h);
          if (track) this.state.known.set(item.p, { p: item.p, t: 'f', m: item.stat.mode & 0o777, s: item.stat.size, h: item.h });
          else this.state.known.delete(item.p);
        } else if (item.t === 'd') {
          if (track) this.state.known.set(item.p, { p: item.p, t: 'd', m: 0o755 });
          this.watcher?.watchDir(item.p);
        } else if (item.t === 'l') {
          const e = track ? await entryOf(this.root, item.p, item.stat!) : undefined;
          if (e) this.state.known.set(item.p, e);
          else this.state.known.delete(item.p);
        }
      }
      this.state.opts.onApplied?.();
      await this.send({ t: 'applied', id, files: result.items.length, deletes: result.deletes.length, bytes: result.bytes });
    }
  }

  private async onMessage(payload: Buffer): Promise<void> {
    const msg = parseMessage<ClientMessage>(payload);
    if (!this.mode && msg.t !== 'hello') throw new ProtocolError('expected hello first');
    switch (msg.t) {
      case 'hello': {
        if (this.mode) throw new ProtocolError('duplicate hello');
        if (msg.v !== PROTOCOL_VERSION) throw new ProtocolError(`protocol version ${String(msg.v)} is not supported (sidecar speaks ${PROTOCOL_VERSION})`);
        if (msg.mode !== 'send-only' && msg.mode !== 'two-way') throw new ProtocolError('bad mode');
        this.mode = msg.mode;
        // an empty root lets a send-only client skip the manifest: everything is missing
        let empty = false;
        try {
          empty = readdirSync(this.root).every((n) => n === STAGING_DIR);
        } catch {
          empty = false;
        }
        await this.send({ t: 'welcome', v: PROTOCOL_VERSION, pid: process.pid, empty });
        return;
      }
      case 'manifest': {
        if (!Array.isArray(msg.entries)) throw new ProtocolError('manifest without entries');
        const entries = msg.entries.map(checkEntry);
        await this.send(await this.diff(entries));
        if (this.mode === 'two-way' && !this.watcher) {
          this.watcher = new RemoteWatcher(this.state, (changes, deletes) => this.reportChanges(changes, deletes));
          this.watcher.start();
        }
        return;
      }
      case 'batch': {
        if (this.batch) throw new ProtocolError('batch inside a batch');
        if (typeof msg.id !== 'number' || !Array.isArray(msg.deletes)) throw new ProtocolError('bad batch header');
        const deletes = msg.deletes.map(checkRelPath);
        this.batch = { id: msg.id, deletes, receiver: new BatchReceiver(this.root) };
        return;
      }
      case 'pull': {
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
        await this.send({ t: 'pong', n: msg.n });
        return;
      default:
        throw new ProtocolError(`unknown message ${JSON.stringify((msg as { t: string }).t)}`);
    }
  }

  /**
   * Compares the client's manifest with the tree. Each folder of the manifest that is a real
   * folder here is listed once (readdir with types); only names that exist get an lstat, so
   * an empty tree costs one readdir. A file is hashed only when type, size and exec bits
   * agree (from the cache when possible). When the client sent no hash for such a file, the
   * sidecar's entry goes back in `differ` with its hash and the client compares. Folders
   * not in the manifest are listed in `extra`, not entered.
   */
  private async diff(entries: Entry[]): Promise<ServerMessage> {
    const missing: string[] = [];
    const differ: Entry[] = [];
    const extra: Entry[] = [];
    const byPath = new Map(entries.map((e) => [e.p, e]));
    // folders to list: the root and every manifest folder, shallow to deep
    const manifestDirs = entries.filter((e) => e.t === 'd').map((e) => e.p);
    manifestDirs.sort((a, b) => depthOf(a) - depthOf(b));
    /** name → dirent kind, for each folder that was listed */
    const listed = new Map<string, Map<string, 'd' | 'l' | 'f' | 'o'>>();
    const list = async (dir: string): Promise<void> => {
      let dirents: Dirent[];
      try {
        dirents = await readdir(join(this.root, dir), { withFileTypes: true });
      } catch {
        return;
      }
      const names = new Map<string, 'd' | 'l' | 'f' | 'o'>();
      for (const d of dirents) names.set(d.name, d.isDirectory() ? 'd' : d.isSymbolicLink() ? 'l' : d.isFile() ? 'f' : 'o');
      listed.set(dir, names);
    };
    await list('');
    // a manifest folder is listed only when its parent was and it is a real folder there
    let level: string[] = [];
    let levelDepth = 0;
    const flush = async (): Promise<void> => {
      await pool(level, 16, list);
      level = [];
    };
    for (const dir of manifestDirs) {
      const dd = depthOf(dir);
      if (dd !== levelDepth) {
        await flush();
        levelDepth = dd;
      }
      if (listed.get(parentOf(dir))?.get(baseOf(dir)) === 'd') level.push(dir);
    }
    await flush();
    const check = async (e: Entry): Promise<void> => {
      const parent = listed.get(parentOf(e.p));
      if (parent) {
        if (!parent.has(baseOf(e.p))) return void missing.push(e.p);
      } else if (byPath.get(parentOf(e.p))?.t === 'd') {
        return void missing.push(e.p); // its folder is not a folder here
      }
      const st = lstatSyncOrUndefined(join(this.root, e.p));
      if (!st) return void missing.push(e.p);
      const quick = await entryOf(this.root, e.p, st, this.state.cache, { hash: false });
      if (!quick) return void missing.push(e.p);
      let remote = quick;
      if (e.t === 'f' && quick.t === 'f' && quick.s === e.s && (quick.m & 0o111) === (e.m & 0o111) && quick.h === undefined) {
        remote = (await entryOf(this.root, e.p, st, this.state.cache))!;
      }
      if (sameEntry(e, remote)) {
        if (this.mode === 'two-way') this.state.known.set(e.p, remote);
      } else differ.push(remote);
    };
    await pool(entries, 16, check);
    for (const [dir, names] of listed) {
      if (dir !== '' && byPath.get(dir)?.t !== 'd') continue;
      for (const name of names.keys()) {
        const rel = dir ? `${dir}/${name}` : name;
        if (rel === STAGING_DIR || byPath.has(rel)) continue;
        const st = await lstatOrUndefined(join(this.root, rel));
        if (!st) continue;
        const kind = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isFile() ? 'f' : undefined;
        if (kind) extra.push({ p: rel, t: kind, m: st.mode & 0o777, ...(kind === 'f' ? { s: st.size } : {}) });
      }
    }
    return { t: 'diff', missing, differ, extra };
  }

  private async reportChanges(changes: Entry[], deletes: string[]): Promise<void> {
    // Remote changes travel as metadata first; the client pulls what its ignore rules allow.
    await this.send({ t: 'changes', entries: changes, deletes });
  }

  /** Sends paths (folders recursively) to the client as one batch. */
  private async sendPaths(paths: string[]): Promise<void> {
    const id = this.nextRemoteBatch++;
    await this.send({ t: 'batch', id, deletes: [] });
    const sender = new TarSender((f) => this.write(f));
    const visit = async (rel: string): Promise<void> => {
      const st = await lstatOrUndefined(join(this.root, rel));
      if (!st) return;
      if (st.isDirectory()) {
        await sender.dir(rel, st.mode & 0o777);
        this.state.known.set(rel, { p: rel, t: 'd', m: st.mode & 0o777 });
        this.watcher?.watchDir(rel);
        for (const name of (await readdir(join(this.root, rel))).sort()) await visit(posix.join(rel, name));
      } else if (st.isSymbolicLink()) {
        const e = await entryOf(this.root, rel, st);
        if (!e?.l) return;
        try {
          checkLinkTarget(rel, e.l); // only links that stay inside the root travel
        } catch {
          return;
        }
        await sender.link(rel, e.l);
        this.state.known.set(rel, e);
      } else if (st.isFile()) {
        const content = await readFile(join(this.root, rel)).catch(() => undefined);
        if (!content) return;
        const h = sha256(content);
        const after = await lstat(join(this.root, rel));
        if (after.size === content.length) this.state.cache.set(rel, after, h);
        await sender.file(rel, st.mode & 0o777, content);
        this.state.known.set(rel, { p: rel, t: 'f', m: st.mode & 0o777, s: content.length, h });
      }
    };
    for (const p of paths) await visit(p);
    await sender.end();
  }
}

/**
 * Two-way: watches every synced folder of the root (fs.watch per folder: Node 18 has no
 * recursive watch on Linux) and reports entries that differ from what both sides agreed on.
 */
class RemoteWatcher {
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly queue = new Set<string>();
  private scheduled = false;
  private busy = false;
  private held = 0;
  private closed = false;

  constructor(
    private readonly state: SidecarState,
    private readonly report: (changes: Entry[], deletes: string[]) => Promise<void>,
  ) {}

  start(): void {
    this.watchDir('');
    for (const [rel, e] of this.state.known) if (e.t === 'd') this.watchDir(rel);
  }

  watchDir(rel: string): void {
    if (this.closed || this.watchers.has(rel)) return;
    try {
      const w = watch(join(this.state.opts.root, rel), (_event, name) => {
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

  private async flush(): Promise<void> {
    if (this.closed || this.queue.size === 0 || this.held > 0) return;
    this.busy = true;
    try {
      const paths = [...this.queue];
      this.queue.clear();
      const changes: Entry[] = [];
      const deletes: string[] = [];
      for (const rel of paths) {
        const st = await lstatOrUndefined(join(this.state.opts.root, rel)).catch(() => undefined);
        const known = this.state.known.get(rel);
        if (!st) {
          if (known) {
            deletes.push(rel);
            this.state.forget(rel);
            this.unwatch(rel);
          }
          continue;
        }
        const e = await entryOf(this.state.opts.root, rel, st, this.state.cache).catch(() => undefined);
        if (!e) continue;
        if (known && sameEntry(known, e)) continue;
        if (e.t === 'd' && known?.t === 'd') continue;
        changes.push(e);
      }
      if (changes.length > 0 || deletes.length > 0) await this.report(changes, deletes);
    } catch {
      // the next event retries
    } finally {
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

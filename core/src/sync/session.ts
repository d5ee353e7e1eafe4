// A sync session: keeps a local folder and the sidecar's root in step, over a port-forward,
// from the first handshake through every later edit, across lost connections and new pods.
//
// How a batch leaves as soon as a burst of edits ends, without a fixed delay: every watcher
// event only adds a path to a set and schedules one flush with setImmediate, which runs once
// the event loop has delivered every file-system event already queued — the events of one
// save or one burst arrive together and are coalesced. While a batch is in flight, new
// events keep accumulating and go out in the next batch the moment the sidecar acknowledges
// the previous one, so under load batches grow by themselves (one round trip of delay at
// most) and at rest a single save goes out at once. Back-pressure: a batch holds at most
// maxBatchFiles paths and maxBatchBytes of content, one batch is on the wire at a time, and
// socket writes wait for 'drain'; a branch switch of 50,000 files is a set of paths, sent in
// slices. chokidar drops a second 'change' of the same file within 50 ms, so every path we
// read is re-checked once (a stat, not a read) shortly after; a missed write is then sent.
import { EventEmitter } from 'node:events';
import { createHash } from 'node:crypto';
import { lstatSync, type Stats } from 'node:fs';
import { lstat, mkdir, readFile, readlink, rename, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import type { Duplex } from 'node:stream';
import { watch as chokidarWatch, type FSWatcher } from 'chokidar';
import { readSyncToken } from './sidecar.js';
import { HashCache, checkLinkTarget, hashFile, readFileFast, removeInside, sha256, type ApplyResult, type Entry, type SyncMode, DEFAULT_PORT, ProtocolError, sameEntry, entryOf } from '@kdev/sync-sidecar';
import type { Cluster } from '../kube/client.js';
import { openPortForwardStream } from './transport.js';
import { KdevError, isKdevError } from '../errors.js';
import type { SyncConfig } from '../config/schema.js';
import { IgnoreRules } from './ignore.js';
import { scanTree } from './scan.js';
import { pruneHashCaches } from './cache-files.js';
import { SyncConnection, type ChangesMessage, type DiffMessage } from './connection.js';

export type SyncState = 'stopped' | 'connecting' | 'initial-sync' | 'watching' | 'syncing' | 'idle';

export interface SyncEvents {
  connecting: [{ pod?: string; attempt: number }];
  'initial-sync': [{ files: number; bytes: number; totalFiles: number; totalBytes: number }];
  watching: [{ files: number }];
  syncing: [{ files: number }];
  idle: [{ lastSyncAt: Date }];
  error: [{ message: string; hint?: string }];
  /** Two-way: remote changes written to the local folder. */
  received: [{ files: number; deletes: number }];
}

export interface MassDeleteInfo {
  /** Synced files the batch would delete. */
  deletes: number;
  /** Synced files in all. */
  total: number;
  /** Where: 'remote' (the container) or 'local' (two-way with deleteLocal). */
  side: 'remote' | 'local';
  sample: string[];
}

/** One way into the sidecar: a port-forward by default. */
export interface SyncTransport {
  connect(): Promise<Duplex>;
  close(): Promise<void>;
}
export type TransportFactory = (pod: string) => Promise<SyncTransport>;

export interface SyncSessionOptions {
  /**
   * The sidecar's secret, presented in hello (read at each connect). Default, with a cluster:
   * the namespace's sync token Secret, if there is one.
   */
  token?: () => Promise<string | undefined>;
  /** Needed for the default transport (a port-forward). */
  cluster?: Cluster;
  namespace?: string;
  /** The pod to sync with now; called again after every lost connection. */
  resolvePod: () => Promise<string>;
  /** Absolute local folder. */
  localRoot: string;
  config?: Partial<Pick<SyncConfig, 'mode' | 'ignore' | 'deleteLocal'>>;
  /** The sidecar's port in the pod (7878). */
  remotePort?: number;
  /** How to reach the sidecar; default: a Kubernetes port-forward stream (portForwardTransport). */
  transport?: TransportFactory;
  /**
   * Asked before a batch that deletes more than half of the synced files (and at least
   * massDeleteMin). Without it such deletions are held back and an error event says so.
   */
  confirmMassDelete?: (info: MassDeleteInfo) => Promise<boolean>;
  massDeleteMin?: number;
  backoff?: { initialMs?: number; maxMs?: number };
  maxBatchFiles?: number;
  maxBatchBytes?: number;
  /**
   * Where content hashes of local files are kept between sessions, keyed by path, inode,
   * size, mtime and ctime, so a new session does not re-read unchanged files. Default:
   * $XDG_CACHE_HOME (or ~/.cache)/kdev/sync/<hash of localRoot>.json; false: memory only.
   */
  hashCacheFile?: string | false;
}

/** The default place of a folder's persistent hash cache. */
function hashCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'kdev', 'sync');
}

export function defaultHashCacheFile(localRoot: string): string {
  return join(hashCacheDir(), `${createHash('sha256').update(localRoot).digest('hex').slice(0, 24)}.json`);
}

/** The hash-cache folder is pruned once per process (see cache-files.ts). */
let hashCachesPruned = false;

export interface SyncStatus {
  state: SyncState;
  pod?: string;
  localRoot: string;
  mode: SyncMode;
  syncedFiles: number;
  pendingChanges: number;
  lastSyncAt?: Date;
  lastError?: { message: string; hint?: string; at: Date };
  connects: number;
  batches: number;
  filesSent: number;
  bytesSent: number;
  filesReceived: number;
}

const LARGE_FILE = 4 * 1024 * 1024;
const RECHECK_MS = 60;
const DELETE_BURST_GAP_MS = 3000;
const DELETE_SETTLE_MS = 25;
const DELETE_SETTLE_MAX_MS = 1000;

/**
 * Port-forwards to the sidecar: each connection is its own port-forward WebSocket, used as
 * a stream directly (no local TCP listener in between); close() ends every one of them.
 */
export function portForwardTransport(cluster: Cluster, namespace: string | undefined, remotePort: number): TransportFactory {
  return async (pod) => {
    const open = new Set<Duplex>();
    let closed = false;
    return {
      connect: async () => {
        if (closed) throw new Error('the port-forward was closed');
        const s = await openPortForwardStream(cluster, namespace ?? cluster.namespace, pod, remotePort);
        if (closed) {
          s.destroy(); // closed while it was opening
          throw new Error('the port-forward was closed');
        }
        open.add(s);
        s.once('close', () => open.delete(s));
        return s;
      },
      close: async () => {
        closed = true;
        for (const s of open) s.destroy();
        open.clear();
      },
    };
  };
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function under(prefix: string, p: string): boolean {
  return p === prefix || p.startsWith(prefix + '/');
}

export class SyncSession extends EventEmitter<SyncEvents> {
  private readonly root: string;
  private readonly mode: SyncMode;
  private readonly deleteLocal: boolean;
  private readonly rules: IgnoreRules;
  private readonly cache = new HashCache();
  /** What the sidecar holds, as far as we know: path → entry. */
  private synced = new Map<string, Entry>();
  private readonly pending = new Set<string>();
  private readonly recheck = new Map<string, number>();
  private recheckTimer: NodeJS.Timeout | undefined;
  private rulesDirty = false;
  private watcher: FSWatcher | undefined;
  private watcherReady: Promise<void> | undefined;
  private conn: SyncConnection | undefined;
  private transport: SyncTransport | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private flushing = false;
  private flushScheduled = false;
  private wake: (() => void) | undefined;
  private st: SyncState = 'stopped';
  private pod: string | undefined;
  private lastSyncAt: Date | undefined;
  private lastError: SyncStatus['lastError'];
  private counters = { connects: 0, batches: 0, filesSent: 0, bytesSent: 0, filesReceived: 0 };
  private readonly maxBatchFiles: number;
  private readonly maxBatchBytes: number;

  constructor(private readonly opts: SyncSessionOptions) {
    super();
    this.root = opts.localRoot;
    this.mode = opts.config?.mode ?? 'send-only';
    this.deleteLocal = this.mode === 'two-way' && (opts.config?.deleteLocal ?? false);
    this.rules = new IgnoreRules(this.root, opts.config?.ignore ?? []);
    this.maxBatchFiles = opts.maxBatchFiles ?? 2000;
    this.maxBatchBytes = opts.maxBatchBytes ?? 32 * 1024 * 1024;
    this.cacheFile = opts.hashCacheFile === false ? undefined : (opts.hashCacheFile ?? defaultHashCacheFile(this.root));
  }

  private readonly cacheFile: string | undefined;
  private cacheSaving: Promise<void> = Promise.resolve();
  private cacheLoaded = false;

  /** Loads the persistent hash cache once; a missing or corrupt file is an empty cache. */
  private async loadHashCache(): Promise<void> {
    if (this.cacheLoaded || !this.cacheFile) return;
    this.cacheLoaded = true;
    try {
      const data = JSON.parse(await readFile(this.cacheFile, 'utf8')) as { v?: number; root?: string; rows?: unknown };
      if (data.v === 1 && data.root === this.root) this.cache.load(data.rows);
    } catch {
      // no cache yet, or unreadable: hashes are computed again
    }
  }

  /** Writes the hash cache (temp file + rename), keeping only paths still in `keep`. */
  private async saveHashCache(keep?: (rel: string) => boolean): Promise<void> {
    if (!this.cacheFile) return;
    try {
      await mkdir(dirname(this.cacheFile), { recursive: true });
      const tmp = `${this.cacheFile}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify({ v: 1, root: this.root, rows: this.cache.dump(keep) }));
      await rename(tmp, this.cacheFile);
      if (!hashCachesPruned && dirname(this.cacheFile) === hashCacheDir()) {
        hashCachesPruned = true;
        await pruneHashCaches(hashCacheDir(), { keep: this.cacheFile });
      }
    } catch {
      // a cache that cannot be written only costs re-hashing next time
    }
  }

  get state(): SyncState {
    return this.st;
  }

  status(): SyncStatus {
    return {
      state: this.st,
      pod: this.pod,
      localRoot: this.root,
      mode: this.mode,
      syncedFiles: [...this.synced.values()].filter((e) => e.t !== 'd').length,
      pendingChanges: this.pending.size,
      lastSyncAt: this.lastSyncAt,
      lastError: this.lastError,
      ...this.counters,
    };
  }

  private report(message: string, hint?: string): void {
    this.lastError = { message, hint, at: new Date() };
    if (this.listenerCount('error') > 0) this.emit('error', { message, hint });
  }

  /**
   * Starts watching and connecting; resolves once the first initial sync is done. Later
   * connection losses are retried with backoff and reported as events, never thrown.
   */
  async start(): Promise<void> {
    if (this.loop) throw new KdevError('CONFLICT', 'this sync session is already started');
    if (!this.opts.transport && !this.opts.cluster) throw new KdevError('INVALID', 'a sync session needs a cluster (or a transport)');
    const st = await stat(this.root).catch(() => undefined);
    if (!st?.isDirectory()) throw new KdevError('INVALID', `the local sync folder ${this.root} does not exist`, 'Check sync.local in .kdev.yaml.');
    this.stopping = false;
    await this.loadHashCache();
    let first!: { resolve: () => void; reject: (e: Error) => void };
    const firstSync = new Promise<void>((resolve, reject) => (first = { resolve, reject }));
    this.loop = this.run(first);
    await firstSync;
  }

  /** Resolves once local changes are watched (the watcher starts after the first sync). */
  async whenWatching(): Promise<void> {
    await this.watcherReady;
  }

  /** Stops watching and closes the connection. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    this.conn?.close();
    if (this.recheckTimer) clearTimeout(this.recheckTimer);
    await this.watcherReady?.catch(() => undefined);
    await this.watcher?.close();
    this.watcher = undefined;
    await this.loop?.catch(() => undefined);
    this.loop = undefined;
    this.st = 'stopped';
    await this.cacheSaving;
    await this.saveHashCache((rel) => this.synced.has(rel));
  }

  private setState(s: SyncState): void {
    this.st = s;
  }

  private relOf(abs: string): string | undefined {
    const rel = relative(this.root, abs);
    if (rel === '' || rel.startsWith('..')) return undefined;
    return sep === '/' ? rel : rel.split(sep).join('/');
  }

  private async startWatcher(): Promise<void> {
    const watcher = chokidarWatch(this.root, {
      ignoreInitial: true,
      atomic: false,
      followSymlinks: false,
      ignored: (path: string, stats?: { isDirectory(): boolean }) => {
        const rel = this.relOf(path);
        if (rel === undefined) return false;
        if (rel === '.git/info/exclude' || rel === '.git' || rel === '.git/info') return false;
        if (stats) return this.rules.ignores(rel, stats.isDirectory());
        return this.rules.ignores(rel, false) && this.rules.ignores(rel, true);
      },
    });
    watcher.on('all', (event, path) => {
      const rel = this.relOf(path);
      if (rel === undefined) return;
      if (event === 'change' || event === 'add') this.recheckLater(rel);
      if (rel === '.git/info/exclude' || rel === '.gitignore' || rel.endsWith('/.gitignore')) this.rulesDirty = true;
      if (rel === '.git' || rel.startsWith('.git/')) {
        if (this.rulesDirty) this.scheduleFlush(true);
        return;
      }
      this.pending.add(rel);
      this.onEvent?.();
      this.scheduleFlush();
    });
    // chokidar reports no 'change' for a chmod alone (exec bit): its raw fs.watch events do
    watcher.on('raw', (_event, evPath, details) => {
      const watched = (details as { watchedPath?: string } | undefined)?.watchedPath;
      if (!watched || !evPath) return;
      const watchedRel = this.relOf(watched);
      const abs = watchedRel !== undefined && this.synced.get(watchedRel)?.t === 'f' ? watched : join(watched, evPath);
      const rel = this.relOf(abs);
      if (rel === undefined || rel === '.git' || rel.startsWith('.git/') || this.rules.ignores(rel, false)) return;
      this.pending.add(rel);
      this.scheduleFlush();
    });
    watcher.on('error', (e) => this.report(`file watcher: ${errorText(e)}`));
    this.watcher = watcher;
    await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
    watcher.add(join(this.root, '.git', 'info', 'exclude'));
  }

  private async token(): Promise<string | undefined> {
    if (this.opts.token) return this.opts.token();
    return this.opts.cluster ? readSyncToken(this.opts.cluster, this.opts.namespace) : undefined;
  }

  private async run(first: { resolve: () => void; reject: (e: Error) => void }): Promise<void> {
    let failures = 0;
    let firstDone = false;
    const initialMs = this.opts.backoff?.initialMs ?? 250;
    const maxMs = this.opts.backoff?.maxMs ?? 5000;
    const transportFor = this.opts.transport ?? portForwardTransport(this.opts.cluster!, this.opts.namespace, this.opts.remotePort ?? DEFAULT_PORT);
    while (!this.stopping) {
      this.setState('connecting');
      this.emit('connecting', { pod: this.pod, attempt: failures + 1 });
      let conn: SyncConnection | undefined;
      try {
        const pod = await this.opts.resolvePod();
        this.pod = pod;
        this.transport = await transportFor(pod);
        const socket = await this.transport.connect();
        conn = new SyncConnection(socket, this.root, (rel, t) => !this.rules.ignores(rel, t === 'd'));
        const closed = new Promise<Error | undefined>((resolve) => conn!.once('close', resolve));
        conn.on('changes', (msg) => void this.onRemoteChanges(conn!, msg));
        conn.on('pulled', (result) => void this.onPulled(result));
        this.conn = conn;
        await conn.hello(this.mode, undefined, await this.token());
        await this.handshake(conn);
        failures = 0;
        if (!firstDone) {
          firstDone = true;
          // The watcher starts once the first sync is done: its own walk of the tree (an
          // lstat per file) would compete with the sync for the CPU. When it is ready, one
          // reconcile pass (a re-scan against what was synced; cached hashes, so no reads)
          // catches whatever changed since the handshake's scan.
          this.watcherReady = this.startWatcher().then(() => {
            this.rulesDirty = true;
            this.scheduleFlush();
          });
          this.watcherReady.catch(() => undefined);
          first.resolve();
        }
        this.scheduleFlush();
        const err = await closed;
        if (this.stopping) break;
        this.report(`lost the connection to the sync sidecar in ${this.pod}: ${errorText(err)}`, 'kdev reconnects by itself; no change is lost.');
      } catch (e) {
        if (this.stopping) break;
        failures++;
        if (e instanceof ProtocolError && /protocol version|speaks protocol/.test(e.message)) {
          const err = new KdevError('FAILED', e.message, 'Restart dev mode so that the pod gets the sidecar of this kdev version.');
          this.report(err.message, err.hint);
          if (!firstDone) first.reject(err);
          break;
        }
        const hint = isKdevError(e) ? e.hint : 'Is the dev pod running? kdev retries with backoff.';
        this.report(`sync: ${errorText(e)}`, hint);
      } finally {
        conn?.close();
        if (this.conn === conn) this.conn = undefined;
        const t = this.transport;
        this.transport = undefined;
        await t?.close().catch(() => undefined);
      }
      if (this.stopping) break;
      const delay = failures === 0 ? 50 : Math.min(maxMs, initialMs * 2 ** (failures - 1));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    if (!firstDone) first.reject(new KdevError('FAILED', 'sync stopped before the first sync finished'));
    this.setState('stopped');
  }

  /** How many synced files deleting these paths removes. */
  private countUnder(paths: string[], known: Map<string, Entry>): number {
    if (paths.length === 0) return 0;
    let n = 0;
    for (const e of known.values()) {
      if (e.t === 'd') continue;
      if (paths.some((d) => under(d, e.p))) n++;
    }
    return Math.max(n, paths.length);
  }

  /**
   * The deletion burst in progress: a mass deletion (rm -rf, a branch switch) reaches us over
   * several batches, and the guard must judge them together. A burst lasts while deletion
   * batches follow each other within DELETE_BURST_GAP_MS — measured from the previous one's
   * acknowledgement, so a slow link or a long burst cannot slip past the guard in pieces.
   */
  private deleteBurst = { n: 0, lastAt: 0 };

  private recentDeleteCount(): number {
    if (Date.now() - this.deleteBurst.lastAt > DELETE_BURST_GAP_MS) this.deleteBurst = { n: 0, lastAt: 0 };
    return this.deleteBurst.n;
  }

  /** The mass-deletion guard: true when these deletions may go ahead. */
  private async allowDeletes(paths: string[], known: Map<string, Entry>, totalFiles: number, side: 'remote' | 'local', cumulative = false): Promise<boolean> {
    if (paths.length === 0) return true;
    const recent = cumulative ? this.recentDeleteCount() : 0;
    const deletes = this.countUnder(paths, known) + recent;
    totalFiles += recent;
    const min = this.opts.massDeleteMin ?? 10;
    if (deletes < min || deletes * 2 <= totalFiles) {
      if (cumulative) this.deleteBurst = { n: this.deleteBurst.n + (deletes - recent), lastAt: Date.now() };
      return true;
    }
    const info: MassDeleteInfo = { deletes, total: totalFiles, side, sample: paths.slice(0, 10) };
    if (!this.opts.confirmMassDelete) {
      this.report(`held back: this change would delete ${deletes} of ${totalFiles} synced files (${side})`, 'Confirm mass deletions (kdev asks, or pass --yes).');
      return false;
    }
    const ok = await this.opts.confirmMassDelete(info);
    if (!ok) this.report(`not deleted: ${deletes} of ${totalFiles} synced files (${side}), as you chose`, 'The files stay; delete them again to retry.');
    return ok;
  }

  private async handshake(conn: SyncConnection): Promise<void> {
    this.setState('initial-sync');
    this.pending.clear();
    if (this.rulesDirty) {
      this.rulesDirty = false;
      this.rules.reload();
    }
    // no file is read here: hashes come from the cache; the sidecar says what it lacks
    const stats = new Map<string, Stats>();
    const local = await scanTree(this.root, this.rules, this.cache, '', { hash: false, stats });
    // send-only into an empty root: no manifest needed, everything is missing (two-way
    // sends one anyway: it starts the sidecar's watcher)
    const diff: DiffMessage =
      conn.remoteEmpty && this.mode === 'send-only' ? { t: 'diff', missing: [...local.keys()], differ: [], extra: [] } : await conn.manifest([...local.values()]);
    const base = this.synced;
    const twoWay = this.mode === 'two-way';
    const next = new Map<string, Entry>();
    const toSend: string[] = [];
    const toPull: string[] = [];
    const toDelete: string[] = [];
    const missing = new Set(diff.missing);
    const differ = new Map(diff.differ.map((e) => [e.p, e]));
    // a file we sent without a hash that the sidecar has with the same size and exec bits
    // comes back with its hash: hash ours now and compare (two-way also needs our hash of
    // every differing file, to tell a local change from a remote one)
    for (const [p, remote] of [...differ]) {
      const e = local.get(p);
      if (!e || e.t !== 'f' || e.h !== undefined || remote.t !== 'f') continue;
      if (remote.h === undefined && !twoWay) continue;
      let st;
      try {
        st = lstatSync(join(this.root, p));
      } catch {
        continue;
      }
      const full = await entryOf(this.root, p, st, this.cache).catch(() => undefined);
      if (!full) continue;
      local.set(p, full);
      if (sameEntry(full, remote)) differ.delete(p);
    }
    for (const [p, e] of local) {
      if (missing.has(p)) {
        toSend.push(p);
        continue;
      }
      const remote = differ.get(p);
      if (remote) {
        const b = base.get(p);
        if (twoWay && b && sameEntry(b, e) && e.t !== 'd' && remote.t !== 'd') toPull.push(p);
        else toSend.push(p);
        continue;
      }
      next.set(p, e);
    }
    for (const x of diff.extra) {
      if (this.rules.ignores(x.p, x.t === 'd')) continue;
      if (twoWay && !base.has(x.p)) toPull.push(x.p);
      else toDelete.push(x.p);
    }
    const remoteFiles = local.size - missing.size + diff.extra.length;
    let deletes = toDelete;
    if (!(await this.allowDeletes(toDelete, base, Math.max(remoteFiles, [...base.values()].filter((e) => e.t !== 'd').length), 'remote'))) deletes = [];
    toSend.sort();
    let totalBytes = 0;
    for (const p of toSend) totalBytes += local.get(p)?.s ?? 0;
    const progress = { files: 0, bytes: 0, totalFiles: toSend.length, totalBytes };
    this.emit('initial-sync', { ...progress });
    const inflight: Promise<unknown>[] = [];
    let i = 0;
    let first = true;
    while (i < toSend.length || first) {
      const slice: string[] = [];
      let bytes = 0;
      while (i < toSend.length && slice.length < this.maxBatchFiles && (bytes < this.maxBatchBytes || slice.length === 0)) {
        const p = toSend[i++]!;
        slice.push(p);
        bytes += local.get(p)?.s ?? 0;
      }
      const sent = new Map<string, Entry>();
      const batchDeletes = first ? deletes : [];
      first = false;
      if (slice.length === 0 && batchDeletes.length === 0) break;
      const { applied } = await conn.sendBatch(batchDeletes, (sender) => this.fill(sender, slice, sent, stats));
      this.counters.batches++;
      const done = applied.then((ack) => {
        for (const [p, e] of sent) next.set(p, e);
        progress.files += slice.length;
        progress.bytes += ack.bytes;
        this.counters.filesSent += ack.files;
        this.counters.bytesSent += ack.bytes;
        this.emit('initial-sync', { ...progress });
      });
      done.catch(() => undefined); // awaited below; a lost connection must not leave it unhandled
      inflight.push(done);
      if (inflight.length >= 2) await inflight.shift();
    }
    await Promise.all(inflight);
    this.synced = next;
    this.lastSyncAt = new Date();
    // written in the background: the sync is done, and stop() waits for the write
    this.cacheSaving = this.cacheSaving.then(() => this.saveHashCache((rel) => local.has(rel)));
    if (toPull.length > 0) await conn.pull(toPull);
    this.counters.connects++;
    this.setState('watching');
    this.emit('watching', { files: this.status().syncedFiles });
    this.emit('idle', { lastSyncAt: this.lastSyncAt });
  }

  /**
   * Puts paths into a batch as they are now; records what was sent in `sent`. `scanned`
   * holds lstats of regular files taken a moment ago (the handshake's scan): such a file is
   * read without another lstat, and not followed should it have become a symlink since
   * (then it is left out here; the watcher's reconcile pass sends the link).
   */
  private async fill(sender: import('@kdev/sync-sidecar').TarSender, paths: string[], sent: Map<string, Entry>, scanned?: Map<string, Stats>): Promise<void> {
    for (const rel of paths) {
      const abs = join(this.root, rel);
      const known = scanned?.get(rel);
      if (known) scanned!.delete(rel);
      let st: Stats;
      try {
        st = known ?? lstatSync(abs);
      } catch {
        continue;
      }
      const m = st.mode & 0o777;
      if (st.isDirectory()) {
        await sender.dir(rel, m);
        sent.set(rel, { p: rel, t: 'd', m });
      } else if (st.isSymbolicLink()) {
        const target = await readlink(abs).catch(() => undefined);
        if (target === undefined) continue;
        try {
          checkLinkTarget(rel, target);
        } catch {
          this.report(`not synced: the symlink ${rel} -> ${target} points outside the synced folder`, 'Only links that stay inside the folder are synced.');
          continue;
        }
        await sender.link(rel, target);
        sent.set(rel, { p: rel, t: 'l', m, l: target });
      } else if (st.isFile()) {
        if (st.size > LARGE_FILE) {
          const h = await hashFile(abs, st.size);
          await sender.fileStream(rel, m, abs, st.size);
          this.cache.set(rel, st, h);
          sent.set(rel, { p: rel, t: 'f', m, s: st.size, h });
        } else {
          let content: Buffer;
          try {
            content = readFileFast(abs, st.size, known !== undefined); // one open, read, close
          } catch {
            continue;
          }
          const h = sha256(content);
          await sender.file(rel, m, content);
          if (content.length === st.size) this.cache.set(rel, st, h);
          sent.set(rel, { p: rel, t: 'f', m, s: content.length, h });
        }
      }
    }
  }

  /**
   * chokidar drops a second 'change' of a file within 50 ms of the first (a throttle with no
   * trailing event). So each change event also books one more look at that path once the
   * window has closed; the look is a stat (the hash cache avoids a read when nothing changed).
   */
  private recheckLater(rel: string): void {
    this.recheck.set(rel, Date.now() + RECHECK_MS);
    if (this.recheckTimer) return;
    const fire = (): void => {
      this.recheckTimer = undefined;
      const now = Date.now();
      let next = Infinity;
      for (const [p, due] of this.recheck) {
        if (due <= now) {
          this.recheck.delete(p);
          this.pending.add(p);
        } else next = Math.min(next, due);
      }
      if (this.pending.size > 0) this.scheduleFlush();
      if (next !== Infinity) {
        this.recheckTimer = setTimeout(fire, next - now);
        this.recheckTimer.unref();
      }
    };
    this.recheckTimer = setTimeout(fire, RECHECK_MS);
    this.recheckTimer.unref();
  }

  private scheduleFlush(force = false): void {
    if (this.flushScheduled || this.flushing || !this.conn || this.st === 'initial-sync' || this.st === 'connecting') return;
    if (!force && this.pending.size === 0 && !this.rulesDirty) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      void this.flush();
    });
  }

  /** Re-reads the whole tree against what is synced (after ignore rules changed). */
  private async reconcile(): Promise<void> {
    this.rules.reload();
    const local = await scanTree(this.root, this.rules, this.cache);
    for (const [p, e] of local) {
      const s = this.synced.get(p);
      if (!s || !sameEntry(s, e)) this.pending.add(p);
    }
    for (const p of this.synced.keys()) if (!local.has(p) && !this.rules.ignores(p, this.synced.get(p)!.t === 'd')) this.pending.add(p);
  }

  private async flush(): Promise<void> {
    const conn = this.conn;
    if (!conn || conn.closed) return;
    this.flushing = true;
    let sentSomething = false;
    try {
      while (!conn.closed && conn === this.conn) {
        if (this.rulesDirty) {
          this.rulesDirty = false;
          await this.reconcile();
        }
        if (this.pending.size === 0) break;
        const paths: string[] = [];
        for (const p of this.pending) {
          paths.push(p);
          this.pending.delete(p);
          if (paths.length >= this.maxBatchFiles) break;
        }
        paths.sort();
        const { deletes, items } = await this.plan(paths);
        if (deletes.length > 0) {
          // A burst of deletions (rm -rf, a branch switch) reaches us as many watcher events,
          // spread over time on a busy machine. So that the guard judges it as a whole, a
          // batch with deletions takes in the deletions still arriving until none has come
          // for DELETE_SETTLE_MS (at most DELETE_SETTLE_MAX_MS): a delay for deletions only,
          // never for edits.
          const started = Date.now();
          for (;;) {
            const more: string[] = [];
            for (const p of this.pending) {
              if (this.synced.has(p) && !(await lstat(join(this.root, p)).catch(() => undefined))) more.push(p);
            }
            for (const p of more) {
              this.pending.delete(p);
              if (!deletes.some((d) => under(d, p))) deletes.push(p);
            }
            if (Date.now() - started >= DELETE_SETTLE_MAX_MS || !(await this.moreEvents(DELETE_SETTLE_MS))) break;
          }
          // a deleted path whose folder is gone too stands for that folder (the topmost gone)
          const tops = new Set(deletes.map((d) => this.topmostGone(d)));
          deletes.length = 0;
          for (const d of [...tops].sort()) if (!deletes.some((x) => under(x, d))) deletes.push(d);
        }
        if (deletes.length === 0 && items.length === 0) continue;
        const total = [...this.synced.values()].filter((e) => e.t !== 'd').length;
        let allowed = deletes;
        if (!(await this.allowDeletes(deletes, this.synced, total, 'remote', true))) {
          allowed = [];
          for (const d of deletes) for (const p of [...this.synced.keys()]) if (under(d, p)) this.synced.delete(p);
        }
        if (allowed.length === 0 && items.length === 0) continue;
        this.setState('syncing');
        this.emit('syncing', { files: items.length + allowed.length });
        const sent = new Map<string, Entry>();
        const { applied } = await conn.sendBatch(allowed, (sender) => this.fill(sender, items, sent));
        const ack = await applied;
        if (allowed.length > 0) this.deleteBurst.lastAt = Date.now(); // the burst goes on from here
        this.counters.batches++;
        this.counters.filesSent += ack.files;
        this.counters.bytesSent += ack.bytes;
        for (const d of allowed) for (const p of [...this.synced.keys()]) if (under(d, p)) this.synced.delete(p);
        for (const [p, e] of sent) this.synced.set(p, e);
        this.lastSyncAt = new Date();
        sentSomething = true;
      }
    } catch (e) {
      if (!conn.closed) this.report(`sync batch failed: ${errorText(e)}`, 'kdev retries on the next change.');
    } finally {
      this.flushing = false;
      if (conn === this.conn && !conn.closed) {
        if (sentSomething && this.pending.size === 0) {
          this.setState('idle');
          this.emit('idle', { lastSyncAt: this.lastSyncAt! });
        } else if (this.st === 'syncing') this.setState('idle');
        if (this.pending.size > 0 || this.rulesDirty) this.scheduleFlush();
      }
    }
  }

  private onEvent: (() => void) | undefined;

  /** Resolves true at the next watcher event, or false after `ms` without one. */
  private moreEvents(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.onEvent = undefined;
        resolve(false);
      }, ms);
      this.onEvent = () => {
        clearTimeout(timer);
        this.onEvent = undefined;
        resolve(true);
      };
    });
  }

  /** The topmost synced folder above `rel` that is gone locally (or `rel` itself). */
  private topmostGone(rel: string): string {
    let top = rel;
    for (let i = top.lastIndexOf('/'); i > 0; i = top.lastIndexOf('/')) {
      const parent = top.slice(0, i);
      if (this.synced.get(parent)?.t !== 'd') break;
      try {
        lstatSync(join(this.root, parent));
        break; // still there
      } catch {
        top = parent;
      }
    }
    return top;
  }

  /** Decides, from the current state of these paths, what the next batch carries. */
  private async plan(paths: string[]): Promise<{ deletes: string[]; items: string[] }> {
    const deletes: string[] = [];
    const items = new Set<string>();
    let bytes = 0;
    for (let idx = 0; idx < paths.length; idx++) {
      const rel = paths[idx]!;
      if (bytes >= this.maxBatchBytes) {
        this.pending.add(rel); // the rest goes in the next batch
        continue;
      }
      const st = await lstat(join(this.root, rel)).catch(() => undefined);
      if (!st) {
        const known = this.synced.has(rel);
        if (known && !deletes.some((d) => under(d, rel))) deletes.push(rel);
        continue;
      }
      if (this.rules.ignores(rel, st.isDirectory())) continue;
      if (st.isDirectory()) {
        if (this.synced.get(rel)?.t === 'd') continue;
        // a new folder (created, moved in, or un-ignored): take everything inside it
        const sub = await scanTree(this.root, this.rules, this.cache, rel);
        for (const [p, e] of sub) {
          const s = this.synced.get(p);
          if (!s || !sameEntry(s, e)) {
            items.add(p);
            bytes += e.s ?? 0;
          }
        }
        continue;
      }
      const e = await entryOf(this.root, rel, st, this.cache).catch(() => undefined);
      if (!e) continue;
      const s = this.synced.get(rel);
      if (s && sameEntry(s, e)) continue;
      items.add(rel);
      bytes += e.s ?? 0;
    }
    return { deletes, items: [...items].sort() };
  }

  private async onRemoteChanges(conn: SyncConnection, msg: ChangesMessage): Promise<void> {
    try {
      const dels = (msg.deletes ?? []).filter((d) => !this.rules.ignores(d, this.synced.get(d)?.t === 'd'));
      if (dels.length > 0) {
        if (this.deleteLocal) {
          const total = [...this.synced.values()].filter((e) => e.t !== 'd').length;
          if (await this.allowDeletes(dels, this.synced, total, 'local')) {
            for (const d of dels) await removeInside(this.root, d);
          }
        }
        for (const d of dels) for (const p of [...this.synced.keys()]) if (under(d, p)) this.synced.delete(p);
        this.emit('received', { files: 0, deletes: dels.length });
      }
      const want = (msg.entries ?? []).filter((e) => typeof e?.p === 'string' && !this.pending.has(e.p) && !this.rules.ignores(e.p, e.t === 'd')).map((e) => e.p);
      if (want.length > 0 && !conn.closed) await conn.pull(want);
    } catch (e) {
      this.report(`applying remote changes: ${errorText(e)}`);
    }
  }

  private async onPulled(result: ApplyResult): Promise<void> {
    for (const item of result.items) {
      if (item.t === 'f' && item.stat && item.h) {
        this.cache.set(item.p, item.stat, item.h);
        this.synced.set(item.p, { p: item.p, t: 'f', m: item.stat.mode & 0o777, s: item.stat.size, h: item.h });
      } else if (item.t === 'd') this.synced.set(item.p, { p: item.p, t: 'd', m: 0o755 });
      else if (item.t === 'l' && item.stat) {
        const e = await entryOf(this.root, item.p, item.stat).catch(() => undefined);
        if (e) this.synced.set(item.p, e);
      }
    }
    this.counters.filesReceived += result.items.length;
    this.lastSyncAt = new Date();
    this.emit('received', { files: result.items.length, deletes: result.deletes.length });
    this.emit('idle', { lastSyncAt: this.lastSyncAt });
  }
}

// A sync session: keeps a local folder and the sidecar's root in step, over a port-forward,
// from the first handshake through every later edit, across lost connections and new pods.
// This file is the conductor; each job is a part of its own (see docs/sync-client.md):
// watcher.ts (local events), reconnect.ts (backoff), handshake.ts (initial sync),
// batch.ts + guard.ts (batches, the mass-deletion guard), pull.ts (two-way), tree.ts (state).
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
import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { HashCache, type ApplyResult, type Entry, type SyncMode, DEFAULT_PORT } from '@kdev/sync-sidecar';
import type { Cluster } from '../kube/client.js';
import { readSyncToken } from './sidecar.js';
import { portForwardTransport, type SyncTransport, type TransportFactory } from './transport.js';
import { KdevError } from '../errors.js';
import type { SyncConfig } from '../config/schema.js';
import { IgnoreRules } from './ignore.js';
import { scanTree } from './scan.js';
import { FaultLog } from './faults.js';
import { defaultHashCacheFile, HashCacheFile } from './cache-files.js';
import { SyncConnection, type ChangesMessage, type DiffMessage } from './connection.js';
import { DeletionGuard, type MassDeleteInfo } from './guard.js';
import { RecheckQueue, watchFolder, type FolderWatch } from './watcher.js';
import { attemptFailure, backoffDelay, Pause } from './reconnect.js';
import { hashDiffering, planHandshake, sendPipelined, slices } from './handshake.js';
import { fillBatch, planBatch, reconcile, settleDeletes, takePending } from './batch.js';
import { recordPulled, remoteChanges } from './pull.js';
import { forgetUnder, syncedFileCount, type SyncTree } from './tree.js';

// The parts' public names, from where they always were.
export { portForwardTransport, type SyncTransport, type TransportFactory } from './transport.js';
export { defaultHashCacheFile } from './cache-files.js';
export type { MassDeleteInfo } from './guard.js';

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
  /** Where the synced tree appears in the pod (paths too long there are left out); default: the sidecar's root. */
  remoteRoots?: string[];
}

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

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

type FirstSync = { resolve: () => void; reject: (e: Error) => void };

export class SyncSession extends EventEmitter<SyncEvents> {
  private readonly root: string;
  private readonly mode: SyncMode;
  private readonly deleteLocal: boolean;
  private readonly tree: SyncTree;
  private readonly guard: DeletionGuard;
  private readonly cacheFile: HashCacheFile;
  private readonly pause = new Pause();
  private rulesDirty = false;
  private watcher: Promise<FolderWatch> | undefined;
  /** Files read while being written: looked at again once they settle. */
  private readonly rechecks = new RecheckQueue((paths) => {
    for (const p of paths) this.tree.pending.add(p);
    this.scheduleFlush();
  });
  private conn: SyncConnection | undefined;
  private transport: SyncTransport | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private flushing = false;
  private flushScheduled = false;
  private st: SyncState = 'stopped';
  private pod: string | undefined;
  private lastSyncAt: Date | undefined;
  private lastError: SyncStatus['lastError'];
  private counters = { connects: 0, batches: 0, filesSent: 0, bytesSent: 0, filesReceived: 0 };
  private readonly maxBatchFiles: number;
  private readonly maxBatchBytes: number;
  /** Called at the next watcher event (settleDeletes waits for one). */
  private onEvent: (() => void) | undefined;

  constructor(private readonly opts: SyncSessionOptions) {
    super();
    this.root = opts.localRoot;
    this.mode = opts.config?.mode ?? 'send-only';
    this.deleteLocal = this.mode === 'two-way' && (opts.config?.deleteLocal ?? false);
    this.tree = { root: this.root, rules: new IgnoreRules(this.root, opts.config?.ignore ?? []),
      faults: new FaultLog((m, h) => this.report(m, h), opts.remoteRoots),
      cache: new HashCache(), synced: new Map(), pending: new Set() };
    this.guard = new DeletionGuard({ confirm: opts.confirmMassDelete, min: opts.massDeleteMin, report: (m, h) => this.report(m, h) });
    this.maxBatchFiles = opts.maxBatchFiles ?? 2000;
    this.maxBatchBytes = opts.maxBatchBytes ?? 32 * 1024 * 1024;
    this.cacheFile = new HashCacheFile(opts.hashCacheFile === false ? undefined : (opts.hashCacheFile ?? defaultHashCacheFile(this.root)), this.root);
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
      syncedFiles: syncedFileCount(this.tree),
      pendingChanges: this.tree.pending.size,
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
    await this.cacheFile.load(this.tree.cache);
    let first!: FirstSync;
    const firstSync = new Promise<void>((resolve, reject) => (first = { resolve, reject }));
    this.loop = this.run(first);
    await firstSync;
  }

  /** Resolves once local changes are watched (the watcher starts after the first sync). */
  async whenWatching(): Promise<void> {
    await this.watcher;
  }

  /** Stops watching and closes the connection. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.pause.wake();
    this.conn?.close();
    const watcher = await this.watcher?.catch(() => undefined);
    await watcher?.close();
    this.rechecks.stop();
    this.tree.rules.close();
    this.watcher = undefined;
    await this.loop?.catch(() => undefined);
    this.loop = undefined;
    this.st = 'stopped';
    await this.cacheFile.flush();
    await this.cacheFile.save(this.tree.cache, (rel) => this.tree.synced.has(rel));
  }

  private setState(s: SyncState): void {
    this.st = s;
  }

  /**
   * The watcher starts once the first sync is done: its own walk of the tree (an lstat per
   * file) would compete with the sync for the CPU. When it is ready, one reconcile pass (a
   * re-scan against what was synced; cached hashes, so no reads) catches whatever changed
   * since the handshake's scan.
   */
  private startWatcher(): void {
    const changed = (rel: string) => {
      this.tree.pending.add(rel);
      this.scheduleFlush();
    };
    this.watcher = watchFolder(this.root, this.tree.rules, {
      changed: (rel, event) => {
        this.tree.pending.add(rel);
        if (event) this.onEvent?.();
        this.scheduleFlush();
      },
      rulesChanged: () => (this.rulesDirty = true),
      gitChanged: () => this.rulesDirty && this.scheduleFlush(true),
      recheck: (paths) => paths.forEach(changed),
      error: (message) => this.report(message),
      unreadable: (rel, e) => this.tree.faults.readFailed(rel, e), // told once, with the scan's
      isSyncedFile: (rel) => this.tree.synced.get(rel)?.t === 'f',
    });
    this.watcher.then(() => {
      // the index, .git/info/exclude, core.excludesFile: git replaces them by rename
      this.tree.rules.watch(() => {
        this.rulesDirty = true;
        this.scheduleFlush(true);
      });
      this.rulesDirty = true;
      this.scheduleFlush();
    }, () => undefined);
  }

  private async token(): Promise<string | undefined> {
    if (this.opts.token) return this.opts.token();
    return this.opts.cluster ? readSyncToken(this.opts.cluster, this.opts.namespace) : undefined;
  }

  /** The connection loop: connect, handshake, watch until the connection drops, back off, again. */
  private async run(first: FirstSync): Promise<void> {
    let failures = 0;
    let firstDone = false;
    const backoff = { initialMs: this.opts.backoff?.initialMs ?? 250, maxMs: this.opts.backoff?.maxMs ?? 5000 };
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
        conn = new SyncConnection(socket, this.root, (rel, t) => !this.tree.rules.ignores(rel, t === 'd'));
        const closed = new Promise<Error | undefined>((resolve) => conn!.once('close', resolve));
        conn.on('changes', (msg) => void this.onRemoteChanges(conn!, msg));
        conn.on('pulled', (result) => void this.onPulled(result));
        this.conn = conn;
        // stop() during the connect found no connection to close: close this one (finally)
        if (this.stopping) break;
        await conn.hello(this.mode, undefined, await this.token());
        await this.handshake(conn);
        failures = 0;
        if (!firstDone) {
          firstDone = true;
          this.startWatcher();
          first.resolve();
        }
        this.scheduleFlush();
        const err = await closed;
        if (this.stopping) break;
        this.report(`lost the connection to the sync sidecar in ${this.pod}: ${errorText(err)}`, 'kdev reconnects by itself; no change is lost.');
      } catch (e) {
        if (this.stopping) break;
        failures++;
        const failure = attemptFailure(e);
        this.report(failure.message, failure.hint);
        if (failure.fatal) {
          if (!firstDone) first.reject(failure.fatal);
          break;
        }
      } finally {
        await this.disconnect(conn);
      }
      if (this.stopping) break;
      await this.pause.wait(backoffDelay(failures, backoff));
    }
    if (!firstDone) first.reject(new KdevError('FAILED', 'sync stopped before the first sync finished'));
    this.setState('stopped');
  }

  private async disconnect(conn: SyncConnection | undefined): Promise<void> {
    conn?.close();
    if (this.conn === conn) this.conn = undefined;
    const t = this.transport;
    this.transport = undefined;
    await t?.close().catch(() => undefined);
  }

  /** The initial sync after each connect: manifest, plan, send in slices, pull (two-way). */
  private async handshake(conn: SyncConnection): Promise<void> {
    this.setState('initial-sync');
    this.tree.pending.clear();
    this.rulesDirty = false;
    await this.tree.rules.reload((m, h) => this.report(m, h));
    // no file is read here: hashes come from the cache; the sidecar says what it lacks
    const stats = new Map<string, Stats>();
    const local = await scanTree(this.root, this.tree.rules, this.tree.cache, '', { hash: false, stats, faults: this.tree.faults });
    // send-only into an empty root: no manifest needed, everything is missing (two-way
    // sends one anyway: it starts the sidecar's watcher)
    let diff: DiffMessage =
      conn.remoteEmpty && this.mode === 'send-only' ? { t: 'diff', missing: [...local.keys()], differ: [], extra: [] } : await conn.manifest([...local.values()]);
    diff = await hashDiffering(this.tree, local, diff, this.mode);
    const base = this.tree.synced;
    const plan = planHandshake(local, diff, base, this.mode, (p, dir) => this.tree.rules.ignores(p, dir));
    const known = Math.max(plan.remoteFiles, [...base.values()].filter((e) => e.t !== 'd').length);
    const deletes = (await this.guard.allow(plan.toDelete, base, known, 'remote')) ? plan.toDelete : [];
    const sizeOf = (p: string) => local.get(p)?.s ?? 0;
    const progress = { files: 0, bytes: 0, totalFiles: plan.toSend.length, totalBytes: plan.toSend.reduce((n, p) => n + sizeOf(p), 0) };
    this.emit('initial-sync', { ...progress });
    const batches = slices(plan.toSend, deletes, { maxFiles: this.maxBatchFiles, maxBytes: this.maxBatchBytes, sizeOf });
    const sent = new Map<object, Map<string, Entry>>();
    await sendPipelined(
      batches,
      async (b) => {
        const entries = new Map<string, Entry>();
        sent.set(b, entries);
        const batch = await conn.sendBatch(b.deletes, (sender) => fillBatch(sender, this.tree, b.paths, entries, (m, h) => this.report(m, h), (rel) => this.rechecks.add(rel), stats));
        this.counters.batches++;
        return batch;
      },
      (b, ack) => {
        for (const [p, e] of sent.get(b)!) plan.next.set(p, e);
        progress.files += b.paths.length;
        progress.bytes += ack.bytes;
        this.counters.filesSent += ack.files;
        this.counters.bytesSent += ack.bytes;
        this.emit('initial-sync', { ...progress });
      },
    );
    this.tree.synced = plan.next;
    this.lastSyncAt = new Date();
    // written in the background: the sync is done, and stop() waits for the write
    this.cacheFile.saveLater(this.tree.cache, (rel) => local.has(rel));
    if (plan.toPull.length > 0) await conn.pull(plan.toPull);
    this.counters.connects++;
    this.setState('watching');
    this.emit('watching', { files: this.status().syncedFiles });
    this.emit('idle', { lastSyncAt: this.lastSyncAt });
  }

  private scheduleFlush(force = false): void {
    if (this.flushScheduled || this.flushing || !this.conn || this.st === 'initial-sync' || this.st === 'connecting') return;
    if (!force && this.tree.pending.size === 0 && !this.rulesDirty) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      void this.flush();
    });
  }

  /** Sends batches while changes are pending; one batch on the wire at a time. */
  private async flush(): Promise<void> {
    const conn = this.conn;
    if (!conn || conn.closed) return;
    this.flushing = true;
    let sentSomething = false;
    try {
      while (!conn.closed && conn === this.conn) {
        if (this.rulesDirty) {
          this.rulesDirty = false;
          const watch = await this.watcher?.catch(() => undefined);
          await reconcile(this.tree, (m, h) => this.report(m, h), (rel) => watch?.add(rel));
        }
        if (this.tree.pending.size === 0) break;
        if (await this.sendNextBatch(conn)) sentSomething = true;
      }
    } catch (e) {
      if (!conn.closed) this.report(`sync batch failed: ${errorText(e)}`, 'kdev retries on the next change.');
    } finally {
      this.flushing = false;
      if (conn === this.conn && !conn.closed) {
        if (sentSomething && this.tree.pending.size === 0) {
          this.setState('idle');
          this.emit('idle', { lastSyncAt: this.lastSyncAt! });
        } else if (this.st === 'syncing') this.setState('idle');
        if (this.tree.pending.size > 0 || this.rulesDirty) this.scheduleFlush();
      }
    }
  }

  /** Plans, guards and sends one batch of pending changes; false when there was nothing to send. */
  private async sendNextBatch(conn: SyncConnection): Promise<boolean> {
    const planned = await planBatch(this.tree, takePending(this.tree, this.maxBatchFiles), this.maxBatchBytes);
    const items = planned.items;
    let deletes = planned.deletes;
    if (deletes.length > 0) deletes = await settleDeletes(this.tree, deletes, (ms) => this.moreEvents(ms));
    if (deletes.length === 0 && items.length === 0) return false;
    let allowed = deletes;
    if (!(await this.guard.allow(deletes, this.tree.synced, syncedFileCount(this.tree), 'remote', true))) {
      allowed = [];
      forgetUnder(this.tree, deletes);
    }
    if (allowed.length === 0 && items.length === 0) return false;
    this.setState('syncing');
    this.emit('syncing', { files: items.length + allowed.length });
    const sent = new Map<string, Entry>();
    const { applied } = await conn.sendBatch(allowed, (sender) => fillBatch(sender, this.tree, items, sent, (m, h) => this.report(m, h), (rel) => this.rechecks.add(rel)));
    const ack = await applied;
    if (allowed.length > 0) this.guard.touch(); // the burst goes on from here
    this.counters.batches++;
    this.counters.filesSent += ack.files;
    this.counters.bytesSent += ack.bytes;
    forgetUnder(this.tree, allowed);
    for (const [p, e] of sent) this.tree.synced.set(p, e);
    this.lastSyncAt = new Date();
    return true;
  }

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

  private async onRemoteChanges(conn: SyncConnection, msg: ChangesMessage): Promise<void> {
    try {
      const { deleted, pull } = await remoteChanges(this.tree, msg, { deleteLocal: this.deleteLocal, guard: this.guard });
      if (deleted.length > 0) this.emit('received', { files: 0, deletes: deleted.length });
      if (pull.length > 0 && !conn.closed) await conn.pull(pull);
    } catch (e) {
      this.report(`applying remote changes: ${errorText(e)}`);
    }
  }

  private async onPulled(result: ApplyResult): Promise<void> {
    await recordPulled(this.tree, result);
    this.counters.filesReceived += result.items.length;
    this.lastSyncAt = new Date();
    this.emit('received', { files: result.items.length, deletes: result.deletes.length });
    this.emit('idle', { lastSyncAt: this.lastSyncAt });
  }
}

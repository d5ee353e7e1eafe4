// The dev session of one UI process: the only API the CLI and the extension call for dev
// work. A DevLoop holds the workloads a developer works on (resolve → start → attach → run /
// debug / terminal / logs / forward → detach / end), reports everything on one event stream,
// and makes what it holds visible to every other kdev process through the registry.
import type { Cluster } from '../kube/client.js';
import { ForwardManager } from '../session/forwards.js';
import type { SyncSession } from '../sync/session.js';
import type { AppEvent, AppEventHandler } from './events.js';
import { Registration, type SessionRecord, type SyncRecord } from './registry.js';
import { decide, resolveDev, type ResolveRequest } from './resolve.js';
import { configSchema } from '../config/schema.js';
import { DevWorkload } from './workload.js';

export interface DevLoopOptions {
  /** Which UI runs it ("cli", "vscode"); shown to other processes. */
  ui: string;
  /** What this process is, e.g. "kdev dev start deployment/web -n shop". */
  command: string;
}

/** What the loop holds for one workload while attached. */
export interface Holding {
  cluster: Cluster;
  workload: string;
  namespace: string;
  forwards: ForwardManager;
  sync?: SyncSession;
  /** Releases the registry's claim on the workload's sidecar. */
  releaseSync?: () => Promise<void>;
  stopLease?: () => void;
  run?: string;
}

const keyOf = (cluster: Cluster, namespace: string, workload: string) => `${cluster.server}|${namespace}|${workload}`;

function syncRecord(sync: SyncSession): SyncRecord {
  const s = sync.status();
  return {
    state: s.state,
    pod: s.pod,
    localRoot: s.localRoot,
    mode: s.mode,
    syncedFiles: s.syncedFiles,
    lastSyncAt: s.lastSyncAt?.toISOString(),
    lastError: s.lastError ? { message: s.lastError.message, hint: s.lastError.hint, at: s.lastError.at.toISOString() } : undefined,
  };
}

export class DevLoop {
  private readonly listeners = new Set<AppEventHandler>();
  private readonly held = new Map<string, Holding>();
  readonly registration: Registration;

  constructor(readonly options: DevLoopOptions) {
    this.registration = new Registration({
      ui: options.ui,
      command: options.command,
      sessions: () => this.status(),
      stopForwards: (port) => this.stopForwards(port),
    });
  }

  /** Subscribes to the event stream; returns the unsubscribe function. */
  on(listener: AppEventHandler): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** @internal used by DevWorkload. */
  emit(event: AppEvent): void {
    for (const l of this.listeners) l(event);
    this.registration.changed();
  }

  /** Applies THE rule (see resolve.ts) and returns the workload to act on. */
  async resolve(cluster: Cluster, request: ResolveRequest): Promise<DevWorkload> {
    const resolved = await resolveDev(cluster, request);
    const w = new DevWorkload(this, cluster, resolved);
    this.emit({ type: 'resolved', resolved, workload: resolved.workload, namespace: cluster.namespace });
    return w;
  }

  /**
   * A workload by name only, without reading any dev config (for `end`, which must work
   * when the local config is gone or broken).
   */
  named(cluster: Cluster, workload: string): DevWorkload {
    const resolved = decide({ request: { workload }, local: { root: process.cwd(), config: configSchema.parse({}) } });
    return new DevWorkload(this, cluster, resolved);
  }

  /** @internal What the loop holds for a workload, created on first use. */
  holding(cluster: Cluster, workload: string): Holding {
    const key = keyOf(cluster, cluster.namespace, workload);
    let h = this.held.get(key);
    if (!h) {
      const namespace = cluster.namespace;
      h = {
        cluster,
        workload,
        namespace,
        forwards: new ForwardManager(cluster, { onEvent: (e) => this.emit({ ...e, workload, namespace }) }),
      };
      this.held.set(key, h);
    }
    return h;
  }

  /** @internal */
  peek(cluster: Cluster, workload: string): Holding | undefined {
    return this.held.get(keyOf(cluster, cluster.namespace, workload));
  }

  /** Stops the sync, lease renewal, forwards and run stream of a workload (dev mode stays). */
  async detach(cluster: Cluster, workload: string): Promise<boolean> {
    const key = keyOf(cluster, cluster.namespace, workload);
    const h = this.held.get(key);
    if (!h) return false;
    this.held.delete(key);
    h.stopLease?.();
    await h.sync?.stop();
    await h.releaseSync?.();
    await h.forwards.stopAll();
    this.emit({ type: 'detached', workload: h.workload, namespace: h.namespace });
    return true;
  }

  /** What this process holds, per workload (the same records other processes see). */
  status(): SessionRecord[] {
    return [...this.held.values()].map((h) => ({
      namespace: h.namespace,
      workload: h.workload,
      server: h.cluster.server,
      sync: h.sync ? syncRecord(h.sync) : undefined,
      forwards: h.forwards.list(),
      run: h.run,
    }));
  }

  /** The sync session of a workload held here (for a UI's detail view). */
  syncOf(cluster: Cluster, workload: string): SyncSession | undefined {
    return this.peek(cluster, workload)?.sync;
  }

  async stopForwards(localPort: number | null): Promise<number[]> {
    const stopped: number[] = [];
    for (const h of this.held.values()) {
      const ports = localPort === null ? h.forwards.list().map((f) => f.localPort) : [localPort];
      for (const p of ports) if (await h.forwards.stop(p)) stopped.push(p);
    }
    if (stopped.length > 0) this.registration.changed();
    return stopped;
  }

  /** Detaches every workload and leaves the registry. */
  async close(): Promise<void> {
    for (const h of [...this.held.values()]) await this.detach(h.cluster, h.workload);
    await this.registration.close();
  }
}

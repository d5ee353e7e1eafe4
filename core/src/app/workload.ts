// One workload of a DevLoop, resolved once (resolve.ts) and then acted on: start, attach,
// run, debug, terminal, logs, forward, detach, end. Every step reports on the loop's event
// stream; what is held while attached (sync, lease, forwards) is the loop's, so that the
// registry shows it to other processes and a second attach to the same sidecar is refused.
import type { Readable, Writable } from 'node:stream';
import { KdevError } from '../errors.js';
import type { Cluster } from '../kube/client.js';
import { kubeError } from '../kube/errors.js';
import { endDevMode, routeTarget, startDevMode, type DevSession, type EndResult } from '../devmode/engine.js';
import { parseWorkloadRef } from '../devmode/kinds.js';
import { frontServices } from '../route/takeover.js';
import type { FrontService } from '../route/spec.js';
import { useEnvironment } from '../env/idle.js';
import { currentDevPod, keepLease } from '../devmode/attach.js';
import { SIDECAR_CONTAINER } from '../sync/sidecar.js';
import { SyncSession, type MassDeleteInfo } from '../sync/session.js';
import { parsePortPair, type ForwardInfo } from '../session/forwards.js';
import { resolveDevTarget, resolveWorkloadTarget, waitReadyPod, type SessionTarget } from '../session/target.js';
import { followRun, noCommand, startRun, stopRun, type RunStatus } from '../session/run.js';
import { startDebug, type DebugSession } from '../session/debug.js';
import { openTerminal, PLAIN_SHELL } from '../session/terminal.js';
import { streamLogs } from '../session/logs.js';
import type { AppEvent } from './events.js';
import type { DevLoop, Holding } from './loop.js';
import { listSessions, type ProcessRecord, type SessionRecord } from './registry.js';
import type { Resolved } from './resolve.js';

type Emitted = AppEvent extends infer E ? (E extends AppEvent ? Omit<E, 'workload' | 'namespace'> : never) : never;

export interface StartRequest {
  /** An attach follows (default true): refused up front, changing nothing, when another process syncs the workload. */
  attach?: boolean;
  mode?: 'replace' | 'duplicate';
  /** Duplicate mode: route the requests carrying `[<header>=]<value>` (true: x-kdev-route = my user name) to my copy. */
  route?: string | true;
  force?: boolean;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface AttachRequest {
  /** Sync the resolved local folder (default true). */
  sync?: boolean;
  /** Open the dev config's port-forwards (default true). */
  forwards?: boolean;
  /** Asked before a batch that deletes most of the synced files; without it they are held back. */
  confirmMassDelete?: (info: MassDeleteInfo) => Promise<boolean>;
}

export interface RunRequest {
  /** Instead of the dev config's run command. */
  command?: string;
  /** false: not restarted after each sync (default: the config's restartOnSync). */
  restart?: boolean;
  /** Sync the local folder while running (default true; skipped when another process syncs it). */
  sync?: boolean;
  /** Open the dev config's port-forwards (default true). */
  forwards?: boolean;
}

export interface RunHandle {
  target: SessionTarget;
  command: string;
  restartOnSync: boolean;
  status: RunStatus;
}

export class DevWorkload {
  constructor(
    private readonly loop: DevLoop,
    readonly cluster: Cluster,
    readonly resolved: Resolved,
  ) {}

  get workload(): string {
    return this.resolved.workload;
  }

  get namespace(): string {
    return this.cluster.namespace;
  }

  private emit(e: Emitted): void {
    this.loop.emit({ ...e, workload: this.workload, namespace: this.namespace } as AppEvent);
  }

  /**
   * Dev work is use: the namespace's environment (if it is one) records it, and wakes first
   * when it was put to sleep (env sleep, env gc --sleep-idle), its progress as info events.
   */
  private async wakeEnvironment(): Promise<void> {
    const r = await useEnvironment(this.cluster, this.namespace, {
      onProgress: (e) => {
        if (e.type === 'workload' && e.state !== 'applying') this.emit({ type: 'info', message: `waking environment ${this.namespace}: ${e.kind.toLowerCase()}/${e.name} ${e.message ?? e.state}` });
      },
    });
    if (r.woke) this.emit({ type: 'info', message: `environment ${this.namespace} was asleep and is awake again` });
  }

  /**
   * The Services in front of the workload (a Service kdev switched to its router counts;
   * kdev's own do not): where a routed duplicate can be reached. Empty: no routed start.
   */
  async frontServices(): Promise<FrontService[]> {
    return frontServices(this.cluster, routeTarget(parseWorkloadRef(this.workload), this.namespace));
  }

  /** Puts the workload in dev mode with the resolved image, container, workDir, env, resources. */
  async start(req: StartRequest = {}): Promise<DevSession> {
    const { entry } = this.resolved;
    if (req.attach !== false) {
      const holder = await this.syncedElsewhere();
      if (holder) throw this.loop.registration.inUse(this.namespace, this.workload, holder);
    }
    await this.wakeEnvironment();
    const session = await startDevMode(this.cluster, {
      workload: this.workload,
      container: this.resolved.container,
      image: this.resolved.image,
      workDir: this.resolved.workDir,
      env: entry?.env,
      resources: entry?.resources,
      mode: req.mode,
      route: req.route,
      force: req.force,
      timeoutMs: req.timeoutMs,
      settleMs: entry?.settle === undefined ? undefined : entry.settle * 1000,
      signal: req.signal,
      onEvent: (e) => this.emit(e),
    });
    this.emit({ type: 'started', session });
    return session;
  }

  /**
   * Sync + lease renewal + the config's port-forwards, each following pod replacements.
   * Refused (CONFLICT, naming the holder) when another process syncs into the same sidecar.
   */
  async attach(session: DevSession, req: AttachRequest = {}): Promise<Holding> {
    const h = this.loop.holding(this.cluster, this.workload);
    await this.loop.registration.open();
    try {
      if (req.sync !== false) {
        const cluster = this.cluster.inNamespace(session.namespace);
        await this.startSync(h, () => currentDevPod(cluster, session), req.confirmMassDelete);
      }
      h.stopLease = keepLease(this.cluster, session, () => {
        this.emit({ type: 'lease-lost', message: `the dev lease on ${session.workload} is no longer yours (taken over, or dev mode ended): sync stopped` });
        void this.detach();
      });
      if (req.forwards !== false) await this.configForwards(h, { namespace: session.namespace, podSelector: session.podSelector });
    } catch (err) {
      await this.detach();
      throw err;
    }
    this.emit({ type: 'attached', localRoot: h.sync ? this.resolved.localRoot : undefined, forwards: h.forwards.size });
    return h;
  }

  /** Claims the sidecar in the registry, then syncs the resolved folder into it. */
  private async startSync(h: Holding, resolvePod: () => Promise<string>, confirmMassDelete?: AttachRequest['confirmMassDelete']): Promise<void> {
    h.releaseSync = await this.loop.registration.claimSync(this.cluster.server, this.namespace, this.workload);
    const cfg = this.resolved.entry?.sync;
    const sync = new SyncSession({
      cluster: this.cluster.inNamespace(this.namespace),
      namespace: this.namespace,
      localRoot: this.resolved.localRoot,
      config: { mode: cfg?.mode ?? 'send-only', ignore: cfg?.ignore ?? [], deleteLocal: cfg?.deleteLocal ?? false },
      resolvePod,
      confirmMassDelete,
    });
    h.sync = sync;
    const state = (batchFiles?: number) => this.emit({ type: 'sync', state: sync.status().state, status: sync.status(), batchFiles });
    sync.on('connecting', () => state());
    sync.on('initial-sync', (e) => this.emit({ type: 'sync-progress', ...e }));
    sync.on('watching', () => state());
    sync.on('syncing', (e) => state(e.files));
    sync.on('idle', () => state());
    sync.on('error', (e) => this.emit({ type: 'sync-error', message: e.message, hint: e.hint }));
    await sync.start();
    this.loop.registration.changed();
  }

  /** The dev config's ports, forwarded to the current pod of the selector. A taken port is reported, not fatal. */
  private async configForwards(h: Holding, target: { namespace: string; podSelector?: string; pod?: string }): Promise<void> {
    for (const spec of this.resolved.entry?.ports ?? []) {
      try {
        await h.forwards.add({ ...target, podSelector: target.podSelector || undefined, workload: this.workload }, parsePortPair(spec));
      } catch (err) {
        if (!(err instanceof KdevError) || err.code !== 'CONFLICT') throw err;
        this.emit({ type: 'forward-error', localPort: parsePortPair(spec).localPort, remotePort: parsePortPair(spec).remotePort, message: `${err.message}${err.hint ? ` (${err.hint})` : ''}` });
      }
    }
  }

  /** Port-forwards to the workload (its dev pod when in dev mode), following pod replacements. Default: the config's ports. */
  async forward(specs: (string | number)[] = [], opts: { address?: string; /** this pod only, not the workload's current one */ pod?: string } = {}): Promise<ForwardInfo[]> {
    const list = specs.length > 0 ? specs : (this.resolved.entry?.ports ?? []);
    if (list.length === 0) {
      throw new KdevError('INVALID', 'no ports to forward', `Name some (kdev port-forward add 8080:80) or list them under ports: in .kdev.yaml for ${this.workload}.`);
    }
    const pairs = list.map(parsePortPair);
    const t = opts.pod ? { namespace: this.namespace, pod: opts.pod, podSelector: '', workload: this.workload } : await resolveWorkloadTarget(this.cluster, this.workload, { timeoutMs: 60_000 });
    const h = this.loop.holding(this.cluster, this.workload);
    await this.loop.registration.open();
    const added: ForwardInfo[] = [];
    try {
      for (const p of pairs) added.push(await h.forwards.add({ namespace: t.namespace, pod: t.pod, podSelector: t.podSelector || undefined, workload: t.workload }, p, { address: opts.address }));
    } catch (err) {
      for (const f of added) await h.forwards.stop(f.localPort);
      throw err;
    }
    this.loop.registration.changed();
    return added;
  }

  /** The dev container's target (pod, container, workDir), waiting for a Ready dev pod. */
  devTarget(container?: string): Promise<SessionTarget> {
    return resolveDevTarget(this.cluster, this.workload, { container: container ?? this.resolved.container });
  }

  /**
   * Runs the dev config's run command (or `req.command`) under the supervisor, restarted
   * after each sync; syncs the local folder meanwhile unless another process already does.
   */
  async run(req: RunRequest = {}): Promise<RunHandle> {
    const command = (req.command ?? this.resolved.entry?.run)?.trim();
    if (!command) throw noCommand('run', this.workload);
    const target = await this.devTarget();
    const h = this.loop.holding(this.cluster, this.workload);
    await this.loop.registration.open();
    try {
      if (req.sync !== false && !h.sync) await this.syncForRun(h, target);
      if (req.forwards !== false && h.forwards.size === 0) await this.configForwards(h, target);
      h.run = command;
      const restartOnSync = req.restart !== false && (this.resolved.entry?.restartOnSync ?? true);
      const status = await startRun(this.cluster, target, { command, restartOnSync, onEvent: (e) => this.emit(e) });
      return { target, command, restartOnSync, status };
    } catch (err) {
      await this.detach();
      throw err;
    }
  }

  /** A sync for `run` when the dev pod has the sidecar and no process syncs it yet. */
  private async syncForRun(h: Holding, target: SessionTarget): Promise<void> {
    if (!(await this.hasSidecar(target))) {
      this.emit({ type: 'info', message: `pod/${target.pod} has no sync sidecar: files reach it only through another sync` });
      return;
    }
    const other = await this.syncedElsewhere();
    if (other) {
      const s = other.sessions.find((x) => x.workload === target.workload && x.sync);
      this.emit({ type: 'sync-elsewhere', pid: other.pid, ui: other.ui, localRoot: s?.sync?.localRoot });
      return;
    }
    await this.startSync(h, async () => (await waitReadyPod(this.cluster, target.podSelector, 120_000, `the dev pod of ${target.workload}`)).metadata!.name!);
  }

  /** The other kdev process that syncs this workload, if any (the registry). */
  private async syncedElsewhere(): Promise<ProcessRecord | undefined> {
    const mine = (s: SessionRecord) => s.sync !== undefined && s.server === this.cluster.server && s.namespace === this.namespace && s.workload === this.workload;
    return (await listSessions()).find((p) => p.pid !== process.pid && p.sessions.some(mine));
  }

  private async hasSidecar(target: SessionTarget): Promise<boolean> {
    const pod = await this.cluster.core.readNamespacedPod({ name: target.pod, namespace: target.namespace }).catch((err: unknown) => {
      throw kubeError(err, `reading pod/${target.pod}`, this.cluster.server);
    });
    return pod.spec?.containers.some((c) => c.name === SIDECAR_CONTAINER) ?? false;
  }

  /** Streams the run command's output (the dev container's log) from `since` on, until the signal aborts. */
  followRun(target: SessionTarget, out: Writable, opts: { since?: number; signal?: AbortSignal } = {}): Promise<void> {
    return followRun(this.cluster, target, out, opts);
  }

  async stopRun(target?: SessionTarget): Promise<RunStatus> {
    const t = target ?? (await this.devTarget());
    const status = await stopRun(this.cluster, t);
    const h = this.loop.peek(this.cluster, this.workload);
    if (h) h.run = undefined;
    this.emit({ type: 'run', state: 'stopped', command: '', message: `run command stopped (${status.state})` });
    return status;
  }

  /** Starts the dev config's debug command, forwards its port, waits until the debugger answers. */
  async debug(opts: { timeoutMs?: number; restart?: boolean } = {}): Promise<DebugSession & { target: SessionTarget }> {
    const debug = this.resolved.entry?.debug;
    if (!debug?.command.trim()) throw noCommand('debug', this.workload);
    const target = await this.devTarget();
    const h = this.loop.holding(this.cluster, this.workload);
    await this.loop.registration.open();
    if (h.forwards.size === 0) await this.configForwards(h, target);
    h.run = debug.command;
    const session = await startDebug(this.cluster, target, {
      debug,
      forwards: h.forwards,
      localRoot: this.resolved.localRoot,
      timeoutMs: opts.timeoutMs,
      restartOnSync: opts.restart ?? this.resolved.entry?.restartOnSync,
      onEvent: (e) => this.emit(e),
    });
    return Object.assign(session, { target });
  }

  /** An interactive shell (or `command`) in the dev container; resolves with its exit code. */
  async terminal(io: { stdin: Readable; stdout: Writable; stderr?: Writable; tty: boolean; container?: string; command?: string[]; target?: SessionTarget }): Promise<number> {
    const t = io.target ?? (await this.devTarget(io.container));
    return openTerminal(this.cluster, t.pod, t.container, {
      namespace: t.namespace,
      stdin: io.stdin,
      stdout: io.stdout,
      stderr: io.stderr,
      tty: io.tty,
      command: io.command ?? (io.tty ? undefined : PLAIN_SHELL),
    });
  }

  /** The container log of the workload (its dev container when in dev mode). */
  async logs(out: Writable, opts: { follow?: boolean; previous?: boolean; container?: string; tailLines?: number; since?: number; signal?: AbortSignal; target?: SessionTarget } = {}): Promise<SessionTarget> {
    const t = opts.target ?? (await resolveWorkloadTarget(this.cluster, this.workload, { container: opts.container }));
    await streamLogs(this.cluster, t.pod, t.container, out, { namespace: t.namespace, follow: opts.follow, previous: opts.previous, tailLines: opts.tailLines, since: opts.since, signal: opts.signal });
    return t;
  }

  /** Stops what this process holds for the workload; dev mode stays. */
  detach(): Promise<boolean> {
    return this.loop.detach(this.cluster, this.workload);
  }

  /** Detaches, then restores the workload exactly as it was. */
  async end(opts: { force?: boolean; /** every developer's copy and the routing */ all?: boolean; timeoutMs?: number } = {}): Promise<EndResult> {
    await this.detach();
    const result = await endDevMode(this.cluster, { workload: this.workload, force: opts.force, all: opts.all, timeoutMs: opts.timeoutMs, onEvent: (e) => this.emit(e) });
    this.emit({ type: 'ended', result });
    return result;
  }
}

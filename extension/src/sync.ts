// The file sync of the workloads this window attached (core's DevLoop: sync + lease renewal +
// the config's port-forwards) and its status bar item: "synced 2s ago", "syncing 34 files",
// or the error; a click shows every sync on the machine (core's registry), with the hint.
// The item is fed by the loop's events and the registry's pushes; a one-second timer only
// re-renders "2s ago".
import * as vscode from 'vscode';
import { since, watchSessions, type AppEvent, type DevLoop, type DevSession, type DevWorkload, type MassDeleteInfo, type ProcessRecord, type SyncSession, type SyncStatus } from '@kdev/core';
import type { Log } from './output.js';

export interface Attached {
  key: string;
  session: DevSession;
  workload: DevWorkload;
  sync: SyncSession;
  localRoot: string;
  /** Files in the batch being sent (from the last 'syncing' event). */
  syncingFiles: number;
}

export class Syncs implements vscode.Disposable {
  private readonly attached = new Map<string, Attached>();
  readonly item = vscode.window.createStatusBarItem('kdev.sync', vscode.StatusBarAlignment.Left, 60);
  private ticker: NodeJS.Timeout | undefined;
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires after each sync event, once the status bar shows it. */
  readonly onDidChange = this.changed.event;
  /** The syncs of other kdev processes (the CLI, other windows), as the registry pushes them. */
  private others: ProcessRecord[] = [];
  private readonly registry = watchSessions((all) => {
    this.others = all.filter((p) => p.pid !== process.pid);
    this.render();
  });
  private readonly off: () => void;

  constructor(
    private readonly loop: DevLoop,
    private readonly log: Log,
  ) {
    this.item.name = 'kdev sync';
    this.item.command = 'kdev.syncDetails';
    this.off = loop.on((e) => this.onEvent(e));
  }

  get(key: string): Attached | undefined {
    return this.attached.get(key);
  }

  private byWorkload(e: AppEvent): Attached | undefined {
    return [...this.attached.values()].find((a) => a.session.workload === e.workload && a.session.namespace === e.namespace);
  }

  private onEvent(e: AppEvent): void {
    const a = this.byWorkload(e);
    if (!a) return;
    const label = `${a.session.workload}:${a.session.workDir}`;
    if (e.type === 'sync' && e.state === 'syncing') {
      a.syncingFiles = e.batchFiles ?? 0;
      this.log.info(`sync ${label}: ${a.syncingFiles} file(s)`);
    } else if (e.type === 'sync' && e.state === 'connecting') this.log.info(`sync ${label}: connecting${e.status.pod ? ` to ${e.status.pod}` : ''} (attempt ${e.status.connects + 1})`);
    else if (e.type === 'sync-progress' && e.files === e.totalFiles) this.log.info(`sync ${label}: initial sync ${e.totalFiles} files, ${e.totalBytes} bytes`);
    else if (e.type === 'sync-error') this.log.channel.error(`sync ${label}: ${e.message}${e.hint ? ` — ${e.hint}` : ''}`);
    else if (e.type === 'lease-lost') {
      this.log.warn(e.message);
      void vscode.window.showWarningMessage(`kdev: ${e.message}`);
      this.attached.delete(a.key);
    } else if (e.type === 'forward' || e.type === 'forward-error') this.log.info(`forward ${a.session.workload}: ${e.message}`);
    if (e.type.startsWith('sync') || e.type === 'lease-lost') this.render();
  }

  /** Attaches the window to the session: sync of the resolved folder, lease renewal, the config's forwards. */
  async attach(key: string, w: DevWorkload, session: DevSession): Promise<Attached> {
    await this.detach(key);
    this.log.info(`sync ${w.resolved.localRoot} → ${session.workload}:${session.workDir} (${w.resolved.entry?.sync.mode ?? 'send-only'})`);
    this.ticker ??= setInterval(() => this.render(false), 1000);
    const held = await w.attach(session, { confirmMassDelete: (info) => this.confirmMassDelete(session, info) });
    const a: Attached = { key, session, workload: w, sync: held.sync!, localRoot: w.resolved.localRoot, syncingFiles: 0 };
    this.attached.set(key, a);
    this.render();
    return a;
  }

  async detach(key: string): Promise<void> {
    const a = this.attached.get(key);
    if (!a) return;
    this.attached.delete(key);
    await a.workload.detach();
    this.log.info(`sync of ${a.session.workload} stopped`);
    if (this.attached.size === 0 && this.ticker) {
      clearInterval(this.ticker);
      this.ticker = undefined;
    }
    this.render();
  }

  private async confirmMassDelete(session: DevSession, info: MassDeleteInfo): Promise<boolean> {
    const where = info.side === 'remote' ? 'in the container' : 'locally';
    const choice = await vscode.window.showWarningMessage(
      `kdev: a sync batch would delete ${info.deletes} of ${info.total} synced files ${where} (${session.workload}: ${info.sample.slice(0, 3).join(', ')}${info.deletes > 3 ? ', …' : ''}).`,
      'Delete Them',
      'Hold Back',
    );
    return choice === 'Delete Them';
  }

  /** A short state for the tree: "synced", "syncing 3 files", "sync error", "synced by pid 123 (cli)"... */
  label(key: string): string | undefined {
    const a = this.attached.get(key);
    if (!a) {
      // The key is context/namespace/kind/name (a context name may hold slashes).
      const [namespace, kind, name] = key.split('/').slice(-3);
      const workload = `${kind}/${name}`;
      const other = this.others.find((p) => p.sessions.some((s) => s.sync && s.namespace === namespace && s.workload === workload));
      return other ? `synced by pid ${other.pid} (${other.ui})` : undefined;
    }
    const s = a.sync.status();
    if (s.lastError && (!s.lastSyncAt || s.lastError.at > s.lastSyncAt)) return 'sync error';
    return Syncs.text(s, a.syncingFiles)
      .replace(/^\$\([^)]*\) kdev: /, '')
      .replace(/ \S+ ago$/, '');
  }

  /** The status bar text of one sync. */
  static text(s: SyncStatus, syncingFiles = 0, now = Date.now()): string {
    switch (s.state) {
      case 'connecting':
        return '$(sync~spin) kdev: connecting';
      case 'initial-sync':
        return '$(sync~spin) kdev: initial sync';
      case 'syncing':
        return `$(sync~spin) kdev: syncing ${syncingFiles} file${syncingFiles === 1 ? '' : 's'}`;
      case 'watching':
      case 'idle':
        return s.lastSyncAt ? `$(check) kdev: synced ${since(s.lastSyncAt, now)} ago` : '$(check) kdev: synced';
      case 'stopped':
        return '$(circle-slash) kdev: sync stopped';
    }
  }

  private otherLines(): string[] {
    return this.others.flatMap((p) => p.sessions.flatMap((s) => (s.sync ? [`${s.sync.localRoot} → ${s.workload} (${s.namespace}) — ${s.sync.state}, pid ${p.pid} (${p.ui}, ${p.user})`] : [])));
  }

  private render(fire = true): void {
    const all = [...this.attached.values()];
    const others = this.otherLines();
    if (all.length === 0) {
      if (others.length === 0) this.item.hide();
      else {
        this.item.text = `$(sync) kdev: ${others.length} sync${others.length === 1 ? '' : 's'} elsewhere`;
        this.item.backgroundColor = undefined;
        this.item.tooltip = others.join('\n');
        this.item.show();
      }
      if (fire) this.changed.fire();
      return;
    }
    // With several workloads attached, the one with an error, else the busiest, is shown.
    const statuses = all.map((a) => ({ a, s: a.sync.status() }));
    const failing = statuses.find(({ s }) => s.lastError && (!s.lastSyncAt || s.lastError.at > s.lastSyncAt));
    const shown = failing ?? statuses.find(({ s }) => s.state !== 'idle' && s.state !== 'watching') ?? statuses[0]!;
    if (failing) {
      this.item.text = `$(error) kdev: sync error`;
      this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
    } else {
      this.item.text = Syncs.text(shown.s, shown.a.syncingFiles) + (all.length > 1 ? ` (${all.length})` : '');
      this.item.backgroundColor = undefined;
    }
    this.item.tooltip = [...statuses.map(({ a, s }) => `${a.localRoot} → ${a.session.workload}:${a.session.workDir} — ${s.state}${s.lastError ? `\n  last error: ${s.lastError.message}` : ''}`), ...others].join('\n');
    this.item.show();
    if (fire) this.changed.fire();
  }

  /** The click on the status bar item: every sync on the machine, the last error and its hint. */
  async details(): Promise<void> {
    const all = [...this.attached.values()];
    const picks = all.map((a) => {
      const s = a.sync.status();
      return {
        label: `${a.session.workload} (${a.session.namespace})`,
        description: Syncs.text(s, a.syncingFiles).replace(/^\$\([^)]*\) kdev: /, ''),
        detail: `${a.localRoot} → ${a.session.pod}:${a.session.workDir} · ${s.syncedFiles} files · ${s.batches} batches, ${s.filesSent} files sent${s.lastError ? ` · error: ${s.lastError.message}${s.lastError.hint ? ` — ${s.lastError.hint}` : ''}` : ''}`,
      };
    });
    for (const p of this.others) {
      for (const s of p.sessions.filter((x) => x.sync)) {
        picks.push({ label: `${s.workload} (${s.namespace})`, description: `${s.sync!.state} · pid ${p.pid} (${p.ui})`, detail: `${s.sync!.localRoot} · ${s.sync!.syncedFiles} files · ${p.command}` });
      }
    }
    if (picks.length === 0) {
      void vscode.window.showInformationMessage('kdev: nothing is syncing. Start Dev Mode on a workload in the kdev view.');
      return;
    }
    await vscode.window.showQuickPick(picks, { title: 'kdev sync', placeHolder: 'Synced folders on this machine (the log has every batch: kdev: Show Log)' });
  }

  dispose(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.off();
    this.registry.close();
    for (const key of [...this.attached.keys()]) void this.detach(key);
    this.item.dispose();
    this.changed.dispose();
  }
}

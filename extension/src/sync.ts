// The file sync of a workload in dev mode (core's SyncSession) and its status bar item:
// "synced 2s ago", "syncing 34 files", or the error; a click shows the details and the hint.
// The item is fed by the session's events; a one-second timer only re-renders "2s ago".
import * as vscode from 'vscode';
import { syncSessionFor, keepLease, type Cluster, type DevEntry, type DevSession, type MassDeleteInfo, type SyncSession } from '@kdev/core';
import type { Log } from './output.js';

export interface Attached {
  key: string;
  session: DevSession;
  sync: SyncSession;
  localRoot: string;
  stopLease: () => void;
  /** Files in the batch being sent (from the last 'syncing' event). */
  syncingFiles: number;
}

function ago(d: Date, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - d.getTime()) / 1000));
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m` : `${Math.floor(s / 3600)}h`;
}

export class Syncs implements vscode.Disposable {
  private readonly attached = new Map<string, Attached>();
  readonly item = vscode.window.createStatusBarItem('kdev.sync', vscode.StatusBarAlignment.Left, 60);
  private ticker: NodeJS.Timeout | undefined;
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires after each sync event, once the status bar shows it. */
  readonly onDidChange = this.changed.event;

  constructor(private readonly log: Log) {
    this.item.name = 'kdev sync';
    this.item.command = 'kdev.syncDetails';
  }

  get(key: string): Attached | undefined {
    return this.attached.get(key);
  }

  /** Starts syncing the folder into the session's dev container and keeps the lease fresh. */
  async attach(cluster: Cluster, key: string, session: DevSession, localRoot: string, entry: DevEntry | undefined): Promise<Attached> {
    await this.detach(key);
    const sync = syncSessionFor(cluster, session, {
      localRoot,
      sync: { mode: entry?.sync.mode ?? 'send-only', ignore: entry?.sync.ignore ?? [], deleteLocal: entry?.sync.deleteLocal ?? false },
      confirmMassDelete: (info) => this.confirmMassDelete(session, info),
    });
    const a: Attached = {
      key,
      session,
      sync,
      localRoot,
      stopLease: keepLease(cluster, session, () => {
        this.log.warn(`the dev lease on ${session.workload} is no longer yours (taken over, or dev mode ended): sync stopped`);
        void vscode.window.showWarningMessage(`kdev: the dev lease on ${session.workload} is no longer yours (taken over, or dev mode ended): sync stopped`);
        void this.detach(key);
      }),
      syncingFiles: 0,
    };
    this.attached.set(key, a);
    const label = `${session.workload}:${session.workDir}`;
    sync.on('connecting', (e) => {
      this.log.info(`sync ${label}: connecting${e.pod ? ` to ${e.pod}` : ''} (attempt ${e.attempt})`);
      this.render();
    });
    sync.on('initial-sync', (e) => {
      if (e.files === e.totalFiles) this.log.info(`sync ${label}: initial sync ${e.totalFiles} files, ${e.totalBytes} bytes`);
      this.render();
    });
    sync.on('watching', () => this.render());
    sync.on('syncing', (e) => {
      a.syncingFiles = e.files;
      this.log.info(`sync ${label}: ${e.files} file(s)`);
      this.render();
    });
    sync.on('idle', () => this.render());
    sync.on('error', (e) => {
      this.log.channel.error(`sync ${label}: ${e.message}${e.hint ? ` — ${e.hint}` : ''}`);
      this.render();
    });
    this.log.info(`sync ${localRoot} → ${label} (${entry?.sync.mode ?? 'send-only'})`);
    this.render();
    this.ticker ??= setInterval(() => this.render(false), 1000);
    await sync.start();
    this.render();
    return a;
  }

  async detach(key: string): Promise<void> {
    const a = this.attached.get(key);
    if (!a) return;
    this.attached.delete(key);
    a.stopLease();
    await a.sync.stop();
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

  /** A short state for the tree: "synced", "syncing 3 files", "sync error"... */
  label(key: string): string | undefined {
    const a = this.attached.get(key);
    if (!a) return undefined;
    const s = a.sync.status();
    if (s.lastError && (!s.lastSyncAt || s.lastError.at > s.lastSyncAt)) return 'sync error';
    return Syncs.text(s, a.syncingFiles)
      .replace(/^\$\([^)]*\) kdev: /, '')
      .replace(/ \d+[smh] ago$/, '');
  }

  /** The status bar text of one sync. */
  static text(s: ReturnType<SyncSession['status']>, syncingFiles = 0, now = Date.now()): string {
    switch (s.state) {
      case 'connecting':
        return '$(sync~spin) kdev: connecting';
      case 'initial-sync':
        return '$(sync~spin) kdev: initial sync';
      case 'syncing':
        return `$(sync~spin) kdev: syncing ${syncingFiles} file${syncingFiles === 1 ? '' : 's'}`;
      case 'watching':
      case 'idle':
        return s.lastSyncAt ? `$(check) kdev: synced ${ago(s.lastSyncAt, now)} ago` : '$(check) kdev: synced';
      case 'stopped':
        return '$(circle-slash) kdev: sync stopped';
    }
  }

  private render(fire = true): void {
    const all = [...this.attached.values()];
    if (all.length === 0) {
      this.item.hide();
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
    this.item.tooltip = statuses.map(({ a, s }) => `${a.localRoot} → ${a.session.workload}:${a.session.workDir} — ${s.state}${s.lastError ? `\n  last error: ${s.lastError.message}` : ''}`).join('\n');
    this.item.show();
    if (fire) this.changed.fire();
  }

  /** The click on the status bar item: every sync's state, the last error and its hint. */
  async details(): Promise<void> {
    const all = [...this.attached.values()];
    if (all.length === 0) {
      void vscode.window.showInformationMessage('kdev: nothing is syncing. Start Dev Mode on a workload in the kdev view.');
      return;
    }
    const picks = all.map((a) => {
      const s = a.sync.status();
      return {
        label: `${a.session.workload} (${a.session.namespace})`,
        description: Syncs.text(s, a.syncingFiles).replace(/^\$\([^)]*\) kdev: /, ''),
        detail: `${a.localRoot} → ${a.session.pod}:${a.session.workDir} · ${s.syncedFiles} files · ${s.batches} batches, ${s.filesSent} files sent${s.lastError ? ` · error: ${s.lastError.message}${s.lastError.hint ? ` — ${s.lastError.hint}` : ''}` : ''}`,
      };
    });
    await vscode.window.showQuickPick(picks, { title: 'kdev sync', placeHolder: 'Synced folders (the log has every batch: kdev: Show Log)' });
  }

  dispose(): void {
    if (this.ticker) clearInterval(this.ticker);
    for (const key of [...this.attached.keys()]) void this.detach(key);
    this.item.dispose();
    this.changed.dispose();
  }
}

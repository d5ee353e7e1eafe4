// Remote Debug: core's DevWorkload.debug (the config's debug command under the supervisor, its port
// forwarded to a free local port, kdev waits until the debugger answers its own protocol),
// then a real VS Code debug session from the attach configuration core returns. When that
// session ends, the forward and the debug command stop. A debugger type VS Code has no
// extension for (python, go, java need theirs) is reported, and the forward is kept so that
// the attach configuration (in the log) can be used once the extension is installed.
import * as vscode from 'vscode';
import { sourceText, type AppEvent, type DebugSession } from '@kdev/core';
import type { Node } from './tree.js';
import type { DevMode } from './devmode.js';
import type { Log } from './output.js';
import type { Logs } from './logs.js';
import { devTarget } from './devtarget.js';

/** VS Code's debug types per debugger, and the extension that provides each. */
const PROVIDERS: Record<string, string> = {
  node: 'the built-in JavaScript debugger (ms-vscode.js-debug)',
  debugpy: 'the Python Debugger extension (ms-python.debugpy)',
  go: 'the Go extension (golang.go)',
  java: 'the Debugger for Java extension (vscjava.vscode-java-debug)',
};

export interface RemoteDebugSession {
  key: string;
  core: DebugSession;
  /** The VS Code debug session; undefined when VS Code could not start one. */
  session: vscode.DebugSession | undefined;
  stop(): Promise<void>;
}

/** Whether an installed extension contributes a debugger of this type. */
export function hasDebugger(type: string): boolean {
  if (type === 'node' || type === 'pwa-node') return vscode.extensions.all.some((e) => e.id === 'ms-vscode.js-debug' || contributes(e, type));
  return vscode.extensions.all.some((e) => contributes(e, type));
}

function contributes(e: vscode.Extension<unknown>, type: string): boolean {
  const debuggers = (e.packageJSON as { contributes?: { debuggers?: { type?: string }[] } }).contributes?.debuggers ?? [];
  return debuggers.some((d) => d.type === type);
}

export class RemoteDebug implements vscode.Disposable {
  private readonly running = new Map<string, RemoteDebugSession>();
  private readonly subs: vscode.Disposable[] = [];
  private readonly started = new vscode.EventEmitter<RemoteDebugSession>();
  /** Fires when Remote Debug is done starting (with or without a VS Code session). */
  readonly onDidStart = this.started.event;

  constructor(
    private readonly dev: DevMode,
    private readonly logs: Logs,
    private readonly log: Log,
  ) {
    this.subs.push(
      vscode.debug.onDidTerminateDebugSession((s) => {
        for (const r of this.running.values()) {
          if (r.session?.id === s.id) void r.stop();
        }
      }),
    );
  }

  get(key: string): RemoteDebugSession | undefined {
    return this.running.get(key);
  }

  /** undefined: there is no debug command (a notification said so). */
  async start(node: Node | undefined): Promise<RemoteDebugSession | undefined> {
    const { key, ref, w } = await devTarget(this.dev, node, true);
    const { entry, localRoot, source } = w.resolved;
    if (!entry?.debug?.command.trim()) {
      const name = ref.replace(/^deployment\//, '');
      const text = `kdev: ${ref} has no debug command (${sourceText(source)}). Add to .kdev.yaml: dev: ${name}: debug: {command: "node --inspect=0.0.0.0:9229 server.js", port: 9229, type: node}`;
      this.log.warn(text);
      void vscode.window.showWarningMessage(text);
      return undefined;
    }
    await this.running.get(key)?.stop();
    await this.logs.show(node);
    let report: ((message: string) => void) | undefined;
    const off = this.dev.loop.on((e: AppEvent) => {
      if (e.workload !== ref || (e.type !== 'debug' && e.type !== 'run' && e.type !== 'forward' && e.type !== 'forward-error')) return;
      this.logs.note(key, e.message);
      this.log.info(`debug ${ref}: ${e.message}`);
      if (e.type === 'debug') report?.(e.message);
    });
    let core: DebugSession;
    try {
      core = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `kdev: starting the ${entry.debug.type} debugger in ${ref}` }, (progress) => {
        report = (message) => progress.report({ message });
        return w.debug({ restart: entry.restartOnSync });
      });
    } catch (err) {
      off();
      throw err;
    }
    let stopped = false;
    const r: RemoteDebugSession = {
      key,
      core,
      session: undefined,
      stop: async () => {
        if (stopped) return;
        stopped = true;
        this.running.delete(key);
        off();
        await core.stop().catch(() => undefined);
        this.logs.note(key, `debugging stopped; the forward on 127.0.0.1:${core.localPort} is closed`);
        this.log.info(`debug ${ref}: stopped`);
      },
    };
    this.running.set(key, r);
    await this.attachVsCode(r, ref, localRoot);
    this.started.fire(r);
    return r;
  }

  /** Starts a VS Code debug session from core's attach configuration; reports when it cannot. */
  private async attachVsCode(r: RemoteDebugSession, ref: string, localRoot: string): Promise<void> {
    const { core, key } = r;
    const config = core.attach as vscode.DebugConfiguration;
    this.log.info(`debug ${ref}: attach configuration ${JSON.stringify(config)}`);
    if (!hasDebugger(config.type)) {
      const text = `kdev: the ${core.type} debugger answers on 127.0.0.1:${core.localPort}, but VS Code has no "${config.type}" debugger: install ${PROVIDERS[config.type] ?? `an extension for "${config.type}"`}. The attach configuration is in the kdev log.`;
      void vscode.window.showWarningMessage(text, 'Show Log').then((c) => c && this.log.channel.show(true));
    }
    const started = new Promise<vscode.DebugSession | undefined>((resolve) => {
      const sub = vscode.debug.onDidStartDebugSession((s) => {
        if (s.name === config.name && s.configuration.port === config.port) {
          sub.dispose();
          resolve(s);
        }
      });
      setTimeout(() => {
        sub.dispose();
        resolve(undefined);
      }, 30_000);
    });
    const folder = vscode.workspace.workspaceFolders?.find((f) => localRoot.startsWith(f.uri.fsPath));
    // Without the type's extension VS Code says "not supported" (a modal dialog; in tests,
    // where dialogs are refused, startDebugging throws): either way no session.
    let why = '';
    const ok = await Promise.resolve(vscode.debug.startDebugging(folder, config)).catch((err: unknown) => {
      why = `: ${err instanceof Error ? err.message : String(err)}`;
      return false;
    });
    if (!ok) {
      const text = `kdev: VS Code could not start a "${config.type}" debug session for ${ref}${hasDebugger(config.type) ? '' : ` (install ${PROVIDERS[config.type] ?? 'its extension'})`}${why}; the debugger still answers on 127.0.0.1:${core.localPort}`;
      this.log.warn(text);
      void vscode.window.showErrorMessage(text);
      return;
    }
    r.session = await started;
    this.logs.note(key, `VS Code is attached (${config.type}) through 127.0.0.1:${core.localPort}`);
  }

  dispose(): void {
    for (const s of this.subs) s.dispose();
    this.started.dispose();
    for (const r of [...this.running.values()]) void r.stop();
  }
}

// Open Terminal: a VS Code terminal whose process is a TTY exec in the dev container (core's
// DevWorkload.terminal), through a vscode.Pseudoterminal: keystrokes go to the exec's stdin, its
// output is written to the terminal, the terminal's size follows into the container, and the
// remote exit code is shown (and closes the terminal on the next key).
import * as vscode from 'vscode';
import { PassThrough, Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { Node } from './tree.js';
import type { DevMode } from './devmode.js';
import type { Log } from './output.js';
import { devTarget } from './devtarget.js';

/** The output side as the exec in core wants it for a resizable TTY: rows, columns, 'resize'. */
class TtyOut extends Writable {
  rows = 24;
  columns = 80;
  /** Every size passed on ("rows columns"), oldest first. */
  readonly sizes: string[] = [];
  private readonly decoder = new StringDecoder('utf8');
  constructor(private readonly sink: (text: string) => void) {
    super();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    const text = this.decoder.write(chunk);
    if (text) this.sink(text);
    cb();
  }
  resize(d: vscode.TerminalDimensions): void {
    if (d.rows === this.rows && d.columns === this.columns) return;
    this.rows = d.rows;
    this.columns = d.columns;
    this.sizes.push(`${d.rows} ${d.columns}`);
    this.emit('resize');
  }
}

export interface RemoteTerminal {
  terminal: vscode.Terminal;
  /** Resolves with the remote exit code when the shell exits. */
  exited: Promise<number>;
  /** The sizes passed to the container ("rows columns"), oldest first. */
  sizes(): readonly string[];
}

export class Terminals implements vscode.Disposable {
  private readonly open = new Map<vscode.Terminal, RemoteTerminal>();

  constructor(
    private readonly dev: DevMode,
    private readonly log: Log,
  ) {}

  async openFor(node: Node | undefined): Promise<RemoteTerminal> {
    const { ref, w, target } = await devTarget(this.dev, node);
    const write = new vscode.EventEmitter<string>();
    const close = new vscode.EventEmitter<number | void>();
    const stdin = new PassThrough();
    const stdout = new TtyOut((text) => write.fire(text));
    let exitCode: number | undefined;
    let resolveExit: (code: number) => void = () => undefined;
    const exited = new Promise<number>((r) => (resolveExit = r));
    const pty: vscode.Pseudoterminal = {
      onDidWrite: write.event,
      onDidClose: close.event,
      open: (dims) => {
        if (dims) stdout.resize(dims);
        this.log.info(`terminal: ${ref} pod ${target.pod} container ${target.container} (${stdout.columns}x${stdout.rows})`);
        w.terminal({ target, stdin, stdout, tty: true }).then(
          (code) => {
            exitCode = code;
            write.fire(`\r\n\x1b[2m[kdev] the shell in ${target.pod} exited with code ${code}; press any key to close\x1b[0m\r\n`);
            this.log.info(`terminal: ${ref} exited with code ${code}`);
            resolveExit(code);
          },
          (err: unknown) => {
            exitCode = 1;
            write.fire(`\r\n\x1b[31m[kdev] ${this.log.error(`terminal in ${ref}`, err)}\x1b[0m\r\n`);
            resolveExit(1);
          },
        );
      },
      setDimensions: (dims) => stdout.resize(dims),
      handleInput: (data) => {
        if (exitCode !== undefined) close.fire(exitCode);
        else stdin.write(data);
      },
      close: () => {
        stdin.end();
      },
    };
    const terminal = vscode.window.createTerminal({ name: `kdev: ${ref}`, pty, iconPath: new vscode.ThemeIcon('terminal') });
    const remote: RemoteTerminal = { terminal, exited, sizes: () => stdout.sizes };
    this.open.set(terminal, remote);
    const sub = vscode.window.onDidCloseTerminal((t) => {
      if (t !== terminal) return;
      sub.dispose();
      this.open.delete(terminal);
      stdin.end();
      write.dispose();
      close.dispose();
    });
    terminal.show();
    return remote;
  }

  /** The kdev terminal behind a VS Code terminal. */
  get(terminal: vscode.Terminal): RemoteTerminal | undefined {
    return this.open.get(terminal);
  }

  dispose(): void {
    for (const t of this.open.keys()) t.dispose();
    this.open.clear();
  }
}

// Show Logs: one output channel per workload in dev mode, following its dev container's log
// (core's DevWorkload.logs). The channel is reused by Remote Run (the supervisor's output is that
// log). When the dev pod is replaced the follow moves to the new one. Stop Logs (or End Dev
// Mode, or the extension going away) stops the follow and disposes the channel.
import * as vscode from 'vscode';
import { Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { DevWorkload, SessionTarget } from '@kdev/core';
import { workloadKey, type Node } from './tree.js';
import type { DevMode } from './devmode.js';
import type { Log } from './output.js';
import { devTarget } from './devtarget.js';

interface Follow {
  channel: vscode.OutputChannel;
  abort: AbortController;
  /** The pod the log currently comes from. */
  pod: string;
  /** The channel's last 64 KiB (an output channel cannot be read back). */
  tail: string;
  appended: () => void;
}

const TAIL = 64 * 1024;

function append(f: Follow, text: string): void {
  f.channel.append(text);
  f.tail = (f.tail + text).slice(-TAIL);
  f.appended();
}

export class Logs implements vscode.Disposable {
  private readonly follows = new Map<string, Follow>();
  private readonly subs: vscode.Disposable[] = [];
  private readonly appendedEmitter = new vscode.EventEmitter<string>();
  /** Fires with the workload's key when text was written to its channel. */
  readonly onDidAppend = this.appendedEmitter.event;

  constructor(
    private readonly dev: DevMode,
    private readonly log: Log,
  ) {
    this.subs.push(
      dev.onDidFinish((c) => {
        if (c.action === 'end' && c.ok) this.close(c.key);
      }),
    );
  }

  /** The channel of a workload while its log is followed. */
  channel(key: string): vscode.OutputChannel | undefined {
    return this.follows.get(key)?.channel;
  }

  isFollowing(key: string): boolean {
    return this.follows.has(key);
  }

  /** The last text written to a workload's channel. */
  text(key: string): string {
    return this.follows.get(key)?.tail ?? '';
  }

  /** Writes a line of kdev's own into a workload's channel (when it is open). */
  note(key: string, line: string): void {
    const f = this.follows.get(key);
    if (f) append(f, `[kdev] ${line}\n`);
  }

  /** Shows the workload's channel, starting the follow when it is not running. */
  async show(node: Node | undefined, opts: { preserveFocus?: boolean } = {}): Promise<vscode.OutputChannel> {
    const { key, ref, w, target } = await devTarget(this.dev, node);
    let f = this.follows.get(key);
    if (!f) {
      const channel = vscode.window.createOutputChannel(`kdev: ${ref} (${target.namespace})`);
      f = { channel, abort: new AbortController(), pod: target.pod, tail: '', appended: () => this.appendedEmitter.fire(key) };
      this.follows.set(key, f);
      this.log.info(`logs: following ${ref} (pod ${target.pod}, container ${target.container})`);
      void this.follow(key, ref, w, target, f);
    }
    f.channel.show(opts.preserveFocus ?? true);
    return f.channel;
  }

  /** Follows until stopped; after the stream ends (pod replaced), the new dev pod's log. */
  private async follow(key: string, ref: string, w: DevWorkload, first: SessionTarget, f: Follow): Promise<void> {
    let target = first;
    let since: number | undefined;
    while (!f.abort.signal.aborted) {
      f.pod = target.pod;
      const decoder = new StringDecoder('utf8');
      const out = new Writable({
        write(chunk: Buffer, _enc, cb) {
          append(f, decoder.write(chunk));
          cb();
        },
      });
      const started = Date.now();
      try {
        // The first time the last lines too; after a replacement only what is new.
        await w.logs(out, { target, follow: true, signal: f.abort.signal, ...(since === undefined ? { tailLines: 200 } : { since }) });
      } catch (err) {
        if (f.abort.signal.aborted) break;
        append(f, `[kdev] the log of pod ${target.pod} failed: ${this.log.error(`logs of ${ref}`, err)}\n`);
      }
      if (f.abort.signal.aborted) break;
      since = Date.now();
      try {
        target = await w.devTarget();
      } catch (err) {
        append(f, `[kdev] stopped following: ${this.log.error(`logs of ${ref}`, err)}\n`);
        this.close(key);
        return;
      }
      if (target.pod !== f.pod) append(f, `[kdev] now following pod ${target.pod}\n`);
      // The same pod's stream ended at once (its container restarting): not a busy loop.
      else if (Date.now() - started < 1000) await new Promise((r) => setTimeout(r, 1000));
    }
  }

  /** Stops following a workload's log and disposes its channel. */
  close(key: string): boolean {
    const f = this.follows.get(key);
    if (!f) return false;
    this.follows.delete(key);
    f.abort.abort();
    f.channel.dispose();
    return true;
  }

  stop(node: Node | undefined): boolean {
    return this.close(workloadKey(this.dev.workload(node)));
  }

  dispose(): void {
    for (const key of [...this.follows.keys()]) this.close(key);
    for (const s of this.subs) s.dispose();
    this.appendedEmitter.dispose();
  }
}

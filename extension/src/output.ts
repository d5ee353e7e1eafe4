// The `kdev` output channel: one log for everything the extension does.
import * as vscode from 'vscode';
import { isKdevError } from '@kdev/core';

export class Log implements vscode.Disposable {
  readonly channel = vscode.window.createOutputChannel('kdev', { log: true });

  info(message: string): void {
    this.channel.info(message);
  }

  warn(message: string): void {
    this.channel.warn(message);
  }

  /** Logs an error with its hint; returns the text a notification shows. */
  error(doing: string, err: unknown): string {
    const text = isKdevError(err) ? `${err.message}${err.hint ? ` — ${err.hint}` : ''}` : err instanceof Error ? err.message : String(err);
    this.channel.error(`${doing}: ${text}`);
    return text;
  }

  dispose(): void {
    this.channel.dispose();
  }
}

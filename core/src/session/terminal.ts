// An interactive shell in a container: stdin/stdout wired to a TTY exec, resized with the
// local terminal (when stdout has rows/columns and emits 'resize', as a TTY does), the
// remote exit code returned.
import type { Readable, Writable } from 'node:stream';
import { Exec, type V1Status } from '@kubernetes/client-node';
import type { Cluster } from '../kube/client.js';
import { kubeError } from '../kube/errors.js';
import { exitCodeOf } from './exec.js';

/** bash when the image has it, else sh. */
export const DEFAULT_SHELL = ['/bin/sh', '-c', 'if command -v bash >/dev/null 2>&1; then exec bash -il; else exec sh -i; fi'];
/** The same without a TTY: a shell reading commands from stdin. */
export const PLAIN_SHELL = ['/bin/sh', '-c', 'if command -v bash >/dev/null 2>&1; then exec bash; else exec sh; fi'];

export interface TerminalOptions {
  namespace?: string;
  stdin: Readable;
  /** A TTY stream (process.stdout) makes the remote terminal follow its size. */
  stdout: Writable;
  /** Only used without a TTY (a TTY merges stderr into stdout). */
  stderr?: Writable;
  /** Default true. */
  tty?: boolean;
  command?: string[];
}

/** Runs the shell (or `command`) until it exits; resolves with its exit code. */
export function openTerminal(cluster: Cluster, pod: string, container: string, opts: TerminalOptions): Promise<number> {
  const namespace = opts.namespace ?? cluster.namespace;
  const tty = opts.tty ?? true;
  return new Promise<number>((resolve, reject) => {
    let status: V1Status | undefined;
    new Exec(cluster.kc)
      .exec(namespace, pod, container, opts.command ?? DEFAULT_SHELL, opts.stdout, tty ? null : (opts.stderr ?? opts.stdout), opts.stdin, tty, (s) => {
        status = s;
      })
      .then((ws) => {
        ws.on('close', () => resolve(status ? exitCodeOf(status) : 1));
        ws.on('error', (e: Error) => reject(kubeError(e, `terminal in ${pod}/${container}`, cluster.server)));
      })
      .catch((e: unknown) => reject(kubeError(e, `terminal in ${pod}/${container}`, cluster.server)));
  });
}

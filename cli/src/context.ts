// What every command shares: the kubectl-style global options, the dev session (core's
// DevLoop), how its events and errors are shown.
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { connect, describeEvent, DevLoop, isKdevError, type AppEvent, type Cluster, type DevEvent } from '@kdev/core';

export interface GlobalOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  output?: 'text' | 'json';
}

/** The global options, wherever the command sits in the tree. */
export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

export function clusterFor(cmd: Command): Cluster {
  const o = globals(cmd);
  return connect({ kubeconfig: o.kubeconfig, context: o.context, namespace: o.namespace });
}

/** The dev session of this process; `what` is shown to other kdev processes (the registry). */
export function loopFor(cmd: Command, what: string): DevLoop {
  return new DevLoop({ ui: 'cli', command: `kdev ${what} -n ${clusterFor(cmd).namespace}` });
}

export function wantsJson(cmd: Command): boolean {
  return globals(cmd).output === 'json';
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Renders the loop's session events (forwards, runs, syncs) on stderr; stdout carries output or JSON. */
export function renderEvents(loop: DevLoop, quiet: boolean): () => void {
  return loop.on((e) => {
    if (quiet || isDevEvent(e)) return;
    const line = describeEvent(e);
    if (line) process.stderr.write(`${line}\n`);
  });
}

export function isDevEvent(e: AppEvent): e is AppEvent & Extract<DevEvent, { type: 'phase' | 'warning' }> {
  return e.type === 'phase' || e.type === 'warning';
}

/** Resolves when Ctrl-C (or TERM) arrives, or when `also` resolves. */
export function untilInterrupted(also?: Promise<unknown>): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
    also?.then(done, done);
  });
}

/** Prints an error the way users should see it: message and hint, no stack for expected failures. */
export function reportError(err: unknown, json: boolean): void {
  if (json) {
    const body = isKdevError(err)
      ? { error: { code: err.code, message: err.message, hint: err.hint } }
      : { error: { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) } };
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    return;
  }
  if (isKdevError(err)) {
    process.stderr.write(`✗ ${err.message}\n`);
    if (err.hint) process.stderr.write(`  hint: ${err.hint}\n`);
  } else {
    process.stderr.write(`✗ unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
}

/** The CLI's version, from its package.json. */
export function cliVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

// What every command shares: the kubectl-style global options and how errors are shown.
import { Command } from 'commander';
import { connect, isKdevError, type Cluster } from '@kdev/core';

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

export function wantsJson(cmd: Command): boolean {
  return globals(cmd).output === 'json';
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
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

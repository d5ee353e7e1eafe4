// kdev's exit codes: one table, used by main.ts and printed in docs/cli.md.
import { CommanderError } from 'commander';
import { isKdevError, type KdevErrorCode } from '@kdev/core';

export const EXIT = {
  OK: 0,
  FAILED: 1,
  USAGE: 2,
  CLUSTER: 3,
  INTERRUPTED: 130,
} as const;

/** What each code means, for the reference. */
export const EXIT_CODES: readonly { code: number; meaning: string }[] = [
  { code: EXIT.OK, meaning: 'success (for `kdev doctor`: no check found a problem)' },
  { code: EXIT.FAILED, meaning: 'the operation failed (not found, conflict, timeout, in use, forbidden, a doctor check found a problem, an unexpected error)' },
  { code: EXIT.USAGE, meaning: 'usage or bad input: unknown command or option, missing argument, invalid value (nothing was changed)' },
  { code: EXIT.CLUSTER, meaning: 'no cluster to talk to: no kubeconfig or context, API server unreachable, TLS or credentials rejected' },
  { code: EXIT.INTERRUPTED, meaning: 'interrupted: a second Ctrl-C during `kdev env create` left things as they were' },
];

export const CLUSTER_CODES: ReadonlySet<KdevErrorCode> = new Set(['NO_CLUSTER', 'UNREACHABLE', 'TLS', 'UNAUTHORIZED']);

/** The exit code for an error that ended a command. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
  if (isKdevError(err)) {
    if (err.code === 'INVALID') return EXIT.USAGE;
    if (CLUSTER_CODES.has(err.code)) return EXIT.CLUSTER;
  }
  return EXIT.FAILED;
}

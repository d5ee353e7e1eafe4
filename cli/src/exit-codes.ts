// kdev's exit codes: one table, used by main.ts and printed in docs/cli.md.
// Every error kdev reports (a KdevError of any kind) exits 1, as the e2e suites assert;
// a script tells the kinds apart by the error's `code` with -o json.
import { CommanderError } from 'commander';

export const EXIT = {
  OK: 0,
  FAILED: 1,
  USAGE: 2,
  INTERRUPTED: 130,
} as const;

/** What each code means, for the reference. */
export const EXIT_CODES: readonly { code: number; meaning: string }[] = [
  { code: EXIT.OK, meaning: 'success (for `kdev doctor`: no check found a problem)' },
  {
    code: EXIT.FAILED,
    meaning:
      'an error kdev reported with a message and a hint: bad input it rejected (an invalid name, `--timeout abc`), no cluster or an unreachable one, not found, conflict, timeout, forbidden, in use; a `kdev doctor` check found a problem; an unexpected error',
  },
  { code: EXIT.USAGE, meaning: 'the command line does not parse: unknown command or option, missing argument or option value, a value not among the choices (nothing was run)' },
  { code: EXIT.INTERRUPTED, meaning: 'interrupted: a second Ctrl-C during `kdev env create` left things as they were' },
];

/** The exit code for an error that ended a command. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
  return EXIT.FAILED;
}

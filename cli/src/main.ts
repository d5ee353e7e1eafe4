#!/usr/bin/env node
// kdev: thin commands over @kdev/core (the tree is in program.ts). Exit codes: exit-codes.ts.
import { basename } from 'node:path';
import { Command, CommanderError } from 'commander';
import { buildProgram } from './program.js';
import { reportError } from './context.js';
import { exitCodeFor } from './exit-codes.js';

// Installed as kubectl_complete-kdev, kubectl (1.26+) runs it to complete `kubectl kdev …`,
// with the words after `kdev`, and reads the candidates in its own (cobra's) format.
if (basename(process.argv[1] ?? '') === 'kubectl_complete-kdev') process.argv.splice(2, 0, '__complete', '--cobra', '--');

const program = buildProgram();
// Commander's own errors (unknown option, missing argument) are thrown, not exited on, so
// that they get the usage exit code; commander has already printed them.
function throwOnUsageErrors(cmd: Command): void {
  cmd.exitOverride();
  for (const sub of cmd.commands) throwOnUsageErrors(sub);
}
throwOnUsageErrors(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (!(err instanceof CommanderError)) reportError(err, program.opts<{ output?: string }>().output === 'json');
  process.exitCode = exitCodeFor(err);
});

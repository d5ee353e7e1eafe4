// The kdev command tree, built without parsing anything: main.ts runs it, the completion
// command walks it, and the CLI reference (docs/cli.md) is generated from it.
import { Command, Option } from 'commander';
import { registerConfig } from './commands/config.js';
import { registerDev } from './commands/dev.js';
import { registerSync } from './commands/sync.js';
import { registerEnv } from './commands/env.js';
import { registerSession } from './commands/session.js';
import { registerDoctor } from './commands/doctor.js';
import { registerCompletion } from './commands/completion.js';
import { cliVersion } from './context.js';

export function buildProgram(): Command {
  const program = new Command('kdev')
    .description('develop inside a real Kubernetes cluster: dev mode, sync, run and debug, environments')
    .version(cliVersion())
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context to use')
    .option('-n, --namespace <name>', "namespace (default: the context's)")
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .showHelpAfterError();

  registerConfig(program);
  registerDev(program);
  registerSync(program);
  registerEnv(program);
  registerSession(program);
  registerDoctor(program);
  registerCompletion(program);
  return program;
}

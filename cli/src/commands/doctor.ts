// kdev doctor | version: renders core's checks; exit 1 when any check found a problem.
import { Command } from 'commander';
import { connect, isKdevError, runDoctor, serverVersion, type CheckResult } from '@kdev/core';
import { cliVersion, globals, printJson, wantsJson } from '../context.js';

const MARK: Record<CheckResult['status'], string> = { ok: '✓', problem: '✗', skipped: '-' };

function render(c: CheckResult): string {
  const [first, ...rest] = c.detail.split('\n');
  const lines = [`${MARK[c.status]} ${c.title}: ${first}`, ...rest.map((l) => `    ${l}`)];
  if (c.status === 'problem' && c.fix) lines.push(`    fix: ${c.fix}`);
  return `${lines.join('\n')}\n`;
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check this machine and the cluster for what kdev needs')
    .option('--local <folder>', 'the folder to sync, for the inotify check (default: the current folder)')
    .option('--network', 'also check that NetworkPolicy is enforced (creates and deletes a namespace)')
    .addHelpText(
      'after',
      '\nChecks: kubeconfig and context, API server, rights in the namespace (SelfSubjectRulesReview),\n' +
        'sidecar image, port-forward, NetworkPolicy enforcement (with --network), inotify watch limit.\n' +
        'Exit code: 0 when no check found a problem, 1 when any did.',
    )
    .action(async (opts: { local?: string; network?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const json = wantsJson(cmd);
      const report = await runDoctor({
        kubeconfig: g.kubeconfig,
        context: g.context,
        namespace: g.namespace,
        local: opts.local,
        network: opts.network,
        onCheck: json ? undefined : (c) => process.stdout.write(render(c)),
      });
      if (json) printJson(report);
      else process.stdout.write(report.ok ? 'no problems found\n' : `${report.checks.filter((c) => c.status === 'problem').length} problem(s) found\n`);
      if (!report.ok) process.exitCode = 1;
    });

  program
    .command('version')
    .description("print kdev's version and the cluster's, if reachable")
    .action(async (_opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      let server: string | undefined;
      let problem: string | undefined;
      try {
        server = await serverVersion(connect({ kubeconfig: g.kubeconfig, context: g.context, namespace: g.namespace }));
      } catch (err) {
        if (!isKdevError(err)) throw err;
        problem = err.message;
      }
      const body = { client: cliVersion(), server: server ?? null, ...(problem ? { serverError: problem } : {}) };
      if (wantsJson(cmd)) printJson(body);
      else process.stdout.write(`kdev ${body.client}\ncluster: ${server ?? `unknown (${problem})`}\n`);
    });
}

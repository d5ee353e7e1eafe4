// kdev ls | dev start | dev end | dev status
import { Command, Option } from 'commander';
import { devStatus, endDevMode, environmentDevConfig, listWorkloads, loadConfig, devEntryFor, parseWorkloadRef, startDevMode, type WorkloadInfo } from '@kdev/core';
import { clusterFor, printJson, wantsJson } from '../context.js';
import { withProgress } from '../ui/progress.js';

function since(iso: string): string {
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}

function devColumn(w: WorkloadInfo): string {
  if (!w.dev) return '-';
  return `${w.dev.mode === 'duplicate' ? 'copy by ' : ''}${w.dev.owner} (${since(w.dev.startedAt)})`;
}

export function registerDev(program: Command): void {
  program
    .command('ls')
    .argument('[kind]', 'only this kind (deployment, statefulset, daemonset, replicaset, job, cronjob, pod)')
    .description("list the namespace's workloads with their dev-mode state")
    .action(async (kind: string | undefined, _o: unknown, cmd: Command) => {
      const cluster = clusterFor(cmd);
      const items = await listWorkloads(cluster, kind);
      if (wantsJson(cmd)) return printJson(items);
      if (items.length === 0) return void process.stdout.write(`no workloads in namespace ${cluster.namespace}\n`);
      const rows = [['KIND', 'NAME', 'READY', 'IMAGE', 'DEV MODE']];
      for (const w of items) rows.push([w.kind.toLowerCase(), w.name + (w.managedByKdev ? ' (kdev copy)' : ''), w.ready, w.images.join(','), devColumn(w)]);
      process.stdout.write(table(rows));
    });

  const dev = program.command('dev').description('dev mode: turn a workload into a dev container and back');

  dev
    .command('start')
    .argument('<workload>', 'kind/name, e.g. deployment/web (a bare name is a Deployment)')
    .option('-c, --container <name>', 'container to develop in (default: from .kdev.yaml, else the first)')
    .option('--image <image>', 'dev image (default: from .kdev.yaml, else the current image)')
    .option('--workdir <dir>', 'where the source goes in the container (default: from .kdev.yaml, else /app)')
    .addOption(new Option('--mode <mode>', 'replace the workload, or run a copy that no Service selects').choices(['replace', 'duplicate']).default('replace'))
    .option('--force', 'take over a workload someone else has in dev mode')
    .option('--timeout <seconds>', 'how long to wait for the dev pod', '180')
    .option('--config <file>', '.kdev.yaml to use (default: found from the current folder up)')
    .description('start dev mode on a workload and wait until its dev container is ready')
    .action(async (workload: string, o: { container?: string; image?: string; workdir?: string; mode: 'replace' | 'duplicate'; force?: boolean; timeout: string; config?: string }, cmd: Command) => {
      const cluster = clusterFor(cmd);
      const ref = parseWorkloadRef(workload);
      const { config } = loadConfig(o.config ?? process.cwd());
      // No entry in .kdev.yaml: an environment's template may have one for this service.
      const entry = devEntryFor(config, ref.kind.kind, ref.name) ?? devEntryFor((await environmentDevConfig(cluster))?.config ?? config, ref.kind.kind, ref.name);
      const run = (onEvent?: Parameters<typeof startDevMode>[1]['onEvent']) =>
        startDevMode(cluster, {
          workload,
          container: o.container ?? entry?.container,
          image: o.image ?? entry?.image,
          workDir: o.workdir ?? entry?.workDir,
          env: entry?.env,
          resources: entry?.resources,
          mode: o.mode,
          force: o.force,
          timeoutMs: Number(o.timeout) * 1000,
          onEvent,
        });
      if (wantsJson(cmd)) return printJson(await run());
      const session = await withProgress(`kdev dev start ${workload} (namespace ${cluster.namespace})`, run);
      process.stdout.write(
        `\nDev container ready: pod/${session.pod}, container ${session.container}, image ${session.image}, source at ${session.workDir}\n` +
          `  shell:  kubectl exec -it -n ${session.namespace} ${session.pod} -c ${session.container} -- sh\n` +
          `  end:    kdev dev end ${session.workload} -n ${session.namespace}\n`,
      );
    });

  dev
    .command('end')
    .argument('<workload>', 'kind/name')
    .option('--force', "end someone else's dev mode")
    .option('--timeout <seconds>', 'how long to wait for the rollout', '180')
    .description('restore the workload exactly as it was (works after a crash and from any machine)')
    .action(async (workload: string, o: { force?: boolean; timeout: string }, cmd: Command) => {
      const cluster = clusterFor(cmd);
      const run = (onEvent?: Parameters<typeof endDevMode>[1]['onEvent']) => endDevMode(cluster, { workload, force: o.force, timeoutMs: Number(o.timeout) * 1000, onEvent });
      if (wantsJson(cmd)) return printJson(await run());
      const result = await withProgress(`kdev dev end ${workload} (namespace ${cluster.namespace})`, run);
      process.stdout.write(`${result.message}\n`);
    });

  dev
    .command('status')
    .description('the workloads in dev mode in the namespace, who has them and since when')
    .action(async (_o: unknown, cmd: Command) => {
      const cluster = clusterFor(cmd);
      const items = await devStatus(cluster);
      if (wantsJson(cmd)) return printJson(items);
      if (items.length === 0) return void process.stdout.write(`nothing is in dev mode in namespace ${cluster.namespace}\n`);
      const rows = [['WORKLOAD', 'OWNER', 'SINCE', 'CONTAINER', 'IMAGE', 'MODE']];
      for (const w of items) rows.push([`${w.kind.toLowerCase()}/${w.name}`, w.dev!.owner, w.dev!.startedAt, w.dev!.container, w.dev!.image, w.dev!.mode]);
      process.stdout.write(table(rows));
    });
}

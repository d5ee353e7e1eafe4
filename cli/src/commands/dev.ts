// kdev ls | dev start | dev end | dev status: arguments in, core's DevLoop does the work,
// its events are rendered (ink progress, the live sync line).
import { Argument, Command, Option } from 'commander';
import { createInterface } from 'node:readline/promises';
import { devStatus, kindName, listWorkloads, parseSecondsFlag, since, table, type DevLoop, type DevSession, type DevWorkload, type MassDeleteInfo, type WorkloadInfo } from '@kdev/core';
import { renderSync } from '../ui/sync-view.js';
import { clusterFor, isDevEvent, loopFor, printJson, untilInterrupted, wantsJson } from '../context.js';
import { withProgress } from '../ui/progress.js';
import { completesWith } from '../completion/complete.js';

function devColumn(w: WorkloadInfo): string {
  if (!w.dev) return '-';
  const route = w.dev.route ? `, route ${w.dev.route.header}: ${w.dev.route.value}` : '';
  return `${w.dev.mode === 'duplicate' ? 'copy by ' : ''}${w.dev.owner} (${since(w.dev.startedAt)}${route})`;
}

interface StartFlags {
  container?: string;
  image?: string;
  workdir?: string;
  mode: 'replace' | 'duplicate';
  route?: string | true;
  force?: boolean;
  timeout: string;
  config?: string;
  local?: string;
  sync: boolean;
  yes?: boolean;
}

/** Runs `work` with the loop's dev-mode events shown as ink progress (or nothing with JSON). */
function progress<T>(loop: DevLoop, title: string, json: boolean, work: () => Promise<T>): Promise<T> {
  if (json) return work();
  return withProgress(title, async (onEvent) => {
    const off = loop.on((e) => (isDevEvent(e) || e.type === 'info' ? onEvent(e) : undefined));
    try {
      return await work();
    } finally {
      off();
    }
  });
}

export function registerDev(program: Command): void {
  registerLs(program);
  const dev = program.command('dev').description('dev mode: turn a workload into a dev container and back');
  registerStart(dev);
  registerEnd(dev);
  registerStatus(dev);
}

function registerLs(program: Command): void {
  program
    .command('ls')
    .argument('[kind]', 'only this kind (deployment, statefulset, daemonset, replicaset, job, cronjob, pod)')
    .description("list the namespace's workloads with their dev-mode state")
    .action(async (kind: string | undefined, _o: unknown, cmd: Command) => {
      const cluster = clusterFor(cmd);
      const items = await listWorkloads(cluster, kind);
      if (wantsJson(cmd)) return printJson(items);
      if (items.length === 0) return void process.stdout.write(`no workloads in namespace ${cluster.namespace}\n`);
      const rows = [['KIND', 'NAME', 'STATUS', 'IMAGE', 'DEV MODE']];
      for (const w of items) rows.push([w.kind.toLowerCase(), w.name + (w.managedByKdev ? ' (kdev copy)' : ''), w.ready, w.images.join(','), devColumn(w)]);
      process.stdout.write(table(rows));
    });
}

function registerStart(dev: Command): void {
  dev
    .command('start')
    .addArgument(completesWith(new Argument('<workload>', 'kind/name, e.g. deployment/web (a bare name is a Deployment)'), 'workload'))
    .option('-c, --container <name>', 'container to develop in (default: from .kdev.yaml, else the first)')
    .option('--image <image>', 'dev image (default: from .kdev.yaml, else the current image)')
    .option('--workdir <dir>', 'where the source goes in the container (default: from .kdev.yaml, else /app)')
    .addOption(new Option('--mode <mode>', 'replace the workload, or run a copy (that no Service selects, unless --route)').choices(['replace', 'duplicate']).default('replace'))
    .option('--route [header=value]', 'with --mode duplicate: requests carrying this header reach your copy (default x-kdev-route=<your user name>)')
    .option('--force', 'take over a workload someone else has in dev mode')
    .option('--timeout <seconds>', 'how long to wait for the dev pod', '180')
    .option('--config <file>', '.kdev.yaml to use (default: found from the current folder up)')
    .option('--local <dir>', 'local folder to sync (default: sync.local of the dev config, else the current folder)')
    .option('--no-sync', 'return once the dev container is ready, without syncing')
    .option('-y, --yes', 'allow a sync batch that deletes more than half of the synced files without asking')
    .description('start dev mode on a workload, wait until its dev container is ready, then sync the local folder into it (Ctrl-C detaches)')
    .action(async (workload: string, o: StartFlags, cmd: Command) => {
      const json = wantsJson(cmd);
      const loop = loopFor(cmd, `dev start ${workload}`);
      const w = await loop.resolve(clusterFor(cmd), { workload, configFrom: o.config, local: o.local, container: o.container, image: o.image, workDir: o.workdir });
      const start = () => w.start({ attach: o.sync && !json, mode: o.mode, route: o.route, force: o.force, timeoutMs: parseSecondsFlag('--timeout', o.timeout) });
      if (json) return printJson(await start());
      const session = await progress(loop, `kdev dev start ${w.workload} (namespace ${w.namespace})`, false, start);
      process.stdout.write(
        `\nDev container ready: pod/${session.pod}, container ${session.container}, image ${session.image}, source at ${session.workDir}\n` +
          `  shell:  kdev dev terminal ${session.workload} -n ${session.namespace}\n` +
          `  end:    kdev dev end ${session.workload} -n ${session.namespace}\n` +
          (session.route ? `  route:  requests with the header \`${session.route.header}: ${session.route.value}\` reach this copy, e.g. curl -H '${session.route.header}: ${session.route.value}' http://<service>/\n` : ''),
      );
      if (!o.sync) return;
      await attached(loop, w, session, o.yes ?? false);
    });
}

function registerEnd(dev: Command): void {
  dev
    .command('end')
    .addArgument(completesWith(new Argument('<workload>', 'kind/name'), 'workload'))
    .option('--force', "end someone else's dev mode")
    .option('--all', "remove every developer's copy of the workload and its routing (restores its Services)")
    .option('--timeout <seconds>', 'how long to wait for the rollout', '180')
    .description('restore the workload exactly as it was (works after a crash and from any machine)')
    .action(async (workload: string, o: { force?: boolean; all?: boolean; timeout: string }, cmd: Command) => {
      const json = wantsJson(cmd);
      const loop = loopFor(cmd, `dev end ${workload}`);
      // No dev config is read: end works when the local config is gone or broken.
      const w = loop.named(clusterFor(cmd), workload);
      const result = await progress(loop, `kdev dev end ${w.workload} (namespace ${w.namespace})`, json, () => w.end({ force: o.force, all: o.all, timeoutMs: parseSecondsFlag('--timeout', o.timeout) }));
      if (json) return printJson(result);
      process.stdout.write(`${result.message}\n`);
    });
}

function registerStatus(dev: Command): void {
  dev
    .command('status')
    .description('the workloads in dev mode in the namespace, who has them and since when')
    .action(async (_o: unknown, cmd: Command) => {
      const cluster = clusterFor(cmd);
      const items = await devStatus(cluster);
      if (wantsJson(cmd)) return printJson(items);
      if (items.length === 0) return void process.stdout.write(`nothing is in dev mode in namespace ${cluster.namespace}\n`);
      const rows = [['WORKLOAD', 'OWNER', 'SINCE', 'CONTAINER', 'IMAGE', 'MODE', 'ROUTE']];
      for (const w of items) rows.push([kindName(w.kind, w.name), w.dev!.owner, w.dev!.startedAt, w.dev!.container, w.dev!.image, w.dev!.mode, w.dev!.route ? `${w.dev!.route.header}: ${w.dev!.route.value}${w.dev!.route.of ? ` → ${w.dev!.route.of}` : ''}` : '-']);
      process.stdout.write(table(rows));
    });
}

/** Attached: sync, lease renewal and the config's forwards until Ctrl-C or the lease is lost. */
async function attached(loop: DevLoop, w: DevWorkload, session: DevSession, yes: boolean): Promise<void> {
  const mode = w.resolved.entry?.sync.mode ?? 'send-only';
  const view = renderSync(loop, `Syncing ${w.resolved.localRoot} → ${session.workload}:${session.workDir} (${session.mode === 'duplicate' ? 'copy, ' : ''}${mode}). Ctrl-C detaches; dev mode stays on.`);
  let lost!: () => void;
  const leaseLost = new Promise<void>((r) => (lost = r));
  const off = loop.on((e) => {
    if (e.type === 'lease-lost') {
      process.stderr.write(`\n✗ ${e.message}\n`);
      process.exitCode = 1;
      lost();
    }
  });
  const interrupted = untilInterrupted(leaseLost);
  try {
    await Promise.race([w.attach(session, { confirmMassDelete: (info) => confirmMassDelete(info, yes) }), interrupted]);
    await interrupted;
  } finally {
    off();
    await loop.close();
    view.unmount();
    process.stderr.write(`\nDetached. ${session.workload} stays in dev mode: \`kdev dev end ${session.workload} -n ${session.namespace}\` restores it.\n`);
  }
}

async function confirmMassDelete(info: MassDeleteInfo, yes: boolean): Promise<boolean> {
  if (yes) return true;
  const what = `${info.deletes} of ${info.total} synced files would be deleted ${info.side === 'remote' ? 'in the container' : 'locally'} (${info.sample.slice(0, 3).join(', ')}${info.deletes > 3 ? ', …' : ''})`;
  if (!process.stdin.isTTY) {
    process.stderr.write(`\n✗ ${what}: held back. Run with --yes to allow it.\n`);
    return false;
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`\n${what}. Go ahead? [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

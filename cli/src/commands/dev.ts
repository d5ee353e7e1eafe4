// kdev ls | dev start | dev end | dev status
import { Command, Option } from 'commander';
import { createInterface } from 'node:readline/promises';
import { resolve } from 'node:path';
import {
  devStatus,
  endDevMode,
  environmentDevConfig,
  keepLease,
  listWorkloads,
  loadConfig,
  devEntryFor,
  parseSecondsFlag,
  parseWorkloadRef,
  startDevMode,
  syncSessionFor,
  type Cluster,
  type DevEntry,
  type DevSession,
  type MassDeleteInfo,
  type WorkloadInfo,
} from '@kdev/core';
import { removeSyncState, writeSyncState } from '../sync-state.js';
import { renderSync } from '../ui/sync-view.js';
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
    .option('--local <dir>', 'local folder to sync (default: sync.local of the config, else the current folder)')
    .option('--no-sync', 'return once the dev container is ready, without syncing')
    .option('-y, --yes', 'allow a sync batch that deletes more than half of the synced files without asking')
    .description('start dev mode on a workload, wait until its dev container is ready, then sync the local folder into it (Ctrl-C detaches)')
    .action(async (workload: string, o: { container?: string; image?: string; workdir?: string; mode: 'replace' | 'duplicate'; force?: boolean; timeout: string; config?: string; local?: string; sync: boolean; yes?: boolean }, cmd: Command) => {
      const timeoutMs = parseSecondsFlag('--timeout', o.timeout);
      const cluster = clusterFor(cmd);
      const ref = parseWorkloadRef(workload);
      const loaded = loadConfig(o.config ?? process.cwd());
      let entry = devEntryFor(loaded.config, ref.kind.kind, ref.name);
      let root = loaded.root;
      if (!entry) {
        // No entry in .kdev.yaml: an environment's template may have one for this service.
        const fromEnv = await environmentDevConfig(cluster);
        entry = fromEnv ? devEntryFor(fromEnv.config, ref.kind.kind, ref.name) : undefined;
        if (entry && fromEnv) root = fromEnv.root;
      }
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
          timeoutMs,
          onEvent,
        });
      if (wantsJson(cmd)) return printJson(await run());
      const session = await withProgress(`kdev dev start ${workload} (namespace ${cluster.namespace})`, run);
      process.stdout.write(
        `\nDev container ready: pod/${session.pod}, container ${session.container}, image ${session.image}, source at ${session.workDir}\n` +
          `  shell:  kdev dev terminal ${session.workload} -n ${session.namespace}\n` +
          `  end:    kdev dev end ${session.workload} -n ${session.namespace}\n`,
      );
      if (!o.sync) return;
      const localRoot = o.local ? resolve(o.local) : resolve(root, entry?.sync.local ?? '.');
      await attachSync(cluster, session, localRoot, entry, o.yes ?? false);
    });

  dev
    .command('end')
    .argument('<workload>', 'kind/name')
    .option('--force', "end someone else's dev mode")
    .option('--timeout <seconds>', 'how long to wait for the rollout', '180')
    .description('restore the workload exactly as it was (works after a crash and from any machine)')
    .action(async (workload: string, o: { force?: boolean; timeout: string }, cmd: Command) => {
      const timeoutMs = parseSecondsFlag('--timeout', o.timeout);
      const cluster = clusterFor(cmd);
      const run = (onEvent?: Parameters<typeof endDevMode>[1]['onEvent']) => endDevMode(cluster, { workload, force: o.force, timeoutMs, onEvent });
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

/** Syncs the local folder into the dev container until Ctrl-C; keeps the lease fresh meanwhile. */
async function attachSync(cluster: Cluster, session: DevSession, localRoot: string, entry: DevEntry | undefined, yes: boolean): Promise<void> {
  const sync = syncSessionFor(cluster, session, {
    localRoot,
    sync: { mode: entry?.sync.mode ?? 'send-only', ignore: entry?.sync.ignore ?? [], deleteLocal: entry?.sync.deleteLocal ?? false },
    confirmMassDelete: (info: MassDeleteInfo) => confirmMassDelete(info, yes),
  });
  const save = () => writeSyncState(session.namespace, session.workload, sync.status());
  for (const ev of ['connecting', 'initial-sync', 'watching', 'syncing', 'idle', 'error'] as const) sync.on(ev, save);
  const view = renderSync(sync, `Syncing ${localRoot} → ${session.workload}:${session.workDir} (${session.mode === 'duplicate' ? 'copy, ' : ''}${entry?.sync.mode ?? 'send-only'}). Ctrl-C detaches; dev mode stays on.`);
  let done!: () => void;
  const detached = new Promise<void>((r) => (done = r));
  const stopLease = keepLease(cluster, session, () => {
    process.stderr.write(`\n✗ the dev lease on ${session.workload} is no longer yours (taken over, or dev mode ended): stopping the sync\n`);
    process.exitCode = 1;
    done();
  });
  process.once('SIGINT', () => done());
  process.once('SIGTERM', () => done());
  try {
    await Promise.race([sync.start(), detached]);
    save();
    await detached;
  } finally {
    stopLease();
    await sync.stop();
    removeSyncState(session.namespace, session.workload);
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

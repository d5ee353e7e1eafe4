// kdev dev terminal | dev run | dev debug | logs | port-forward add|list|stop
// Thin commands over core/session: they pick the workload, render events, and clean up.
import { dirname, resolve } from 'node:path';
import { Command } from 'commander';
import {
  ForwardManager,
  KdevError,
  devEntryFor,
  devStatus,
  listForwardProcesses,
  loadConfig,
  openTerminal,
  PLAIN_SHELL,
  parseCountFlag,
  parsePortFlag,
  parsePortPair,
  parseSecondsFlag,
  parseWorkloadRef,
  refString,
  resolveDevTarget,
  resolveWorkloadTarget,
  serveForwardControl,
  startDebug,
  startRun,
  stopForwards,
  stopRun,
  streamLogs,
  followRun,
  whoAmI,
  SyncSession,
  SIDECAR_CONTAINER,
  waitReadyPod,
  type Cluster,
  type DevEntry,
  type ForwardInfo,
  type SessionEvent,
  type SessionTarget,
} from '@kdev/core';
import { clusterFor, printJson, wantsJson } from '../context.js';
import { readSyncStates, removeSyncState, writeSyncState } from '../sync-state.js';

interface Picked {
  workload: string;
  entry?: DevEntry;
  /** The folder the config's relative paths start from (the local source root). */
  root: string;
}

/** The workload named, else the only one in .kdev.yaml, else the only one I have in dev mode. */
async function pickWorkload(cluster: Cluster, given: string | undefined, configPath: string | undefined): Promise<Picked> {
  const loaded = loadConfig(configPath ?? process.cwd());
  const root = loaded.file ? dirname(loaded.file) : loaded.root;
  if (given) {
    const ref = parseWorkloadRef(given);
    return { workload: refString(ref), entry: devEntryFor(loaded.config, ref.kind.kind, ref.name), root };
  }
  const keys = Object.keys(loaded.config.dev);
  if (keys.length === 1) return { workload: refString(parseWorkloadRef(keys[0]!)), entry: loaded.config.dev[keys[0]!], root };
  const me = await whoAmI(cluster);
  const mine = (await devStatus(cluster)).filter((w) => w.dev?.owner === me);
  if (mine.length === 1) {
    const w = mine[0]!;
    const ref = parseWorkloadRef(`${w.kind.toLowerCase()}/${w.name}`);
    return { workload: refString(ref), entry: devEntryFor(loaded.config, ref.kind.kind, ref.name), root };
  }
  throw new KdevError(
    'INVALID',
    'which workload? name one',
    keys.length > 1 ? `.kdev.yaml has ${keys.join(', ')}` : mine.length > 1 ? `You have ${mine.map((w) => `${w.kind.toLowerCase()}/${w.name}`).join(', ')} in dev mode.` : 'Start dev mode first: kdev dev start <workload>',
  );
}

function describe(e: SessionEvent): string | undefined {
  switch (e.type) {
    case 'forward':
      return `${e.state === 'ready' ? '⇄' : e.state === 'stopped' ? '■' : '…'} ${e.message}`;
    case 'forward-error':
      return `! 127.0.0.1:${e.localPort}: ${e.message}${e.retryInMs !== undefined ? ` (retrying in ${e.retryInMs} ms)` : ''}`;
    case 'run':
    case 'debug':
      return `› ${e.message}`;
    case 'info':
      return `  ${e.message}`;
  }
}

/** Renders events on stderr (stdout carries the app's output or JSON). */
const renderEvent = (quiet: boolean) => (e: SessionEvent) => {
  if (quiet) return;
  const line = describe(e);
  if (line) process.stderr.write(`${line}\n`);
};

/** Resolves when Ctrl-C (or TERM) arrives, or when `also` resolves. */
function untilInterrupted(also?: Promise<unknown>): Promise<void> {
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

function forwardTargetOf(t: SessionTarget) {
  return { namespace: t.namespace, pod: t.pod, podSelector: t.podSelector || undefined, workload: t.workload };
}

/**
 * When the dev pod carries the sync sidecar, a sync session from the config's local folder,
 * so that each save lands and restarts the run command. Undefined without a sidecar.
 */
async function maybeSync(cluster: Cluster, target: SessionTarget, picked: Picked, quiet: boolean): Promise<SyncSession | undefined> {
  const pod = await cluster.core.readNamespacedPod({ name: target.pod, namespace: target.namespace });
  if (!pod.spec?.containers.some((c) => c.name === SIDECAR_CONTAINER)) {
    if (!quiet) process.stderr.write(`  (pod/${target.pod} has no sync sidecar: files reach it only through another sync)\n`);
    return undefined;
  }
  // An attached `kdev dev start` (or another `dev run`) already syncs this workload: its
  // batches restart the command just the same; a second session would duplicate them.
  const other = readSyncStates().find((st) => st.namespace === target.namespace && st.workload === target.workload && st.pid !== process.pid);
  if (other) {
    if (!quiet) process.stderr.write(`⇅ sync: already running in pid ${other.pid} (${other.status.localRoot}); its batches restart the command\n`);
    return undefined;
  }
  const cfg = picked.entry?.sync;
  const session = new SyncSession({
    cluster,
    namespace: target.namespace,
    localRoot: resolve(picked.root, cfg?.local ?? '.'),
    config: { mode: cfg?.mode, ignore: cfg?.ignore, deleteLocal: cfg?.deleteLocal },
    resolvePod: async () => (await waitReadyPod(cluster, target.podSelector, 120_000, `the dev pod of ${target.workload}`)).metadata!.name!,
  });
  if (!quiet) {
    session.on('watching', (e) => process.stderr.write(`⇅ sync: ${e.files} files in step; watching ${resolve(picked.root, cfg?.local ?? '.')}\n`));
    session.on('error', (e) => process.stderr.write(`! sync: ${e.message}${e.hint ? ` (${e.hint})` : ''}\n`));
  }
  const save = () => writeSyncState(target.namespace, target.workload, session.status());
  for (const ev of ['connecting', 'initial-sync', 'watching', 'syncing', 'idle', 'error'] as const) session.on(ev, save);
  await session.start();
  return session;
}

/** Adds the config's forwards; a taken port is reported but does not stop the others. */
async function addConfigForwards(manager: ForwardManager, target: SessionTarget, entry: DevEntry | undefined, quiet: boolean): Promise<ForwardInfo[]> {
  const added: ForwardInfo[] = [];
  for (const spec of entry?.ports ?? []) {
    try {
      added.push(await manager.add(forwardTargetOf(target), parsePortPair(spec)));
    } catch (err) {
      if (!(err instanceof KdevError) || err.code !== 'CONFLICT') throw err;
      if (!quiet) process.stderr.write(`! ${err.message}${err.hint ? `\n  hint: ${err.hint}` : ''}\n`);
    }
  }
  return added;
}

export function registerSession(program: Command): void {
  const dev = program.commands.find((c) => c.name() === 'dev') ?? program.command('dev');

  dev
    .command('terminal')
    .argument('[workload]', 'kind/name (default: the one in .kdev.yaml, or the one you have in dev mode)')
    .option('-c, --container <name>', 'container (default: the dev container)')
    .option('--config <file>', '.kdev.yaml to use')
    .description('an interactive shell (bash when present, else sh) in the dev container')
    .action(async (workload: string | undefined, o: { container?: string; config?: string }, cmd: Command) => {
      const cluster = clusterFor(cmd);
      const picked = await pickWorkload(cluster, workload, o.config);
      const target = await resolveDevTarget(cluster, picked.workload, { container: o.container });
      const stdin = process.stdin;
      const tty = stdin.isTTY === true && process.stdout.isTTY === true;
      if (tty) stdin.setRawMode(true);
      let code: number;
      try {
        // Without a local TTY (piped input) the shell reads commands from stdin, not interactively.
        code = await openTerminal(cluster, target.pod, target.container, {
          namespace: target.namespace,
          stdin,
          stdout: process.stdout,
          stderr: process.stderr,
          tty,
          command: tty ? undefined : PLAIN_SHELL,
        });
      } finally {
        if (tty) stdin.setRawMode(false);
        stdin.pause();
      }
      process.exitCode = code;
      // The exec's stdin listener keeps nothing alive once the stream closed; exit now.
      process.exit(code);
    });

  program
    .command('logs')
    .argument('[workload]', 'kind/name (default: the one in .kdev.yaml, or the one you have in dev mode)')
    .option('-f, --follow', 'keep streaming')
    .option('-p, --previous', 'the previous (crashed) instance of the container')
    .option('-c, --container <name>', 'container (default: the dev container, else the first)')
    .option('--tail <lines>', 'only the last lines')
    .option('--config <file>', '.kdev.yaml to use')
    .description("a workload's container log (the dev container's when in dev mode: the run command's output)")
    .action(async (workload: string | undefined, o: { follow?: boolean; previous?: boolean; container?: string; tail?: string; config?: string }, cmd: Command) => {
      const tailLines = o.tail !== undefined ? parseCountFlag('--tail', o.tail) : undefined;
      const cluster = clusterFor(cmd);
      const picked = await pickWorkload(cluster, workload, o.config);
      const target = await resolveWorkloadTarget(cluster, picked.workload, { container: o.container });
      const abort = new AbortController();
      const done = streamLogs(cluster, target.pod, target.container, process.stdout, {
        namespace: target.namespace,
        follow: o.follow,
        previous: o.previous,
        tailLines,
        signal: abort.signal,
      });
      if (o.follow) {
        await untilInterrupted(done);
        abort.abort();
      }
      await done;
    });

  const pf = program.command('port-forward').alias('pf').description('forward local ports to a workload (reconnecting when its pod is replaced)');

  pf.command('add')
    .argument('[ports...]', 'local:remote, remote, or :remote (a free local port); default: the ports in .kdev.yaml')
    .option('-w, --workload <workload>', 'kind/name (default: the one in .kdev.yaml, or the one you have in dev mode)')
    .option('--address <ip>', 'local address to listen on', '127.0.0.1')
    .option('--config <file>', '.kdev.yaml to use')
    .description('forward ports until Ctrl-C or `kdev port-forward stop`')
    .action(async (ports: string[], o: { workload?: string; address: string; config?: string }, cmd: Command) => {
      const cluster = clusterFor(cmd);
      const json = wantsJson(cmd);
      const picked = await pickWorkload(cluster, o.workload, o.config);
      const specs = ports.length > 0 ? ports : (picked.entry?.ports ?? []).map(String);
      if (specs.length === 0) throw new KdevError('INVALID', 'no ports to forward', `Name some (kdev port-forward add 8080:80) or list them under ports: in .kdev.yaml for ${picked.workload}.`);
      const pairs = specs.map(parsePortPair);
      const target = await resolveWorkloadTarget(cluster, picked.workload, { timeoutMs: 60_000 });
      const manager = new ForwardManager(cluster, { onEvent: renderEvent(json) });
      const added: ForwardInfo[] = [];
      try {
        for (const p of pairs) added.push(await manager.add(forwardTargetOf(target), p, { address: o.address }));
      } catch (err) {
        await manager.stopAll();
        throw err;
      }
      let stoppedAll!: () => void;
      const allStopped = new Promise<void>((r) => (stoppedAll = r));
      const control = await serveForwardControl(manager, `kdev port-forward add ${specs.join(' ')} -w ${picked.workload} -n ${cluster.namespace}`, () => {
        if (manager.size === 0) stoppedAll();
      });
      if (json) printJson(added.map((f) => ({ localPort: f.localPort, remotePort: f.remotePort, address: f.address, workload: f.workload, namespace: f.namespace, pid: process.pid })));
      else for (const f of added) process.stderr.write(`forwarding ${f.address}:${f.localPort} → ${picked.workload}:${f.remotePort} (Ctrl-C to stop)\n`);
      await untilInterrupted(allStopped);
      await manager.stopAll();
      await control.close();
      process.exit(0);
    });

  pf.command('list')
    .description('the forwards held by running kdev processes')
    .action(async (_o: unknown, cmd: Command) => {
      const procs = await listForwardProcesses();
      const rows = procs.flatMap((p) => p.forwards.map((f) => ({ ...f, pid: p.pid, process: p.command })));
      if (wantsJson(cmd)) return printJson(rows);
      if (rows.length === 0) return void process.stdout.write('no port-forwards are running\n');
      const table = [['LOCAL', 'REMOTE', 'WORKLOAD', 'NAMESPACE', 'POD', 'STATE', 'PID']];
      for (const r of rows) table.push([`${r.address}:${r.localPort}`, String(r.remotePort), r.workload ?? '-', r.namespace, r.pod ?? '-', r.state, String(r.pid)]);
      const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
      process.stdout.write(table.map((row) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n');
    });

  pf.command('stop')
    .argument('[localPort]', 'the local port of the forward')
    .option('--all', 'every forward')
    .description('stop a forward held by any running kdev process')
    .action(async (port: string | undefined, o: { all?: boolean }, cmd: Command) => {
      if (!o.all && port === undefined) throw new KdevError('INVALID', 'which forward? give its local port, or --all', '`kdev port-forward list` shows them.');
      const localPort = o.all ? null : parsePortFlag('localPort', port!);
      const stopped = await stopForwards(localPort);
      if (wantsJson(cmd)) return printJson({ stopped });
      if (stopped.length === 0) throw new KdevError('NOT_FOUND', localPort === null ? 'no port-forwards are running' : `no kdev port-forward on local port ${localPort}`, '`kdev port-forward list` shows them.');
      process.stdout.write(`stopped ${stopped.map((p) => `127.0.0.1:${p}`).join(', ')}\n`);
    });

  dev
    .command('run')
    .argument('[workload]', 'kind/name (default: the one in .kdev.yaml, or the one you have in dev mode)')
    .option('--command <cmd>', 'run this instead of the config’s run command')
    .option('--no-restart', 'do not restart after each sync (for runtimes that reload themselves)')
    .option('--detach', 'start it and return (the container keeps running it; `kdev logs -f` follows)')
    .option('--no-sync', 'do not sync the local folder (when the dev pod has the sync sidecar, it is synced by default)')
    .option('--config <file>', '.kdev.yaml to use')
    .description("run the config's command in the dev container, restarted after every sync; its output streams here; Ctrl-C stops it")
    .action(async (workload: string | undefined, o: { command?: string; restart: boolean; detach?: boolean; sync: boolean; config?: string }, cmd: Command) => {
      const cluster = clusterFor(cmd);
      const json = wantsJson(cmd);
      const picked = await pickWorkload(cluster, workload, o.config);
      const command = o.command ?? picked.entry?.run;
      if (!command) throw noRun(picked.workload);
      const target = await resolveDevTarget(cluster, picked.workload);
      const restartOnSync = o.restart && (picked.entry?.restartOnSync ?? true);
      if (o.detach) {
        const status = await startRun(cluster, target, { command, restartOnSync, onEvent: renderEvent(json) });
        if (json) printJson({ workload: target.workload, pod: target.pod, command, restartOnSync, status });
        return;
      }
      const manager = new ForwardManager(cluster, { onEvent: renderEvent(json) });
      const abort = new AbortController();
      let sync: SyncSession | undefined;
      let control: Awaited<ReturnType<typeof serveForwardControl>> | undefined;
      let following: Promise<void> | undefined;
      const cleanup = async () => {
        abort.abort();
        await sync?.stop();
        if (sync) removeSyncState(target.namespace, target.workload);
        await manager.stopAll();
        await control?.close();
      };
      try {
        // Sync first (the initial sync lands before the command starts), then forwards, then run.
        if (o.sync) sync = await maybeSync(cluster, target, picked, json);
        await addConfigForwards(manager, target, picked.entry, json);
        if (manager.size > 0) control = await serveForwardControl(manager, `kdev dev run ${target.workload} -n ${cluster.namespace}`);
        following = followRun(cluster, target, process.stdout, { since: Date.now(), signal: abort.signal });
        await startRun(cluster, target, { command, restartOnSync, onEvent: renderEvent(json) });
      } catch (err) {
        await cleanup();
        throw err;
      }
      await untilInterrupted(following);
      if (!json) process.stderr.write('\nstopping the run command…\n');
      await stopRun(cluster, target).catch(() => undefined);
      await cleanup();
      process.exit(0);
    });

  dev
    .command('debug')
    .argument('[workload]', 'kind/name (default: the one in .kdev.yaml, or the one you have in dev mode)')
    .option('--timeout <seconds>', 'how long to wait for the debugger to answer', '60')
    .option('--no-restart', 'do not restart the debug command after each sync')
    .option('--config <file>', '.kdev.yaml to use')
    .description("run the config's debug command, forward its port, wait until the debugger answers, print the VS Code attach configuration; Ctrl-C stops")
    .action(async (workload: string | undefined, o: { timeout: string; restart: boolean; config?: string }, cmd: Command) => {
      const timeoutMs = parseSecondsFlag('--timeout', o.timeout);
      const cluster = clusterFor(cmd);
      const json = wantsJson(cmd);
      const picked = await pickWorkload(cluster, workload, o.config);
      if (!picked.entry?.debug) throw noDebug(picked.workload);
      const target = await resolveDevTarget(cluster, picked.workload);
      const manager = new ForwardManager(cluster, { onEvent: renderEvent(json) });
      let session;
      try {
        await addConfigForwards(manager, target, picked.entry, json);
        session = await startDebug(cluster, target, {
          debug: picked.entry.debug,
          forwards: manager,
          localRoot: picked.root,
          timeoutMs,
          restartOnSync: o.restart,
          onEvent: renderEvent(json),
        });
      } catch (err) {
        await manager.stopAll();
        throw err;
      }
      const control = await serveForwardControl(manager, `kdev dev debug ${target.workload} -n ${cluster.namespace}`);
      if (json) printJson({ workload: target.workload, pod: target.pod, localPort: session.localPort, remotePort: session.remotePort, attach: session.attach });
      else {
        process.stdout.write(`\nThe ${session.type} debugger answers on 127.0.0.1:${session.localPort}. VS Code attach configuration (launch.json):\n`);
        process.stdout.write(`${JSON.stringify(session.attach, null, 2)}\n\nCtrl-C stops the debug command and the forward.\n`);
      }
      await untilInterrupted();
      await session.stop();
      await manager.stopAll();
      await control.close();
      process.exit(0);
    });
}

function noRun(workload: string): KdevError {
  const key = workload.replace(/^deployment\//, '');
  return new KdevError('INVALID', `no run command for ${workload} in .kdev.yaml`, `Add one:\n  dev:\n    ${key}:\n      run: node server.js\nor pass it: kdev dev run ${workload} --command "node server.js"`);
}

function noDebug(workload: string): KdevError {
  const key = workload.replace(/^deployment\//, '');
  return new KdevError(
    'INVALID',
    `no debug command for ${workload} in .kdev.yaml`,
    `Add one:\n  dev:\n    ${key}:\n      debug:\n        command: node --inspect=0.0.0.0:9229 server.js\n        port: 9229\n        type: node   # node | python | go | java`,
  );
}

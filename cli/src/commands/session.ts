// kdev dev terminal | dev run | dev debug | logs | port-forward add|list|stop
// Arguments in; core's DevLoop picks the workload and does the work; its events are rendered.
import { Argument, Command, Option } from 'commander';
import { KdevError, listSessions, parseCountFlag, parsePortFlag, parseSecondsFlag, stopForwards, table, type DevLoop, type DevWorkload } from '@kdev/core';
import { completesWith } from '../completion/complete.js';
import { clusterFor, loopFor, printJson, renderEvents, untilInterrupted, wantsJson } from '../context.js';

const WORKLOAD_ARG = 'kind/name (default: the one in .kdev.yaml, or the one you have in dev mode)';

function workloadArg(): Argument {
  return completesWith(new Argument('[workload]', WORKLOAD_ARG), 'workload');
}

/** The session of this command and its workload, resolved by core's one rule. */
async function resolveFor(cmd: Command, what: string, workload: string | undefined, config: string | undefined): Promise<{ loop: DevLoop; w: DevWorkload }> {
  const loop = loopFor(cmd, what);
  renderEvents(loop, wantsJson(cmd));
  const w = await loop.resolve(clusterFor(cmd), { workload, configFrom: config });
  return { loop, w };
}

function registerTerminal(dev: Command): void {
  dev
    .command('terminal')
    .addArgument(workloadArg())
    .option('-c, --container <name>', 'container (default: the dev container)')
    .option('--config <file>', '.kdev.yaml to use')
    .description('an interactive shell (bash when present, else sh) in the dev container')
    .action(async (workload: string | undefined, o: { container?: string; config?: string }, cmd: Command) => {
      const { w } = await resolveFor(cmd, 'dev terminal', workload, o.config);
      const stdin = process.stdin;
      const tty = stdin.isTTY === true && process.stdout.isTTY === true;
      if (tty) stdin.setRawMode(true);
      let code: number;
      try {
        // Without a local TTY (piped input) the shell reads commands from stdin, not interactively.
        code = await w.terminal({ stdin, stdout: process.stdout, stderr: process.stderr, tty, container: o.container });
      } finally {
        if (tty) stdin.setRawMode(false);
        stdin.pause();
      }
      process.exitCode = code;
      // The exec's stdin listener keeps nothing alive once the stream closed; exit now.
      process.exit(code);
    });
}

function registerLogs(program: Command): void {
  program
    .command('logs')
    .addArgument(workloadArg())
    .option('-f, --follow', 'keep streaming')
    .option('-p, --previous', 'the previous (crashed) instance of the container')
    .option('-c, --container <name>', 'container (default: the dev container, else the first)')
    .option('--tail <lines>', 'only the last lines')
    .option('--config <file>', '.kdev.yaml to use')
    .description("a workload's container log (the dev container's when in dev mode: the run command's output)")
    .action(async (workload: string | undefined, o: { follow?: boolean; previous?: boolean; container?: string; tail?: string; config?: string }, cmd: Command) => {
      const { w } = await resolveFor(cmd, 'logs', workload, o.config);
      const abort = new AbortController();
      const done = w.logs(process.stdout, { follow: o.follow, previous: o.previous, container: o.container, tailLines: o.tail !== undefined ? parseCountFlag('--tail', o.tail) : undefined, signal: abort.signal });
      if (o.follow) {
        await untilInterrupted(done);
        abort.abort();
      }
      await done;
    });
}

function registerPortForward(program: Command): void {
  const pf = program.command('port-forward').alias('pf').description('forward local ports to a workload (reconnecting when its pod is replaced)');

  pf.command('add')
    .argument('[ports...]', 'local:remote, remote, or :remote (a free local port); default: the ports in .kdev.yaml')
    .addOption(completesWith(new Option('-w, --workload <workload>', WORKLOAD_ARG), 'workload'))
    .option('--address <ip>', 'local address to listen on', '127.0.0.1')
    .option('--config <file>', '.kdev.yaml to use')
    .description('forward ports until Ctrl-C or `kdev port-forward stop`')
    .action(async (ports: string[], o: { workload?: string; address: string; config?: string }, cmd: Command) => {
      const json = wantsJson(cmd);
      const { loop, w } = await resolveFor(cmd, `port-forward add ${ports.join(' ')} -w ${o.workload ?? '(config)'}`, o.workload, o.config);
      const added = await w.forward(ports, { address: o.address });
      let stoppedAll!: () => void;
      const allStopped = new Promise<void>((r) => (stoppedAll = r));
      loop.on((e) => {
        if (e.type === 'forward' && e.state === 'stopped' && loop.status().every((s) => s.forwards.length === 0)) stoppedAll();
      });
      if (json) printJson(added.map((f) => ({ localPort: f.localPort, remotePort: f.remotePort, address: f.address, workload: f.workload, namespace: f.namespace, pid: process.pid })));
      else for (const f of added) process.stderr.write(`forwarding ${f.address}:${f.localPort} → ${w.workload}:${f.remotePort} (Ctrl-C to stop)\n`);
      await untilInterrupted(allStopped);
      await loop.close();
      process.exit(0);
    });

  pf.command('list')
    .description('the forwards held by running kdev processes (CLI and VS Code)')
    .action(async (_o: unknown, cmd: Command) => {
      const procs = await listSessions();
      const rows = procs.flatMap((p) => p.sessions.flatMap((s) => s.forwards.map((f) => ({ ...f, pid: p.pid, ui: p.ui, process: p.command }))));
      if (wantsJson(cmd)) return printJson(rows);
      if (rows.length === 0) return void process.stdout.write('no port-forwards are running\n');
      const out = [['LOCAL', 'REMOTE', 'WORKLOAD', 'NAMESPACE', 'POD', 'STATE', 'PID']];
      for (const r of rows) out.push([`${r.address}:${r.localPort}`, String(r.remotePort), r.workload ?? '-', r.namespace, r.pod ?? '-', r.state, `${r.pid} (${r.ui})`]);
      process.stdout.write(table(out));
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
}

interface RunFlags {
  command?: string;
  restart: boolean;
  detach?: boolean;
  sync: boolean;
  config?: string;
}

function registerRun(dev: Command): void {
  dev
    .command('run')
    .addArgument(workloadArg())
    .option('--command <cmd>', 'run this instead of the config’s run command')
    .option('--no-restart', 'do not restart after each sync (for runtimes that reload themselves)')
    .option('--detach', 'start it and return (the container keeps running it; `kdev logs -f` follows)')
    .option('--no-sync', 'do not sync the local folder (when the dev pod has the sync sidecar, it is synced by default)')
    .option('--config <file>', '.kdev.yaml to use')
    .description("run the config's command in the dev container, restarted after every sync; its output streams here; Ctrl-C stops it")
    .action(async (workload: string | undefined, o: RunFlags, cmd: Command) => {
      const json = wantsJson(cmd);
      const { loop, w } = await resolveFor(cmd, `dev run ${workload ?? ''}`.trim(), workload, o.config);
      if (o.detach) {
        const r = await w.run({ command: o.command, restart: o.restart, sync: false, forwards: false });
        await loop.close();
        if (json) printJson({ workload: r.target.workload, pod: r.target.pod, command: r.command, restartOnSync: r.restartOnSync, status: r.status });
        return;
      }
      // Sync first (the initial sync lands before the command starts), then forwards, then run.
      const since = Date.now();
      const abort = new AbortController();
      const r = await w.run({ command: o.command, restart: o.restart, sync: o.sync });
      const following = w.followRun(r.target, process.stdout, { since, signal: abort.signal });
      await untilInterrupted(following);
      if (!json) process.stderr.write('\nstopping the run command…\n');
      await w.stopRun(r.target).catch(() => undefined);
      abort.abort();
      await loop.close();
      process.exit(0);
    });
}

function registerDebug(dev: Command): void {
  dev
    .command('debug')
    .addArgument(workloadArg())
    .option('--timeout <seconds>', 'how long to wait for the debugger to answer', '60')
    .option('--no-restart', 'do not restart the debug command after each sync')
    .option('--config <file>', '.kdev.yaml to use')
    .description("run the config's debug command, forward its port, wait until the debugger answers, print the VS Code attach configuration; Ctrl-C stops")
    .action(async (workload: string | undefined, o: { timeout: string; restart: boolean; config?: string }, cmd: Command) => {
      const json = wantsJson(cmd);
      const { loop, w } = await resolveFor(cmd, `dev debug ${workload ?? ''}`.trim(), workload, o.config);
      let session;
      try {
        session = await w.debug({ timeoutMs: parseSecondsFlag('--timeout', o.timeout), restart: o.restart });
      } catch (err) {
        await loop.close();
        throw err;
      }
      if (json) printJson({ workload: w.workload, pod: session.target.pod, localPort: session.localPort, remotePort: session.remotePort, attach: session.attach });
      else {
        process.stdout.write(`\nThe ${session.type} debugger answers on 127.0.0.1:${session.localPort}. VS Code attach configuration (launch.json):\n`);
        process.stdout.write(`${JSON.stringify(session.attach, null, 2)}\n\nCtrl-C stops the debug command and the forward.\n`);
      }
      await untilInterrupted();
      await session.stop();
      await loop.close();
      process.exit(0);
    });
}

export function registerSession(program: Command): void {
  const dev = program.commands.find((c) => c.name() === 'dev') ?? program.command('dev');
  registerTerminal(dev);
  registerLogs(program);
  registerPortForward(program);
  registerRun(dev);
  registerDebug(dev);
}

// Remote run: the dev container's supervisor (PID 1, core/src/devmode/supervisor.ts) runs
// the command; the sync sidecar writes "synced" to its FIFO after each applied batch and
// the supervisor restarts the command's whole process group, unless $CTL/no-restart exists.
// The command's output is PID 1's stdout: the container log, which `followRun` streams.
import type { Writable } from 'node:stream';
import { KdevError } from '../errors.js';
import type { Cluster } from '../kube/client.js';
import { CONTROL_DIR } from '../devmode/patch.js';
import { execCapture } from './exec.js';
import { streamLogs } from './logs.js';
import type { SessionEventHandler } from './events.js';
import type { SessionTarget } from './target.js';

export type RunStatus = { state: 'running'; pid: number } | { state: 'exited'; code: number } | { state: 'stopped' | 'idle' | 'no-command' };

export function parseRunStatus(text: string): RunStatus {
  const [word, arg] = text.trim().split(/\s+/);
  if (word === 'running') return { state: 'running', pid: Number(arg) };
  if (word === 'exited') return { state: 'exited', code: Number(arg) };
  if (word === 'stopped' || word === 'no-command') return { state: word };
  return { state: 'idle' };
}

const NO_SUPERVISOR = 3;

// $1 command ("" keeps the current one), $2 1|0 restart on sync, $3 start|restart|stop.
// Waits (inside the container, at most 10 s) until the supervisor has acted, prints the status.
const CONTROL_SCRIPT = `
CTL=${CONTROL_DIR}
[ -p "$CTL/cmd" ] || exit ${NO_SUPERVISOR}
if [ "$2" = 1 ]; then rm -f "$CTL/no-restart"; elif [ "$2" = 0 ]; then : > "$CTL/no-restart"; fi
[ -n "$1" ] && printf '%s\\n' "$1" > "$CTL/run.cmd"
if [ "$3" = stop ]; then
  case "$(cat "$CTL/status" 2>/dev/null)" in running*) ;; *) cat "$CTL/status" 2>/dev/null || echo idle; exit 0 ;; esac
fi
rm -f "$CTL/status"
printf '%s\\n' "$3" > "$CTL/cmd"
i=0
while [ $i -lt 200 ]; do
  s=$(cat "$CTL/status" 2>/dev/null)
  case "$3:$s" in
    stop:?*) break ;;
    restart:running*|restart:exited*|restart:no-command*) break ;;
  esac
  sleep 0.05; i=$((i + 1))
done
cat "$CTL/status" 2>/dev/null || echo idle
`;

async function control(cluster: Cluster, target: SessionTarget, command: string, restartOnSync: boolean | undefined, op: 'restart' | 'stop'): Promise<RunStatus> {
  const flag = restartOnSync === undefined ? '' : restartOnSync ? '1' : '0';
  const r = await execCapture(cluster, target.pod, target.container, ['/bin/sh', '-c', CONTROL_SCRIPT, 'kdev-ctl', command, flag, op], { namespace: target.namespace });
  if (r.exitCode === NO_SUPERVISOR) {
    throw new KdevError('INVALID', `pod/${target.pod} has no kdev supervisor in container ${target.container}`, `Restart dev mode: kdev dev end ${target.workload} && kdev dev start ${target.workload}`);
  }
  if (r.exitCode !== 0) throw new KdevError('FAILED', `controlling the supervisor in pod/${target.pod} failed: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
  return parseRunStatus(r.stdout);
}

export interface RunOptions {
  /** Shell command; run by `sh -c` in the work dir. */
  command: string;
  /** Restart after each applied sync batch (default true); false for runtimes that reload themselves. */
  restartOnSync?: boolean;
  onEvent?: SessionEventHandler;
}

/** (Re)starts the run command under the supervisor. */
export async function startRun(cluster: Cluster, target: SessionTarget, opts: RunOptions): Promise<RunStatus> {
  if (!opts.command.trim()) throw noCommand('run', target.workload);
  const emit = opts.onEvent ?? (() => undefined);
  emit({ type: 'run', state: 'starting', command: opts.command, message: `starting \`${opts.command}\` in pod/${target.pod}` });
  const status = await control(cluster, target, opts.command, opts.restartOnSync ?? true, 'restart');
  if (status.state === 'running') {
    emit({ type: 'run', state: 'started', command: opts.command, message: `running (pid ${status.pid})${opts.restartOnSync === false ? '' : '; restarted after each sync'}` });
  } else {
    emit({ type: 'run', state: 'stopped', command: opts.command, message: status.state === 'exited' ? `exited at once with code ${status.code}` : status.state });
  }
  return status;
}

/** Stops the run command (its whole process group); the dev container stays. */
export async function stopRun(cluster: Cluster, target: SessionTarget): Promise<RunStatus> {
  return control(cluster, target, '', undefined, 'stop');
}

export async function runStatus(cluster: Cluster, target: SessionTarget): Promise<RunStatus> {
  const r = await execCapture(cluster, target.pod, target.container, ['/bin/sh', '-c', `cat ${CONTROL_DIR}/status 2>/dev/null || echo idle`], { namespace: target.namespace });
  return parseRunStatus(r.stdout);
}

/** Streams the dev container's output written from `since` (ms epoch) on, until the signal aborts. */
export function followRun(cluster: Cluster, target: SessionTarget, out: Writable, opts: { since?: number; signal?: AbortSignal } = {}): Promise<void> {
  return streamLogs(cluster, target.pod, target.container, out, { namespace: target.namespace, follow: true, since: opts.since ?? Date.now(), signal: opts.signal });
}

export function noCommand(what: 'run' | 'debug', workload: string): KdevError {
  const example = what === 'run' ? 'run: node server.js' : 'debug:\n      command: node --inspect=0.0.0.0:9229 server.js\n      port: 9229\n      type: node';
  return new KdevError('INVALID', `no ${what} command for ${workload} in .kdev.yaml`, `Add it under dev.${workload.replace(/^deployment\//, '')}:\n      ${example}${what === 'run' ? '\nor pass one: kdev dev run --command "<cmd>"' : ''}`);
}

// PID 1 of every dev container: a small POSIX-shell supervisor, delivered in a ConfigMap,
// so it works in any image that has /bin/sh. It blocks forever (the container lives while
// the app is stopped, crashed or restarting) and runs the app's command on request.
import { createHash } from 'node:crypto';
import type { Cluster } from '../kube/client.js';
import { CONTENT_HASH_ANNOTATION, ensureHashedConfigMap } from '../kube/configmap.js';

export const SUPERVISOR_CONFIGMAP = 'kdev-supervisor';
export const SUPERVISOR_PATH = '/kdev/bin/supervisor.sh';

/**
 * Control, from `kubectl exec` or kdev: `sh /kdev/bin/supervisor.sh ctl <command>`
 *   start [cmd]   start the run command (remembering cmd when given)
 *   restart       stop, then start
 *   stop          stop the whole process group (TERM, then KILL after 5 s)
 *   status        running <pid> | exited <code> | stopped | idle | no-command
 * The sync sidecar writes "synced" into the FIFO after each applied batch; the app is
 * then restarted unless $CTL/no-restart exists.
 */
export const SUPERVISOR_SCRIPT = `#!/bin/sh
# kdev supervisor (PID 1 of the dev container). See core/src/devmode/supervisor.ts.
CTL=\${KDEV_CTL:-/kdev/ctl}
FIFO="$CTL/cmd"

send() {
  if [ ! -p "$FIFO" ]; then echo "kdev: the supervisor is not running in this container" >&2; exit 1; fi
  printf '%s\\n' "$1" > "$FIFO"
}

if [ "$1" = ctl ]; then
  shift
  case "$1" in
    start)
      shift
      if [ $# -gt 0 ]; then printf '%s\\n' "$*" > "$CTL/run.cmd"; fi
      send start ;;
    restart|stop) send "$1" ;;
    status) cat "$CTL/status" 2>/dev/null || echo idle ;;
    *) echo "usage: supervisor.sh ctl start [cmd]|restart|stop|status" >&2; exit 2 ;;
  esac
  exit 0
fi

mkdir -p "$CTL"
# writable by the sync sidecar, which runs as another (non-root) user
[ -p "$FIFO" ] || { rm -f "$FIFO"; mkfifo -m 622 "$FIFO"; }
# Read and write end at once: reads never see end-of-file when a writer goes away.
exec 3<>"$FIFO"
child=""

running() { [ -n "$child" ] && kill -0 "$child" 2>/dev/null; }

start_run() {
  cmd=$(cat "$CTL/run.cmd" 2>/dev/null)
  [ -n "$cmd" ] || cmd="$KDEV_RUN"
  if [ -z "$cmd" ]; then
    echo "kdev supervisor: no run command configured"
    echo no-command > "$CTL/status"
    return
  fi
  echo "kdev supervisor: starting: $cmd"
  # The app gets its own process group, so that stop reaches its children too.
  if command -v setsid >/dev/null 2>&1; then
    setsid sh -c "$cmd; echo \\"exited \\$?\\" > '$CTL/status'" <&- &
  else
    set -m
    sh -c "$cmd; echo \\"exited \\$?\\" > '$CTL/status'" <&- &
    set +m
  fi
  child=$!
  echo "running $child" > "$CTL/status"
}

stop_run() {
  if running; then
    echo "kdev supervisor: stopping $child"
    kill -TERM -"$child" 2>/dev/null || kill -TERM "$child" 2>/dev/null
    i=0
    while kill -0 "$child" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    kill -KILL -"$child" 2>/dev/null
    wait "$child" 2>/dev/null
    echo stopped > "$CTL/status"
  fi
  child=""
}

trap 'stop_run; exit 0' TERM INT
echo idle > "$CTL/status"
echo "kdev supervisor: ready"
if [ "$KDEV_AUTOSTART" = 1 ]; then start_run; fi
while :; do
  if read -r line <&3; then
    case "$line" in
      start) running || start_run ;;
      restart) stop_run; start_run ;;
      stop) stop_run ;;
      synced) if running && [ ! -e "$CTL/no-restart" ]; then stop_run; start_run; fi ;;
    esac
  fi
done
`;

export const SUPERVISOR_HASH = createHash('sha256').update(SUPERVISOR_SCRIPT).digest('hex').slice(0, 16);

/** Creates or updates the supervisor's ConfigMap in a namespace (only when its content changed). */
export async function ensureSupervisorConfigMap(cluster: Cluster, namespace: string): Promise<void> {
  await ensureHashedConfigMap(cluster, namespace, {
    metadata: {
      name: SUPERVISOR_CONFIGMAP,
      labels: { 'app.kubernetes.io/managed-by': 'kdev' },
      annotations: { [CONTENT_HASH_ANNOTATION]: SUPERVISOR_HASH },
    },
    data: { 'supervisor.sh': SUPERVISOR_SCRIPT },
  });
}

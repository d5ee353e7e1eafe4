// kdev sync status: the file sync of attached `kdev dev start` processes on this machine.
import { Command } from 'commander';
import { printJson, wantsJson } from '../context.js';
import { readSyncStates } from '../sync-state.js';

function ago(iso: string | Date | undefined): string {
  if (!iso) return 'never';
  const s = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  return s < 120 ? `${s}s ago` : `${Math.round(s / 60)}m ago`;
}

export function registerSync(program: Command): void {
  const sync = program.command('sync').description('file sync into dev containers');
  sync
    .command('status')
    .description('the state of each sync run by an attached `kdev dev start` on this machine')
    .action((_o: unknown, cmd: Command) => {
      const states = readSyncStates();
      if (wantsJson(cmd)) return printJson(states);
      if (states.length === 0) return void process.stdout.write('no sync is running (start one with `kdev dev start <workload>`)\n');
      for (const s of states) {
        const st = s.status;
        process.stdout.write(
          `${s.namespace}/${s.workload}: ${st.state}, ${st.syncedFiles} files, last sync ${ago(st.lastSyncAt)}, pod ${st.pod ?? '-'}, ${st.mode}, from ${st.localRoot} (pid ${s.pid})\n` +
            (st.lastError ? `  last error: ${st.lastError.message}${st.lastError.hint ? ` (hint: ${st.lastError.hint})` : ''}\n` : ''),
        );
      }
    });
}

// kdev sync status: the file syncs of every kdev process on this machine (CLI or VS Code),
// from core's registry of running sessions.
import { Command } from 'commander';
import { ago, listSessions } from '@kdev/core';
import { printJson, wantsJson } from '../context.js';

export function registerSync(program: Command): void {
  const sync = program.command('sync').description('file sync into dev containers');
  sync
    .command('status')
    .description('the state of each sync run by a kdev process on this machine (an attached `kdev dev start`, `kdev dev run`, VS Code)')
    .action(async (_o: unknown, cmd: Command) => {
      const syncs = (await listSessions()).flatMap((p) =>
        p.sessions.flatMap((s) => (s.sync ? [{ pid: p.pid, ui: p.ui, user: p.user, command: p.command, workload: s.workload, namespace: s.namespace, status: s.sync }] : [])),
      );
      if (wantsJson(cmd)) return printJson(syncs);
      if (syncs.length === 0) return void process.stdout.write('no sync is running (start one with `kdev dev start <workload>`)\n');
      for (const s of syncs) {
        const st = s.status;
        process.stdout.write(
          `${s.namespace}/${s.workload}: ${st.state}, ${st.syncedFiles} files, last sync ${ago(st.lastSyncAt)}, pod ${st.pod ?? '-'}, ${st.mode}, from ${st.localRoot} (pid ${s.pid}, ${s.ui})\n` +
            (st.lastError ? `  last error: ${st.lastError.message}${st.lastError.hint ? ` (hint: ${st.lastError.hint})` : ''}\n` : ''),
        );
      }
    });
}

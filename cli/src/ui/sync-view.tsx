// One live line for the file sync of an attached dev session, fed by the session's events.
import { useEffect, useState } from 'react';
import { Box, Text, render, type Instance } from 'ink';
import { ago, type AppEvent, type DevLoop, type SyncState } from '@kdev/core';
import { isLive } from './terminal.js';

interface View {
  state: SyncState | 'error';
  text: string;
  hint?: string;
  lastSyncAt?: Date;
}

function next(view: View, e: AppEvent): View {
  switch (e.type) {
    case 'sync-progress':
      return { state: 'initial-sync', text: `initial sync ${e.files}/${e.totalFiles} files, ${(e.bytes / 1e6).toFixed(1)}/${(e.totalBytes / 1e6).toFixed(1)} MB` };
    case 'sync-error':
      return { ...view, state: 'error', text: e.message, hint: e.hint };
    case 'sync': {
      const at = e.status.lastSyncAt;
      if (e.state === 'connecting') return { state: 'connecting', text: `connecting${e.status.pod ? ` to ${e.status.pod}` : ''}${e.status.connects > 1 ? ` (attempt ${e.status.connects})` : ''} …`, lastSyncAt: at };
      if (e.state === 'syncing') return { state: 'syncing', text: `syncing ${e.batchFiles ?? 0} file${e.batchFiles === 1 ? '' : 's'}`, lastSyncAt: at };
      if (e.state === 'watching') return { state: 'watching', text: 'watching for changes', lastSyncAt: at };
      return { state: e.state, text: '', lastSyncAt: at };
    }
    default:
      return view;
  }
}

function SyncLine({ loop, header }: { loop: DevLoop; header: string }) {
  const [view, setView] = useState<View>({ state: 'connecting', text: 'connecting …' });
  const [, tick] = useState(0);
  useEffect(() => {
    const off = loop.on((e) => setView((v) => next(v, e)));
    const timer = setInterval(() => tick((n) => n + 1), 1000);
    return () => {
      off();
      clearInterval(timer);
    };
  }, [loop]);
  const text = view.state === 'idle' ? `synced ${view.lastSyncAt ? ago(view.lastSyncAt) : ''}` : view.text;
  const color = view.state === 'error' ? 'red' : view.state === 'idle' || view.state === 'watching' ? 'green' : 'cyan';
  return (
    <Box flexDirection="column">
      <Text>{header}</Text>
      <Text>
        <Text color={color}>● </Text>
        {text}
      </Text>
      {view.hint ? <Text dimColor>{`  hint: ${view.hint}`}</Text> : null}
    </Box>
  );
}

/** The live line where a person watches; elsewhere each change is a plain line as it happens (terminal.ts). */
export function renderSync(loop: DevLoop, header: string): Pick<Instance, 'unmount'> {
  if (isLive(process.stderr)) return render(<SyncLine loop={loop} header={header} />, { stdout: process.stderr, patchConsole: false });
  process.stderr.write(`${header}\n`);
  let view: View = { state: 'connecting', text: 'connecting …' };
  let last = '';
  const off = loop.on((e) => {
    view = next(view, e);
    const line = view.state === 'idle' ? 'synced' : `${view.text}${view.hint ? ` (hint: ${view.hint})` : ''}`;
    if (line !== last && line !== '') process.stderr.write(`● ${line}\n`);
    last = line;
  });
  return { unmount: off };
}

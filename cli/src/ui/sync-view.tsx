// One live line for the file sync of an attached dev session, fed by core's sync events.
import { useEffect, useState } from 'react';
import { Box, Text, render, type Instance } from 'ink';
import type { SyncSession, SyncState } from '@kdev/core';

interface View {
  state: SyncState | 'error';
  text: string;
  hint?: string;
}

function ago(d: Date): string {
  const s = Math.round((Date.now() - d.getTime()) / 1000);
  return s < 60 ? `${s}s ago` : `${Math.round(s / 60)}m ago`;
}

function SyncLine({ session, header }: { session: SyncSession; header: string }) {
  const [view, setView] = useState<View>({ state: 'connecting', text: 'connecting …' });
  const [, tick] = useState(0);
  useEffect(() => {
    const onConnecting = (e: { attempt: number; pod?: string }) =>
      setView({ state: 'connecting', text: `connecting${e.pod ? ` to ${e.pod}` : ''}${e.attempt > 1 ? ` (attempt ${e.attempt})` : ''} …` });
    const onInitial = (e: { files: number; totalFiles: number; bytes: number; totalBytes: number }) =>
      setView({ state: 'initial-sync', text: `initial sync ${e.files}/${e.totalFiles} files, ${(e.bytes / 1e6).toFixed(1)}/${(e.totalBytes / 1e6).toFixed(1)} MB` });
    const onSyncing = (e: { files: number }) => setView({ state: 'syncing', text: `syncing ${e.files} file${e.files === 1 ? '' : 's'}` });
    const onIdle = () => setView({ state: 'idle', text: '' });
    const onWatching = () => setView({ state: 'watching', text: 'watching for changes' });
    const onError = (e: { message: string; hint?: string }) => setView({ state: 'error', text: e.message, hint: e.hint });
    session.on('connecting', onConnecting).on('initial-sync', onInitial).on('syncing', onSyncing).on('idle', onIdle).on('watching', onWatching).on('error', onError);
    const offs = [
      () => session.off('connecting', onConnecting),
      () => session.off('initial-sync', onInitial),
      () => session.off('syncing', onSyncing),
      () => session.off('idle', onIdle),
      () => session.off('watching', onWatching),
      () => session.off('error', onError),
    ];
    const timer = setInterval(() => tick((n) => n + 1), 1000);
    return () => {
      offs.forEach((off) => off());
      clearInterval(timer);
    };
  }, [session]);
  const last = session.status().lastSyncAt;
  const text = view.state === 'idle' ? `synced ${last ? ago(last) : ''}` : view.text;
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

export function renderSync(session: SyncSession, header: string): Instance {
  return render(<SyncLine session={session} header={header} />, { stdout: process.stderr, patchConsole: false });
}

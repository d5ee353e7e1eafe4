// An ink view of a long operation: one line per phase reached, warnings as they come,
// the current phase marked as running. Fed by core's typed dev-mode events.
import { useEffect, useState } from 'react';
import { Box, Text, render, type Instance } from 'ink';
import type { DevEvent } from '@kdev/core';
import { isLive } from './terminal.js';

interface Line {
  key: number;
  kind: 'phase' | 'warning' | 'info';
  label: string;
  text: string;
}

type Listener = (lines: Line[], finished: boolean, failed: boolean) => void;

/** Collects events and re-renders the view on each. */
export class ProgressStore {
  private lines: Line[] = [];
  private finished = false;
  private failed = false;
  private listeners = new Set<Listener>();

  push = (event: DevEvent): void => {
    const key = this.lines.length;
    if (event.type === 'phase') {
      const last = this.lines.at(-1);
      // Consecutive updates of one phase replace each other.
      if (last?.kind === 'phase' && last.label === event.phase) this.lines[this.lines.length - 1] = { ...last, text: event.message };
      else this.lines.push({ key, kind: 'phase', label: event.phase, text: event.message });
    } else if (event.type === 'warning') {
      this.lines.push({ key, kind: 'warning', label: event.reason, text: `${event.object}: ${event.message}` });
    } else {
      this.lines.push({ key, kind: 'info', label: '', text: event.message });
    }
    this.emit();
  };

  finish(failed: boolean): void {
    this.finished = true;
    this.failed = failed;
    this.emit();
  }

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    l([...this.lines], this.finished, this.failed);
    return () => this.listeners.delete(l);
  }

  private emit(): void {
    for (const l of this.listeners) l([...this.lines], this.finished, this.failed);
  }
}

function ProgressView({ store, title }: { store: ProgressStore; title: string }) {
  const [state, setState] = useState<{ lines: Line[]; finished: boolean; failed: boolean }>({ lines: [], finished: false, failed: false });
  useEffect(() => store.subscribe((lines, finished, failed) => setState({ lines, finished, failed })), [store]);
  const lastPhase = [...state.lines].reverse().find((l) => l.kind === 'phase');
  return (
    <Box flexDirection="column">
      <Text bold>{title}</Text>
      {state.lines.map((l) => {
        if (l.kind === 'warning') {
          return (
            <Text key={l.key} color="yellow">
              {'  ⚠ '}
              {l.label}: {l.text}
            </Text>
          );
        }
        if (l.kind === 'info') return <Text key={l.key}>{`    ${l.text}`}</Text>;
        const current = l === lastPhase;
        const mark = current && state.failed ? '  ✗ ' : current && !state.finished ? '  … ' : '  ✓ ';
        const color = current && state.failed ? 'red' : current && !state.finished ? 'cyan' : 'green';
        return (
          <Text key={l.key}>
            <Text color={color}>{mark}</Text>
            <Text bold>{l.label.padEnd(12)}</Text>
            <Text dimColor>{l.text}</Text>
          </Text>
        );
      })}
    </Box>
  );
}

/** Each phase, warning and note as a plain line when it happens, for where nobody watches a terminal. */
async function plainProgress<T>(title: string, work: (onEvent: (e: DevEvent) => void) => Promise<T>, out: NodeJS.WriteStream): Promise<T> {
  out.write(`${title}\n`);
  let phase: string | undefined;
  const onEvent = (e: DevEvent): void => {
    // the live view's marks: … a phase under way (printed as it begins), ⚠ a warning, ✗ the phase that failed
    if (e.type === 'phase') {
      phase = e.phase;
      out.write(`  … ${e.phase.padEnd(12)} ${e.message}\n`);
    } else if (e.type === 'warning') out.write(`  ⚠ ${e.reason}: ${e.object}: ${e.message}\n`);
    else out.write(`    ${e.message}\n`);
  };
  try {
    return await work(onEvent);
  } catch (err) {
    if (phase) out.write(`  ✗ ${phase} failed\n`);
    throw err;
  }
}

/** Shows the view until `done` settles; returns what it resolves to. */
export async function withProgress<T>(title: string, work: (onEvent: (e: DevEvent) => void) => Promise<T>): Promise<T> {
  if (!isLive(process.stderr)) return plainProgress(title, work, process.stderr);
  const store = new ProgressStore();
  const app: Instance = render(<ProgressView store={store} title={title} />, { stdout: process.stderr, patchConsole: false });
  let failed = true;
  try {
    const value = await work(store.push);
    failed = false;
    return value;
  } finally {
    store.finish(failed);
    // Let ink draw the final state before it stops.
    await new Promise((r) => setTimeout(r, 30));
    app.unmount();
  }
}

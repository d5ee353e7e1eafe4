// The progress of `kdev env create --wait` / `env wake`: one line per workload, updated
// from core's typed events. Rendered with ink on a terminal; as plain lines otherwise.
import { useEffect, useState } from 'react';
import { Box, Text, render } from 'ink';
import type { EnvProgress, WorkloadKind, WorkloadState } from '@kdev/core';
import { isLive } from './terminal.js';

interface Row {
  name: string;
  kind: WorkloadKind;
  state: WorkloadState;
  message?: string;
  events?: string[];
  logs?: string[];
  elapsedMs: number;
}

interface ViewState {
  title: string;
  steps: { step: string; state: string; detail?: string }[];
  rows: Row[];
}

/** Folds events into what the view shows (pure, so both renderers share it). */
export function reduce(state: ViewState, e: EnvProgress): ViewState {
  if (e.type === 'plan') return { ...state, title: `environment ${e.env} from template ${e.template}` };
  if (e.type === 'step') {
    const steps = state.steps.filter((s) => s.step !== e.step);
    return { ...state, steps: [...steps, { step: e.step, state: e.state, detail: e.detail }] };
  }
  const rows = [...state.rows];
  const i = rows.findIndex((r) => r.name === e.name);
  const row: Row = { ...(i >= 0 ? rows[i] : {}), name: e.name, kind: e.kind, state: e.state, message: e.message, events: e.events, logs: e.logs, elapsedMs: e.elapsedMs };
  if (i >= 0) rows[i] = row;
  else rows.push(row);
  return { ...state, rows };
}

const ICON: Record<WorkloadState, string> = { pending: '·', applying: '↑', waiting: '…', ready: '✓', failed: '✗' };
const COLOR: Record<WorkloadState, string> = { pending: 'gray', applying: 'cyan', waiting: 'yellow', ready: 'green', failed: 'red' };
const SPIN = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

function View({ subscribe }: { subscribe: (fn: (e: EnvProgress) => void) => () => void }) {
  const [state, setState] = useState<ViewState>({ title: '', steps: [], rows: [] });
  const [tick, setTick] = useState(0);
  useEffect(() => subscribe((e) => setState((s) => reduce(s, e))), [subscribe]);
  useEffect(() => {
    const t = setInterval(() => setTick((n) => n + 1), 120);
    return () => clearInterval(t);
  }, []);
  const width = Math.max(8, ...state.rows.map((r) => r.name.length));
  const busy = state.steps.filter((s) => s.state === 'start');
  return (
    <Box flexDirection="column">
      {state.title ? <Text bold>{state.title}</Text> : null}
      {state.rows.map((r) => (
        <Box key={r.name} flexDirection="column">
          <Text>
            <Text color={COLOR[r.state]}>{r.state === 'waiting' || r.state === 'applying' ? SPIN[tick % SPIN.length] : ICON[r.state]} </Text>
            <Text>{r.name.padEnd(width)} </Text>
            <Text color="gray">{r.kind.padEnd(12)}</Text>
            <Text color={COLOR[r.state]}>{r.state.padEnd(9)}</Text>
            <Text color="gray">
              {r.state === 'pending' ? '' : seconds(r.elapsedMs).padStart(7)} {r.message ?? ''}
            </Text>
          </Text>
          {r.state === 'failed'
            ? [...(r.events ?? []).map((ev, i) => <Text key={`e${i}`} color="red">{`    ${ev}`}</Text>), ...(r.logs ?? []).map((l, i) => <Text key={`l${i}`} color="gray">{`    | ${l}`}</Text>)]
            : null}
        </Box>
      ))}
      {busy.map((s) => (
        <Text key={s.step} color="cyan">
          {SPIN[tick % SPIN.length]} {s.step}
          {s.detail ? `: ${s.detail}` : ''}
        </Text>
      ))}
    </Box>
  );
}

export interface ProgressRenderer {
  onEvent: (e: EnvProgress) => void;
  /** Renders the final state and stops. */
  done: () => Promise<void>;
}

/** An ink view on a terminal (stderr), plain lines otherwise (terminal.ts); stdout stays for results. */
export function progressRenderer(stream: NodeJS.WriteStream = process.stderr): ProgressRenderer {
  if (!isLive(stream)) {
    const t0 = Date.now();
    return {
      onEvent: (e) => {
        const at = seconds(Date.now() - t0).padStart(7);
        if (e.type === 'workload' && e.state !== 'pending') {
          stream.write(`${at}  ${e.name} ${e.state}${e.message ? `: ${e.message}` : ''}\n`);
          for (const ev of e.events ?? []) stream.write(`           ${ev}\n`);
          for (const l of e.logs ?? []) stream.write(`           | ${l}\n`);
        } else if (e.type === 'step' && e.state !== 'start') stream.write(`${at}  ${e.step} ${e.state}${e.detail ? `: ${e.detail}` : ''}\n`);
      },
      done: async () => undefined,
    };
  }
  const listeners = new Set<(e: EnvProgress) => void>();
  const backlog: EnvProgress[] = [];
  const subscribe = (fn: (e: EnvProgress) => void) => {
    for (const e of backlog) fn(e);
    listeners.add(fn);
    return () => listeners.delete(fn);
  };
  const app = render(<View subscribe={subscribe} />, { stdout: stream, exitOnCtrlC: false, patchConsole: false });
  return {
    onEvent: (e) => {
      backlog.push(e);
      for (const fn of listeners) fn(e);
    },
    done: async () => {
      await new Promise((r) => setTimeout(r, 50));
      app.unmount();
      await app.waitUntilExit().catch(() => undefined);
    },
  };
}

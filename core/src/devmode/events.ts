// The typed events dev mode reports while it works; the CLI and the extension render them.

export type DevPhase =
  | 'resolving'
  | 'saving'
  | 'patching'
  | 'scheduling'
  | 'pulling'
  | 'starting'
  | 'ready'
  | 'restoring'
  | 'rolling-out'
  | 'done';

export type DevEvent =
  | { type: 'phase'; phase: DevPhase; message: string }
  | { type: 'warning'; reason: string; message: string; object: string }
  | { type: 'info'; message: string };

export type DevEventHandler = (event: DevEvent) => void;

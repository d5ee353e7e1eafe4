// The typed events of a session's services (forwards, run, debug); the CLI and the
// extension render them.

export type ForwardState = 'waiting' | 'ready' | 'stopped';

export type SessionEvent =
  | { type: 'forward'; localPort: number; remotePort: number; state: ForwardState; pod?: string; message: string }
  | { type: 'forward-error'; localPort: number; remotePort: number; message: string; retryInMs?: number }
  | { type: 'run'; state: 'starting' | 'started' | 'stopped'; command: string; message: string }
  | { type: 'debug'; state: 'starting' | 'forwarding' | 'probing' | 'ready' | 'failed'; message: string }
  | { type: 'info'; message: string };

export type SessionEventHandler = (event: SessionEvent) => void;

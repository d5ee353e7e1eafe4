// Sessions: terminal, logs, port-forwards, remote run and remote debug. See ARCHITECTURE.md.
export { execCapture, exitCodeOf, type ExecResult } from './exec.js';
export { forwardPort, type Forward, type ForwardOptions } from './portforward.js';
export * from './events.js';
export { resolveDevTarget, resolveWorkloadTarget, devSelector, waitReadyPod, isPodReady, notInDevMode, type SessionTarget } from './target.js';
export { openTerminal, DEFAULT_SHELL, PLAIN_SHELL, type TerminalOptions } from './terminal.js';
export { streamLogs, sinceFilter, type LogOptions } from './logs.js';
export { ForwardManager, PodTracker, parsePortPair, backoffMs, type PortPair, type ForwardTarget, type ForwardInfo, type ForwardManagerOptions, type AddForwardOptions } from './forwards.js';
export { portHolder, listeningInodes, type PortHolder } from './portowner.js';
export { startRun, stopRun, runStatus, followRun, parseRunStatus, noCommand, type RunOptions, type RunStatus } from './run.js';
export { startDebug, probeDebugger, waitForDebugger, attachConfig, dapMessage, dapMessages, type DebuggerType, type DebugSpec, type AttachConfig, type DebugOptions, type DebugSession } from './debug.js';

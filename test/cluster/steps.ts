// Steps, logs, commands and daemons of the cluster bootstrap.
// A step that fails throws StepError with the step's name and its log path.
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, closeSync, readFileSync, writeFileSync, rmSync, existsSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOG_DIR, PID_DIR } from './config.js';

export class StepError extends Error {
  constructor(
    readonly step: string,
    readonly logPath: string,
    message: string,
  ) {
    super(message);
    this.name = 'StepError';
  }
}

export type Reporter = (line: string) => void;

/** The log file of a step or component. */
export function logPath(name: string): string {
  mkdirSync(LOG_DIR, { recursive: true });
  return join(LOG_DIR, `${name}.log`);
}

/** Runs one named step; times it, reports it, and wraps any failure in a StepError. */
export async function step<T>(name: string, report: Reporter, fn: (log: string) => Promise<T>): Promise<T> {
  const log = logPath(name);
  const started = Date.now();
  report(`• ${name} …`);
  try {
    const value = await fn(log);
    report(`✓ ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    return value;
  } catch (err) {
    if (err instanceof StepError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    appendFileSync(log, `\n[kdev] step failed: ${message}\n`);
    throw new StepError(name, log, message);
  }
}

export interface RunOptions {
  log: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string;
  /** Return stdout instead of logging it. */
  capture?: boolean;
  timeoutMs?: number;
}

/** Runs a command to completion; output goes to the log; a non-zero exit throws with the tail of the log. */
export function run(cmd: string, args: readonly string[], opts: RunOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    appendFileSync(opts.log, `\n$ ${cmd} ${args.join(' ')}\n`);
    const fd = openSync(opts.log, 'a');
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', opts.capture ? 'pipe' : fd, fd],
      timeout: opts.timeoutMs,
    });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    child.on('error', (err) => {
      closeSync(fd);
      reject(new Error(`${cmd}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      closeSync(fd);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.slice(0, 3).join(' ')} … exited with ${code ?? signal}:\n${tail(opts.log, 15)}`));
    });
  });
}

/** The last lines of a log, for error messages. */
export function tail(path: string, lines: number): string {
  if (!existsSync(path)) return '';
  const text = readFileSync(path, 'utf8').trimEnd().split('\n');
  return text.slice(-lines).map((l) => `    ${l}`).join('\n');
}

function pidFile(name: string): string {
  return join(PID_DIR, `${name}.pid`);
}

/** Starts a long-running process detached from us, logging to its own file, and records its pid. */
export function startDaemon(name: string, cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv): number {
  mkdirSync(PID_DIR, { recursive: true });
  const log = logPath(name);
  const fd = openSync(log, 'a');
  appendFileSync(log, `\n[kdev] starting ${cmd} ${args.join(' ')}\n`);
  const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], env: env ?? process.env });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`${name}: could not start ${cmd}`);
  child.unref();
  writeFileSync(pidFile(name), `${child.pid}\n${cmd}\n`);
  return child.pid;
}

/** The pid of a daemon we started, if its pid file names a live process running the recorded binary. */
export function daemonPid(name: string): number | undefined {
  const file = pidFile(name);
  if (!existsSync(file)) return undefined;
  const [pidText, cmd] = readFileSync(file, 'utf8').split('\n');
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  try {
    const exe = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
    return exe === cmd ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

/** Stops a daemon by its pid file: SIGTERM, then SIGKILL after the grace period. */
export async function stopDaemon(name: string, graceMs = 10_000): Promise<boolean> {
  const pid = daemonPid(name);
  rmSync(pidFile(name), { force: true });
  if (pid === undefined) return false;
  return killAndWait(pid, graceMs);
}

/** Sends SIGTERM to one pid we own, waits for it to go, and SIGKILLs it if it lingers. */
export async function killAndWait(pid: number, graceMs: number): Promise<boolean> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return false;
  }
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  if (isAlive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone meanwhile */
    }
    while (isAlive(pid)) await sleep(50);
  }
  return true;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Waits until `check` returns true; a daemon that dies meanwhile fails at once with its log. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  opts: { timeoutMs: number; daemon?: string },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (opts.daemon !== undefined && daemonPid(opts.daemon) === undefined) {
      throw new Error(`${opts.daemon} exited while waiting for ${what}:\n${tail(logPath(opts.daemon), 20)}`);
    }
    if (Date.now() > deadline) {
      const hint = opts.daemon ? `\n${tail(logPath(opts.daemon), 20)}` : '';
      throw new Error(`timed out after ${opts.timeoutMs / 1000} s waiting for ${what}${hint}`);
    }
    await sleep(200);
  }
}

// Crash tests: run `kdev` as a child and SIGKILL it at the exact moment a watch of the
// cluster sees a chosen change (an annotation appearing, the original restored).
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { raw, watchUntil, type Cluster, type RawObject, type ResourcePath, type WatchEventType } from '@kdev/core/internals';
import { KDEV_MAIN, type CliResult } from './cli.js';
import { testKubeconfig } from './cluster.js';

const SLOW_API = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), 'slow-api.js')).href;

/** Milliseconds each API request of a slowed child waits before it is sent. */
export const API_DELAY_MS = 250;

export interface Spawned {
  kill: () => void;
  done: Promise<CliResult & { signal: NodeJS.Signals | null }>;
}

/**
 * Starts `kdev args`; with `slow`, every API request of the child waits API_DELAY_MS first.
 * `env` entries set to undefined are removed from the child's environment.
 */
export function spawnKdev(args: readonly string[], opts: { slow?: boolean; env?: Record<string, string | undefined> } = {}): Spawned {
  const env: Record<string, string | undefined> = { ...process.env, KUBECONFIG: testKubeconfig(), ...opts.env };
  if (opts.slow) {
    env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --import=${SLOW_API}`.trim();
    env.KDEV_TEST_API_DELAY_MS = String(API_DELAY_MS);
  }
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const child = spawn(process.execPath, [KDEV_MAIN, ...args], { env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult & { signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? 1, signal, stdout, stderr }));
  });
  return { kill: () => child.kill('SIGKILL'), done };
}

export interface Moment {
  /** The collection to watch, and the one object in it. */
  resource: ResourcePath;
  name: string;
  /** Says when the moment has come. */
  when: (type: WatchEventType, obj: RawObject) => boolean;
  /** For the failure message: "the HPA is pinned". */
  what: string;
}

/**
 * Runs `kdev args` slowed down and SIGKILLs it the moment the watch sees `moment`.
 * Fails when the CLI finishes before the moment came.
 */
export async function killKdevAt(cluster: Cluster, args: readonly string[], moment: Moment, timeoutMs = 180_000): Promise<void> {
  // Watch from the collection's current version: no change after this is missed.
  const list = await raw.list(cluster, moment.resource);
  const stop = new AbortController();
  const child = spawnKdev(args, { slow: true });
  const seen = watchUntil<RawObject, true>(cluster, {
    resource: moment.resource,
    fieldSelector: `metadata.name=${moment.name}`,
    resourceVersion: list.metadata?.resourceVersion,
    timeoutMs,
    signal: stop.signal,
    what: moment.what,
    onEvent: (type, obj) => {
      if (!moment.when(type, obj)) return { done: false };
      child.kill();
      return { done: true, value: true };
    },
  });
  const first = await Promise.race([seen.then(() => 'killed' as const), child.done.then(() => 'exited' as const)]);
  if (first === 'exited') {
    stop.abort();
    await seen.catch(() => undefined);
    const r = await child.done;
    throw new Error(`kdev ${args.join(' ')} finished (exit ${r.code}) before ${moment.what}:\n${r.stdout}\n${r.stderr}`);
  }
  const r = await child.done;
  if (r.signal !== 'SIGKILL') throw new Error(`kdev ${args.join(' ')} was not killed at ${moment.what} (exit ${r.code}):\n${r.stderr}`);
}

// The router's entry point in the pod: `node router.js [table.json]`. Configured by
// environment: KDEV_ROUTER_TABLE (the table's path, when not given as the argument; default
// /kdev/router/table.json), KDEV_ROUTER_HOST (listen address, default all), and the limits
// KDEV_ROUTER_MAX_HEADER_BYTES, KDEV_ROUTER_MAX_CONNECTIONS, KDEV_ROUTER_CONNECT_TIMEOUT_MS,
// KDEV_ROUTER_IDLE_TIMEOUT_MS, KDEV_ROUTER_HEADERS_TIMEOUT_MS, KDEV_ROUTER_MAX_STREAMS,
// KDEV_ROUTER_POLL_MS.
import { Router } from './router.js';
import type { Limits } from './limits.js';

function log(line: string): void {
  process.stdout.write(`${new Date().toISOString()} ${line}\n`);
}

function num(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) {
    log(`${name}=${raw} is not a positive integer`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<void> {
  const limits: Partial<Limits> = {};
  const set = (key: keyof Limits, env: string) => {
    const v = num(env);
    if (v !== undefined) limits[key] = v;
  };
  set('maxHeaderSize', 'KDEV_ROUTER_MAX_HEADER_BYTES');
  set('maxConnections', 'KDEV_ROUTER_MAX_CONNECTIONS');
  set('connectTimeoutMs', 'KDEV_ROUTER_CONNECT_TIMEOUT_MS');
  set('idleTimeoutMs', 'KDEV_ROUTER_IDLE_TIMEOUT_MS');
  set('headersTimeoutMs', 'KDEV_ROUTER_HEADERS_TIMEOUT_MS');
  set('maxConcurrentStreams', 'KDEV_ROUTER_MAX_STREAMS');
  const tablePath = process.argv[2] ?? process.env.KDEV_ROUTER_TABLE ?? '/kdev/router/table.json';
  const router = new Router({ tablePath, host: process.env.KDEV_ROUTER_HOST || undefined, limits, pollMs: num('KDEV_ROUTER_POLL_MS'), log });
  try {
    await router.start();
  } catch (err) {
    log(`cannot start: ${(err as Error).message}`);
    process.exit(1);
  }
  log(`routing on ${router.ports().join(', ')} (table ${tablePath})`);
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => void router.close().then(() => process.exit(0)));
}

// A bad peer must never take the router down: anything that escapes the handlers is logged.
process.on('uncaughtException', (err) => log(`unexpected: ${err.stack ?? err.message}`));
void main();

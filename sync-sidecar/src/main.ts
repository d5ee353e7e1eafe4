// The sidecar's entry point: `node server.js` in the pod. Listens on 127.0.0.1 only, so the
// only way in is a Kubernetes port-forward. Configured by environment:
//   KDEV_SYNC_ROOT (/kdev/src), KDEV_SYNC_PORT (7878), KDEV_SYNC_CTL (/kdev/ctl/cmd),
//   KDEV_SYNC_TOKEN (the per-session secret a client must present; read once, then removed
//   from this process's environment).
import { createServer } from 'node:net';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CTL_FIFO, notifySupervisor } from './notify.js';
import { DEFAULT_PORT } from './protocol.js';
import { SidecarState, serveConnection } from './server.js';

const root = process.env.KDEV_SYNC_ROOT ?? '/kdev/src';
const port = Number(process.env.KDEV_SYNC_PORT ?? DEFAULT_PORT);
const fifo = process.env.KDEV_SYNC_CTL ?? DEFAULT_CTL_FIFO;
const host = process.env.KDEV_SYNC_HOST ?? '127.0.0.1';
const token = process.env.KDEV_SYNC_TOKEN || undefined;
delete process.env.KDEV_SYNC_TOKEN;
const cacheFile = process.env.KDEV_SYNC_CACHE ?? join(tmpdir(), `kdev-sync-hashes-${process.pid}.json`);

function log(line: string): void {
  process.stdout.write(`${new Date().toISOString()} ${line}\n`);
}

async function main(): Promise<void> {
  mkdirSync(root, { recursive: true });
  // after a burst, give memory back (run with --expose-gc): the sidecar idles most of the time
  let gcTimer: NodeJS.Timeout | undefined;
  const gc = (globalThis as { gc?: () => void }).gc;
  const state = new SidecarState({
    root,
    log,
    token,
    onApplied: () => {
      if (gc) {
        if (gcTimer) clearTimeout(gcTimer);
        gcTimer = setTimeout(() => {
          // an idle sidecar keeps its hash cache on disk (its own /tmp, not the synced volume)
          state.cache.spill(cacheFile);
          gc();
          const m = process.memoryUsage();
          const mb = (n: number): string => (n / 1048576).toFixed(1);
          log(`after gc: rss ${mb(m.rss)} MB, heap ${mb(m.heapUsed)}/${mb(m.heapTotal)} MB, external ${mb(m.external)} MB, array buffers ${mb(m.arrayBuffers)} MB`);
        }, 1000);
        gcTimer.unref();
      }
      try {
        notifySupervisor(fifo);
      } catch (e) {
        log(`notify ${fifo}: ${e instanceof Error ? e.message : String(e)}`);
      }
    },
  });
  await state.cleanStaging();
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    void serveConnection(socket, state);
  });
  server.listen(port, host, () => {
    const addr = server.address();
    log(`kdev sync sidecar listening on ${host}:${typeof addr === 'object' && addr ? addr.port : port}, root ${root}`);
  });
  const stop = (): void => {
    server.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e: unknown) => {
  log(`fatal: ${e instanceof Error ? e.stack : String(e)}`);
  process.exit(1);
});

// Preloaded into a `kdev` child process (NODE_OPTIONS=--import) by crash tests: holds every
// HTTP(S) request for KDEV_TEST_API_DELAY_MS before it is sent, so that the gap between two
// API calls of the CLI is wide and a kill triggered by a watch event lands exactly in it.
// Nothing else changes: same requests, same order, same code path.
import http from 'node:http';
import https from 'node:https';
import { syncBuiltinESMExports } from 'node:module';

const delayMs = Number(process.env.KDEV_TEST_API_DELAY_MS ?? 0);

if (delayMs > 0) {
  for (const mod of [http, https]) {
    const request = mod.request;
    mod.request = function delayed(this: unknown, ...args: unknown[]) {
      const req = (request as (...a: unknown[]) => http.ClientRequest).apply(this, args);
      const write = req.write.bind(req) as (...a: unknown[]) => boolean;
      const end = req.end.bind(req) as (...a: unknown[]) => http.ClientRequest;
      let queue = new Promise<void>((resolve) => setTimeout(resolve, delayMs));
      req.write = ((...a: unknown[]) => {
        queue = queue.then(() => void write(...a));
        return true;
      }) as typeof req.write;
      req.end = ((...a: unknown[]) => {
        queue = queue.then(() => void end(...a));
        return req;
      }) as typeof req.end;
      return req;
    } as typeof mod.request;
  }
  syncBuiltinESMExports();
}

// Helpers of the session tests and the run benchmark: deliver a file into the dev container
// exactly as the sync sidecar does (temp file + rename, then "synced" into the supervisor's
// FIFO), and plain HTTP against a forwarded port.
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { SyncSession, execCapture, waitReadyPod, type Cluster, type SessionTarget } from '@kdev/core/internals';

/** Delivery without a sync session: what the sidecar does after a batch, done through exec. */
export const EXEC_DELIVERY = 'exec: temp file + rename in the container, then "synced" written to /kdev/ctl/cmd';

export async function deliver(cluster: Cluster, target: SessionTarget, files: Record<string, string>, opts: { synced?: boolean } = {}): Promise<void> {
  const entries = Object.entries(files);
  for (let i = 0; i < entries.length; i++) {
    const [path, content] = entries[i]!;
    const last = i === entries.length - 1;
    const script = `set -e; f="$1"; case "$f" in /*) ;; *) f="${target.workDir}/$f" ;; esac; mkdir -p "$(dirname "$f")"; cat > "$f.kdev-tmp"; mv "$f.kdev-tmp" "$f"${last && opts.synced !== false ? `; printf 'synced\\n' > /kdev/ctl/cmd` : ''}`;
    const r = await execCapture(cluster, target.pod, target.container, ['/bin/sh', '-c', script, 'deliver', path], { namespace: target.namespace, stdin: content });
    if (r.exitCode !== 0) throw new Error(`delivering ${path} failed: ${r.stderr}`);
  }
}

export function httpGet(port: number, path = '/', timeoutMs = 10_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: timeoutMs, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET :${port}${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** GETs until the body satisfies `ok` (errors count as "not yet"); returns the ms it took. */
export async function untilBody(port: number, ok: (body: string) => boolean, timeoutMs: number, path = '/'): Promise<{ ms: number; body: string }> {
  const t0 = performance.now();
  let last = '';
  while (performance.now() - t0 < timeoutMs) {
    try {
      const r = await httpGet(port, path, Math.max(500, timeoutMs - (performance.now() - t0)));
      last = `${r.status} ${r.body}`;
      if (ok(r.body)) return { ms: performance.now() - t0, body: r.body };
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no expected answer on :${port}${path} within ${timeoutMs} ms; last: ${last}`);
}

/** A sync session from a local folder into the dev pod (found again by its selector). */
export async function startSync(cluster: Cluster, target: SessionTarget, localRoot: string): Promise<SyncSession> {
  const session = new SyncSession({
    cluster,
    namespace: target.namespace,
    localRoot,
    resolvePod: async () => (await waitReadyPod(cluster, target.podSelector, 60_000, 'the dev pod')).metadata!.name!,
    backoff: { initialMs: 100, maxMs: 2000 },
  });
  session.on('error', (e) => process.stderr.write(`sync: ${e.message}\n`));
  await session.start();
  return session;
}

/** Saves a local file; resolves when the sync session has applied a batch that started after the save. */
export async function save(sync: SyncSession, root: string, path: string, content: string, timeoutMs = 20_000): Promise<void> {
  const savedAt = Date.now();
  const applied = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      sync.off('idle', onIdle);
      reject(new Error(`${path} was not synced within ${timeoutMs} ms (state ${sync.state})`));
    }, timeoutMs);
    const onIdle = ({ lastSyncAt }: { lastSyncAt: Date }) => {
      if (lastSyncAt.getTime() >= savedAt) {
        clearTimeout(timer);
        sync.off('idle', onIdle);
        resolve();
      }
    };
    sync.on('idle', onIdle);
  });
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), content);
  await applied;
}

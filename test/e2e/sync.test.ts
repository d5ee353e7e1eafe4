// File sync end to end on the real local cluster: a Deployment built with sidecarDeployment() (test/lib/sync.ts),
// the sidecar's code from its ConfigMap, a port-forward, and the client session.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, cp, mkdir, rename, rm, symlink, writeFile, readFile, lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SyncSession, ensureSidecarConfigMap, execCapture, portForwardTransport, type Cluster, type SyncSessionOptions, type SyncTransport } from '@kdev/core/internals';
import { STAGING_DIR } from '@kdev/sync-sidecar';
import { tempNamespace, waitPodReady } from '../lib/cluster.js';
import { listingHash, sidecarDeployment, tempDir, treeListing } from '../lib/sync.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const APP = 'sync-e2e';

/** The same listing hash as test/lib/sync.ts, computed inside the sidecar container. */
const REMOTE_HASH = `
const fs = require('fs'), path = require('path'), crypto = require('crypto');
const root = '/kdev/src', out = [];
function walk(dir) {
  for (const name of fs.readdirSync(path.join(root, dir)).sort()) {
    const rel = dir ? dir + '/' + name : name;
    if (rel === '${STAGING_DIR}') continue;
    const st = fs.lstatSync(path.join(root, rel));
    if (st.isDirectory()) { out.push([rel, 'd']); walk(rel); }
    else if (st.isSymbolicLink()) out.push([rel, 'l ' + fs.readlinkSync(path.join(root, rel))]);
    else out.push([rel, 'f ' + (st.mode & 0o100 ? 'x' : '-') + ' ' + crypto.createHash('sha256').update(fs.readFileSync(path.join(root, rel))).digest('hex')]);
  }
}
walk('');
out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
const h = crypto.createHash('sha256');
for (const [k, v] of out) h.update(k + '\\0' + v + '\\n');
console.log(h.digest('hex') + ' ' + out.length);`;

function skipLocal(rel: string): boolean {
  return rel === '.git' || rel.startsWith('.git/') || rel === 'node_modules' || rel.startsWith('node_modules/') || rel.endsWith('.log');
}

describe('file sync on the local cluster', { timeout: 180_000 }, () => {
  let ns: Awaited<ReturnType<typeof tempNamespace>>;
  let cluster: Cluster;
  let local: string;
  let session: SyncSession | undefined;
  const transports: SyncTransport[] = [];

  const currentPod = async (): Promise<string> => (await waitPodReady(cluster, `app=${APP}`)).metadata!.name!;
  const remoteHash = async (): Promise<string> => {
    const r = await execCapture(cluster, await currentPod(), 'kdev-sync', ['node', '-e', REMOTE_HASH]);
    assert.equal(r.exitCode, 0, r.stderr);
    return r.stdout.trim().split(' ')[0]!;
  };
  const localHash = async (): Promise<string> => listingHash(await treeListing(local, skipLocal));
  /** Resolves when local and remote trees hash the same; re-checked after each idle event. */
  const converged = (s: SyncSession, timeoutMs = 60_000): Promise<void> =>
    new Promise((resolve, reject) => {
      let busy = false;
      let again = false;
      const timer = setTimeout(() => done(new Error('timed out waiting for the remote tree to equal the local one')), timeoutMs);
      const done = (e?: Error): void => {
        clearTimeout(timer);
        s.off('idle', check);
        if (e) reject(e);
        else resolve();
      };
      const check = (): void => {
        if (busy) return void (again = true);
        busy = true;
        Promise.all([localHash(), remoteHash()]).then(
          ([a, b]) => {
            busy = false;
            if (a === b) done();
            else if (again) {
              again = false;
              check();
            }
          },
          () => {
            busy = false;
          },
        );
      };
      s.on('idle', check);
      check();
    });

  const start = async (extra: Partial<SyncSessionOptions> = {}): Promise<SyncSession> => {
    const base = portForwardTransport(cluster, ns.name, 7878);
    const s = new SyncSession({
      cluster,
      namespace: ns.name,
      localRoot: local,
      resolvePod: currentPod,
      transport: async (pod) => {
        const t = await base(pod);
        transports.push(t);
        return t;
      },
      backoff: { initialMs: 100, maxMs: 2000 },
      confirmMassDelete: async () => true, // as with --yes; the guard has its own test below
      ...extra,
    });
    s.on('error', (e) => console.log(`sync: ${e.message}`));
    session = s;
    await s.start();
    return s;
  };

  before(async () => {
    ns = await tempNamespace('kdev-sync');
    cluster = ns.cluster;
    const first = await ensureSidecarConfigMap(cluster, ns.name);
    const again = await ensureSidecarConfigMap(cluster, ns.name);
    assert.equal(first.changed, true);
    assert.equal(again.changed, false, 'unchanged code is not written again');
    await cluster.apps.createNamespacedDeployment({ namespace: ns.name, body: sidecarDeployment(APP, ['node', '-e', 'setInterval(() => {}, 1 << 30)'], '/app') });
    await currentPod();
    // a real source tree: this repository's own sources, with a .gitignore and junk to ignore
    local = tempDir('e2e-src');
    await cp(join(REPO, 'core/src'), join(local, 'core/src'), { recursive: true });
    await cp(join(REPO, 'sync-sidecar/src'), join(local, 'sync-sidecar/src'), { recursive: true });
    await cp(join(REPO, 'README.md'), join(local, 'README.md'));
    await writeFile(join(local, '.gitignore'), 'node_modules/\n*.log\n');
    await mkdir(join(local, 'node_modules/dep'), { recursive: true });
    await writeFile(join(local, 'node_modules/dep/index.js'), 'ignored');
    await writeFile(join(local, 'debug.log'), 'ignored');
  });

  after(async () => {
    await session?.stop();
    await ns?.remove();
  });

  it('initial sync of a real source tree, ignored paths left out', async () => {
    const progress: Array<{ files: number; totalFiles: number }> = [];
    const s = await start();
    s.on('initial-sync', (p) => progress.push(p));
    assert.equal(await remoteHash(), await localHash());
    const r = await execCapture(cluster, await currentPod(), 'dev', ['sh', '-c', 'ls /app; test -e /app/node_modules && echo HAS_NM; test -e /app/debug.log && echo HAS_LOG; true']);
    assert.match(r.stdout, /core/);
    assert.doesNotMatch(r.stdout, /HAS_NM|HAS_LOG/);
    assert.ok(s.status().syncedFiles > 20);
  });

  it('edits, creates, deletes, renames, exec bits and symlinks reach the dev container', async () => {
    const s = session!;
    await writeFile(join(local, 'README.md'), 'changed\n');
    await writeFile(join(local, 'core/src/new.ts'), 'export const x = 1;\n');
    await rm(join(local, 'core/src/kube'), { recursive: true });
    await rename(join(local, 'core/src/errors.ts'), join(local, 'core/src/errors2.ts'));
    await rename(join(local, 'sync-sidecar/src'), join(local, 'sync-sidecar/lib'));
    await writeFile(join(local, 'run.sh'), '#!/bin/sh\necho run\n');
    await chmod(join(local, 'run.sh'), 0o755);
    await symlink('core/src/index.ts', join(local, 'entry.ts'));
    await writeFile(join(local, 'more.log'), 'ignored');
    await converged(s);
    const r = await execCapture(cluster, await currentPod(), 'dev', ['sh', '-c', '/app/run.sh && cat /app/entry.ts | head -c 20 && test ! -e /app/more.log && echo NO_LOG']);
    assert.match(r.stdout, /^run\n/);
    assert.match(r.stdout, /NO_LOG/);
  });

  it('survives 20 killed port-forwards during edits and a deleted pod: remote tree == local tree', async () => {
    const s = session!;
    const before = s.status().connects;
    for (let i = 0; i < 20; i++) {
      await writeFile(join(local, `churn-${i % 7}.txt`), `edit ${i}\n`);
      if (i % 5 === 0) await rm(join(local, `churn-${(i + 3) % 7}.txt`), { force: true });
      const t = transports.at(-1);
      await t?.close(); // the port-forward goes away mid-edit
      await writeFile(join(local, 'core/src/new.ts'), `export const x = ${i};\n`);
      await new Promise<void>((r) => s.once('watching', () => r()));
    }
    assert.ok(s.status().connects >= before + 20, `reconnected ${s.status().connects - before} times`);
    const oldPod = await currentPod();
    await cluster.core.deleteNamespacedPod({ name: oldPod, namespace: ns.name, gracePeriodSeconds: 0 });
    await writeFile(join(local, 'after-pod-loss.txt'), 'written while the pod was gone\n');
    await new Promise<void>((r) => {
      const onWatching = (): void => {
        currentPod().then((p) => {
          if (p !== oldPod) {
            s.off('watching', onWatching);
            r();
          }
        }, () => undefined);
      };
      s.on('watching', onWatching);
    });
    await converged(s);
    assert.equal(await remoteHash(), await localHash());
  });

  it('two-way: files made in the container come back; the guard holds a mass deletion', async () => {
    await session!.stop();
    let asked = 0;
    const s = await start({ config: { mode: 'two-way', ignore: [] }, confirmMassDelete: async () => (asked++, false) });
    s.on('received', (r) => console.log(`received ${JSON.stringify(r)}`));
    const pod = await currentPod();
    await execCapture(cluster, pod, 'dev', ['sh', '-c', 'mkdir -p /app/gen && echo generated > /app/gen/out.txt']);
    await new Promise<void>((resolve) => {
      const check = (): void => {
        readFile(join(local, 'gen/out.txt'), 'utf8').then((t) => t === 'generated\n' && (s.off('received', check), resolve()), () => undefined);
      };
      s.on('received', check);
      check();
    });
    // delete most of the tree locally: the guard asks, we decline, the container keeps it
    const declined = new Promise<void>((r) => s.once('error', () => r()));
    await rm(join(local, 'core'), { recursive: true });
    await declined;
    assert.ok(asked >= 1);
    const r = await execCapture(cluster, pod, 'dev', ['sh', '-c', 'test -e /app/core/src/index.ts && echo KEPT']);
    assert.match(r.stdout, /KEPT/);
    assert.ok(await lstat(join(local, 'gen/out.txt')));
  });
});

// Helpers shared by the sync tests: in-memory socket pairs, temp trees, tree hashes.
import { createHash } from 'node:crypto';
import { chownSync, lstatSync, mkdtempSync, readdirSync } from 'node:fs';
import { lstat, readFile, readdir, readlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import type { V1Deployment } from '@kubernetes/client-node';
import { syncSidecarParts } from '@kdev/core/internals';

/** Two connected in-memory duplex streams. */
export function duplexPair(): [Duplex, Duplex] {
  const ends: Duplex[] = [];
  const make = (other: () => Duplex): Duplex =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        other().push(chunk);
        cb();
      },
      final(cb) {
        other().push(null);
        cb();
      },
    });
  ends.push(make(() => ends[1]!), make(() => ends[0]!));
  return [ends[0]!, ends[1]!];
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `kdev-${prefix}-`));
}

/** path → "f <x-bit> <sha256>" | "d" | "l <target>" for every entry under root, skipping `skip`. */
export async function treeListing(root: string, skip: (rel: string) => boolean = () => false): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(join(root, dir))).sort()) {
      const rel = dir ? `${dir}/${name}` : name;
      if (skip(rel)) continue;
      const st = await lstat(join(root, rel));
      if (st.isDirectory()) {
        out.set(rel, 'd');
        await walk(rel);
      } else if (st.isSymbolicLink()) out.set(rel, `l ${await readlink(join(root, rel))}`);
      else out.set(rel, `f ${st.mode & 0o100 ? 'x' : '-'} ${createHash('sha256').update(await readFile(join(root, rel))).digest('hex')}`);
    }
  };
  await walk('');
  return out;
}

export function listingHash(listing: Map<string, string>): string {
  const h = createHash('sha256');
  for (const [k, v] of [...listing].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) h.update(`${k}\0${v}\n`);
  return h.digest('hex');
}

/** A small deterministic PRNG (mulberry32), so a failure can be replayed from its seed. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** chown -R to `uid` (symlinks themselves are left alone): for tests that read as another user. */
export function chownTree(root: string, uid = 65534): void {
  chownSync(root, uid, uid);
  for (const name of readdirSync(root)) {
    const p = join(root, name);
    const st = lstatSync(p);
    if (st.isSymbolicLink()) continue;
    chownSync(p, uid, uid);
    if (st.isDirectory()) chownTree(p, uid);
  }
}

/**
 * A Deployment of one container `dev` (the Node image, running `command`) with kdev's sync
 * sidecar beside it, the source volume at /app and the control volume at /kdev/ctl: a dev
 * pod built by hand, for tests and benchmarks that drive the sidecar directly.
 */
export function sidecarDeployment(name: string, command: string[], workingDir?: string): V1Deployment {
  const parts = syncSidecarParts();
  return {
    metadata: { name },
    spec: {
      replicas: 1,
      strategy: { type: 'Recreate' },
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, annotations: parts.podAnnotations },
        spec: {
          terminationGracePeriodSeconds: 1,
          volumes: parts.volumes,
          containers: [
            {
              name: 'dev',
              image: 'kdev.local/node:18',
              imagePullPolicy: 'IfNotPresent',
              command,
              ...(workingDir ? { workingDir } : {}),
              volumeMounts: [
                { name: 'kdev-src', mountPath: '/app' },
                { name: 'kdev-ctl', mountPath: '/kdev/ctl' },
              ],
            },
            parts.container,
          ],
        },
      },
    },
  };
}

// What dev mode adds to a pod for sync: the sidecar container, its volumes, and the
// ConfigMap that carries its code (one bundled file), so no custom image is ever pulled.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { V1ConfigMap, V1Container, V1Volume } from '@kubernetes/client-node';
import { DEFAULT_PORT } from '@kdev/sync-sidecar';
import type { Cluster } from '../kube/client.js';
import { ensureHashedConfigMap, CONTENT_HASH_ANNOTATION } from '../kube/configmap.js';
import { KdevError } from '../errors.js';

export const SIDECAR_CONFIGMAP = 'kdev-sync-sidecar';
export const SIDECAR_CONTAINER = 'kdev-sync';
export const SIDECAR_IMAGE = 'kdev.local/node:18';
export const SRC_VOLUME = 'kdev-src';
export const CTL_VOLUME = 'kdev-ctl';
export const SIDECAR_VOLUME = 'kdev-sync-sidecar';
/** Where the shared volumes are mounted in the sidecar (and kdev-ctl in the dev container). */
export const SIDECAR_SRC = '/kdev/src';
export const CTL_DIR = '/kdev/ctl';
export const CTL_FIFO = '/kdev/ctl/cmd';
export const HASH_ANNOTATION = CONTENT_HASH_ANNOTATION;

export interface SidecarOptions {
  image?: string;
  port?: number;
  /** Name of the shared source volume (kdev-src). */
  workDirVolume?: string;
}

export interface SidecarParts {
  configMap: V1ConfigMap;
  container: V1Container;
  volumes: V1Volume[];
  /** Put on the pod template, so that a new sidecar version rolls the pod. */
  podAnnotations: Record<string, string>;
}

let bundleCache: { code: string; hash: string } | undefined;

/** The sidecar's bundled code (sync-sidecar/dist/server.bundle.cjs) and its hash. */
export function sidecarBundle(): { code: string; hash: string } {
  if (bundleCache) return bundleCache;
  let code: string;
  try {
    const path = createRequire(import.meta.url).resolve('@kdev/sync-sidecar/server.bundle.cjs');
    code = readFileSync(path, 'utf8');
  } catch (e) {
    throw new KdevError('FAILED', `the sync sidecar bundle is missing: ${e instanceof Error ? e.message : String(e)}`, 'Run `npm run build` (it bundles sync-sidecar).');
  }
  bundleCache = { code, hash: createHash('sha256').update(code).digest('hex').slice(0, 16) };
  return bundleCache;
}

export function syncSidecarParts(opts: SidecarOptions = {}): SidecarParts {
  const { code, hash } = sidecarBundle();
  const port = opts.port ?? DEFAULT_PORT;
  const srcVolume = opts.workDirVolume ?? SRC_VOLUME;
  const configMap: V1ConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: SIDECAR_CONFIGMAP, labels: { 'app.kubernetes.io/managed-by': 'kdev' }, annotations: { [HASH_ANNOTATION]: hash } },
    data: { 'server.js': code },
  };
  const container: V1Container = {
    name: SIDECAR_CONTAINER,
    image: opts.image ?? SIDECAR_IMAGE,
    imagePullPolicy: 'IfNotPresent',
    // a small young generation keeps the resident size down; the heap cap bounds a burst
    command: ['node', '--expose-gc', '--max-semi-space-size=1', '--max-old-space-size=64', '/kdev/sidecar/server.js'],
    env: [
      { name: 'KDEV_SYNC_ROOT', value: SIDECAR_SRC },
      { name: 'KDEV_SYNC_PORT', value: String(port) },
      { name: 'KDEV_SYNC_CTL', value: CTL_FIFO },
      // glibc malloc: buffers of 128 KiB and more are always mmap'ed (so freeing them gives the
      // memory back, instead of a heap that only grows), at most 2 arenas, trim freed heap tops
      { name: 'MALLOC_MMAP_THRESHOLD_', value: '131072' },
      { name: 'MALLOC_TRIM_THRESHOLD_', value: '131072' },
      { name: 'MALLOC_ARENA_MAX', value: '2' },
    ],
    volumeMounts: [
      { name: srcVolume, mountPath: SIDECAR_SRC },
      { name: CTL_VOLUME, mountPath: CTL_DIR },
      { name: SIDECAR_VOLUME, mountPath: '/kdev/sidecar', readOnly: true },
    ],
    resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '256Mi' } },
  };
  const volumes: V1Volume[] = [
    { name: srcVolume, emptyDir: {} },
    { name: CTL_VOLUME, emptyDir: {} },
    { name: SIDECAR_VOLUME, configMap: { name: SIDECAR_CONFIGMAP, defaultMode: 0o444 } },
  ];
  return { configMap, container, volumes, podAnnotations: { 'kdev.dev/sidecar-hash': hash } };
}

/** Creates or updates the sidecar's ConfigMap in `namespace`; writes only when the code changed. */
export async function ensureSidecarConfigMap(cluster: Cluster, namespace: string = cluster.namespace): Promise<{ changed: boolean; hash: string }> {
  const { configMap } = syncSidecarParts();
  const changed = await ensureHashedConfigMap(cluster, namespace, configMap);
  return { changed, hash: configMap.metadata!.annotations![HASH_ANNOTATION]! };
}

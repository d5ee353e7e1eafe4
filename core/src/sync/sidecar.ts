// What dev mode adds to a pod for sync: the sidecar container, its volumes, and the
// ConfigMap that carries its code (one bundled file), so no custom image is ever pulled.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { V1ConfigMap, V1Container, V1Secret, V1Volume } from '@kubernetes/client-node';
import { DEFAULT_PORT } from '@kdev/sync-sidecar';
import type { Cluster } from '../kube/client.js';
import { ensureHashedConfigMap, CONTENT_HASH_ANNOTATION } from '../kube/configmap.js';
import { isConflict, isNotFound, kubeError } from '../kube/errors.js';
import { raw, type RawObject } from '../kube/raw.js';
import { KDEV_UID, restrictedSecurityContext } from '../kube/security.js';
import { KdevError } from '../errors.js';

export const SIDECAR_CONFIGMAP = 'kdev-sync-sidecar';
export const SIDECAR_CONTAINER = 'kdev-sync';
export const SIDECAR_IMAGE = 'kdev.local/node:18';
export const SRC_VOLUME = 'kdev-src';
export const CTL_VOLUME = 'kdev-ctl';
export const SIDECAR_VOLUME = 'kdev-sync-sidecar';
/** The sidecar's own scratch space (its hash cache): its root file system is read-only. */
export const SIDECAR_TMP_VOLUME = 'kdev-sync-tmp';
/** The Secret holding the sync token the sidecar demands in `hello` (key `token`). */
export const SYNC_TOKEN_SECRET = 'kdev-sync-token';
/**
 * The sidecar's user: not root, and not the dev container's user as long as that one is not
 * 65532 either, so the app cannot read the sidecar's environment (its token) or signal it.
 */
export const SIDECAR_UID = KDEV_UID;
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
      // optional: without the Secret (a pod built by hand) the sidecar serves any client
      { name: 'KDEV_SYNC_TOKEN', valueFrom: { secretKeyRef: { name: SYNC_TOKEN_SECRET, key: 'token', optional: true } } },
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
      { name: SIDECAR_TMP_VOLUME, mountPath: '/tmp' },
    ],
    // least privilege: a non-root user, no capabilities, nothing writable but its volumes
    securityContext: restrictedSecurityContext(),
    resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '256Mi' } },
  };
  const volumes: V1Volume[] = [
    { name: srcVolume, emptyDir: {} },
    { name: CTL_VOLUME, emptyDir: {} },
    { name: SIDECAR_VOLUME, configMap: { name: SIDECAR_CONFIGMAP, defaultMode: 0o444 } },
    { name: SIDECAR_TMP_VOLUME, emptyDir: { sizeLimit: '256Mi' } },
  ];
  return { configMap, container, volumes, podAnnotations: { 'kdev.dev/sidecar-hash': hash } };
}

/** Creates or updates the sidecar's ConfigMap in `namespace`; writes only when the code changed. */
export async function ensureSidecarConfigMap(cluster: Cluster, namespace: string = cluster.namespace): Promise<{ changed: boolean; hash: string }> {
  const { configMap } = syncSidecarParts();
  const changed = await ensureHashedConfigMap(cluster, namespace, configMap);
  return { changed, hash: configMap.metadata!.annotations![HASH_ANNOTATION]! };
}

/** The sync token of `namespace`, or undefined when there is none (the sidecar then asks for none). */
export async function readSyncToken(cluster: Cluster, namespace: string = cluster.namespace): Promise<string | undefined> {
  try {
    const secret = await raw.getAs<V1Secret>(cluster, { apiVersion: 'v1', plural: 'secrets', namespace, name: SYNC_TOKEN_SECRET });
    const b64 = secret.data?.token;
    return b64 ? Buffer.from(b64, 'base64').toString('utf8') : undefined;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw kubeError(e, `reading secret/${SYNC_TOKEN_SECRET}`, cluster.server);
  }
}

/**
 * Creates the namespace's sync token (32 random bytes) unless it exists. The dev-mode start
 * (the lease holder) calls it before the pod is patched; the sidecar gets it through its env.
 */
export async function ensureSyncToken(cluster: Cluster, namespace: string = cluster.namespace): Promise<string> {
  const existing = await readSyncToken(cluster, namespace);
  if (existing) return existing;
  const token = randomBytes(32).toString('hex');
  const body: V1Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name: SYNC_TOKEN_SECRET, namespace, labels: { 'app.kubernetes.io/managed-by': 'kdev' } },
    data: { token: Buffer.from(token).toString('base64') },
  };
  try {
    await raw.create(cluster, { apiVersion: 'v1', plural: 'secrets', namespace }, body as RawObject);
    return token;
  } catch (e) {
    // 409: another dev start created it meanwhile: use theirs
    if (isConflict(e)) return (await readSyncToken(cluster, namespace)) ?? token;
    throw kubeError(e, `creating secret/${SYNC_TOKEN_SECRET}`, cluster.server);
  }
}

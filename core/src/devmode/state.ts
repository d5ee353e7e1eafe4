// Where dev mode keeps what it needs to undo itself, in the cluster (so `end` works after
// a crash, from another machine, without the local config): the original object in an
// annotation, or in a Secret when too large; the HPAs' original bounds on the HPAs.
import { createHash } from 'node:crypto';
import type { Cluster } from '../kube/client.js';
import { isNotFound, kubeError } from '../kube/errors.js';
import { raw, type RawObject } from '../kube/raw.js';
import { HPA_ANNOTATION, ORIGINAL_ANNOTATION, ORIGINAL_SECRET_ANNOTATION, withoutOurs } from './patch.js';
import type { KindSpec } from './kinds.js';

/** What `end` puts back. */
export interface SavedOriginal {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  spec: Record<string, unknown>;
}

/** Annotations larger than this go to a Secret (the API server allows 256 KiB in all). */
const ANNOTATION_LIMIT = 100 * 1024;


export function captureOriginal(obj: RawObject): SavedOriginal {
  return {
    labels: withoutOurs(obj.metadata?.labels),
    annotations: withoutOurs(obj.metadata?.annotations),
    spec: JSON.parse(JSON.stringify(obj.spec ?? {})) as Record<string, unknown>,
  };
}

export function originalSecretName(kind: KindSpec, name: string): string {
  const base = `kdev-original-${kind.kind.toLowerCase()}-${name}`;
  if (base.length <= 253) return base;
  return `kdev-original-${createHash('sha256').update(base).digest('hex').slice(0, 32)}`;
}

/**
 * The annotations that record the original on the object: inline when small, else a
 * pointer to a Secret that is written first.
 */
export async function storeOriginal(cluster: Cluster, namespace: string, kind: KindSpec, name: string, original: SavedOriginal): Promise<Record<string, string>> {
  const json = JSON.stringify(original);
  if (json.length <= ANNOTATION_LIMIT && kind.strategy !== 'replace-pod') return { [ORIGINAL_ANNOTATION]: json };
  const secretName = originalSecretName(kind, name);
  const body: RawObject = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: secretName, namespace, labels: { 'app.kubernetes.io/managed-by': 'kdev' } },
    type: 'Opaque',
    data: { original: Buffer.from(json).toString('base64') },
  };
  const path = { apiVersion: 'v1', plural: 'secrets', namespace };
  try {
    await raw.create(cluster, path, body);
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw kubeError(err, `saving the original of ${name} in secret/${secretName}`, cluster.server);
    await raw.replace(cluster, { ...path, name: secretName }, body).catch((e: unknown) => {
      throw kubeError(e, `saving the original of ${name} in secret/${secretName}`, cluster.server);
    });
  }
  return { [ORIGINAL_SECRET_ANNOTATION]: secretName };
}

/** Reads the saved original named by an object's annotations (or by the Secret's name). */
export async function loadOriginal(cluster: Cluster, namespace: string, annotations: Record<string, string>, secretName?: string): Promise<SavedOriginal | undefined> {
  const inline = annotations[ORIGINAL_ANNOTATION];
  if (inline) return JSON.parse(inline) as SavedOriginal;
  const name = annotations[ORIGINAL_SECRET_ANNOTATION] ?? secretName;
  if (!name) return undefined;
  try {
    const secret = await raw.get(cluster, { apiVersion: 'v1', plural: 'secrets', namespace, name });
    const data = (secret.data as Record<string, string> | undefined)?.original;
    return data ? (JSON.parse(Buffer.from(data, 'base64').toString()) as SavedOriginal) : undefined;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw kubeError(err, `reading secret/${name}`, cluster.server);
  }
}

export async function deleteOriginalSecret(cluster: Cluster, namespace: string, name: string): Promise<void> {
  await raw.delete(cluster, { apiVersion: 'v1', plural: 'secrets', namespace, name }).catch((err: unknown) => {
    if (!isNotFound(err)) throw kubeError(err, `deleting secret/${name}`, cluster.server);
  });
}

/**
 * On an HPA that dev mode pinned: its own bounds before. The pin and this record are one
 * merge patch, so an HPA is never pinned without its undo, and `end` finds every pinned
 * HPA of a workload from the HPAs alone (even when the workload looks restored already).
 */
const hpaPath = (namespace: string, name?: string) => ({ apiVersion: 'autoscaling/v2', plural: 'horizontalpodautoscalers', namespace, name });

/** The HPAs that scale the workload (none when we may not list HPAs: we could not pin them either). */
export async function hpasFor(cluster: Cluster, namespace: string, kind: KindSpec, name: string): Promise<RawObject[]> {
  try {
    const list = await raw.list(cluster, hpaPath(namespace));
    return list.items.filter((h) => {
      const t = h.spec?.scaleTargetRef as { kind?: string; name?: string } | undefined;
      return t?.kind === kind.kind && t.name === name;
    });
  } catch (err) {
    if ((err as { code?: number }).code === 403) return [];
    throw kubeError(err, 'listing horizontalpodautoscalers', cluster.server);
  }
}

/**
 * Pins the HPAs to one replica, each in one patch with its saved bounds. With `dryRun`
 * the API server checks the patches (rights included) and changes nothing.
 */
export async function pinHpas(cluster: Cluster, namespace: string, hpas: readonly RawObject[], dryRun = false): Promise<void> {
  for (const hpa of hpas) {
    const hpaName = hpa.metadata!.name!;
    const saved = hpa.metadata?.annotations?.[HPA_ANNOTATION] ?? JSON.stringify({ minReplicas: hpa.spec?.minReplicas ?? null, maxReplicas: hpa.spec?.maxReplicas });
    await raw
      .patch(cluster, hpaPath(namespace, hpaName), { metadata: { annotations: { [HPA_ANNOTATION]: saved } }, spec: { minReplicas: 1, maxReplicas: 1 } }, 'merge', dryRun ? '?dryRun=All' : '')
      .catch((err: unknown) => {
        throw kubeError(err, `pinning horizontalpodautoscaler/${hpaName} to one replica`, cluster.server);
      });
  }
}

/** Gives every pinned HPA of the workload its saved bounds back; returns how many it restored. */
export async function restoreHpas(cluster: Cluster, namespace: string, kind: KindSpec, name: string): Promise<number> {
  let restored = 0;
  for (const hpa of await hpasFor(cluster, namespace, kind, name)) {
    const saved = hpa.metadata?.annotations?.[HPA_ANNOTATION];
    if (!saved) continue;
    const bounds = JSON.parse(saved) as { minReplicas: number | null; maxReplicas: number };
    await raw
      .patch(cluster, hpaPath(namespace, hpa.metadata!.name!), { metadata: { annotations: { [HPA_ANNOTATION]: null } }, spec: bounds })
      .catch((err: unknown) => {
        throw kubeError(err, `restoring horizontalpodautoscaler/${hpa.metadata!.name!}`, cluster.server);
      });
    restored++;
  }
  return restored;
}

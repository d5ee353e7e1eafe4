// JSON requests to the API server without the client's typed models. Dev mode saves and
// restores objects byte for byte; the typed models would drop fields they do not know.
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { Cluster } from './client.js';
import { kubeError } from './errors.js';

/** A Kubernetes object as plain JSON. */
export interface RawObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
    uid?: string;
    generation?: number;
    deletionTimestamp?: string;
    ownerReferences?: Array<{ kind: string; name: string; uid: string; controller?: boolean }>;
    [key: string]: unknown;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [key: string]: unknown;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly body: string,
  ) {
    super(`HTTP ${code}`);
  }
}

export type PatchType = 'merge' | 'json' | 'strategic' | 'apply';
const PATCH_CONTENT: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  // Server-side apply; JSON is YAML, so the body stays JSON.
  apply: 'application/apply-patch+yaml',
};

async function send(cluster: Cluster, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<unknown> {
  const server = cluster.kc.getCurrentCluster()?.server;
  if (!server) throw kubeError(new Error('the kubeconfig names no server'), `${method} ${path}`);
  const url = new URL(path, server);
  const opts: RequestOptions = {
    method,
    hostname: url.hostname,
    port: url.port,
    path: url.pathname + url.search,
    headers: { Accept: 'application/json', ...(body !== undefined ? { 'Content-Type': contentType } : {}) },
    timeout: 30_000,
  };
  await cluster.kc.applyToHTTPSOptions(opts);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(opts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        if ((res.statusCode ?? 500) >= 300) reject(new ApiError(res.statusCode ?? 500, text));
        else resolve(text ? (JSON.parse(text) as unknown) : undefined);
      });
    });
    req.on('timeout', () => req.destroy(new Error(`request to ${server} timed out`)));
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

export interface ObjectPath {
  apiVersion: string;
  plural: string;
  namespace?: string;
  name?: string;
}

export function objectPath(p: ObjectPath): string {
  const base = p.apiVersion.includes('/') ? `/apis/${p.apiVersion}` : `/api/${p.apiVersion}`;
  const ns = p.namespace ? `/namespaces/${encodeURIComponent(p.namespace)}` : '';
  return `${base}${ns}/${p.plural}${p.name ? `/${encodeURIComponent(p.name)}` : ''}`;
}

/** Raw calls; failures are thrown as ApiError (code, body) or network errors: wrap with kubeError. */
export const raw = {
  get: (c: Cluster, p: ObjectPath) => send(c, 'GET', objectPath(p)) as Promise<RawObject>,
  list: (c: Cluster, p: ObjectPath, labelSelector?: string) =>
    send(c, 'GET', objectPath(p) + (labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : '')) as Promise<{ items: RawObject[]; metadata?: { resourceVersion?: string } }>,
  create: (c: Cluster, p: ObjectPath, body: RawObject) => send(c, 'POST', objectPath({ ...p, name: undefined }), body) as Promise<RawObject>,
  replace: (c: Cluster, p: ObjectPath, body: RawObject) => send(c, 'PUT', objectPath(p), body) as Promise<RawObject>,
  patch: (c: Cluster, p: ObjectPath, patch: unknown, type: PatchType = 'merge', query = '') =>
    send(c, 'PATCH', objectPath(p) + query, patch, PATCH_CONTENT[type]) as Promise<RawObject>,
  delete: (c: Cluster, p: ObjectPath, opts: { propagationPolicy?: string; gracePeriodSeconds?: number } = {}) =>
    send(c, 'DELETE', objectPath(p), { apiVersion: 'v1', kind: 'DeleteOptions', ...opts }) as Promise<unknown>,
};

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

const discovery = new Map<string, Promise<ApiResource[]>>();

/** The plural name and scope of a kind, from the API server's discovery (cached per server). */
export async function resourceFor(cluster: Cluster, apiVersion: string, kind: string): Promise<{ plural: string; namespaced: boolean }> {
  const server = cluster.kc.getCurrentCluster()?.server ?? '';
  const key = `${server} ${apiVersion}`;
  let resources = discovery.get(key);
  if (!resources) {
    const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    resources = (send(cluster, 'GET', path) as Promise<{ resources: ApiResource[] }>).then((r) => r.resources.filter((x) => !x.name.includes('/')));
    discovery.set(key, resources);
    resources.catch(() => discovery.delete(key));
  }
  let found: ApiResource | undefined;
  try {
    found = (await resources).find((r) => r.kind === kind);
  } catch (err) {
    throw kubeError(err, `looking up ${apiVersion}`, server);
  }
  if (!found) throw kubeError(new ApiError(404, JSON.stringify({ message: `the server has no ${kind} in ${apiVersion}` })), `looking up ${kind}`, server);
  return { plural: found.name, namespaced: found.namespaced };
}

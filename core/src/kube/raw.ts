// Core's one path to the API server: JSON requests and watches, without the client's typed
// models. Dev mode saves and restores objects byte for byte; the typed models would drop
// fields they do not know.
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { request as httpRequest, type IncomingMessage } from 'node:http';
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

/**
 * THE path to the API server: every request of core goes through here (JSON calls, watches),
 * with the kubeconfig's credentials and TLS settings applied by the client library. Only the
 * WebSocket protocols (exec, attach, port-forward) and log streams use the library's own
 * clients, which apply the same kubeconfig.
 */
async function open(cluster: Cluster, method: string, path: string, body?: unknown, contentType = 'application/json', timeoutMs = 30_000): Promise<IncomingMessage> {
  const server = cluster.kc.getCurrentCluster()?.server;
  if (!server) throw kubeError(new Error('the kubeconfig names no server'), `${method} ${path}`);
  const url = new URL(path, server);
  const opts: RequestOptions = {
    method,
    hostname: url.hostname,
    port: url.port,
    path: url.pathname + url.search,
    headers: { Accept: 'application/json', ...(body !== undefined ? { 'Content-Type': contentType } : {}) },
    timeout: timeoutMs,
  };
  await cluster.kc.applyToHTTPSOptions(opts);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(opts, (res) => {
      if ((res.statusCode ?? 500) < 300) return resolve(res);
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => reject(new ApiError(res.statusCode ?? 500, Buffer.concat(chunks).toString())));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`request to ${server} timed out`)));
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

async function send(cluster: Cluster, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<unknown> {
  const res = await open(cluster, method, path, body, contentType);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => {
      const text = Buffer.concat(chunks).toString();
      try {
        resolve(text ? (JSON.parse(text) as unknown) : undefined);
      } catch (err) {
        reject(err);
      }
    });
    res.on('error', reject);
  });
}

/** How long the server keeps a watch open before it ends it (then the caller resumes). */
const WATCH_SECONDS = 240;

/**
 * Starts a watch of a collection (`path` with its query). Resolves once the server accepted
 * it (rejects with ApiError or a network error otherwise); then `onEvent` gets each event
 * and `onEnd` is called once: without an error when the server ended the watch.
 */
export async function watchEvents(
  cluster: Cluster,
  path: string,
  query: Record<string, string>,
  onEvent: (type: string, obj: unknown) => void,
  onEnd: (err?: Error) => void,
): Promise<{ abort(): void }> {
  const q = new URLSearchParams({ ...query, watch: 'true', timeoutSeconds: String(WATCH_SECONDS) });
  // a silent connection (a server gone without a word) ends the watch too
  const res = await open(cluster, 'GET', `${path}?${q}`, undefined, undefined, (WATCH_SECONDS + 60) * 1000);
  let ended = false;
  const end = (err?: Error) => {
    if (ended) return;
    ended = true;
    onEnd(err);
  };
  let buffer = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    buffer += chunk;
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (line.length === 0) continue;
      try {
        const ev = JSON.parse(line) as { type: string; object: unknown };
        onEvent(ev.type, ev.object);
      } catch (err) {
        res.destroy(err as Error);
        return;
      }
    }
  });
  res.on('end', () => end());
  res.on('close', () => end(res.complete ? undefined : new Error('the watch connection closed')));
  res.on('error', (err) => end(err));
  return {
    abort: () => {
      ended = true;
      res.destroy();
    },
  };
}

export interface ObjectPath {
  apiVersion: string;
  plural: string;
  namespace?: string;
  name?: string;
  /** "log", "token", "status": a subresource of the named object. */
  subresource?: string;
}

export function objectPath(p: ObjectPath): string {
  const base = p.apiVersion.includes('/') ? `/apis/${p.apiVersion}` : `/api/${p.apiVersion}`;
  const ns = p.namespace ? `/namespaces/${encodeURIComponent(p.namespace)}` : '';
  const sub = p.name && p.subresource ? `/${p.subresource}` : '';
  return `${base}${ns}/${p.plural}${p.name ? `/${encodeURIComponent(p.name)}` : ''}${sub}`;
}

/** "?a=1&b=2" of the defined values; "" when none. */
function queryString(q: Record<string, string | number | boolean | undefined>): string {
  const parts = Object.entries(q).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`);
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
}

export interface RawList {
  items: RawObject[];
  metadata?: { resourceVersion?: string };
}

async function readText(cluster: Cluster, path: string): Promise<string> {
  const res = await open(cluster, 'GET', path);
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

/** Raw calls; failures are thrown as ApiError (code, body) or network errors: wrap with kubeError. */
export const raw = {
  get: (c: Cluster, p: ObjectPath) => send(c, 'GET', objectPath(p)) as Promise<RawObject>,
  /** A GET of a path that is no object ("/version"). */
  path: (c: Cluster, path: string) => send(c, 'GET', path),
  /** The same JSON seen through a client-node model type (nothing dropped; timestamps stay strings). */
  getAs: <T>(c: Cluster, p: ObjectPath) => send(c, 'GET', objectPath(p)) as Promise<T>,
  list: (c: Cluster, p: ObjectPath, selector?: string | ListOptions) =>
    send(c, 'GET', objectPath(p) + queryString(typeof selector === 'string' ? { labelSelector: selector } : { ...selector })) as Promise<RawList>,
  listAs: <T>(c: Cluster, p: ObjectPath, selector: ListOptions = {}) =>
    send(c, 'GET', objectPath(p) + queryString({ ...selector })) as Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>,
  /** POST to the collection, or to the named object's subresource ("token", "eviction"). */
  create: <T = RawObject>(c: Cluster, p: ObjectPath, body: RawObject) => send(c, 'POST', objectPath(p.subresource ? p : { ...p, name: undefined }), body) as Promise<T>,
  /** A text subresource (a pod's log), with its query. */
  text: (c: Cluster, p: ObjectPath, query: Record<string, string | number | boolean | undefined> = {}) => readText(c, objectPath(p) + queryString(query)),
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

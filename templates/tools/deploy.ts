// Deploys a template folder into an existing namespace, following templates/README.md's
// format (parameters, manifests, source ConfigMaps, dependency waves, Ready by watch).
// The meeting template's e2e test and benchmarks use it until `kdev env create` (core/env)
// is on main; it deliberately covers only what they need (Deployments, no quota/RBAC).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { applyAll, parseManifests, substitute, watchUntil, type Cluster } from '@kdev/core/internals';
import type { KubernetesObject, V1ConfigMap, V1Deployment, V1Pod } from '@kubernetes/client-node';
import { parse } from 'yaml';

interface Workload {
  name: string;
  kind?: string;
  source?: string;
  container?: string;
  sourcePath?: string;
  dependsOn?: string[];
  timeout?: number;
  dev?: { workDir?: string };
}

export interface TemplateFile {
  name: string;
  parameters?: Record<string, { default: string | number | boolean }>;
  manifests?: string[];
  workloads: Workload[];
}

export interface DeployOptions {
  params?: Record<string, string>;
  /** Deploy only these workloads (and every non-workload object). */
  only?: string[];
  log?: (line: string) => void;
}

function files(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => {
      const p = join(dir, n);
      if (statSync(p).isDirectory()) return n === 'node_modules' || n.startsWith('.') ? [] : files(p);
      return [p];
    });
}

export function readTemplate(dir: string): TemplateFile {
  return parse(readFileSync(join(dir, 'template.yaml'), 'utf8')) as TemplateFile;
}

/** The template's objects with parameters substituted, source ConfigMaps added and mounted. */
export function renderTemplate(dir: string, namespace: string, opts: DeployOptions = {}): { objects: KubernetesObject[]; template: TemplateFile } {
  const t = readTemplate(dir);
  const params: Record<string, string> = { env: namespace, namespace };
  for (const [k, v] of Object.entries(t.parameters ?? {})) params[k] = String(v.default);
  Object.assign(params, opts.params);
  const objects: KubernetesObject[] = [];
  for (const m of t.manifests ?? ['manifests']) {
    const p = join(dir, m);
    for (const f of statSync(p).isDirectory() ? files(p).filter((x) => /\.ya?ml$/.test(x)) : [p]) {
      objects.push(...parseManifests(substitute(readFileSync(f, 'utf8'), params, f), f));
    }
  }
  for (const o of objects) o.metadata = { ...o.metadata, namespace, labels: { ...o.metadata?.labels, 'kdev.dev/environment': namespace } };
  for (const w of t.workloads) {
    if (!w.source) continue;
    const src = join(dir, w.source);
    const data: Record<string, string> = {};
    const items: Array<{ key: string; path: string }> = [];
    for (const f of files(src)) {
      const key = relative(src, f).replace(/[^-._a-zA-Z0-9]/g, '_');
      data[key] = readFileSync(f, 'utf8');
      items.push({ key, path: relative(src, f) });
    }
    const hash = createHash('sha256').update(JSON.stringify(data)).digest('hex').slice(0, 16);
    const cm: V1ConfigMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${w.name}-source`, namespace, labels: { 'kdev.dev/environment': namespace } }, data };
    objects.unshift(cm as KubernetesObject);
    const d = objects.find((o) => o.kind === (w.kind ?? 'Deployment') && o.metadata?.name === w.name) as V1Deployment | undefined;
    if (!d?.spec?.template.spec) throw new Error(`${dir}: workload ${w.name} is not in the manifests`);
    const pod = d.spec.template;
    pod.metadata = { ...pod.metadata, annotations: { ...pod.metadata?.annotations, 'kdev.dev/source-hash': hash } };
    const spec = pod.spec!;
    spec.volumes = [...(spec.volumes ?? []), { name: 'kdev-source', configMap: { name: cm.metadata!.name!, items } }];
    const c = spec.containers.find((x) => x.name === w.container) ?? spec.containers[0]!;
    c.volumeMounts = [...(c.volumeMounts ?? []), { name: 'kdev-source', mountPath: w.sourcePath ?? w.dev?.workDir ?? '/app', readOnly: true }];
  }
  return { objects, template: t };
}

/** Waits by watch until a Deployment's pods are all updated and ready. */
export function waitDeploymentReady(cluster: Cluster, name: string, timeoutMs: number): Promise<void> {
  let last = '';
  return watchUntil<V1Deployment, void>(cluster, {
    resource: { apiVersion: 'apps/v1', plural: 'deployments', namespace: cluster.namespace },
    fieldSelector: `metadata.name=${name}`,
    timeoutMs,
    what: `deployment/${name} to become ready`,
    timeoutDetail: () => last,
    onEvent: (_type, d) => {
      const want = d.spec?.replicas ?? 1;
      const s = d.status ?? {};
      last = `${s.readyReplicas ?? 0}/${want} ready`;
      const done = (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1) && (s.updatedReplicas ?? 0) === want && (s.readyReplicas ?? 0) === want && (s.replicas ?? 0) === want;
      return done ? { done: true, value: undefined } : { done: false };
    },
  });
}

/** Applies the template: every non-workload object, then workloads in dependency waves. */
export async function deployTemplate(cluster: Cluster, dir: string, opts: DeployOptions = {}): Promise<TemplateFile> {
  const log = opts.log ?? (() => undefined);
  const { objects, template } = renderTemplate(dir, cluster.namespace, opts);
  const workloads = template.workloads.filter((w) => !opts.only || opts.only.includes(w.name));
  const isWorkload = (o: KubernetesObject) => ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'].includes(o.kind ?? '');
  const wanted = new Set(workloads.map((w) => w.name));
  await applyAll(cluster, objects.filter((o) => !isWorkload(o) && (o.kind !== 'ConfigMap' || !o.metadata?.name?.endsWith('-source') || wanted.has(o.metadata.name.slice(0, -'-source'.length)))));
  const ready = new Set<string>();
  const started = new Map<string, Promise<void>>();
  const start = (w: Workload): Promise<void> => {
    let p = started.get(w.name);
    if (p) return p;
    p = (async () => {
      await Promise.all((w.dependsOn ?? []).filter((d) => wanted.has(d)).map((d) => start(workloads.find((x) => x.name === d)!)));
      const obj = objects.find((o) => isWorkload(o) && o.metadata?.name === w.name)!;
      await applyAll(cluster, [obj]);
      const t0 = Date.now();
      await waitDeploymentReady(cluster, w.name, (w.timeout ?? 180) * 1000).catch(async (err: unknown) => {
        throw new Error(`${err instanceof Error ? err.message : String(err)}\n${await podReport(cluster, w.name)}`);
      });
      ready.add(w.name);
      log(`${w.name} ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    })();
    started.set(w.name, p);
    return p;
  };
  await Promise.all(workloads.map(start));
  return template;
}

async function podReport(cluster: Cluster, app: string): Promise<string> {
  const pods = await cluster.core.listNamespacedPod({ namespace: cluster.namespace, labelSelector: `app=${app}` });
  return pods.items.map((p: V1Pod) => `${p.metadata?.name}: ${p.status?.phase} ${JSON.stringify(p.status?.containerStatuses?.map((c) => c.state))}`).join('\n');
}

/** The IPs of a Service's ready endpoints (pod IPs on the cluster bridge). */
export async function podIps(cluster: Cluster, app: string): Promise<string[]> {
  const pods = await cluster.core.listNamespacedPod({ namespace: cluster.namespace, labelSelector: `app=${app}` });
  return pods.items.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') && !p.metadata?.deletionTimestamp).map((p) => p.status!.podIP!);
}

/** Targets of load tests stay on this machine: loopback or the local cluster's pod network. */
export function assertLocalTarget(ip: string): void {
  if (/^127\./.test(ip) || /^10\.88\.\d+\.\d+$/.test(ip)) return;
  throw new Error(`refusing to send load to ${ip}: only loopback and the local cluster's pod network (10.88.0.0/16) are allowed`);
}

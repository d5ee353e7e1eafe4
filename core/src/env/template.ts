// Loading and rendering an environment template (templates/README.md): template.yaml is
// validated with zod and every error names the file, the line and the field; manifests get
// ${param} substitution; each workload's source folder becomes a ConfigMap mounted into it.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubernetesObject, V1ConfigMap, V1PodTemplateSpec } from '@kubernetes/client-node';
import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import { KdevError } from '../errors.js';
import { parseManifests, substitute } from '../kube/manifests.js';
import { checkParamValue, checkQuantity, checkWorkloadValues } from './values.js';
import { configSchema, type DevConfig, type DevEntry } from '../config/schema.js';
import {
  BUILTIN_PARAMS,
  DEFAULT_LIMITS,
  DEFAULT_QUOTA,
  templateSchema,
  WORKLOAD_KINDS,
  type TemplateSpec,
  type TemplateWorkload,
  type WorkloadKind,
} from './schema.js';

export const TEMPLATE_FILE = 'template.yaml';
/** Name of the volume that carries a workload's source; dev mode replaces it. */
export const TEMPLATE_SOURCE_VOLUME = 'kdev-source';
export const SOURCE_HASH_ANNOTATION = 'kdev.dev/source-hash';
const MAX_SOURCE_BYTES = 900 * 1024;
const SKIP_DIRS = new Set(['node_modules', '.git']);

export interface LoadedTemplate {
  /** Absolute folder of the template. */
  dir: string;
  /** Absolute path of template.yaml. */
  file: string;
  spec: TemplateSpec;
  /** The services' dev configs as a .kdev.yaml config (keys "kind/name"). */
  devConfig: DevConfig;
}

/** One workload of a rendered template, ready to apply. */
export interface PlannedWorkload {
  name: string;
  kind: WorkloadKind;
  dependsOn: string[];
  timeoutMs: number;
  object: KubernetesObject;
  /** The generated ConfigMap with the source, if the workload has a source. */
  source?: V1ConfigMap;
}

export interface TemplatePlan {
  template: LoadedTemplate;
  params: Record<string, string>;
  quota: Record<string, string>;
  limits: Record<string, Record<string, string>>;
  /** Every object that is not a workload, in manifest order. */
  objects: KubernetesObject[];
  /** In list order; start order follows dependsOn (see waves). */
  workloads: PlannedWorkload[];
  /** Workload names grouped by dependency depth: wave 0 depends on nothing. */
  waves: string[][];
}

/** Kinds a template may not contain: they live outside the environment's namespace. */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'Node',
  'PersistentVolume',
  'ClusterRole',
  'ClusterRoleBinding',
  'StorageClass',
  'CustomResourceDefinition',
  'PriorityClass',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
  'IngressClass',
  'RuntimeClass',
  'APIService',
  'CSIDriver',
  'VolumeAttachment',
]);

// ---------------------------------------------------------------------------------------
// Finding a template

/** Folders searched for a template given by name: $KDEV_TEMPLATES (path list), then kdev's own. */
export function templateSearchPath(): string[] {
  const fromEnv = (process.env.KDEV_TEMPLATES ?? '').split(':').filter((p) => p.length > 0);
  // core/dist/env/template.js → <repo>/templates
  const bundled = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'templates');
  return [...fromEnv.map((p) => resolve(p)), bundled];
}

/** The templates found on the search path, by name. */
export function listTemplates(): { name: string; dir: string }[] {
  const out: { name: string; dir: string }[] = [];
  const seen = new Set<string>();
  for (const root of templateSearchPath()) {
    if (!existsSync(root)) continue;
    for (const entry of readdirSync(root).sort()) {
      const dir = join(root, entry);
      if (seen.has(entry) || !existsSync(join(dir, TEMPLATE_FILE))) continue;
      seen.add(entry);
      out.push({ name: entry, dir });
    }
  }
  return out;
}

/** A template folder from a name (looked up on the search path) or a path. */
export function resolveTemplate(nameOrDir: string): string {
  const looksLikePath = nameOrDir.includes('/') || nameOrDir.includes(sep) || nameOrDir.startsWith('.');
  if (looksLikePath) {
    const dir = resolve(nameOrDir);
    if (existsSync(join(dir, TEMPLATE_FILE))) return dir;
    if (existsSync(dir) && statSync(dir).isFile() && basename(dir) === TEMPLATE_FILE) return dirname(dir);
    throw new KdevError('NOT_FOUND', `no template at ${dir} (it has no ${TEMPLATE_FILE})`, 'A template is a folder with template.yaml; see templates/README.md.');
  }
  const found = listTemplates().find((t) => t.name === nameOrDir);
  if (found) return found.dir;
  const known = listTemplates().map((t) => t.name);
  throw new KdevError(
    'NOT_FOUND',
    `unknown template "${nameOrDir}"`,
    known.length > 0 ? `Known templates: ${known.join(', ')}; or pass a folder, e.g. --template ./my-template.` : 'Pass a template folder, e.g. --template ./my-template.',
  );
}

// ---------------------------------------------------------------------------------------
// template.yaml

function lineOf(doc: Document, lc: LineCounter, path: readonly (string | number)[]): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return lc.linePos(node.range[0]).line;
  }
  return undefined;
}

function invalid(file: string, line: number | undefined, field: string, message: string, hint = 'See templates/README.md for the template format.'): KdevError {
  return new KdevError('INVALID', `${file}${line ? `:${line}` : ''}: ${field}: ${message}`, hint);
}

/** Parses and validates template.yaml text; errors name file, line and field. */
export function parseTemplateSpec(text: string, file: string): { spec: TemplateSpec; at: (path: (string | number)[]) => number | undefined } {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = lc.linePos(e.pos[0]);
    throw new KdevError('INVALID', `${file}:${pos.line}:${pos.col}: ${e.message.split('\n')[0]}`, 'Fix the YAML syntax.');
  }
  const at = (path: (string | number)[]) => lineOf(doc, lc, path);
  const result = templateSchema.safeParse(doc.toJS() ?? {});
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const path = issue.path.map((p) => (typeof p === 'number' ? p : String(p)));
    // A record key's own message sits one level down.
    const message = issue.code === 'invalid_key' && issue.issues[0] ? issue.issues[0].message : issue.message;
    throw invalid(file, at(path), path.length > 0 ? path.join('.') : '(top level)', message);
  }
  const spec = result.data;
  // Cross-field checks: unique names, known dependencies, no cycles.
  const names = new Map<string, number>();
  spec.workloads.forEach((w, i) => {
    if (names.has(w.name)) throw invalid(file, at(['workloads', i, 'name']), `workloads.${i}.name`, `"${w.name}" is listed twice`);
    names.set(w.name, i);
  });
  spec.workloads.forEach((w, i) => {
    w.dependsOn.forEach((d, j) => {
      if (!names.has(d)) throw invalid(file, at(['workloads', i, 'dependsOn', j]), `workloads.${i}.dependsOn.${j}`, `unknown workload "${d}"`, `Known workloads: ${[...names.keys()].join(', ')}.`);
      if (d === w.name) throw invalid(file, at(['workloads', i, 'dependsOn', j]), `workloads.${i}.dependsOn.${j}`, `"${d}" depends on itself`);
    });
  });
  const cycle = findCycle(spec.workloads);
  if (cycle) {
    const i = names.get(cycle[0]!)!;
    throw invalid(file, at(['workloads', i, 'dependsOn']), `workloads.${i}.dependsOn`, `dependency cycle: ${cycle.join(' → ')}`);
  }
  return { spec, at };
}

function findCycle(workloads: readonly TemplateWorkload[]): string[] | undefined {
  const deps = new Map(workloads.map((w) => [w.name, w.dependsOn]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === 'done') return undefined;
    if (state.get(n) === 'visiting') return [...stack.slice(stack.indexOf(n)), n];
    state.set(n, 'visiting');
    stack.push(n);
    for (const d of deps.get(n) ?? []) {
      const c = visit(d);
      if (c) return c;
    }
    stack.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const w of workloads) {
    const c = visit(w.name);
    if (c) return c;
  }
  return undefined;
}

/** Groups workloads by dependency depth, keeping list order inside each wave. */
export function dependencyWaves(workloads: readonly Pick<TemplateWorkload, 'name' | 'dependsOn'>[]): string[][] {
  const depth = new Map<string, number>();
  const byName = new Map(workloads.map((w) => [w.name, w]));
  const depthOf = (n: string, seen: Set<string>): number => {
    const known = depth.get(n);
    if (known !== undefined) return known;
    if (seen.has(n)) throw new KdevError('INVALID', `dependency cycle through ${n}`);
    seen.add(n);
    const w = byName.get(n);
    const d = w && w.dependsOn.length > 0 ? 1 + Math.max(...w.dependsOn.map((x) => depthOf(x, seen))) : 0;
    depth.set(n, d);
    return d;
  };
  const waves: string[][] = [];
  for (const w of workloads) {
    const d = depthOf(w.name, new Set());
    (waves[d] ??= []).push(w.name);
  }
  return waves.filter((w) => w !== undefined);
}

function insideTemplate(dir: string, rel: string, what: string, file: string, line: number | undefined, field: string): string {
  if (isAbsolute(rel)) throw invalid(file, line, field, `${what} must be a path relative to the template folder`);
  const abs = resolve(dir, rel);
  const r = relative(dir, abs);
  if (r.startsWith('..') || isAbsolute(r)) throw invalid(file, line, field, `${what} "${rel}" is outside the template folder`);
  return abs;
}

/** Loads and validates a template folder (template.yaml, sources, manifests with default parameters). */
export function loadTemplate(nameOrDir: string): LoadedTemplate {
  const dir = resolveTemplate(nameOrDir);
  const file = join(dir, TEMPLATE_FILE);
  const { spec, at } = parseTemplateSpec(readFileSync(file, 'utf8'), file);
  spec.manifests.forEach((m, i) => {
    const abs = insideTemplate(dir, m, 'a manifests entry', file, at(['manifests', i]), `manifests.${i}`);
    if (!existsSync(abs)) throw invalid(file, at(['manifests', i]), `manifests.${i}`, `"${m}" does not exist`);
  });
  spec.workloads.forEach((w, i) => {
    if (w.source === undefined) return;
    const abs = insideTemplate(dir, w.source, 'source', file, at(['workloads', i, 'source']), `workloads.${i}.source`);
    if (!existsSync(abs) || !statSync(abs).isDirectory()) throw invalid(file, at(['workloads', i, 'source']), `workloads.${i}.source`, `folder "${w.source}" does not exist`);
  });
  const dev: Record<string, DevEntry> = {};
  for (const w of spec.workloads) {
    if (!w.dev) continue;
    const entry: DevEntry = structuredClone(w.dev);
    // sync.local is relative to the template folder; default to the service's own source.
    const explicitLocal = hasExplicitSyncLocal(readFileSync(file, 'utf8'), spec.workloads.indexOf(w));
    if (!explicitLocal && w.source !== undefined) entry.sync = { ...entry.sync, local: w.source };
    dev[`${w.kind.toLowerCase()}/${w.name}`] = entry;
  }
  const template: LoadedTemplate = { dir, file, spec, devConfig: configSchema.parse({ version: 1, dev }) };
  // Validate the manifests and sources as they would be applied, with the defaults.
  planTemplate(template, { env: 'template-check', set: {} });
  return template;
}

function hasExplicitSyncLocal(text: string, index: number): boolean {
  const raw = parseDocument(text).toJS() as { workloads?: { dev?: { sync?: { local?: unknown } } }[] } | null;
  return raw?.workloads?.[index]?.dev?.sync?.local !== undefined;
}

// ---------------------------------------------------------------------------------------
// Rendering

export interface PlanOptions {
  /** The environment's name (= its namespace). */
  env: string;
  /** --set key=value: parameters, quota.<resource>, limits.<default|defaultRequest|max|min>.<cpu|memory>. */
  set: Readonly<Record<string, string>>;
}

/** Parses "key=value" pairs of --set. */
export function parseSets(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new KdevError('INVALID', `--set ${p}: expected key=value`, 'For example --set greeting=Hi or --set quota.pods=20.');
    out[p.slice(0, eq).trim()] = p.slice(eq + 1);
  }
  return out;
}

function resolveValues(spec: TemplateSpec, opts: PlanOptions): Pick<TemplatePlan, 'params' | 'quota' | 'limits'> {
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(spec.parameters)) params[k] = v.default;
  const quota: Record<string, string> = { ...DEFAULT_QUOTA, ...spec.quota };
  const limits: Record<string, Record<string, string>> = {
    default: { ...DEFAULT_LIMITS.default, ...stripUndefined(spec.limits.default) },
    defaultRequest: { ...DEFAULT_LIMITS.defaultRequest, ...stripUndefined(spec.limits.defaultRequest) },
  };
  if (spec.limits.max) limits.max = stripUndefined(spec.limits.max);
  if (spec.limits.min) limits.min = stripUndefined(spec.limits.min);
  for (const [key, value] of Object.entries(opts.set)) {
    if (key.startsWith('quota.')) {
      const res = key.slice('quota.'.length);
      if (res.length === 0) throw new KdevError('INVALID', `--set ${key}: name a resource, e.g. quota.pods=20`);
      checkQuantity(key, value);
      quota[res] = value;
      continue;
    }
    const lm = /^limits\.(default|defaultRequest|max|min)\.(cpu|memory)$/.exec(key);
    if (lm) {
      checkQuantity(key, value);
      (limits[lm[1]!] ??= {})[lm[2]!] = value;
      continue;
    }
    if (key.startsWith('limits.')) {
      throw new KdevError('INVALID', `--set ${key}: unknown limit`, 'Use limits.<default|defaultRequest|max|min>.<cpu|memory>=<quantity>.');
    }
    if ((BUILTIN_PARAMS as readonly string[]).includes(key)) throw new KdevError('INVALID', `--set ${key}: "${key}" is built in and cannot be set`);
    if (!(key in spec.parameters)) {
      const known = Object.keys(spec.parameters);
      throw new KdevError(
        'INVALID',
        `--set ${key}: template "${spec.name}" has no parameter "${key}"`,
        `${known.length > 0 ? `Its parameters: ${known.join(', ')}. ` : ''}Quota and limits: quota.<resource>=…, limits.default.cpu=….`,
      );
    }
    checkParamValue(key, value, spec.parameters[key]!.type, spec.name);
    params[key] = value;
  }
  params.env = opts.env;
  params.namespace = opts.env;
  return { params, quota, limits };
}

function stripUndefined(o: Record<string, string | undefined> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o ?? {})) if (v !== undefined) out[k] = v;
  return out;
}

function manifestFiles(dir: string, entries: readonly string[]): string[] {
  const files: string[] = [];
  for (const e of entries) {
    const abs = resolve(dir, e);
    if (statSync(abs).isDirectory()) {
      for (const name of readdirSync(abs).sort()) {
        if (/\.ya?ml$/.test(name) && statSync(join(abs, name)).isFile()) files.push(join(abs, name));
      }
    } else files.push(abs);
  }
  return files;
}

function sourceFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const abs = join(d, name);
      const st = statSync(abs);
      if (st.isDirectory()) {
        if (!SKIP_DIRS.has(name) && !name.startsWith('.')) walk(abs);
      } else if (st.isFile()) out.push(abs);
    }
  };
  walk(root);
  return out;
}

/** The ConfigMap carrying a workload's source, and the items that restore its tree. */
export function sourceConfigMap(workload: string, root: string, rel: string): { configMap: V1ConfigMap; items: { key: string; path: string }[]; hash: string } {
  const data: Record<string, string> = {};
  const binaryData: Record<string, string> = {};
  const items: { key: string; path: string }[] = [];
  const hash = createHash('sha256');
  let total = 0;
  for (const abs of sourceFiles(root)) {
    const path = relative(root, abs).split(sep).join('/');
    const key = path.replace(/\//g, '__');
    if (!/^[-._a-zA-Z0-9]+$/.test(key) || items.some((i) => i.key === key)) {
      throw new KdevError('INVALID', `${join(rel, path)}: the file name cannot be stored in a ConfigMap`, 'Source file names may use letters, digits, "-", "_" and "." only.');
    }
    const bytes = readFileSync(abs);
    total += bytes.length;
    hash.update(path).update('\0').update(bytes);
    const text = bytes.toString('utf8');
    if (!bytes.includes(0) && Buffer.from(text, 'utf8').equals(bytes)) data[key] = text;
    else binaryData[key] = bytes.toString('base64');
    items.push({ key, path });
  }
  if (items.length === 0) throw new KdevError('INVALID', `${rel}: the source folder of ${workload} is empty`);
  if (total > MAX_SOURCE_BYTES) {
    throw new KdevError('INVALID', `${rel}: the source of ${workload} is ${Math.round(total / 1024)} KiB; a ConfigMap holds at most ${MAX_SOURCE_BYTES / 1024} KiB`, 'Keep template services small, without bundled dependencies.');
  }
  const configMap: V1ConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `${workload}-source`, labels: { 'kdev.dev/source-of': workload } },
    data,
    ...(Object.keys(binaryData).length > 0 ? { binaryData } : {}),
  };
  return { configMap, items, hash: hash.digest('hex').slice(0, 16) };
}

function podTemplateOf(obj: KubernetesObject, kind: WorkloadKind): V1PodTemplateSpec | undefined {
  const spec = (obj as { spec?: Record<string, unknown> }).spec;
  if (kind === 'CronJob') return ((spec?.jobTemplate as { spec?: { template?: V1PodTemplateSpec } } | undefined)?.spec?.template);
  return spec?.template as V1PodTemplateSpec | undefined;
}

/** Resolves parameters and quota, reads every manifest and source, and checks them against the workloads. */
export function planTemplate(template: LoadedTemplate, opts: PlanOptions): TemplatePlan {
  const { spec, dir } = template;
  const values = resolveValues(spec, opts);
  const objects: KubernetesObject[] = [];
  const workloadObjects = new Map<string, { obj: KubernetesObject; file: string }>();
  for (const file of manifestFiles(dir, spec.manifests)) {
    const shown = relative(process.cwd(), file) || file;
    const text = substitute(readFileSync(file, 'utf8'), values.params, shown);
    for (const obj of parseManifests(text, shown)) {
      const what = `${obj.kind}/${obj.metadata?.name ?? '?'}`;
      if (!obj.metadata?.name) throw new KdevError('INVALID', `${shown}: a ${obj.kind} has no metadata.name`);
      if (CLUSTER_SCOPED.has(obj.kind ?? '')) {
        throw new KdevError('INVALID', `${shown}: ${what} is cluster-scoped; a template holds only namespaced objects`, 'Remove it; the environment creates its own namespace.');
      }
      const ns = obj.metadata.namespace;
      if (ns !== undefined && ns !== opts.env) throw new KdevError('INVALID', `${shown}: ${what} names namespace "${ns}"`, 'Leave metadata.namespace out (or use ${namespace}).');
      obj.metadata.namespace = opts.env;
      obj.metadata.labels = { ...obj.metadata.labels, 'kdev.dev/environment': opts.env };
      if ((WORKLOAD_KINDS as readonly string[]).includes(obj.kind ?? '')) {
        const key = `${obj.kind}/${obj.metadata.name}`;
        if (workloadObjects.has(key)) throw new KdevError('INVALID', `${shown}: ${key} is defined twice (also in ${workloadObjects.get(key)!.file})`);
        workloadObjects.set(key, { obj, file: shown });
      } else objects.push(obj);
    }
  }
  const at = (path: (string | number)[]) => parseTemplateSpec(readFileSync(template.file, 'utf8'), template.file).at(path);
  const workloads: PlannedWorkload[] = spec.workloads.map((w, i) => {
    const found = workloadObjects.get(`${w.kind}/${w.name}`);
    if (!found) throw invalid(template.file, at(['workloads', i, 'name']), `workloads.${i}.name`, `no ${w.kind} named "${w.name}" in the manifests`);
    workloadObjects.delete(`${w.kind}/${w.name}`);
    checkWorkloadValues(found.file, `${w.kind}/${w.name}`, found.obj as { spec?: Record<string, unknown> }, podTemplateOf(found.obj, w.kind)?.spec, opts.set);
    const planned: PlannedWorkload = { name: w.name, kind: w.kind, dependsOn: w.dependsOn, timeoutMs: w.timeout * 1000, object: found.obj };
    if (w.source !== undefined) {
      const pod = podTemplateOf(found.obj, w.kind);
      const containers = pod?.spec?.containers ?? [];
      const container = w.container === undefined ? containers[0] : containers.find((c) => c.name === w.container);
      if (!pod?.spec || !container) {
        throw invalid(template.file, at(['workloads', i, w.container === undefined ? 'source' : 'container']), `workloads.${i}.${w.container === undefined ? 'source' : 'container'}`,
          w.container === undefined ? `${w.kind}/${w.name} has no container to deliver the source to` : `${w.kind}/${w.name} has no container "${w.container}"`);
      }
      const src = sourceConfigMap(w.name, resolve(dir, w.source), w.source);
      src.configMap.metadata!.namespace = opts.env;
      src.configMap.metadata!.labels = { ...src.configMap.metadata!.labels, 'kdev.dev/environment': opts.env };
      pod.metadata = { ...pod.metadata, annotations: { ...pod.metadata?.annotations, [SOURCE_HASH_ANNOTATION]: src.hash } };
      pod.spec.volumes = [...(pod.spec.volumes ?? []).filter((v) => v.name !== TEMPLATE_SOURCE_VOLUME), { name: TEMPLATE_SOURCE_VOLUME, configMap: { name: src.configMap.metadata!.name!, items: src.items } }];
      const mountPath = w.sourcePath ?? w.dev?.workDir ?? '/app';
      container.volumeMounts = [...(container.volumeMounts ?? []).filter((m) => m.name !== TEMPLATE_SOURCE_VOLUME), { name: TEMPLATE_SOURCE_VOLUME, mountPath, readOnly: true }];
      planned.source = src.configMap;
    }
    return planned;
  });
  const leftover = [...workloadObjects.values()][0];
  if (leftover) {
    throw new KdevError('INVALID', `${leftover.file}: ${leftover.obj.kind}/${leftover.obj.metadata?.name} is not listed under workloads in ${template.file}`, 'Every workload object needs an entry under workloads (its dependencies and readiness).');
  }
  return { template, ...values, objects, workloads, waves: dependencyWaves(spec.workloads) };
}

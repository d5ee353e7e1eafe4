// Loading and rendering an environment template (templates/README.md): template.yaml is
// validated with zod and every error names the file, the line and the field; its payloads
// (manifests with ${param}, Helm charts, Kustomize folders) are rendered (render.ts); each
// workload's source folder becomes a ConfigMap mounted into it.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubernetesObject, V1ConfigMap, V1PodTemplateSpec } from '@kubernetes/client-node';
import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import { KdevError } from '../errors.js';
import { checkQuantity, checkWorkloadValues } from './values.js';
import { configSchema, type DevConfig, type DevEntry } from '../config/schema.js';
import { coerceParam, parametersJsonSchema, paramProblem, paramTypeWords, type ParamValue } from './params.js';
import { helmHook, renderChart, renderKustomize, renderManifests, type PayloadKind, type RenderedDoc } from './render.js';
import {
  BUILTIN_PARAMS,
  DEFAULT_LIMITS,
  EGRESS_MODES,
  type EgressMode,
  type NetworkSpec,
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
  /** Made from a chart or an overlay alone (no template.yaml): --set goes to helm. */
  adhoc?: 'chart' | 'kustomize';
}

/** One workload of a rendered template, ready to apply. */
export interface PlannedWorkload {
  name: string;
  kind: WorkloadKind;
  dependsOn: string[];
  timeoutMs: number;
  /** How long its pods must stay Ready without a restart; 0: Ready once is enough. */
  settleMs: number;
  object: KubernetesObject;
  /** The generated ConfigMap with the source, if the workload has a source. */
  source?: V1ConfigMap;
}

export interface TemplatePlan {
  template: LoadedTemplate;
  params: Record<string, string>;
  /** The parameters with their types (what chart values get). */
  values: Record<string, ParamValue>;
  quota: Record<string, string>;
  limits: Record<string, Record<string, string>>;
  /** Isolation: egress mode and the declared exceptions (--set network.egress overrides). */
  network: NetworkSpec;
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
  checkParameters(spec, file, at);
  // Cross-field checks: unique names, known dependencies, no cycles.
  const names = new Map<string, number>();
  const rendersOnly = spec.charts.length === 0 && spec.kustomize.length === 0;
  spec.workloads.forEach((w, i) => {
    if (names.has(w.name)) throw invalid(file, at(['workloads', i, 'name']), `workloads.${i}.name`, `"${w.name}" is listed twice`);
    names.set(w.name, i);
  });
  spec.workloads.forEach((w, i) => {
    w.dependsOn.forEach((d, j) => {
      // A chart's or an overlay's workloads are known only once rendered (matchWorkloads checks them).
      if (!names.has(d) && rendersOnly) throw invalid(file, at(['workloads', i, 'dependsOn', j]), `workloads.${i}.dependsOn.${j}`, `unknown workload "${d}"`, `Known workloads: ${[...names.keys()].join(', ')}.`);
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

/** Each parameter's pattern compiles and its default and enum fit its type. */
function checkParameters(spec: TemplateSpec, file: string, at: (path: (string | number)[]) => number | undefined): void {
  for (const [name, p] of Object.entries(spec.parameters)) {
    if (p.pattern !== undefined) {
      try {
        new RegExp(p.pattern, 'u');
      } catch (err) {
        throw invalid(file, at(['parameters', name, 'pattern']), `parameters.${name}.pattern`, (err as Error).message);
      }
    }
    const problem = paramProblem(p, p.default);
    if (problem) throw invalid(file, at(['parameters', name, 'default']), `parameters.${name}.default`, problem);
    (p.enum ?? []).forEach((e, i) => {
      const bad = paramProblem({ ...p, enum: undefined }, e);
      if (bad) throw invalid(file, at(['parameters', name, 'enum', i]), `parameters.${name}.enum.${i}`, bad);
    });
  }
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
/** Every path a template names exists inside its folder (file, line and field otherwise). */
function checkPayloadPaths(dir: string, file: string, spec: TemplateSpec, at: (path: (string | number)[]) => number | undefined): void {
  const exists = (rel: string, what: string, path: (string | number)[], test: (abs: string) => boolean = existsSync) => {
    const abs = insideTemplate(dir, rel, what, file, at(path), path.join('.'));
    if (!test(abs)) throw invalid(file, at(path), path.join('.'), `"${rel}" does not exist${test === existsSync ? '' : ` or is not ${what}`}`);
  };
  spec.manifests.forEach((m, i) => exists(m, 'a manifests entry', ['manifests', i]));
  spec.charts.forEach((c, i) => {
    exists(c.chart, 'a chart (a folder with Chart.yaml, or a .tgz)', ['charts', i, 'chart'], (abs) => existsSync(join(abs, 'Chart.yaml')) || (/\.t(ar\.)?gz$/.test(abs) && existsSync(abs)));
    c.valuesFiles.forEach((f, j) => exists(f, 'a values file', ['charts', i, 'valuesFiles', j]));
  });
  spec.kustomize.forEach((k, i) => {
    exists(k.path, 'a folder with kustomization.yaml', ['kustomize', i, 'path'], (abs) => ['kustomization.yaml', 'kustomization.yml', 'Kustomization'].some((n) => existsSync(join(abs, n))));
  });
}

/**
 * Loads and checks a template. `render: false` checks template.yaml and its paths only
 * (for showing its parameters: no helm or kustomize needed); by default its payloads are
 * rendered once with the defaults, as they would be applied.
 */
export function loadTemplate(nameOrDir: string, opts: { render?: boolean } = {}): LoadedTemplate {
  const dir = resolveTemplate(nameOrDir);
  const file = join(dir, TEMPLATE_FILE);
  const { spec, at } = parseTemplateSpec(readFileSync(file, 'utf8'), file);
  checkPayloadPaths(dir, file, spec, at);
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
  if (opts.render !== false) planTemplate(template, { env: 'template-check', set: {} });
  return template;
}

function dnsLabel(text: string, fallback: string): string {
  const name = text.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 53).replace(/-+$/, '');
  return name.length > 0 ? name : fallback;
}

/**
 * A template made from a chart alone (`env create --chart ./chart`): every object of
 * `helm template`, --set passed to helm, order from the chart's hooks and readiness.
 */
export function chartTemplate(path: string): LoadedTemplate {
  const abs = resolve(path);
  const isDir = existsSync(abs) && statSync(abs).isDirectory();
  if (isDir ? !existsSync(join(abs, 'Chart.yaml')) : !(/\.t(ar\.)?gz$/.test(abs) && existsSync(abs))) {
    throw new KdevError('NOT_FOUND', `no chart at ${abs}`, 'Pass a chart folder (with Chart.yaml) or a packaged chart (.tgz).');
  }
  const chartName = isDir ? String((parseDocument(readFileSync(join(abs, 'Chart.yaml'), 'utf8')).toJS() as { name?: unknown } | null)?.name ?? '') : basename(abs).replace(/-\d+\.\d+\.\d+.*$|\.t(ar\.)?gz$/g, '');
  const spec = templateSchema.parse({ name: dnsLabel(chartName || basename(abs), 'chart'), description: `the chart ${abs}`, charts: [{ chart: basename(abs) }] });
  return { dir: dirname(abs), file: abs, spec, devConfig: configSchema.parse({ version: 1, dev: {} }), adhoc: 'chart' };
}

/** A template made from a Kustomize folder alone (`env create --kustomize ./overlay`). */
export function kustomizeTemplate(path: string): LoadedTemplate {
  const abs = resolve(path);
  if (!['kustomization.yaml', 'kustomization.yml', 'Kustomization'].some((n) => existsSync(join(abs, n)))) {
    throw new KdevError('NOT_FOUND', `no Kustomize folder at ${abs}`, 'Pass a folder with a kustomization.yaml.');
  }
  const spec = templateSchema.parse({ name: dnsLabel(basename(abs), 'overlay'), description: `the overlay ${abs}`, kustomize: [basename(abs)] });
  return { dir: dirname(abs), file: abs, spec, devConfig: configSchema.parse({ version: 1, dev: {} }), adhoc: 'kustomize' };
}

/** The template of a create or a render: exactly one of a template (name or folder), a chart, an overlay. */
export function templateFrom(source: { template?: string; chart?: string; kustomize?: string }): LoadedTemplate {
  const given = (['template', 'chart', 'kustomize'] as const).filter((k) => source[k] !== undefined);
  if (given.length !== 1) {
    throw new KdevError('INVALID', given.length === 0 ? 'no template given' : `--${given.join(' and --')} cannot be combined`, 'Give one of --template <name|folder>, --chart <folder|.tgz> or --kustomize <folder>.');
  }
  if (source.chart !== undefined) return chartTemplate(source.chart);
  if (source.kustomize !== undefined) return kustomizeTemplate(source.kustomize);
  return loadTemplate(source.template!);
}

export interface TemplateSummary {
  name: string;
  dir: string;
  description: string;
  /** "manifests manifests", "chart chart", "kustomize overlay", … */
  payloads: string[];
  /** JSON Schema of each parameter. */
  parameters: Record<string, Record<string, unknown>>;
  workloads: string[];
}

/** What `env templates` and `env create --help-template` show. */
export function describeTemplate(t: LoadedTemplate): TemplateSummary {
  const { spec } = t;
  return {
    name: spec.name,
    dir: t.dir,
    description: spec.description,
    payloads: [...spec.manifests.map((m) => `manifests ${m}`), ...spec.charts.map((c) => `chart ${c.chart}`), ...spec.kustomize.map((k) => `kustomize ${k.path}`)],
    parameters: (parametersJsonSchema(spec.parameters).properties ?? {}) as Record<string, Record<string, unknown>>,
    workloads: spec.workloads.map((w) => `${w.kind}/${w.name}`),
  };
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
  /** --set key=value: parameters, quota.<resource>, limits.<default|defaultRequest|max|min>.<cpu|memory>, network.egress. */
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

type Values = Pick<TemplatePlan, 'params' | 'values' | 'quota' | 'limits' | 'network'> & { helmSets: string[] };

/** The line of a field of template.yaml (undefined for a chart or overlay without one). */
function lineIn(template: LoadedTemplate, path: (string | number)[]): number | undefined {
  if (template.adhoc || !existsSync(template.file)) return undefined;
  return parseTemplateSpec(readFileSync(template.file, 'utf8'), template.file).at(path);
}

/** A --set of a declared parameter, typed; a value that does not fit names where the parameter is declared. */
function setParameter(template: LoadedTemplate, key: string, text: string): ParamValue {
  const p = template.spec.parameters[key]!;
  const c = coerceParam(p, text);
  if ('value' in c) return c.value;
  const line = lineIn(template, ['parameters', key]);
  const allowed = p.enum ? `one of ${p.enum.join(', ')}` : (p.description ?? '').replace(/\.$/, '');
  const what = `Parameter "${key}" of template "${template.spec.name}" takes ${paramTypeWords(p)}${allowed ? ` (${allowed})` : ''}`;
  throw new KdevError('INVALID', `--set ${key}=${text}: ${c.problem} (${template.file}${line ? `:${line}` : ''}: parameters.${key})`, `${what}. See \`kdev env create --help-template ${template.spec.name}\`.`);
}

function resolveValues(template: LoadedTemplate, opts: PlanOptions): Values {
  const spec = template.spec;
  const values: Record<string, ParamValue> = {};
  for (const [k, v] of Object.entries(spec.parameters)) values[k] = v.default;
  const helmSets: string[] = [];
  const network: NetworkSpec = structuredClone(spec.network);
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
    if (key.startsWith('network.')) {
      if (key !== 'network.egress') throw new KdevError('INVALID', `--set ${key}: unknown network setting`, 'The one network setting is network.egress=open|restricted.');
      if (!(EGRESS_MODES as readonly string[]).includes(value)) throw new KdevError('INVALID', `--set network.egress=${value}: expected ${EGRESS_MODES.join(' or ')}`, 'restricted: only the environment itself and DNS; open: anywhere but kube-system pods other than DNS.');
      network.egress = value as EgressMode;
      continue;
    }
    if ((BUILTIN_PARAMS as readonly string[]).includes(key)) throw new KdevError('INVALID', `--set ${key}: "${key}" is built in and cannot be set`);
    if (key in spec.parameters) values[key] = setParameter(template, key, value);
    else if (template.adhoc === 'chart') helmSets.push(`${key}=${value}`);
    else throw unknownParameter(template, key);
  }
  values.env = opts.env;
  values.namespace = opts.env;
  const params = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, String(v)]));
  return { params, values, quota, limits, network, helmSets };
}

function unknownParameter(template: LoadedTemplate, key: string): KdevError {
  const known = Object.keys(template.spec.parameters);
  if (template.adhoc === 'kustomize') {
    return new KdevError('INVALID', `--set ${key}: an overlay created with --kustomize has no parameters`, 'Only quota.<resource>=… and limits.…=… apply; or wrap the overlay in a template.yaml with parameters.');
  }
  return new KdevError(
    'INVALID',
    `--set ${key}: template "${template.spec.name}" has no parameter "${key}"`,
    `${known.length > 0 ? `Its parameters: ${known.join(', ')}. ` : ''}Quota and limits: quota.<resource>=…, limits.default.cpu=….`,
  );
}

function stripUndefined(o: Record<string, string | undefined> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o ?? {})) if (v !== undefined) out[k] = v;
  return out;
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

/** Renders every payload of the template: manifests, then charts, then overlays. */
function renderPayloads(template: LoadedTemplate, v: Values, env: string): RenderedDoc[] {
  const { spec, dir } = template;
  return [
    ...renderManifests(dir, spec.manifests, v.params),
    ...spec.charts.flatMap((entry) => renderChart({ dir, entry, release: entry.release ?? spec.name, namespace: env, typed: v.values, strings: v.params, sets: v.helmSets })),
    ...spec.kustomize.flatMap((entry) => renderKustomize(dir, entry, v.params)),
  ];
}

interface FoundWorkload {
  obj: KubernetesObject;
  file: string;
  payload: PayloadKind;
  hook?: { phase: 'pre' | 'post'; weight: number };
}

/** Puts every object in the environment's namespace; splits workloads from the rest. */
function placeObjects(docs: readonly RenderedDoc[], env: string): { objects: KubernetesObject[]; found: Map<string, FoundWorkload> } {
  const objects: KubernetesObject[] = [];
  const found = new Map<string, FoundWorkload>();
  for (const { obj, from: shown, payload } of docs) {
    const what = `${obj.kind}/${obj.metadata?.name ?? '?'}`;
    if (!obj.metadata?.name) throw new KdevError('INVALID', `${shown}: a ${obj.kind} has no metadata.name`);
    if (CLUSTER_SCOPED.has(obj.kind ?? '')) {
      throw new KdevError('INVALID', `${shown}: ${what} is cluster-scoped; a template holds only namespaced objects`, 'Remove it; the environment creates its own namespace.');
    }
    const hook = payload === 'chart' ? helmHook(obj) : undefined;
    if (hook === 'skip') continue; // upgrade, rollback and delete hooks do not run on a create
    const ns = obj.metadata.namespace;
    if (ns !== undefined && ns !== env) throw new KdevError('INVALID', `${shown}: ${what} names namespace "${ns}"`, 'Leave metadata.namespace out (or use ${namespace}; in a chart, .Release.Namespace).');
    obj.metadata.namespace = env;
    obj.metadata.labels = { ...obj.metadata.labels, 'kdev.dev/environment': env };
    if ((WORKLOAD_KINDS as readonly string[]).includes(obj.kind ?? '')) {
      const key = `${obj.kind}/${obj.metadata.name}`;
      if (found.has(key)) throw new KdevError('INVALID', `${shown}: ${key} is defined twice (also in ${found.get(key)!.file})`);
      found.set(key, { obj, file: shown, payload, ...(hook ? { hook } : {}) });
    } else objects.push(obj);
  }
  return { objects, found };
}

/** Delivers a workload's source folder: the ConfigMap, its volume and mount, the hash annotation. */
function deliverSource(template: LoadedTemplate, w: TemplateWorkload, i: number, planned: PlannedWorkload, env: string): void {
  const at = (path: (string | number)[]) => lineIn(template, path);
  const pod = podTemplateOf(planned.object, w.kind);
  const containers = pod?.spec?.containers ?? [];
  const container = w.container === undefined ? containers[0] : containers.find((c) => c.name === w.container);
  if (!pod?.spec || !container) {
    const field = w.container === undefined ? 'source' : 'container';
    throw invalid(template.file, at(['workloads', i, field]), `workloads.${i}.${field}`,
      w.container === undefined ? `${w.kind}/${w.name} has no container to deliver the source to` : `${w.kind}/${w.name} has no container "${w.container}"`);
  }
  const src = sourceConfigMap(w.name, resolve(template.dir, w.source!), w.source!);
  src.configMap.metadata!.namespace = env;
  src.configMap.metadata!.labels = { ...src.configMap.metadata!.labels, 'kdev.dev/environment': env };
  pod.metadata = { ...pod.metadata, annotations: { ...pod.metadata?.annotations, [SOURCE_HASH_ANNOTATION]: src.hash } };
  pod.spec.volumes = [...(pod.spec.volumes ?? []).filter((v) => v.name !== TEMPLATE_SOURCE_VOLUME), { name: TEMPLATE_SOURCE_VOLUME, configMap: { name: src.configMap.metadata!.name!, items: src.items } }];
  const mountPath = w.sourcePath ?? w.dev?.workDir ?? '/app';
  container.volumeMounts = [...(container.volumeMounts ?? []).filter((m) => m.name !== TEMPLATE_SOURCE_VOLUME), { name: TEMPLATE_SOURCE_VOLUME, mountPath, readOnly: true }];
  planned.source = src.configMap;
}

/** On a rendered workload (a chart's or an overlay's): the workloads it waits for, comma-separated. */
export const DEPENDS_ON_ANNOTATION = 'kdev.dev/depends-on';

/**
 * The template's workload entries matched with the rendered objects. A chart's or an
 * overlay's workload needs no entry: its order comes from kdev.dev/depends-on and from
 * Helm hooks (pre-install hooks first, by weight; post-install hooks last).
 */
function matchWorkloads(template: LoadedTemplate, found: Map<string, FoundWorkload>, env: string, set: Readonly<Record<string, string>>): PlannedWorkload[] {
  const { spec } = template;
  const settleMs = (w?: TemplateWorkload) => (w?.settle ?? spec.settle) * 1000;
  const planned: (PlannedWorkload & { hook?: FoundWorkload['hook'] })[] = spec.workloads.map((w, i) => {
    const f = found.get(`${w.kind}/${w.name}`);
    if (!f) throw invalid(template.file, lineIn(template, ['workloads', i, 'name']), `workloads.${i}.name`, `no ${w.kind} named "${w.name}" in the ${spec.charts.length + spec.kustomize.length > 0 ? 'rendered objects' : 'manifests'}`);
    found.delete(`${w.kind}/${w.name}`);
    checkWorkloadValues(f.file, `${w.kind}/${w.name}`, f.obj as { spec?: Record<string, unknown> }, podTemplateOf(f.obj, w.kind)?.spec, set);
    const p: PlannedWorkload = { name: w.name, kind: w.kind, dependsOn: [...w.dependsOn], timeoutMs: w.timeout * 1000, settleMs: settleMs(w), object: f.obj };
    if (w.source !== undefined) deliverSource(template, w, i, p, env);
    return { ...p, hook: f.hook };
  });
  for (const f of found.values()) {
    if (f.payload === 'manifests') {
      throw new KdevError('INVALID', `${f.file}: ${f.obj.kind}/${f.obj.metadata?.name} is not listed under workloads in ${template.file}`, 'Every workload object needs an entry under workloads (its dependencies and readiness).');
    }
    checkWorkloadValues(f.file, `${f.obj.kind}/${f.obj.metadata?.name}`, f.obj as { spec?: Record<string, unknown> }, podTemplateOf(f.obj, f.obj.kind as WorkloadKind)?.spec, set);
    const deps = (f.obj.metadata?.annotations?.[DEPENDS_ON_ANNOTATION] ?? '').split(',').map((d) => d.trim()).filter((d) => d.length > 0);
    planned.push({ name: f.obj.metadata!.name!, kind: f.obj.kind as WorkloadKind, dependsOn: deps, timeoutMs: 180_000, settleMs: settleMs(), object: f.obj, hook: f.hook });
  }
  orderHooks(planned);
  const names = new Set(planned.map((p) => p.name));
  for (const p of planned) {
    const unknown = p.dependsOn.find((d) => !names.has(d));
    if (unknown) throw new KdevError('INVALID', `${p.kind}/${p.name}: depends on "${unknown}", which the template does not create`, `Known workloads: ${[...names].join(', ')}.`);
  }
  return planned.map(({ hook: _hook, ...p }) => p);
}

/** Helm's install order: pre-install hooks by weight, then the release, then post-install hooks. */
function orderHooks(planned: (PlannedWorkload & { hook?: FoundWorkload['hook'] })[]): void {
  const pre = planned.filter((p) => p.hook?.phase === 'pre');
  const main = planned.filter((p) => !p.hook);
  for (const p of planned) {
    const add = (names: string[]) => (p.dependsOn = [...new Set([...p.dependsOn, ...names.filter((n) => n !== p.name)])]);
    if (!p.hook) add(pre.map((h) => h.name));
    else if (p.hook.phase === 'pre') add(pre.filter((h) => h.hook!.weight < p.hook!.weight).map((h) => h.name));
    else add([...pre, ...main].map((h) => h.name));
  }
}

/** Resolves parameters and quota, renders every payload and source, and checks them against the workloads. */
export function planTemplate(template: LoadedTemplate, opts: PlanOptions): TemplatePlan {
  const v = resolveValues(template, opts);
  const { objects, found } = placeObjects(renderPayloads(template, v, opts.env), opts.env);
  const workloads = matchWorkloads(template, found, opts.env, opts.set);
  if (objects.length === 0 && workloads.length === 0) {
    throw new KdevError('INVALID', `${template.file}: the template renders no objects`, 'Give it manifests, a chart or a Kustomize folder.');
  }
  const { helmSets: _sets, ...values } = v;
  return { template, ...values, objects, workloads, waves: dependencyWaves(workloads) };
}

// Rendering a template's payloads into objects: plain manifests (with ${param}), Helm charts
// (`helm template`) and Kustomize folders (`kustomize build`), with the helm and kustomize
// found on PATH ($KDEV_HELM / $KDEV_KUSTOMIZE name others). Nothing here talks to a cluster.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { KdevError } from '../errors.js';
import { parseManifests, substitute } from '../kube/manifests.js';
import type { ParamValue } from './params.js';
import type { TemplateChart, TemplateKustomize } from './schema.js';

export type PayloadKind = 'manifests' | 'chart' | 'kustomize';

/** One rendered object and where it came from (a file, or a chart's template). */
export interface RenderedDoc {
  obj: KubernetesObject;
  from: string;
  payload: PayloadKind;
}

export type RenderTool = 'helm' | 'kustomize';

const INSTALL_HINT: Record<RenderTool, string> = {
  helm: 'Install Helm (v3.8 or newer, or v4) so that `helm` is on PATH, or point $KDEV_HELM at it. kdev runs `helm template` locally; nothing is installed in the cluster by Helm.',
  kustomize: 'Install kustomize (v5) so that `kustomize` is on PATH, or point $KDEV_KUSTOMIZE at it. kdev runs `kustomize build` locally.',
};

function toolBinary(tool: RenderTool): string {
  return (tool === 'helm' ? process.env.KDEV_HELM : process.env.KDEV_KUSTOMIZE) || tool;
}

/** Runs helm or kustomize to completion; a missing tool or a failed render is a KdevError. */
export function runRenderTool(tool: RenderTool, args: readonly string[], what: string, input?: string): string {
  const bin = toolBinary(tool);
  const r = spawnSync(bin, args, { encoding: 'utf8', input, maxBuffer: 256 * 1024 * 1024, timeout: 120_000 });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new KdevError('NOT_FOUND', `${tool} is not installed (no "${bin}" on PATH): ${what} is rendered with \`${tool} ${args[0]}\``, INSTALL_HINT[tool]);
  }
  if (r.error) throw new KdevError('FAILED', `${tool} ${args[0]} for ${what} failed: ${r.error.message}`);
  if (r.status !== 0) {
    const lines = (r.stderr || r.stdout).split('\n').filter((l) => l.trim().length > 0 && !/^walk\.go|found symbolic link/.test(l));
    throw new KdevError('INVALID', `${what}: \`${tool} ${args[0]}\` failed:\n${lines.slice(-12).map((l) => `  ${l}`).join('\n')}`, `Run it yourself to see more: ${tool} ${args.join(' ')}`);
  }
  return r.stdout;
}

/** Every *.yaml / *.yml of the entries (a folder gives its files by name). */
export function manifestFiles(dir: string, entries: readonly string[]): string[] {
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

function shownPath(abs: string): string {
  return relative(process.cwd(), abs) || abs;
}

/** kdev manifests: ${param} substitution, then parsing. */
export function renderManifests(dir: string, entries: readonly string[], params: Readonly<Record<string, string>>): RenderedDoc[] {
  return manifestFiles(dir, entries).flatMap((file) => {
    const shown = shownPath(file);
    return parseManifests(substitute(readFileSync(file, 'utf8'), params, shown), shown).map((obj) => ({ obj, from: shown, payload: 'manifests' as const }));
  });
}

/**
 * A chart's values with parameters: a string that is exactly "${p}" becomes p's typed
 * value (so replicas: "${replicas}" stays a number); ${p} inside longer text is replaced.
 */
export function valuesWithParams(value: unknown, typed: Readonly<Record<string, ParamValue>>, strings: Readonly<Record<string, string>>, where: string): unknown {
  if (typeof value === 'string') {
    const whole = /^\$\{([A-Za-z_][A-Za-z0-9_.-]*)\}$/.exec(value);
    if (whole && typed[whole[1]!] !== undefined) return typed[whole[1]!];
    return substitute(value, strings, where);
  }
  if (Array.isArray(value)) return value.map((v) => valuesWithParams(v, typed, strings, where));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, valuesWithParams(v, typed, strings, where)]));
  }
  return value;
}

export interface ChartRender {
  dir: string;
  entry: TemplateChart;
  release: string;
  namespace: string;
  typed: Readonly<Record<string, ParamValue>>;
  strings: Readonly<Record<string, string>>;
  /** helm --set key=value (a chart created without a template.yaml). */
  sets: readonly string[];
}

/** `helm template` of one chart; each object names the chart template it came from. */
export function renderChart(r: ChartRender): RenderedDoc[] {
  const chart = resolve(r.dir, r.entry.chart);
  const shown = shownPath(chart);
  const values = valuesWithParams(r.entry.values, r.typed, r.strings, `values of chart ${shown}`);
  const args = ['template', r.release, chart, '--namespace', r.namespace, '--skip-tests'];
  for (const f of r.entry.valuesFiles) args.push('--values', resolve(r.dir, f));
  args.push('--values', '-');
  for (const s of r.sets) args.push('--set', s);
  const out = runRenderTool('helm', args, `the chart ${shown}`, JSON.stringify(values));
  return out.split(/^---[ \t]*$/m).flatMap((chunk) => {
    const source = /^# Source: (.+)$/m.exec(chunk)?.[1]?.trim();
    const from = source ? `${shown} (${source})` : shown;
    return parseManifests(chunk, from).map((obj) => ({ obj, from, payload: 'chart' as const }));
  });
}

/** `kustomize build` of one folder; ${param} replaced in its output when asked. */
export function renderKustomize(dir: string, entry: TemplateKustomize, strings: Readonly<Record<string, string>>): RenderedDoc[] {
  const path = resolve(dir, entry.path);
  const shown = shownPath(path);
  let out = runRenderTool('kustomize', ['build', path], `the overlay ${shown}`);
  if (entry.substitute) out = substitute(out, strings, `kustomize build ${shown}`);
  return parseManifests(out, `kustomize build ${shown}`).map((obj) => ({ obj, from: shown, payload: 'kustomize' as const }));
}

/** A Helm hook of an install: 'pre' or 'post' (with its weight), 'skip' for other hooks, undefined for no hook. */
export function helmHook(obj: KubernetesObject): { phase: 'pre' | 'post'; weight: number } | 'skip' | undefined {
  const hook = obj.metadata?.annotations?.['helm.sh/hook'];
  if (hook === undefined) return undefined;
  const kinds = hook.split(',').map((h) => h.trim());
  const weight = Number(obj.metadata?.annotations?.['helm.sh/hook-weight'] ?? 0) || 0;
  if (kinds.includes('pre-install')) return { phase: 'pre', weight };
  if (kinds.includes('post-install')) return { phase: 'post', weight };
  return 'skip';
}

/** Objects as one YAML stream (what `env render` prints). */
export function yamlStream(objects: readonly KubernetesObject[]): string {
  return objects.map((o) => `---\n${stringify(o, { lineWidth: 0 })}`).join('');
}

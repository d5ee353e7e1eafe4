// Loading `.kdev.yaml`: YAML errors and schema errors both name the file, the line and
// the field's path.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { LineCounter, parseDocument, isNode } from 'yaml';
import { KdevError } from '../errors.js';
import { configSchema, type DevConfig, type DevEntry } from './schema.js';

export const CONFIG_FILE = '.kdev.yaml';

export interface LoadedConfig {
  /** Absolute path of the file; undefined when there is none (defaults). */
  file?: string;
  /** The folder that relative paths in the config are resolved against. */
  root: string;
  config: DevConfig;
}

/** Walks up from `start` to find `.kdev.yaml`. */
export function findConfig(start: string): string | undefined {
  let dir = resolve(start);
  for (;;) {
    const candidate = join(dir, CONFIG_FILE);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

export function parseConfig(text: string, file: string): DevConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = lineCounter.linePos(e.pos[0]);
    throw new KdevError('INVALID', `${file}:${pos.line}:${pos.col}: ${e.message.split('\n')[0]}`, 'Fix the YAML syntax.');
  }
  const result = configSchema.safeParse(doc.toJS() ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.path.map(String);
  // The deepest node that exists on the path gives the line.
  let line: number | undefined;
  for (let n = path.length; n >= 0 && line === undefined; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) line = lineCounter.linePos(node.range[0]).line;
  }
  const field = path.length > 0 ? path.join('.') : '(top level)';
  throw new KdevError('INVALID', `${file}${line ? `:${line}` : ''}: ${field}: ${issue.message}`, 'See `kdev config schema` for the fields.');
}

export function loadConfig(fileOrDir: string = process.cwd()): LoadedConfig {
  const file = existsSync(fileOrDir) && fileOrDir.endsWith('.yaml') ? resolve(fileOrDir) : findConfig(fileOrDir);
  if (file === undefined) return { root: resolve(fileOrDir), config: configSchema.parse({}) };
  return { file, root: dirname(file), config: parseConfig(readFileSync(file, 'utf8'), file) };
}

/** The entry for a workload: by "kind/name", or by bare name for a Deployment. */
export function devEntryFor(config: DevConfig, kind: string, name: string): DevEntry | undefined {
  const k = kind.toLowerCase();
  return config.dev[`${k}/${name}`] ?? (k === 'deployment' ? config.dev[name] : undefined);
}

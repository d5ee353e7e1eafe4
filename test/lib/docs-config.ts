// The `.kdev.yaml` reference in README.md, generated from the zod schema (through its JSON
// Schema, what `kdev config schema` prints): one table row per key with its type, default
// and description. `npm run docs:config` rewrites the marked section; a unit test fails
// when the committed text differs from what this prints.
import { configJsonSchema } from '@kdev/core';

export const CONFIG_BEGIN = '<!-- config-reference:begin (generated from core/src/config/schema.ts by `npm run docs:config`; do not edit) -->';
export const CONFIG_END = '<!-- config-reference:end -->';

interface JsonSchema {
  type?: string;
  const?: unknown;
  enum?: unknown[];
  default?: unknown;
  description?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  propertyNames?: JsonSchema;
  required?: string[];
}

const code = (v: unknown): string => `\`${typeof v === 'string' ? v : JSON.stringify(v)}\``;

/** A key's type in words: `send-only` \| `two-way`, integer 1–65535, list of …, map of … */
export function typeText(s: JsonSchema): string {
  if (s.const !== undefined) return code(s.const);
  if (s.enum) return s.enum.map(code).join(' \\| ');
  if (s.anyOf) return s.anyOf.map(typeText).join(' or ');
  if (s.type === 'array') return `list of ${s.items ? typeText(s.items) : 'any'}`;
  if (s.type === 'object' && !s.properties && typeof s.additionalProperties === 'object') {
    const keys = s.propertyNames?.pattern ? `key matching ${code(s.propertyNames.pattern)}` : 'string';
    const value = s.additionalProperties.properties ? 'an entry (its keys below)' : typeText(s.additionalProperties);
    return `map of ${keys} to ${value}`;
  }
  let text = s.type ?? 'any';
  if (s.minimum !== undefined && s.maximum !== undefined) text += ` ${s.minimum}–${s.maximum}`;
  if (s.pattern) text += ` matching ${code(s.pattern)}`;
  return text;
}

function defaultText(s: JsonSchema): string {
  if (s.default === undefined) return '';
  // An object's default is the defaults of its keys, listed on their own rows.
  if (s.properties) return 'see its keys';
  return code(s.default);
}

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function rows(key: string, s: JsonSchema, required: boolean, out: string[]): void {
  const description = (s.description ?? '') + (required ? ' Required.' : '');
  out.push(`| \`${key}\` | ${typeText(s)} | ${defaultText(s)} | ${cell(description.trim())} |`);
  if (s.properties) {
    for (const [name, child] of Object.entries(s.properties)) rows(`${key}.${name}`, child, s.required?.includes(name) ?? false, out);
  } else if (s.type === 'object' && typeof s.additionalProperties === 'object' && s.additionalProperties.properties) {
    // A record of entries (dev: workload → entry): the entry's keys under <workload>.
    const entry = s.additionalProperties;
    for (const [name, child] of Object.entries(entry.properties ?? {})) rows(`${key}.<workload>.${name}`, child, entry.required?.includes(name) ?? false, out);
  }
}

/** The reference table, without the markers. */
export function configReference(): string {
  const schema = configJsonSchema() as JsonSchema;
  const out = ['| key | type | default | description |', '| --- | --- | --- | --- |'];
  for (const [name, child] of Object.entries(schema.properties ?? {})) rows(name, child, schema.required?.includes(name) ?? false, out);
  return out.join('\n');
}

/** `text` with the marked section replaced by the generated reference. */
export function withConfigReference(text: string): string {
  const begin = text.indexOf(CONFIG_BEGIN);
  const end = text.indexOf(CONFIG_END);
  if (begin < 0 || end < begin) throw new Error(`the config reference markers are missing: ${CONFIG_BEGIN} … ${CONFIG_END}`);
  return `${text.slice(0, begin + CONFIG_BEGIN.length)}\n${configReference()}\n${text.slice(end)}`;
}

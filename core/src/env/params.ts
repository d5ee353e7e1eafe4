// Typed template parameters: each is a small JSON Schema (type, default, enum, minimum,
// maximum, pattern, description). Defaults are checked when template.yaml is read, and every
// --set is checked against its parameter before anything is rendered or created; errors name
// template.yaml's file, line and field.
import type { TemplateParameter } from './schema.js';
import { isQuantity } from './values.js';

export type ParamValue = string | number | boolean;
export type ParamType = 'string' | 'integer' | 'number' | 'boolean' | 'quantity';

/** The declared type, else the type of the default (1 → integer, 0.5 → number, true → boolean). */
export function paramType(p: Pick<TemplateParameter, 'type' | 'default'>): ParamType {
  if (p.type) return p.type;
  if (typeof p.default === 'boolean') return 'boolean';
  if (typeof p.default === 'number') return Number.isInteger(p.default) ? 'integer' : 'number';
  return 'string';
}

const ARTICLE: Record<ParamType, string> = { string: 'a string', integer: 'an integer', number: 'a number', boolean: 'true or false', quantity: 'a Kubernetes quantity (e.g. 500m, 2Gi)' };

/** What a parameter takes, in words ("an integer"), for hints. */
export function paramTypeWords(p: Pick<TemplateParameter, 'type' | 'default'>): string {
  return ARTICLE[paramType(p)];
}

/** Why a typed value does not fit its parameter, or undefined when it does. */
export function paramProblem(p: TemplateParameter, value: ParamValue): string | undefined {
  const type = paramType(p);
  const ok =
    type === 'quantity' ? isQuantity(String(value)) : type === 'string' ? typeof value === 'string' : type === 'boolean' ? typeof value === 'boolean' : typeof value === 'number' && (type === 'number' || Number.isInteger(value));
  if (!ok) return `expected ${ARTICLE[type]}, got ${JSON.stringify(value)}`;
  if (p.enum && !p.enum.some((e) => String(e) === String(value))) return `${JSON.stringify(value)} is not one of ${p.enum.map((e) => JSON.stringify(e)).join(', ')}`;
  if (typeof value === 'number') {
    if (p.minimum !== undefined && value < p.minimum) return `${value} is below the minimum ${p.minimum}`;
    if (p.maximum !== undefined && value > p.maximum) return `${value} is above the maximum ${p.maximum}`;
  }
  if (typeof value === 'string' && p.pattern !== undefined && !new RegExp(p.pattern, 'u').test(value)) return `${JSON.stringify(value)} does not match the pattern ${p.pattern}`;
  return undefined;
}

/** A --set text as its parameter's type ("3" → 3 for an integer), or the problem with it. */
export function coerceParam(p: TemplateParameter, text: string): { value: ParamValue } | { problem: string } {
  const type = paramType(p);
  let value: ParamValue = text;
  if (type === 'boolean') {
    if (text !== 'true' && text !== 'false') return { problem: `expected true or false, got ${JSON.stringify(text)}` };
    value = text === 'true';
  } else if (type === 'integer' || type === 'number') {
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n)) return { problem: `expected ${ARTICLE[type]}, got ${JSON.stringify(text)}` };
    value = n;
  }
  const problem = paramProblem(p, value);
  return problem ? { problem } : { value };
}

/** One parameter as JSON Schema (what `env templates -o json` and --help-template show). */
export function paramJsonSchema(p: TemplateParameter): Record<string, unknown> {
  const out: Record<string, unknown> = { type: paramType(p), default: p.default };
  if (p.description) out.description = p.description;
  if (p.enum) out.enum = p.enum;
  if (p.minimum !== undefined) out.minimum = p.minimum;
  if (p.maximum !== undefined) out.maximum = p.maximum;
  if (p.pattern !== undefined) out.pattern = p.pattern;
  return out;
}

/** All of a template's parameters as one JSON Schema object. */
export function parametersJsonSchema(parameters: Readonly<Record<string, TemplateParameter>>): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const [name, p] of Object.entries(parameters)) properties[name] = paramJsonSchema(p);
  return { type: 'object', properties, additionalProperties: false };
}

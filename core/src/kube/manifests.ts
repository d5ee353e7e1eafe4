// Multi-document YAML manifests with ${name} parameters.
import type { KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { KdevError } from '../errors.js';

/**
 * Replaces ${name} with params[name]. A name without a value is an error that names
 * the file and line, so a template never deploys a literal "${...}".
 */
export function substitute(text: string, params: Readonly<Record<string, string>>, file = 'manifest'): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_.-]*)\}/g, (match, name: string, offset: number) => {
    const value = params[name];
    if (value === undefined) {
      const line = text.slice(0, offset).split('\n').length;
      throw new KdevError('INVALID', `${file}:${line}: parameter \${${name}} has no value`, 'Give it a default in template.yaml or pass --set.');
    }
    return value;
  });
}

/** Parses every document of a YAML stream into objects; empty documents are skipped. */
export function parseManifests(text: string, file = 'manifest'): KubernetesObject[] {
  const docs = parseAllDocuments(text, { prettyErrors: true });
  const out: KubernetesObject[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) {
      const e = doc.errors[0]!;
      const line = e.linePos?.[0]?.line;
      throw new KdevError('INVALID', `${file}${line ? `:${line}` : ''}: ${e.message.split('\n')[0]}`);
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || !('kind' in value) || !('apiVersion' in value)) {
      throw new KdevError('INVALID', `${file}: a document has no kind or apiVersion`);
    }
    out.push(value as KubernetesObject);
  }
  return out;
}

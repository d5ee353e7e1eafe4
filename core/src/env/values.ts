// Typed checks of what `env create --set` and a template's manifests put into Kubernetes
// fields, so that a bad value is refused before the namespace exists (the API server
// would refuse it only after, often as "500: failed to convert").
import { KdevError } from '../errors.js';

/** A Kubernetes resource quantity: 10, 0.5, 500m, 2Gi, 1e3. */
const QUANTITY = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$/;

export function isQuantity(text: string): boolean {
  return QUANTITY.test(text) && !text.startsWith('-');
}

/** Checks a quota or limit value given with --set. */
export function checkQuantity(key: string, value: string): void {
  if (!isQuantity(value.trim())) {
    throw new KdevError('INVALID', `--set ${key}=${value}: not a Kubernetes quantity`, 'Quantities look like 10, 500m, 256Mi or 2Gi (no negative values).');
  }
}

/** The --set values a bad field may come from, for the hint. */
function fromSet(value: unknown, set: Readonly<Record<string, string>>): string {
  const given = Object.entries(set).filter(([, text]) => text === String(value)).map(([k, text]) => `--set ${k}=${text}`);
  return given.length > 0 ? `It comes from ${given.join(', ')}: give a valid value.` : 'Check the template parameters and the values given with --set.';
}

interface Container {
  name?: string;
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
}

/**
 * Checks the fields of a rendered workload that the API server would refuse only after the
 * namespace exists: the replica count and every container's resource quantities.
 */
export function checkWorkloadValues(file: string, what: string, obj: { spec?: Record<string, unknown> }, podSpec: { containers?: Container[]; initContainers?: Container[] } | undefined, set: Readonly<Record<string, string>>): void {
  const replicas = obj.spec?.replicas;
  if (replicas !== undefined && !(typeof replicas === 'number' && Number.isInteger(replicas) && replicas >= 0)) {
    throw new KdevError('INVALID', `${file}: ${what} has replicas ${JSON.stringify(replicas)}, not a whole number of at least 0`, fromSet(replicas, set));
  }
  for (const c of [...(podSpec?.containers ?? []), ...(podSpec?.initContainers ?? [])]) {
    for (const [section, values] of Object.entries(c.resources ?? {})) {
      for (const [resource, q] of Object.entries(values ?? {})) {
        if (!((typeof q === 'number' && q >= 0) || (typeof q === 'string' && isQuantity(q)))) {
          throw new KdevError('INVALID', `${file}: ${what}, container ${c.name ?? '?'}: resources.${section}.${resource} is ${JSON.stringify(q)}, not a Kubernetes quantity`, fromSet(q, set));
        }
      }
    }
  }
}

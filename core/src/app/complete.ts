// Names a shell completion offers for an argument: the namespace's workloads as `kdev dev
// start` takes them, or the environments. Used by the CLI's `kdev __complete`.
import type { Cluster } from '../kube/client.js';
import { listWorkloads } from '../devmode/list.js';
import { listEnvironments } from '../env/environment.js';
import { kindName } from './format.js';

export type CompletionKind = 'workload' | 'environment';

/**
 * Workloads: a Deployment by its bare name (what a bare name means), other kinds as
 * kind/name; every one as kind/name once the word has a slash. kdev's own copies are left out.
 */
export function workloadWords(items: readonly { kind: string; name: string; managedByKdev: boolean }[], prefix: string): string[] {
  const qualified = prefix.includes('/');
  return items
    .filter((w) => !w.managedByKdev)
    .map((w) => (w.kind === 'Deployment' && !qualified ? w.name : kindName(w.kind, w.name)))
    .filter((w) => w.startsWith(prefix))
    .sort();
}

/** The live names for a completion, starting with `prefix`. */
export async function completionNames(cluster: Cluster, kind: CompletionKind, prefix = ''): Promise<string[]> {
  if (kind === 'workload') return workloadWords(await listWorkloads(cluster), prefix);
  return (await listEnvironments(cluster)).map((e) => e.name).filter((n) => n.startsWith(prefix)).sort();
}

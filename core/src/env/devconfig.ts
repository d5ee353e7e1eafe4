// In an environment made from a template, the template's dev config is the default
// for `kdev dev start`: no .kdev.yaml is needed to develop one of its services.
import type { Cluster } from '../kube/client.js';
import { raw } from '../kube/raw.js';
import type { DevConfig } from '../config/schema.js';
import { loadTemplate } from './template.js';
import { TEMPLATE_LABEL } from './types.js';

export interface EnvironmentDevConfig {
  /** The template folder: the config's relative paths (sync.local) start here. */
  root: string;
  template: string;
  config: DevConfig;
}

/**
 * The dev config of the template the cluster's namespace was created from, or undefined
 * when the namespace is no kdev environment, cannot be read, or its template is not found
 * on this machine (templates/ of this checkout, or $KDEV_TEMPLATES).
 */
export async function environmentDevConfig(cluster: Cluster): Promise<EnvironmentDevConfig | undefined> {
  let template: string | undefined;
  try {
    const ns = await raw.get(cluster, { apiVersion: 'v1', plural: 'namespaces', name: cluster.namespace });
    template = ns.metadata?.labels?.[TEMPLATE_LABEL];
  } catch {
    return undefined; // no right to read namespaces: fall back to the local config
  }
  if (!template) return undefined;
  try {
    const loaded = loadTemplate(template);
    return { root: loaded.dir, template, config: loaded.devConfig };
  } catch {
    return undefined;
  }
}

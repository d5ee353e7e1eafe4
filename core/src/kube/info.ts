// Small read-only views of a cluster: its nodes and namespaces.
import type { V1Namespace, V1Node } from '@kubernetes/client-node';
import type { Cluster } from './client.js';
import { kubeError } from './errors.js';
import { raw } from './raw.js';

export interface NodeInfo {
  name: string;
  ready: boolean;
  version: string;
  internalIP?: string;
  runtime: string;
}

export async function listNodes(cluster: Cluster): Promise<NodeInfo[]> {
  try {
    const list = await raw.listAs<V1Node>(cluster, { apiVersion: 'v1', plural: 'nodes' });
    return list.items.map((n) => ({
      name: n.metadata?.name ?? '',
      ready: n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
      version: n.status?.nodeInfo?.kubeletVersion ?? '',
      internalIP: n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address,
      runtime: n.status?.nodeInfo?.containerRuntimeVersion ?? '',
    }));
  } catch (err) {
    throw kubeError(err, 'listing nodes', cluster.server);
  }
}

export interface NamespaceInfo {
  name: string;
  phase: string;
  labels: Record<string, string>;
}

export async function listNamespaces(cluster: Cluster): Promise<NamespaceInfo[]> {
  try {
    const list = await raw.listAs<V1Namespace>(cluster, { apiVersion: 'v1', plural: 'namespaces' });
    return list.items.map((n) => ({
      name: n.metadata?.name ?? '',
      phase: n.status?.phase ?? '',
      labels: n.metadata?.labels ?? {},
    }));
  } catch (err) {
    throw kubeError(err, 'listing namespaces', cluster.server);
  }
}

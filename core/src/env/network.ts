// An environment's network isolation as NetworkPolicies: who may connect to its pods
// (its own pods, plus the template's allowFrom), and where its pods may connect (open:
// anywhere but the kube-system pods other than DNS; restricted: itself and DNS; plus the
// template's allowTo). Pure: the objects are built here and applied by create.
import type { KubernetesObject, V1Node } from '@kubernetes/client-node';
import type { Cluster } from '../kube/client.js';
import { raw } from '../kube/raw.js';
import type { NetworkPeer, NetworkSpec } from './schema.js';
import { ENV_LABEL, ENV_NETWORK_POLICY } from './types.js';

export const ENV_EGRESS_POLICY = 'kdev-egress';
/** On the isolation probe's pods (probe.ts): "client" pods are not admitted by kdev-isolate. */
export const PROBE_LABEL = 'kdev.dev/probe';
const NAME_LABEL = 'kubernetes.io/metadata.name';
const SYSTEM_NAMESPACE = 'kube-system';
/** CoreDNS and kube-dns both carry it. */
const DNS_POD_LABELS = { 'k8s-app': 'kube-dns' };

type Json = Record<string, unknown>;

function ports(list: NetworkPeer['ports']): Json[] | undefined {
  if (!list || list.length === 0) return undefined;
  return list.map((p) => {
    if (typeof p === 'number') return { protocol: 'TCP', port: p };
    const [port, protocol] = p.split('/');
    return { protocol, port: Number(port) };
  });
}

/** A NetworkPolicy rule (ingress "from" or egress "to") for a peer of the template. */
function peerRule(peer: NetworkPeer, direction: 'from' | 'to'): Json {
  const selector: Json = { namespaceSelector: { matchLabels: { [NAME_LABEL]: peer.namespace } } };
  if (peer.pods && Object.keys(peer.pods).length > 0) selector.podSelector = { matchLabels: peer.pods };
  const p = ports(peer.ports);
  return { [direction]: [selector], ...(p ? { ports: p } : {}) };
}

export interface IsolationOptions {
  /**
   * The cluster's pod address ranges. The "outside the cluster" egress rule excepts them,
   * so that engines which match ipBlock against pod addresses too (kube-network-policies,
   * Calico) do not let kube-system pods in through it. Unknown: [].
   */
  podCidrs: readonly string[];
}

/**
 * The environment's two NetworkPolicies: kdev-isolate (ingress) and kdev-egress.
 * Both select every pod of the namespace.
 */
export function isolationPolicies(namespace: string, network: NetworkSpec, opts: IsolationOptions): KubernetesObject[] {
  const labels = { [ENV_LABEL]: namespace };
  // Plain JSON with the API's field names ("from"), as applyObject sends it.
  const ingress: Json[] = [
    // Every pod of the namespace, except the probe's client, whose connections must be refused.
    { from: [{ podSelector: { matchExpressions: [{ key: PROBE_LABEL, operator: 'NotIn', values: ['client'] }] } }] },
    ...network.allowFrom.map((p) => peerRule(p, 'from')),
  ];
  const egress: Json[] = [
    { to: [{ podSelector: {} }] },
    {
      to: [{ namespaceSelector: { matchLabels: { [NAME_LABEL]: SYSTEM_NAMESPACE } }, podSelector: { matchLabels: DNS_POD_LABELS } }],
      ports: [
        { protocol: 'UDP', port: 53 },
        { protocol: 'TCP', port: 53 },
      ],
    },
    ...network.allowTo.map((p) => peerRule(p, 'to')),
  ];
  if (network.egress === 'open') {
    egress.push({ to: [{ namespaceSelector: { matchExpressions: [{ key: NAME_LABEL, operator: 'NotIn', values: [SYSTEM_NAMESPACE] }] } }] });
    const v4 = opts.podCidrs.filter((c) => !c.includes(':'));
    const v6 = opts.podCidrs.filter((c) => c.includes(':'));
    egress.push({
      to: [
        { ipBlock: { cidr: '0.0.0.0/0', ...(v4.length > 0 ? { except: v4 } : {}) } },
        { ipBlock: { cidr: '::/0', ...(v6.length > 0 ? { except: v6 } : {}) } },
      ],
    });
  }
  return [
    { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: ENV_NETWORK_POLICY, namespace, labels }, spec: { podSelector: {}, policyTypes: ['Ingress'], ingress } } as KubernetesObject,
    { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: ENV_EGRESS_POLICY, namespace, labels }, spec: { podSelector: {}, policyTypes: ['Egress'], egress } } as KubernetesObject,
  ];
}

/** One line per rule, for `kdev env show`: what may connect in, and where pods may connect. */
export function describeNetwork(network: NetworkSpec): string[] {
  const peer = (p: NetworkPeer) => {
    const pods = p.pods && Object.keys(p.pods).length > 0 ? ` pods ${Object.entries(p.pods).map(([k, v]) => `${k}=${v}`).join(',')}` : '';
    const portText = p.ports && p.ports.length > 0 ? ` ports ${p.ports.join(', ')}` : '';
    return `namespace ${p.namespace}${pods}${portText}`;
  };
  return [
    'ingress: from the environment itself',
    ...network.allowFrom.map((p) => `ingress exception: from ${peer(p)}`),
    network.egress === 'open' ? 'egress: open (anywhere except kube-system pods other than DNS)' : 'egress: restricted (the environment itself and DNS only)',
    ...network.allowTo.map((p) => `egress exception: to ${peer(p)}`),
  ];
}

/**
 * The pod address ranges the nodes publish (spec.podCIDRs). Empty when the nodes publish
 * none or the caller may not list nodes: the egress rule then has no exception.
 */
export async function clusterPodCidrs(cluster: Cluster): Promise<string[]> {
  try {
    const nodes = await raw.listAs<V1Node>(cluster, { apiVersion: 'v1', plural: 'nodes' });
    const set = new Set<string>();
    for (const n of nodes.items) for (const c of n.spec?.podCIDRs ?? (n.spec?.podCIDR ? [n.spec.podCIDR] : [])) set.add(c);
    return [...set].sort();
  } catch {
    return [];
  }
}

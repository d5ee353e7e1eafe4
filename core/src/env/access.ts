// Who owns an environment, what the owner may do in it, and a kubeconfig for the
// environment's ServiceAccount with a token issued by the TokenRequest API.
import { readFileSync } from 'node:fs';
import { type AuthenticationV1TokenRequest, type KubernetesObject, type V1Role, type V1RoleBinding, type RbacV1Subject } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { KdevError } from '../errors.js';
import type { Cluster } from '../kube/client.js';
import { kubeError } from '../kube/errors.js';
import { serverIdentity } from '../kube/identity.js';
import { raw } from '../kube/raw.js';
import { ENV_LABEL, ENV_ROLE, ENV_SERVICE_ACCOUNT } from './types.js';

/**
 * The owner of new environments: $KDEV_OWNER, else the user the API server sees for our
 * credentials (SelfSubjectReview), else the kubeconfig's user name.
 */
export async function resolveOwner(cluster: Cluster, explicit?: string): Promise<string> {
  const given = explicit ?? process.env.KDEV_OWNER;
  if (given !== undefined && given.trim().length > 0) return given.trim();
  // asked once per cluster connection; older servers have none: fall back to the kubeconfig
  const name = await serverIdentity(cluster).catch(() => undefined);
  if (name) return name;
  const user = cluster.kc.getCurrentUser()?.name;
  if (user) return user;
  throw new KdevError('INVALID', 'cannot tell who owns the environment', 'Set KDEV_OWNER to your user name.');
}

/** A label value for the owner (labels allow [A-Za-z0-9-_.], at most 63 characters). */
export function ownerLabelValue(owner: string): string {
  const v = owner.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 63);
  return v.replace(/^[^A-Za-z0-9]+/, '').replace(/[^A-Za-z0-9]+$/, '');
}

function ownerSubject(owner: string): RbacV1Subject {
  const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(owner);
  if (sa) return { kind: 'ServiceAccount', name: sa[2]!, namespace: sa[1]! };
  return { kind: 'User', name: owner, apiGroup: 'rbac.authorization.k8s.io' };
}

/**
 * What the owner and the environment's ServiceAccount may do in the namespace: run and
 * debug workloads, read everything, but not change the quota, limits or network policy.
 */
export const OWNER_RULES: NonNullable<V1Role['rules']> = [
  {
    apiGroups: [''],
    resources: ['pods', 'pods/log', 'pods/exec', 'pods/portforward', 'pods/attach', 'services', 'endpoints', 'configmaps', 'secrets', 'persistentvolumeclaims', 'serviceaccounts', 'replicationcontrollers'],
    verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'],
  },
  { apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'] },
  { apiGroups: [''], resources: ['events', 'resourcequotas', 'limitranges', 'pods/status'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['apps', 'batch', 'autoscaling', 'policy'], resources: ['*'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'] },
  { apiGroups: ['networking.k8s.io'], resources: ['ingresses'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
  { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
];

/** ServiceAccount, Role and RoleBinding of an environment (its NetworkPolicies: network.ts). */
export function accessObjects(namespace: string, owner: string): KubernetesObject[] {
  const labels = { [ENV_LABEL]: namespace };
  const role: V1Role = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: ENV_ROLE, namespace, labels }, rules: OWNER_RULES };
  const binding: V1RoleBinding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: ENV_ROLE, namespace, labels },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: ENV_ROLE },
    subjects: [ownerSubject(owner), { kind: 'ServiceAccount', name: ENV_SERVICE_ACCOUNT, namespace }],
  };
  return [{ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: ENV_SERVICE_ACCOUNT, namespace, labels } }, role, binding];
}

/**
 * A kubeconfig for the environment's ServiceAccount, with a token from the TokenRequest
 * API that lives `seconds` (the API's minimum is 600).
 */
export async function serviceAccountKubeconfig(cluster: Cluster, namespace: string, seconds: number): Promise<{ kubeconfig: string; expires: Date }> {
  let token: string;
  let expires: Date;
  try {
    const tr = await raw.create<AuthenticationV1TokenRequest>(
      cluster,
      { apiVersion: 'v1', plural: 'serviceaccounts', namespace, name: ENV_SERVICE_ACCOUNT, subresource: 'token' },
      { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: [], expirationSeconds: Math.max(600, Math.round(seconds)) } },
    );
    token = tr.status?.token ?? '';
    expires = tr.status?.expirationTimestamp ? new Date(tr.status.expirationTimestamp) : new Date(Date.now() + seconds * 1000);
  } catch (err) {
    throw kubeError(err, `requesting a token for serviceaccount ${namespace}/${ENV_SERVICE_ACCOUNT}`, cluster.server);
  }
  if (!token) throw new KdevError('FAILED', `the API server issued no token for ${namespace}/${ENV_SERVICE_ACCOUNT}`);
  const current = cluster.kc.getCurrentCluster();
  if (!current) throw new KdevError('NO_CLUSTER', 'the kubeconfig has no current cluster');
  let caData = current.caData;
  if (!caData && current.caFile) caData = readFileSync(current.caFile).toString('base64');
  const name = `kdev-${namespace}`;
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server: current.server, ...(caData ? { 'certificate-authority-data': caData } : {}), ...(current.skipTLSVerify ? { 'insecure-skip-tls-verify': true } : {}) } }],
    users: [{ name, user: { token } }],
    contexts: [{ name, context: { cluster: name, user: name, namespace } }],
    'current-context': name,
  };
  return { kubeconfig: stringify(doc), expires };
}

// The RBAC rights kdev needs in a namespace, as one table, and which of them a
// SelfSubjectRulesReview's answer lacks. Derived from what core calls (core/src/kube/raw.ts
// paths and the client library's exec/attach/port-forward).

export interface Need {
  /** API group; '' is the core group. */
  group: string;
  /** Plural resource, or resource/subresource ("pods/portforward"). */
  resource: string;
  verbs: string[];
  /** The kdev feature that breaks without it. */
  feature: string;
  /** A cluster-scoped resource: a namespaced rules review cannot vouch for it. */
  clusterScoped?: boolean;
}

export const NEEDED_RIGHTS: readonly Need[] = [
  { group: 'apps', resource: 'deployments', verbs: ['get', 'list', 'watch', 'patch', 'update'], feature: 'dev mode (swapping a workload for its dev copy and restoring it)' },
  { group: 'apps', resource: 'statefulsets', verbs: ['get', 'list', 'patch'], feature: 'dev mode on StatefulSets' },
  { group: 'apps', resource: 'replicasets', verbs: ['list', 'watch'], feature: 'dev mode (following a rollout)' },
  { group: 'apps', resource: 'daemonsets', verbs: ['list'], feature: 'workload listing (kdev ls)' },
  { group: '', resource: 'pods', verbs: ['get', 'list', 'watch', 'delete'], feature: 'dev mode (waiting for the dev pod)' },
  { group: '', resource: 'pods/log', verbs: ['get'], feature: 'dev mode (showing why a pod fails)' },
  { group: '', resource: 'pods/exec', verbs: ['create'], feature: 'run and debug in the dev container' },
  { group: '', resource: 'pods/portforward', verbs: ['create'], feature: 'port-forward and file sync' },
  { group: '', resource: 'configmaps', verbs: ['get', 'create', 'update'], feature: 'file sync (the sidecar\'s code)' },
  { group: '', resource: 'secrets', verbs: ['get', 'create', 'update', 'delete'], feature: 'dev mode (saving the original workload) and file sync (its token)' },
  { group: '', resource: 'events', verbs: ['list', 'watch'], feature: 'dev mode (explaining failed pods)' },
  { group: 'autoscaling', resource: 'horizontalpodautoscalers', verbs: ['list', 'patch'], feature: 'dev mode on autoscaled workloads (pausing the HPA)' },
  { group: 'batch', resource: 'jobs', verbs: ['list'], feature: 'workload listing (kdev ls)' },
  { group: '', resource: 'namespaces', verbs: ['create', 'delete', 'list'], feature: 'environments (kdev env create/delete/ls)', clusterScoped: true },
  { group: 'networking.k8s.io', resource: 'networkpolicies', verbs: ['create'], feature: 'environments (isolation)' },
  { group: '', resource: 'serviceaccounts', verbs: ['create'], feature: 'environments (their own kubeconfig)' },
  { group: '', resource: 'resourcequotas', verbs: ['create'], feature: 'environments (quotas)' },
];

/** One rule of a SelfSubjectRulesReview's status.resourceRules. */
export interface ResourceRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
}

export interface MissingRight {
  group: string;
  resource: string;
  verbs: string[];
  feature: string;
  clusterScoped: boolean;
}

const has = (list: string[] | undefined, value: string) => (list ?? []).some((x) => x === '*' || x === value);

/** Whether some rule grants `verb` on every object of `resource` (rules limited to named objects do not). */
export function allows(rules: readonly ResourceRule[], group: string, resource: string, verb: string): boolean {
  const [base] = resource.split('/');
  return rules.some(
    (r) =>
      (r.resourceNames ?? []).length === 0 &&
      has(r.apiGroups, group) &&
      has(r.verbs, verb) &&
      (r.resources ?? []).some((x) => x === '*' || x === resource || (x === `${base}/*` && resource.includes('/'))),
  );
}

/** The rights of `needs` the rules lack, each with the verbs missing and the feature it blocks. */
export function missingRights(rules: readonly ResourceRule[], needs: readonly Need[] = NEEDED_RIGHTS): MissingRight[] {
  const out: MissingRight[] = [];
  for (const n of needs) {
    const verbs = n.verbs.filter((v) => !allows(rules, n.group, n.resource, v));
    if (verbs.length > 0) out.push({ group: n.group, resource: n.resource, verbs, feature: n.feature, clusterScoped: n.clusterScoped ?? false });
  }
  return out;
}

/** "pods/portforward create", "deployments.apps get, patch". */
export function describeRight(m: Pick<MissingRight, 'group' | 'resource' | 'verbs'>): string {
  return `${m.resource}${m.group ? `.${m.group}` : ''} ${m.verbs.join(', ')}`;
}

// The workload kinds the tree shows, in this order. Dev mode's own table of kinds (how to
// take each one over) lives in core; this list only says where to list and watch them.
export interface TreeKind {
  kind: string;
  /** Plural for the group label: "Deployments". */
  label: string;
  apiVersion: string;
  plural: string;
}

export const TREE_KINDS: readonly TreeKind[] = [
  { kind: 'Deployment', label: 'Deployments', apiVersion: 'apps/v1', plural: 'deployments' },
  { kind: 'StatefulSet', label: 'StatefulSets', apiVersion: 'apps/v1', plural: 'statefulsets' },
  { kind: 'DaemonSet', label: 'DaemonSets', apiVersion: 'apps/v1', plural: 'daemonsets' },
  { kind: 'ReplicaSet', label: 'ReplicaSets', apiVersion: 'apps/v1', plural: 'replicasets' },
  { kind: 'Job', label: 'Jobs', apiVersion: 'batch/v1', plural: 'jobs' },
  { kind: 'CronJob', label: 'CronJobs', apiVersion: 'batch/v1', plural: 'cronjobs' },
  { kind: 'Pod', label: 'Pods', apiVersion: 'v1', plural: 'pods' },
];

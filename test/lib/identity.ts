// A second identity for e2e tests: a ServiceAccount with a Role, and a kubeconfig that
// authenticates as it with a token from the TokenRequest API.
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cluster } from '@kdev/core/internals';
import type { V1PolicyRule } from '@kubernetes/client-node';

export async function serviceAccountKubeconfig(admin: Cluster, namespace: string, name: string, rules: V1PolicyRule[]): Promise<string> {
  await admin.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  await admin.rbac.createNamespacedRole({ namespace, body: { metadata: { name }, rules } });
  await admin.rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    },
  });
  const token = await admin.core.createNamespacedServiceAccountToken({ name, namespace, body: { spec: { audiences: [], expirationSeconds: 3600 } } });
  const cluster = admin.kc.getCurrentCluster()!;
  const yaml = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: c\n  cluster:\n    server: ${cluster.server}\n    certificate-authority-data: ${cluster.caData ?? ''}`,
    `users:\n- name: ${name}\n  user:\n    token: ${token.status!.token}`,
    `contexts:\n- name: ${name}\n  context:\n    cluster: c\n    user: ${name}\n    namespace: ${namespace}`,
    `current-context: ${name}`,
    '',
  ].join('\n');
  const file = join(mkdtempSync(join(tmpdir(), 'kdev-sa-')), 'kubeconfig');
  writeFileSync(file, yaml, { mode: 0o600 });
  return file;
}

export const DEV_RULES: V1PolicyRule[] = [
  { apiGroups: ['apps'], resources: ['deployments', 'statefulsets', 'daemonsets', 'replicasets'], verbs: ['get', 'list', 'watch', 'update', 'patch', 'create', 'delete'] },
  { apiGroups: [''], resources: ['pods', 'configmaps', 'secrets', 'events'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
  { apiGroups: [''], resources: ['pods/exec', 'pods/portforward', 'pods/log'], verbs: ['get', 'create'] },
];

export const READ_ONLY_RULES: V1PolicyRule[] = [
  { apiGroups: ['apps'], resources: ['deployments', 'replicasets'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: [''], resources: ['pods', 'configmaps', 'events'], verbs: ['get', 'list', 'watch'] },
];

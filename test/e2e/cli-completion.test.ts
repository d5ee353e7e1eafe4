// Completion with live names: real bash, the script of `kdev completion bash` sourced,
// offers the workloads of a namespace this test created (through `kdev __complete`, core's
// completionNames and the cluster).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { applyAll } from '@kdev/core/internals';
import type { KubernetesObject } from '@kdev/core';
import { nodeDeployment, tempNamespace, testKubeconfig } from '../lib/cluster.js';
import { bashComplete, kdevBinDir } from '../lib/completion.js';

describe('kdev completion bash: live workload names', () => {
  let ns: Awaited<ReturnType<typeof tempNamespace>>;
  let bin: string;
  const env = () => ({ KUBECONFIG: testKubeconfig() });

  before(async () => {
    ns = await tempNamespace('kdev-complete');
    bin = kdevBinDir();
    const cron = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'nightly', namespace: ns.name },
      spec: { schedule: '0 3 * * *', suspend: true, jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'job', image: 'kdev.local/node:18', command: ['true'] }] } } } } },
    } as KubernetesObject;
    await applyAll(ns.cluster, [nodeDeployment(ns.name, 'web-frontend'), nodeDeployment(ns.name, 'web-backend'), nodeDeployment(ns.name, 'worker'), cron]);
  });
  after(async () => {
    rmSync(bin, { recursive: true, force: true });
    await ns?.remove();
  });

  it('offers the namespace given with -n: Deployments by name, other kinds as kind/name', () => {
    assert.deepEqual(bashComplete(`kdev -n ${ns.name} dev start `, bin, env()), ['cronjob/nightly', 'web-backend', 'web-frontend', 'worker']);
  });

  it('filters by what is typed, also for a workload flag and with --namespace=', () => {
    assert.deepEqual(bashComplete(`kdev --namespace=${ns.name} dev end web-f`, bin, env()), ['web-frontend']);
    assert.deepEqual(bashComplete(`kdev -n ${ns.name} port-forward add 8080 -w w`, bin, env()), ['web-backend', 'web-frontend', 'worker']);
    assert.deepEqual(bashComplete(`kdev -n ${ns.name} logs deployment/web-b`, bin, env()), ['deployment/web-backend']);
  });

  it('a namespace that does not exist offers nothing (and the shell falls back to file names)', () => {
    assert.deepEqual(bashComplete(`kdev -n ${ns.name}-absent dev start `, bin, env()), []);
  });
});

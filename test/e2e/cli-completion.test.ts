// Completion with live names: real bash, the script of `kdev completion bash` sourced,
// offers the workloads of a namespace this test created (through `kdev __complete`, core's
// completionNames and the cluster).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyAll } from '@kdev/core/internals';
import type { KubernetesObject } from '@kdev/core';
import { runKdev } from '../lib/cli.js';
import { nodeDeployment, tempNamespace, testKubeconfig, uniqueName } from '../lib/cluster.js';
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

describe('kdev completion bash: live environment names', () => {
  const name = uniqueName('kdev-complete-env');
  let dir: string;
  let bin: string;
  const env = () => ({ KUBECONFIG: testKubeconfig(), KDEV_ENV_DIR: dir });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kdev-complete-env-'));
    bin = kdevBinDir();
    const r = await runKdev(['env', 'create', name, '--template', 'hello', '--no-isolation-check'], env());
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await runKdev(['env', 'delete', name], env());
    rmSync(dir, { recursive: true, force: true });
    rmSync(bin, { recursive: true, force: true });
  });

  it('offers the environment where an argument is an existing one, not where a new name goes', () => {
    const prefix = name.slice(0, -3);
    for (const cmd of ['show', 'delete', 'sleep', 'wake', 'kubeconfig']) assert.deepEqual(bashComplete(`kdev env ${cmd} ${prefix}`, bin, env()), [name], cmd);
    assert.deepEqual(bashComplete(`kdev env create ${prefix}`, bin, env()), []);
  });
});

// Readiness rules of the workload kinds table and what counts as a pod that cannot run.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubernetesObject, V1Pod } from '@kubernetes/client-node';
import { ownerLabelValue, podProblem, validateEnvName, WORKLOAD_TABLE } from '@kdev/core/internals';

const obj = (o: Record<string, unknown>) => o as KubernetesObject;

describe('workload readiness', () => {
  it('Deployment: Ready when the generation is observed and every replica is updated and ready', () => {
    const d = WORKLOAD_TABLE.Deployment;
    const base = { metadata: { generation: 2 }, spec: { replicas: 2, selector: { matchLabels: { app: 'web', tier: 'fe' } } } };
    assert.equal(d.status(obj({ ...base, status: { observedGeneration: 2, readyReplicas: 2, updatedReplicas: 2 } })).ready, true);
    assert.equal(d.status(obj({ ...base, status: { observedGeneration: 1, readyReplicas: 2, updatedReplicas: 2 } })).ready, false);
    assert.equal(d.status(obj({ ...base, status: { observedGeneration: 2, readyReplicas: 1, updatedReplicas: 2 } })).detail, '1/2 ready');
    assert.equal(d.pods(obj(base)), 'app=web,tier=fe');
  });

  it('StatefulSet: needs the current revision; Job: Complete, and Failed is a failure; CronJob: at once', () => {
    const s = WORKLOAD_TABLE.StatefulSet;
    const sts = { metadata: { generation: 1 }, spec: { replicas: 1 } };
    assert.equal(s.status(obj({ ...sts, status: { observedGeneration: 1, readyReplicas: 1, currentRevision: 'a', updateRevision: 'b' } })).ready, false);
    assert.equal(s.status(obj({ ...sts, status: { observedGeneration: 1, readyReplicas: 1, currentRevision: 'b', updateRevision: 'b' } })).ready, true);
    const j = WORKLOAD_TABLE.Job;
    assert.equal(j.status(obj({ spec: {}, status: { succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] } })).ready, true);
    assert.match(j.status(obj({ spec: {}, status: { conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }] } })).failed!, /BackoffLimitExceeded/);
    assert.equal(j.pods(obj({ metadata: { name: 'migrate' } })), 'batch.kubernetes.io/job-name=migrate');
    assert.equal(WORKLOAD_TABLE.CronJob.status(obj({ spec: { schedule: '* * * * *' } })).ready, true);
  });

  it('a pod in CrashLoopBackOff or with an image it cannot get cannot run; a starting pod can', () => {
    const pod = (waiting: string | undefined, restartCount = 0): V1Pod => ({
      spec: { containers: [{ name: 'app' }] },
      status: { phase: 'Pending', containerStatuses: [{ name: 'app', image: 'x', imageID: '', ready: false, restartCount, state: waiting ? { waiting: { reason: waiting } } : {} }] },
    });
    assert.deepEqual(podProblem(pod('CrashLoopBackOff', 2)), { container: 'app', reason: 'CrashLoopBackOff', message: undefined, restarted: true });
    assert.equal(podProblem(pod('ErrImageNeverPull'))?.reason, 'ErrImageNeverPull');
    assert.equal(podProblem(pod('ContainerCreating')), undefined);
    assert.equal(podProblem(pod(undefined)), undefined);
  });
});

describe('environment names and owners', () => {
  it('accepts DNS labels and refuses system namespaces', () => {
    validateEnvName('pr-123');
    assert.throws(() => validateEnvName('PR_123'), /not a valid environment name/);
    assert.throws(() => validateEnvName('kube-system'), /system namespace/);
    assert.throws(() => validateEnvName('default'), /system namespace/);
    assert.throws(() => validateEnvName('a'.repeat(64)), /not a valid environment name/);
  });

  it('turns any owner into a valid label value', () => {
    assert.equal(ownerLabelValue('alice@example.com'), 'alice_example.com');
    assert.equal(ownerLabelValue('system:serviceaccount:ci:runner'), 'system_serviceaccount_ci_runner');
    assert.equal(ownerLabelValue('ci/acme/shop#42'), 'ci_acme_shop_42');
    assert.ok(ownerLabelValue('x'.repeat(100)).length <= 63);
  });
});

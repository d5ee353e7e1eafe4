// The one kinds table (kube/kinds.ts) and the one pod judgement (kube/pods.ts): every kind's
// status line and readiness, and one list of fatal reasons for dev mode and environments.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { FATAL_REASONS, KINDS, kindSpec, podPhase, podProblem, selectorString, WORKLOAD_TABLE, type KindObject } from '@kdev/core/internals';

const status = (kind: string, o: KindObject) => kindSpec(kind).statusText(o);

function pod(waiting: string | undefined, opts: { container?: string; scheduled?: boolean; ready?: boolean } = {}): V1Pod {
  const name = opts.container ?? 'app';
  return {
    metadata: { name: 'p' },
    spec: { containers: [{ name: 'app' }, ...(name === 'app' ? [] : [{ name }])] },
    status: {
      phase: waiting ? 'Pending' : 'Running',
      conditions: [{ type: 'PodScheduled', status: opts.scheduled === false ? 'False' : 'True' }, { type: 'Ready', status: opts.ready ? 'True' : 'False' }],
      containerStatuses: [{ name, image: 'x', imageID: '', ready: opts.ready ?? false, restartCount: 0, state: waiting ? { waiting: { reason: waiting, message: `${waiting} happened` } } : { running: {} } }],
    },
  };
}

describe('the kinds table', () => {
  it('has every kind once, each with API version, plural, template path, selector, readiness and status line', () => {
    assert.deepEqual(KINDS.map((k) => k.kind), ['Deployment', 'StatefulSet', 'ReplicaSet', 'DaemonSet', 'Job', 'CronJob', 'Pod']);
    for (const k of KINDS) {
      assert.match(k.apiVersion, /^(v1|apps\/v1|batch\/v1)$/);
      assert.equal(k.plural, `${k.kind.toLowerCase()}s`);
      assert.equal(kindSpec(k.kind.toLowerCase()), k);
      for (const alias of k.aliases) assert.equal(kindSpec(alias), k);
    }
    assert.deepEqual(kindSpec('cj').templatePath, ['spec', 'jobTemplate', 'spec', 'template']);
    assert.deepEqual(kindSpec('pod').templatePath, []);
  });

  it('one status line per kind, for `kdev ls`, the tree and progress alike', () => {
    assert.equal(status('Deployment', { spec: { replicas: 2 }, status: { readyReplicas: 1 } }), '1/2 ready');
    assert.equal(status('StatefulSet', { spec: { replicas: 1 }, status: {} }), '0/1 ready');
    assert.equal(status('ReplicaSet', { spec: { replicas: 3 }, status: { readyReplicas: 3 } }), '3/3 ready');
    assert.equal(status('DaemonSet', { status: { numberReady: 1, desiredNumberScheduled: 1 } }), '1/1 ready');
    assert.equal(status('Job', { spec: { completions: 2 }, status: { succeeded: 1 } }), '1/2 succeeded');
    assert.equal(status('CronJob', { spec: { schedule: '0 0 * * *' } }), 'scheduled 0 0 * * *');
    assert.equal(status('CronJob', { spec: { schedule: '0 0 * * *', suspend: true } }), 'suspended');
    assert.equal(status('Pod', pod(undefined, { ready: true })), 'Running 1/1');
    assert.equal(status('Pod', pod('CreateContainerConfigError')), 'CreateContainerConfigError');
    // environments read the same rows
    assert.equal(WORKLOAD_TABLE.Deployment.status({ spec: { replicas: 2 }, status: { readyReplicas: 1 } }).detail, '1/2 ready');
  });

  it('readiness of the kinds environments do not create: ReplicaSet and Pod', () => {
    const rs = kindSpec('ReplicaSet');
    assert.equal(rs.readiness({ metadata: { generation: 2 }, spec: { replicas: 1 }, status: { observedGeneration: 2, readyReplicas: 1 } }).ready, true);
    assert.equal(rs.readiness({ metadata: { generation: 2 }, spec: { replicas: 1 }, status: { observedGeneration: 1, readyReplicas: 1 } }).ready, false);
    assert.equal(kindSpec('Pod').readiness(pod(undefined, { ready: true })).ready, true);
    assert.equal(kindSpec('Pod').readiness(pod(undefined, { ready: false })).ready, false);
  });

  it('pod selectors: from spec.selector (expressions too), a Job by its name label, none for a CronJob or a bare Pod', () => {
    const sel = { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['fe', 'be'] }, { key: 'canary', operator: 'DoesNotExist' }] };
    assert.equal(kindSpec('deploy').podSelector({ spec: { selector: sel } }), 'app=web,tier in (fe,be),!canary');
    assert.equal(selectorString({}), undefined);
    assert.equal(kindSpec('job').podSelector({ metadata: { name: 'migrate' } }), 'batch.kubernetes.io/job-name=migrate');
    assert.equal(kindSpec('cronjob').podSelector({ spec: {} }), undefined);
    assert.equal(kindSpec('pod').podSelector({ spec: {} }), undefined);
  });
});

describe('pods that cannot run: one list for dev mode and environments', () => {
  it('every fatal reason has a hint; a missing Secret is one of them', () => {
    for (const reason of ['CrashLoopBackOff', 'ImagePullBackOff', 'ErrImagePull', 'ErrImageNeverPull', 'InvalidImageName', 'CreateContainerConfigError', 'CreateContainerError', 'RunContainerError']) {
      assert.ok((FATAL_REASONS[reason] ?? '').length > 10, reason);
    }
    assert.match(FATAL_REASONS.CreateContainerConfigError!, /Secret/);
  });

  it('dev mode (podPhase) and environments (podProblem) judge the same pod the same way', () => {
    for (const reason of Object.keys(FATAL_REASONS)) {
      const p = pod(reason);
      assert.equal(podProblem(p)?.reason, reason);
      assert.equal(podPhase(p, 'app').fatal?.reason, reason, `dev mode stops at ${reason}`);
    }
    for (const reason of ['ContainerCreating', 'PodInitializing']) {
      assert.equal(podProblem(pod(reason)), undefined);
      assert.equal(podPhase(pod(reason), 'app').fatal, undefined);
      assert.equal(podPhase(pod(reason), 'app').phase, 'pulling');
    }
  });

  it('a fatal state of another container of the dev pod (the sidecar, say) fails dev mode too', () => {
    const p = pod('CreateContainerConfigError', { container: 'kdev-sync' });
    assert.equal(podPhase(p, 'app').fatal?.container, 'kdev-sync');
  });

  it('dev mode phases: scheduling, then ready', () => {
    assert.equal(podPhase(pod(undefined, { scheduled: false }), 'app').phase, 'scheduling');
    assert.equal(podPhase(pod(undefined, { ready: true }), 'app').phase, 'ready');
    assert.equal(podPhase(pod(undefined, { ready: false }), 'app').phase, 'starting');
  });
});

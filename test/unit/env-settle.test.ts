// The settle rule (kube/settle.ts) of env readiness and the dev pod: Ready means Ready and no restart for a window.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { crashSince, restartCounts, settleWindow } from '@kdev/core/internals';

function pod(uid: string, restartCount: number, state: 'running' | 'terminated' = 'running', restartPolicy = 'Always'): V1Pod {
  const terminated = { exitCode: 1, reason: 'Error' };
  return {
    metadata: { uid },
    spec: { restartPolicy, containers: [{ name: 'app' }] },
    status: {
      containerStatuses: [
        {
          name: 'app',
          image: 'x',
          imageID: '',
          ready: state === 'running',
          restartCount,
          state: state === 'running' ? { running: {} } : { terminated },
          lastState: restartCount > 0 ? { terminated } : {},
        },
      ],
    },
  };
}

describe('settle: a crash after Ready', () => {
  it('a restart since the baseline or a stopped container is a crash; a steady pod is not', () => {
    assert.deepEqual(restartCounts(pod('a', 2)), new Map([['app', 2]]));
    assert.equal(crashSince(pod('a', 0), new Map([['app', 0]])), undefined);
    assert.equal(crashSince(pod('a', 1), new Map([['app', 1]])), undefined, 'a restart before Ready is not counted');
    assert.deepEqual(crashSince(pod('a', 1), new Map([['app', 0]])), { container: 'app', reason: 'Error', exitCode: 1 });
    assert.deepEqual(crashSince(pod('a', 0, 'terminated'), new Map([['app', 0]])), { container: 'app', reason: 'Error', exitCode: 1 });
    assert.equal(crashSince(pod('a', 0, 'terminated', 'Never'), new Map()), undefined, "a Job's pod may finish");
  });

  it('the window judges nothing before Ready, resolves after staying Ready, and starts again after a cancel', async () => {
    const w = settleWindow(80);
    assert.equal(w.crash(pod('a', 3)), undefined, 'before Ready nothing is judged');
    const t0 = Date.now();
    w.begin([pod('a', 3)]);
    assert.equal(w.crash(pod('a', 3)), undefined);
    assert.equal(w.crash(pod('b', 0)), undefined, 'a pod first seen after Ready starts from its own counts');
    w.cancel();
    await new Promise((r) => setTimeout(r, 40));
    w.begin([]);
    assert.equal(await w.stable, 'ready');
    assert.ok(Date.now() - t0 >= 115, `the window starts again after a cancel (${Date.now() - t0} ms)`);
    assert.equal(w.crashed(), undefined);
  });

  it('a crash after Ready spoils the window: it never completes, and fails after the grace', async () => {
    const w = settleWindow(50, 60);
    w.begin([pod('a', 0)]);
    const t0 = Date.now();
    assert.equal(w.crash(pod('a', 1))?.container, 'app', 'a restart after Ready is a crash');
    w.begin([pod('a', 1)]);
    const first = await Promise.race([w.stable, w.failed]);
    assert.notEqual(first, 'ready', 'the window does not complete after a crash');
    assert.equal(typeof first === 'object' ? first.exitCode : undefined, 1);
    assert.ok(Date.now() - t0 >= 55, 'failed waits for the grace');
    assert.equal(w.crashed()?.container, 'app');
  });

  it('a native sidecar (init container, restartPolicy Always) that restarts is a crash; a finished init container is not', () => {
    const p: V1Pod = {
      metadata: { uid: 'n' },
      spec: { restartPolicy: 'Always', initContainers: [{ name: 'setup' }, { name: 'proxy', restartPolicy: 'Always' }], containers: [{ name: 'app' }] },
      status: {
        initContainerStatuses: [
          { name: 'setup', image: 'x', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } },
          { name: 'proxy', image: 'x', imageID: '', ready: true, restartCount: 1, state: { running: {} }, lastState: { terminated: { exitCode: 2, reason: 'Error' } } },
        ],
        containerStatuses: [{ name: 'app', image: 'x', imageID: '', ready: true, restartCount: 0, state: { running: {} } }],
      },
    };
    assert.equal(crashSince(p, new Map([['setup', 0], ['proxy', 1], ['app', 0]])), undefined, 'setup completed: not a crash');
    assert.deepEqual(crashSince(p, new Map([['setup', 0], ['proxy', 0], ['app', 0]])), { container: 'proxy', reason: 'Error', exitCode: 2 });
  });

  it('not Ready after a crash (the restarting container) does not stop the grace; close stops everything', async () => {
    const w = settleWindow(30, 40);
    w.begin([pod('a', 0)]);
    w.crash(pod('a', 1));
    w.cancel();
    const first = await Promise.race([w.failed, new Promise((r) => setTimeout(() => r('hung'), 500))]);
    assert.notEqual(first, 'hung', 'failed still resolves after a cancel');
    const v = settleWindow(30, 40);
    v.begin([pod('a', 0)]);
    v.crash(pod('a', 1));
    v.close();
    assert.equal(await Promise.race([v.failed, new Promise((r) => setTimeout(() => r('closed'), 150))]), 'closed');
  });
});

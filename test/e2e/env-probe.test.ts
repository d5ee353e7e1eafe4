// The isolation probe against a cluster that does and does not enforce NetworkPolicy: the
// local cluster's engine (kube-network-policies) is stopped — by the pid it was started
// with — and `kdev env create` must warn, once; with the engine started again the
// warning is gone. checkNetworkPolicyEnforcement (what `kdev doctor` reports) agrees.
// Needs the local cluster's engine; skipped on another cluster.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkNetworkPolicyEnforcement, connect } from '@kdev/core/internals';
import { NETPOL_DAEMON, ensureNetworkPolicyEngine, queueBound } from '../cluster/netpol.js';
import { daemonPid, killAndWait, logPath, sleep } from '../cluster/steps.js';
import { testCluster, uniqueName } from '../lib/cluster.js';
import { jsonOf, runKdev } from '../lib/cli.js';

const ADMIN = '/var/lib/kdev-cluster/admin.kubeconfig';
const WARNING = /! NetworkPolicy is not enforced on this cluster/g;

interface Created {
  isolation: { enforced: boolean | null; detail: string } | null;
}

describe('the isolation probe warns when NetworkPolicy is not enforced', { skip: daemonPid(NETPOL_DAEMON) === undefined ? 'the local cluster runs no NetworkPolicy engine' : false }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdev-probe-e2e-'));
  const env = { KDEV_ENV_DIR: dir, KDEV_OWNER: uniqueName('probe') };
  const names: string[] = [];

  const restart = async () => {
    if (daemonPid(NETPOL_DAEMON) === undefined) await ensureNetworkPolicyEngine(connect({ kubeconfig: ADMIN }), logPath('network-policies'));
  };

  after(async () => {
    await restart(); // whatever happened, the cluster gets its engine back
    await Promise.all(names.map((n) => runKdev(['env', 'delete', n, '--no-wait'], env)));
    rmSync(dir, { recursive: true, force: true });
  });

  it('engine stopped: create warns once and the probe says not enforced; engine back: no warning', async () => {
    const pid = daemonPid(NETPOL_DAEMON)!;
    await killAndWait(pid, 10_000);
    // The queue's binding goes with the process; until then packets still go to it.
    for (let i = 0; i < 50 && queueBound(); i++) await sleep(100);
    assert.equal(queueBound(), false, 'the engine left its queue');
    try {
      const off = uniqueName('kdev-probe-off');
      names.push(off);
      const r = await runKdev(['-o', 'json', 'env', 'create', off, '--template', 'hello'], env);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(jsonOf<Created>(r).isolation?.enforced, false, r.stdout);
      assert.equal(r.stderr.match(WARNING)?.length, 1, `one warning: ${r.stderr}`);
      const check = await checkNetworkPolicyEnforcement(testCluster());
      assert.equal(check.enforced, false, check.detail);
    } finally {
      await restart();
    }
    assert.notEqual(daemonPid(NETPOL_DAEMON), pid, 'a new engine process runs');
    assert.equal(queueBound(), true);

    const on = uniqueName('kdev-probe-on');
    names.push(on);
    const r = await runKdev(['-o', 'json', 'env', 'create', on, '--template', 'hello'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(jsonOf<Created>(r).isolation?.enforced, true, r.stdout);
    assert.doesNotMatch(r.stderr, WARNING);
  });
});

// A dev round trip on a workload of an environment keeps the environment's own `kdev.dev/`
// labels and annotations: dev mode removes only the keys it wrote itself, so the workload
// still counts as the environment's after `end` (sleep, wake and gc find it by that label).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createEnvironment, deleteEnvironment, endDevMode, startDevMode } from '@kdev/core/internals';
import { testCluster, uniqueName } from '../lib/cluster.js';

const TEMPLATE = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'templates', 'sleepy');

/** The Deployment's labels and annotations, without the revision the controller bumps. */
async function metadataOf(namespace: string): Promise<{ labels: Record<string, string>; annotations: Record<string, string> }> {
  const d = await testCluster().apps.readNamespacedDeployment({ name: 'app', namespace });
  const { 'deployment.kubernetes.io/revision': _revision, ...annotations } = d.metadata!.annotations ?? {};
  return { labels: d.metadata!.labels ?? {}, annotations };
}

describe('dev mode on an environment workload', () => {
  const name = uniqueName('kdev-envlabels');

  before(async () => {
    await createEnvironment(testCluster(), { name, template: TEMPLATE, ttl: '1h' });
  });
  after(async () => {
    await deleteEnvironment(testCluster(), name, { wait: false });
  });

  it("start then end keeps the environment's labels and annotations exactly", async () => {
    const before = await metadataOf(name);
    assert.equal(before.labels['kdev.dev/environment'], name, 'the template labels its workloads');
    const cluster = testCluster().inNamespace(name);
    await startDevMode(cluster, { workload: 'deployment/app', image: 'kdev.local/dev-node:18', sidecar: null, timeoutMs: 120_000 });
    const during = await metadataOf(name);
    assert.ok(during.annotations['kdev.dev/lease'], 'in dev mode, with a lease');
    assert.equal(during.labels['kdev.dev/environment'], name);
    await endDevMode(cluster, { workload: 'deployment/app', timeoutMs: 120_000 });
    assert.deepEqual(await metadataOf(name), before);
  });
});

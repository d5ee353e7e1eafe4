// A StatefulSet with `updateStrategy: OnDelete` does not replace its pods when its template
// changes: dev start must still bring up the dev pod, and dev end must leave no dev pod
// behind, the workload exactly as it was.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { endDevMode, raw, startDevMode, type RawObject } from '@kdev/core/internals';
import { tempNamespace } from '../lib/cluster.js';

const DEV_IMAGE = 'kdev.local/dev-node:18';
const APP = `require('http').createServer((q, r) => r.end('original')).listen(8080)`;

function statefulSet(ns: string): RawObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: ns },
    spec: {
      replicas: 2,
      serviceName: 'db',
      updateStrategy: { type: 'OnDelete' },
      selector: { matchLabels: { app: 'db' } },
      template: {
        metadata: { labels: { app: 'db' } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{ name: 'app', image: 'kdev.local/node:18', imagePullPolicy: 'IfNotPresent', command: ['node', '-e', APP], readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 } }],
        },
      },
    },
  };
}

/** The pods of the StatefulSet: name → image of its container. */
async function images(ns: Awaited<ReturnType<typeof tempNamespace>>): Promise<Record<string, string>> {
  const pods = await raw.list(ns.cluster, { apiVersion: 'v1', plural: 'pods', namespace: ns.name }, 'app=db');
  return Object.fromEntries(pods.items.filter((p) => !p.metadata?.deletionTimestamp).map((p) => [p.metadata!.name!, (p.spec as { containers: { image: string }[] }).containers[0]!.image]));
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const t0 = Date.now();
  while (!(await check())) {
    assert.ok(Date.now() - t0 < timeoutMs, `${what} within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('dev mode on a StatefulSet that updates its pods only on delete', () => {
  let ns: Awaited<ReturnType<typeof tempNamespace>>;
  const path = () => ({ apiVersion: 'apps/v1', plural: 'statefulsets', namespace: ns.name, name: 'db' });

  before(async () => {
    ns = await tempNamespace('kdev-e2e-ondelete');
    await raw.create(ns.cluster, { apiVersion: 'apps/v1', plural: 'statefulsets', namespace: ns.name }, statefulSet(ns.name));
    await until('two ready pods', async () => Number((await raw.get(ns.cluster, path())).status?.readyReplicas ?? 0) === 2);
  });
  after(async () => {
    await ns?.remove();
  });

  it('start brings up the dev pod; end restores the spec and leaves no dev pod', async () => {
    const before = await raw.get(ns.cluster, path());
    await startDevMode(ns.cluster, { workload: 'statefulset/db', image: DEV_IMAGE, sidecar: null, timeoutMs: 120_000 });
    assert.deepEqual(await images(ns), { 'db-0': DEV_IMAGE }, 'one dev pod, made from the dev template');

    await endDevMode(ns.cluster, { workload: 'statefulset/db', timeoutMs: 120_000 });
    const after = await raw.get(ns.cluster, path());
    assert.deepEqual(after.spec, before.spec, 'the spec as it was');
    await until('both pods back with the original image', async () => JSON.stringify(await images(ns)) === JSON.stringify({ 'db-0': 'kdev.local/node:18', 'db-1': 'kdev.local/node:18' }));
  });
});

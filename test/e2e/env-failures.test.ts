// Environments and bad input, on the local cluster: unknown template, invalid
// template.yaml, bad names, a name taken by a foreign namespace, a quota the template
// exceeds, a workload that crashes (fail fast with events and logs, then roll back), and
// an interrupted create. Each leaves nothing behind.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEnvironment, isKdevError, type EnvProgress } from '@kdev/core/internals';
import { tempNamespace, testCluster, uniqueName, namespaceExists } from '../lib/cluster.js';
import { jsonOf, runKdev } from '../lib/cli.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures', 'templates');

interface ErrorJson {
  error: { code: string; message: string; hint?: string };
}

describe('kdev env create: bad input changes nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdev-env-fail-'));
  const env = { KDEV_ENV_DIR: dir };

  it('an unknown template is a clear error naming the known ones', async () => {
    const name = uniqueName('kdev-unk');
    const r = await runKdev(['-o', 'json', 'env', 'create', name, '--template', 'no-such-template'], env);
    assert.equal(r.code, 1);
    const e = jsonOf<ErrorJson>(r).error;
    assert.equal(e.code, 'NOT_FOUND');
    assert.equal(e.message, 'unknown template "no-such-template"');
    assert.match(e.hint!, /Known templates: .*hello/);
    assert.equal(await namespaceExists(name), false);
  });

  it('an invalid template.yaml names the file, the line and the field', async () => {
    const name = uniqueName('kdev-inv');
    const r = await runKdev(['env', 'create', name, '--template', join(FIXTURES, 'invalid'), '--wait'], env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /invalid\/template\.yaml:6: workloads\.0\.dependsOn\.0: unknown workload "database"/);
    assert.match(r.stderr, /hint: Known workloads: web\./);
    assert.equal(await namespaceExists(name), false);
  });

  it('an unknown --set key and a bad name or TTL are clear errors', async () => {
    const name = uniqueName('kdev-set');
    const cases: [string[], RegExp][] = [
      [['env', 'create', name, '-t', 'hello', '--set', 'colour=red'], /--set colour: template "hello" has no parameter "colour"/],
      [['env', 'create', 'Not_A_Name', '-t', 'hello'], /"Not_A_Name" is not a valid environment name/],
      [['env', 'create', 'kube-mine', '-t', 'hello'], /is a system namespace/],
      [['env', 'create', name, '-t', 'hello', '--ttl', 'soon'], /--ttl soon: not a duration/],
    ];
    for (const [args, pattern] of cases) {
      const r = await runKdev(args, env);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, pattern);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
    assert.equal(await namespaceExists(name), false);
  });

  it('a name taken by a namespace kdev did not make is refused and that namespace is untouched', async () => {
    const foreign = await tempNamespace('kdev-foreign');
    try {
      const r = await runKdev(['env', 'create', foreign.name, '-t', 'hello', '--wait'], env);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`the name "${foreign.name}" is taken: a namespace "${foreign.name}" exists and is not a kdev environment`));
      const ns = await testCluster().core.readNamespace({ name: foreign.name });
      assert.equal(ns.status!.phase, 'Active');
      assert.equal(ns.metadata!.labels!['kdev.dev/environment'], undefined);
      const quotas = await foreign.cluster.core.listNamespacedResourceQuota({ namespace: foreign.name });
      assert.equal(quotas.items.length, 0, 'nothing was created in it');
    } finally {
      await foreign.remove();
    }
  });

  it('a template that exceeds the quota fails with the quota error and rolls back', async () => {
    const name = uniqueName('kdev-quota');
    const r = await runKdev(['-o', 'json', 'env', 'create', name, '-t', 'hello', '--set', 'quota.pods=1', '--set', 'replicas=2', '--wait'], env);
    assert.equal(r.code, 1);
    const e = jsonOf<ErrorJson>(r).error;
    assert.equal(e.code, 'FORBIDDEN');
    assert.match(e.message, /Deployment\/backend failed: its pods cannot be created: .*exceeded quota: kdev-quota/);
    assert.match(e.hint!, /--set quota\.<resource>=<value>/);
    assert.match(e.hint!, /Nothing was left behind/);
    assert.equal(await namespaceExists(name), false);
  });

  after(() => rmSync(dir, { recursive: true, force: true }));
});

describe('kdev env create: a failing template is rolled back', () => {
  it('fails fast on the crashing workload with its Warning events and last log lines, and deletes what it made', async () => {
    const name = uniqueName('kdev-broken');
    const events: EnvProgress[] = [];
    const t0 = Date.now();
    const err = await createEnvironment(testCluster(), { name, template: join(FIXTURES, 'broken'), ttl: '10m', onProgress: (e) => events.push(e) }).then(
      () => assert.fail('create should fail'),
      (e: unknown) => e,
    );
    assert.ok(isKdevError(err), String(err));
    assert.match(err.message, /^Deployment\/crasher failed: pod crasher-[a-z0-9]+-[a-z0-9]+, container crasher: CrashLoopBackOff/);
    assert.match(err.message, /last log lines:\n.*boom: cannot reach the database at db:5432/s);
    assert.match(err.message, /events:\n.*BackOff: Back-off restarting failed container crasher/s);
    assert.match(err.hint!, /Nothing was left behind/);
    assert.ok(Date.now() - t0 < 90_000, 'fails before the 90 s timeout');

    const failed = events.find((e) => e.type === 'workload' && e.state === 'failed');
    assert.ok(failed && failed.type === 'workload');
    assert.equal(failed.name, 'crasher');
    assert.ok(failed.logs!.some((l) => l.includes('boom')));
    const ok = events.filter((e) => e.type === 'workload' && e.name === 'ok').map((e) => (e.type === 'workload' ? e.state : ''));
    assert.deepEqual([...new Set(ok)], ['pending', 'applying', 'waiting', 'ready'], 'ok became ready before crasher started');
    const rollback = events.filter((e) => e.type === 'step' && e.step === 'rollback').map((e) => (e.type === 'step' ? e.state : ''));
    assert.deepEqual(rollback, ['start', 'done']);
    assert.equal(await namespaceExists(name), false, 'the namespace and everything in it is gone');
  });

  it('an interrupted create (abort signal) rolls back too', async () => {
    const name = uniqueName('kdev-abort');
    const controller = new AbortController();
    const err = await createEnvironment(testCluster(), {
      name,
      template: 'hello',
      onProgress: (e) => {
        if (e.type === 'workload' && e.name === 'backend' && e.state === 'waiting') controller.abort();
      },
      signal: controller.signal,
    }).then(
      () => assert.fail('create should be interrupted'),
      (e: unknown) => e,
    );
    assert.ok(isKdevError(err), String(err));
    assert.match(err.message, /interrupted/);
    assert.equal(await namespaceExists(name), false);
  });
});

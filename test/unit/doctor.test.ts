// kdev doctor's pure parts: the rights table against a rules review, the inotify count and verdict.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allows, countFolders, describeRight, HEADROOM, judgeWatchLimit, missingRights, NEEDED_RIGHTS, readWatchLimit, type ResourceRule } from '@kdev/core/internals';

describe('doctor: rights', () => {
  it('an admin rule (*) grants every needed right', () => {
    assert.deepEqual(missingRights([{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }]), []);
  });

  it('no rules: every row of the table is missing with all its verbs', () => {
    const missing = missingRights([]);
    assert.equal(missing.length, NEEDED_RIGHTS.length);
    assert.deepEqual(missing.map((m) => m.verbs), NEEDED_RIGHTS.map((n) => n.verbs));
  });

  it('names exactly the verbs lacking, with the feature they block', () => {
    // a namespaced role without pods/portforward and without secrets create
    const rules: ResourceRule[] = [
      { apiGroups: ['apps'], resources: ['deployments', 'statefulsets', 'replicasets', 'daemonsets'], verbs: ['get', 'list', 'watch', 'patch', 'update'] },
      { apiGroups: [''], resources: ['pods', 'configmaps', 'events'], verbs: ['get', 'list', 'watch', 'create', 'update', 'delete'] },
      { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'update', 'delete'] },
      { apiGroups: [''], resources: ['pods/exec', 'pods/log'], verbs: ['get', 'create'] },
      { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: ['list', 'patch'] },
      { apiGroups: ['batch'], resources: ['jobs'], verbs: ['list'] },
      { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['create'] },
      { apiGroups: [''], resources: ['serviceaccounts', 'resourcequotas'], verbs: ['create'] },
    ];
    const missing = missingRights(rules);
    assert.deepEqual(
      missing.map((m) => [describeRight(m), m.clusterScoped]),
      [
        ['pods/portforward create', false],
        ['secrets create', false],
        ['namespaces create, delete, list', true],
      ],
    );
    assert.match(missing[0]!.feature, /port-forward/);
    assert.match(missing[1]!.feature, /sync/);
  });

  it('a rule limited to named objects, another group, or pods/* decide as RBAC does', () => {
    assert.equal(allows([{ apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: ['one'] }], '', 'secrets', 'get'), false);
    assert.equal(allows([{ apiGroups: ['apps'], resources: ['pods'], verbs: ['get'] }], '', 'pods', 'get'), false);
    assert.equal(allows([{ apiGroups: [''], resources: ['pods/*'], verbs: ['create'] }], '', 'pods/portforward', 'create'), true);
    assert.equal(allows([{ apiGroups: [''], resources: ['pods'], verbs: ['create'] }], '', 'pods/exec', 'create'), false);
    assert.equal(describeRight({ group: 'apps', resource: 'deployments', verbs: ['get', 'patch'] }), 'deployments.apps get, patch');
  });
});

describe('doctor: inotify', () => {
  it('counts the folder and its sub-folders, not node_modules, .git or files', () => {
    const root = mkdtempSync(join(tmpdir(), 'kdev-doctor-'));
    try {
      for (const d of ['a/b/c', 'a/d', 'e', 'node_modules/x/y', '.git/objects']) mkdirSync(join(root, d), { recursive: true });
      writeFileSync(join(root, 'a', 'file.txt'), 'x');
      assert.equal(countFolders(root), 6); // root, a, a/b, a/b/c, a/d, e
      assert.equal(countFolders(root, 3), 3);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('enough at 1/HEADROOM of the limit; otherwise suggests a power of two above it', () => {
    assert.equal(HEADROOM, 2);
    assert.deepEqual(judgeWatchLimit(4096, 8192), { ok: true });
    assert.deepEqual(judgeWatchLimit(4097, 8192), { ok: false, suggested: 16384 });
    assert.deepEqual(judgeWatchLimit(100_000, 8192), { ok: false, suggested: 262144 });
  });

  it('reads the limit file, and says undefined where it is missing or garbage', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdev-doctor-'));
    try {
      writeFileSync(join(dir, 'limit'), '65536\n');
      writeFileSync(join(dir, 'bad'), 'many\n');
      assert.equal(readWatchLimit(join(dir, 'limit')), 65536);
      assert.equal(readWatchLimit(join(dir, 'bad')), undefined);
      assert.equal(readWatchLimit(join(dir, 'absent')), undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

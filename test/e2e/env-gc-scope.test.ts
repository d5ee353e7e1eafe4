// `kdev env gc` collects only the caller's own expired environments by default; --all is
// everyone's (shown here only with --dry-run: other people's environments on the shared
// test cluster are not ours to delete); --dry-run prints what would go and deletes nothing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CREATED_ANNOTATION, ENV_LABEL, EXPIRES_ANNOTATION, isNotFound, OWNER_ANNOTATION, OWNER_LABEL, ownerLabelValue, STATE_ANNOTATION } from '@kdev/core/internals';
import { jsonOf, runKdev } from '../lib/cli.js';
import { testCluster, uniqueName } from '../lib/cluster.js';

const admin = testCluster();
const ME = 'team-a-ci';
const THEM = 'team-b-ci';

/** A namespace marked as an environment of `owner`, expired or not (as `env create` marks them). */
async function environment(name: string, owner: string, expired: boolean): Promise<void> {
  const now = Date.now();
  await admin.core.createNamespace({
    body: {
      metadata: {
        name,
        labels: { [ENV_LABEL]: name, [OWNER_LABEL]: ownerLabelValue(owner), 'kdev.dev/test': 'true' },
        annotations: {
          [OWNER_ANNOTATION]: owner,
          [CREATED_ANNOTATION]: new Date(now - 7_200_000).toISOString(),
          [EXPIRES_ANNOTATION]: new Date(expired ? now - 60_000 : now + 3_600_000).toISOString(),
          [STATE_ANNOTATION]: 'ready',
        },
      },
    },
  });
}

async function exists(name: string): Promise<boolean> {
  try {
    const ns = await admin.core.readNamespace({ name });
    return !ns.metadata?.deletionTimestamp;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

interface GcJson {
  dryRun: boolean;
  scope: { all: boolean; owner?: string };
  deleted: string[];
  kept: string[];
}

describe('kdev env gc: scope and dry run', () => {
  const mineExpired = uniqueName('kdev-gc-mine');
  const mineFresh = uniqueName('kdev-gc-fresh');
  const theirsExpired = uniqueName('kdev-gc-theirs');
  const asMe = { KDEV_OWNER: ME };

  before(async () => {
    await Promise.all([environment(mineExpired, ME, true), environment(mineFresh, ME, false), environment(theirsExpired, THEM, true)]);
  });
  after(async () => {
    await Promise.all([mineExpired, mineFresh, theirsExpired].map((name) => admin.core.deleteNamespace({ name }).catch(() => undefined)));
  });

  it('--dry-run prints what would go, only mine, and deletes nothing', async () => {
    const text = await runKdev(['env', 'gc', '--dry-run'], asMe);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^would delete ${mineExpired} \\(owner ${ME}, expired `, 'm'));
    assert.doesNotMatch(text.stdout, new RegExp(theirsExpired));
    const dry = jsonOf<GcJson>(await runKdev(['-o', 'json', 'env', 'gc', '--dry-run'], asMe));
    assert.deepEqual(dry.scope, { all: false, owner: ME });
    assert.deepEqual(dry.deleted, [mineExpired]);
    assert.deepEqual(dry.kept, [mineFresh]);
    for (const name of [mineExpired, mineFresh, theirsExpired]) assert.equal(await exists(name), true, `${name} is still there`);
  });

  it("the default scope deletes my expired environment and keeps everyone else's", async () => {
    const gc = jsonOf<GcJson>(await runKdev(['-o', 'json', 'env', 'gc', '--wait'], asMe));
    assert.deepEqual(gc.deleted, [mineExpired]);
    assert.equal(await exists(mineExpired), false);
    assert.equal(await exists(mineFresh), true, 'an unexpired one stays');
    assert.equal(await exists(theirsExpired), true, "another owner's expired environment stays");
  });

  it("--all considers everyone's environments (dry run)", async () => {
    const all = jsonOf<GcJson>(await runKdev(['-o', 'json', 'env', 'gc', '--all', '--dry-run'], asMe));
    assert.deepEqual(all.scope, { all: true });
    assert.ok(all.deleted.includes(theirsExpired), JSON.stringify(all));
    assert.ok(all.kept.includes(mineFresh), JSON.stringify(all));
    assert.equal(await exists(theirsExpired), true, 'a dry run deletes nothing');
  });
});

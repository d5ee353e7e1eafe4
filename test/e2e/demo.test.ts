// `npm run demo` works end to end: environment, dev mode, sync, remote run, the edit served.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deleteEnvironment } from '@kdev/core/internals';
import { testCluster, testKubeconfig, uniqueName } from '../lib/cluster.js';

const DEMO = join(dirname(fileURLToPath(import.meta.url)), '..', 'demo.js');

describe('npm run demo', () => {
  const env = uniqueName('demo');
  after(async () => {
    await deleteEnvironment(testCluster(), env, { wait: true }).catch(() => undefined);
  });

  it('creates the meeting environment, puts the gateway in dev mode, and serves a synced edit', async () => {
    const child = spawn(process.execPath, [DEMO], { env: { ...process.env, KDEV_TEST_KUBECONFIG: testKubeconfig(), KDEV_DEMO_ENV: env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    assert.equal(code, 0, out);
    assert.match(out, /gateway +ready/);
    assert.match(out, /→ "kdev meeting"/);
    assert.match(out, /rebuilt, synced, restarted and served in \d+ ms: the gateway now shows "kdev meeting — edited at/);
  });
});

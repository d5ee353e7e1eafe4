// Ctrl-C on `kdev env create --wait`, at many points of a create: SIGINT after bounded,
// random delays (spread over a whole create, measured first), and once just after the
// workloads became Ready. Whatever the phase, either the create rolled back completely
// (it says so, exits non-zero, and the namespace is gone) or it was complete (it says the
// environment was created and how to delete it, and the environment is ready).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testCluster, testKubeconfig, uniqueName } from '../lib/cluster.js';
import { KDEV_MAIN, runKdev } from '../lib/cli.js';

interface Outcome {
  name: string;
  delayMs: number | string;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs create --wait and sends SIGINT after `delayMs`, or when stderr matches `when`. */
function interruptedCreate(name: string, env: Record<string, string>, at: { delayMs?: number; when?: RegExp }): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [KDEV_MAIN, 'env', 'create', name, '--template', 'hello', '--wait'], {
      env: { ...process.env, KUBECONFIG: testKubeconfig(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let sent = false;
    const interrupt = () => {
      if (sent || child.exitCode !== null) return;
      sent = true;
      child.kill('SIGINT');
    };
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (at.when?.test(stderr)) interrupt();
    });
    const timer = at.delayMs !== undefined ? setTimeout(interrupt, at.delayMs) : undefined;
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`create ${name} did not finish in 240 s\n${stderr}`));
    }, 240_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(guard);
      resolve({ name, delayMs: at.delayMs ?? String(at.when), code, signal, stdout, stderr });
    });
  });
}

async function namespaceState(name: string): Promise<'absent' | 'terminating' | string> {
  try {
    const ns = await testCluster().core.readNamespace({ name });
    if (ns.metadata?.deletionTimestamp) return 'terminating';
    return ns.metadata?.annotations?.['kdev.dev/state'] ?? 'unlabelled';
  } catch {
    return 'absent';
  }
}

describe('kdev env create --wait interrupted at any point', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdev-int-e2e-'));
  const env = { KDEV_ENV_DIR: dir, KDEV_OWNER: uniqueName('int') };
  const left: string[] = [];
  let fullMs = 0;

  before(async () => {
    const name = uniqueName('kdev-int-base');
    left.push(name);
    const started = Date.now();
    const r = await runKdev(['env', 'create', name, '--template', 'hello', '--wait'], env);
    fullMs = Date.now() - started;
    assert.equal(r.code, 0, r.stderr);
  });

  after(async () => {
    await Promise.all(left.map((n) => runKdev(['env', 'delete', n], env)));
    rmSync(dir, { recursive: true, force: true });
  });

  /** Checks one outcome against the rule; returns which way it went. */
  async function check(o: Outcome): Promise<'rolled back' | 'kept' | 'not started'> {
    const state = await namespaceState(o.name);
    const why = JSON.stringify({ ...o, state });
    if (o.signal === 'SIGINT') {
      // Killed by the default handler: before kdev installed its own (node still
      // starting: nothing was made), or after it printed everything and removed it.
      if (state === 'absent') return 'not started';
      left.push(o.name);
      assert.equal(state, 'ready', why);
      assert.match(o.stdout, new RegExp(`✓ environment ${o.name} ready`), why);
      return 'kept';
    }
    if (o.code === 0) {
      left.push(o.name);
      assert.equal(state, 'ready', why);
      assert.ok(existsSync(join(dir, `${o.name}.kubeconfig`)), why);
      if (o.stderr.includes('interrupted')) {
        assert.match(o.stderr, new RegExp(`interrupted after environment ${o.name} was complete: it was created and is kept; delete it with \`kdev env delete ${o.name}\``), why);
      }
      assert.doesNotMatch(o.stderr, /rolling back|rolled back/, why);
      return 'kept';
    }
    assert.notEqual(o.code, 0, why);
    assert.equal(state, 'absent', why);
    assert.match(o.stderr, /interrupted/, why);
    assert.match(o.stderr, /Nothing was left behind: the environment's namespace was deleted|Nothing was created/, why);
    assert.ok(!existsSync(join(dir, `${o.name}.kubeconfig`)), `no kubeconfig is written for a rolled-back create: ${why}`);
    return 'rolled back';
  }

  it('SIGINT at random points (bounded): rolled back completely, or kept and said so', async () => {
    const rounds = 8;
    const seen: string[] = [];
    for (let i = 0; i < rounds; i++) {
      // Spread over the whole create and a little past it, 300 ms at the earliest.
      const delayMs = Math.round(300 + Math.random() * fullMs * 1.1);
      const o = await interruptedCreate(uniqueName('kdev-int'), env, { delayMs });
      seen.push(`${delayMs} ms: ${await check(o)}`);
    }
    console.log(`create took ${fullMs} ms uninterrupted; SIGINT at ${seen.join('; ')}`);
    assert.ok(seen.some((s) => s.endsWith('rolled back')), `at least one interrupt landed during the create: ${seen.join('; ')}`);
  });

  it('SIGINT just after the workloads became Ready: one of the two outcomes, never "rolling back" and kept', async () => {
    const o = await interruptedCreate(uniqueName('kdev-int-ready'), env, { when: /workloads done/ });
    const outcome = await check(o);
    assert.notEqual(outcome, 'not started');
    assert.match(o.stderr, /interrupted/);
  });
});

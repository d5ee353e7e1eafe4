// The registry of running sessions (core/src/app/registry.ts): another process's sessions
// are listed and pushed; a second claim of the same sidecar is refused naming the holder;
// a dead holder's socket is cleared; forwards are stopped across processes.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isKdevError, listSessions, stopForwards, watchSessions, Registration, type ProcessRecord, type SessionRecord } from '@kdev/core/internals';

const DIR = mkdtempSync(join(tmpdir(), 'kdev-registry-'));
const SERVER = 'https://127.0.0.1:6443';

// A second process holding the sync of deployment/web and a forward on port 40123.
const CHILD = `
import { Registration } from '@kdev/core/internals';
let forwards = [{ localPort: 40123, remotePort: 80, address: '127.0.0.1', namespace: 'shop', workload: 'deployment/web', state: 'ready', connections: 0 }];
const reg = new Registration({
  ui: 'vscode',
  command: 'test holder',
  sessions: () => [{ namespace: 'shop', workload: 'deployment/web', server: '${SERVER}', forwards, sync: { state: 'idle', localRoot: '/src', mode: 'send-only', syncedFiles: 3 } }],
  stopForwards: async (p) => { const s = forwards.filter((f) => p === null || f.localPort === p).map((f) => f.localPort); forwards = forwards.filter((f) => !s.includes(f.localPort)); reg.changed(); return s; },
});
await reg.open();
await reg.claimSync('${SERVER}', 'shop', 'deployment/web');
process.stdout.write('ready\\n');
setInterval(() => undefined, 1000);
`;

function startChild(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], { env: { ...process.env, KDEV_STATE_DIR: DIR }, cwd: join(import.meta.dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve(child));
    child.on('exit', (code) => reject(new Error(`holder exited with ${code}`)));
  });
}

function source(sessions: SessionRecord[] = []) {
  return { ui: 'cli', command: 'kdev test', sessions: () => sessions, stopForwards: async () => [] };
}

describe('registry of running sessions', () => {
  let child: ChildProcess;
  before(async () => {
    process.env.KDEV_STATE_DIR = DIR;
    child = await startChild();
  });
  after(() => {
    child.kill('SIGKILL');
    delete process.env.KDEV_STATE_DIR;
    rmSync(DIR, { recursive: true, force: true });
  });

  it("lists another process's sessions: pid, UI, user, sync and forwards", async () => {
    const all = await listSessions();
    const holder = all.find((p) => p.pid === child.pid);
    assert.ok(holder, JSON.stringify(all));
    assert.equal(holder.ui, 'vscode');
    assert.equal(holder.command, 'test holder');
    assert.equal(typeof holder.user, 'string');
    assert.deepEqual(holder.sessions.map((s) => [s.workload, s.sync?.state, s.forwards.map((f) => f.localPort)]), [['deployment/web', 'idle', [40123]]]);
  });

  it('refuses a second attach to the same sidecar, naming who holds it; another workload is free', async () => {
    const mine = new Registration(source());
    try {
      await assert.rejects(mine.claimSync(SERVER, 'shop', 'deployment/web'), (err: unknown) => {
        assert.ok(isKdevError(err));
        assert.equal(err.code, 'CONFLICT');
        assert.match(err.message, new RegExp(`held by pid ${child.pid} \\(vscode, user \\S+: test holder\\)`));
        assert.ok(err.hint);
        return true;
      });
      const release = await mine.claimSync(SERVER, 'shop', 'deployment/api');
      await release();
      // The same name in another cluster is another sidecar.
      await (await mine.claimSync('https://other:6443', 'shop', 'deployment/web'))();
    } finally {
      await mine.close();
    }
  });

  it('pushes changes to watchers and stops a forward in the other process', async () => {
    const seen: ProcessRecord[][] = [];
    let wake: () => void = () => undefined;
    const watch = watchSessions((all) => {
      seen.push(all);
      wake();
    });
    try {
      const until = async (ok: (all: ProcessRecord[]) => boolean) => {
        while (!seen.some(ok)) await new Promise<void>((r) => (wake = r));
      };
      await until((all) => all.some((p) => p.pid === child.pid && p.sessions[0]!.forwards.length === 1));
      assert.deepEqual(await stopForwards(40123), [40123]);
      await until((all) => all.some((p) => p.pid === child.pid && p.sessions[0]!.forwards.length === 0));
      assert.deepEqual(await stopForwards(40123), [], 'nothing left to stop');
    } finally {
      watch.close();
    }
  });

  it("a dead holder's claim is cleared: the next attach gets the sidecar", async () => {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    const mine = new Registration(source());
    try {
      const release = await mine.claimSync(SERVER, 'shop', 'deployment/web');
      assert.deepEqual((await listSessions()).map((p) => p.pid), [process.pid], 'only this process is left');
      await release();
    } finally {
      await mine.close();
    }
  });

  it('close() ends a reader that connected and has not asked yet (it held the process open before)', async () => {
    const mine = new Registration(source());
    await mine.open();
    const path = readdirSync(DIR).map((n) => join(DIR, n)).find((p) => p.endsWith(`proc-${process.pid}.sock`));
    assert.ok(path, 'the process socket exists');
    const reader = createConnection(path!);
    await new Promise<void>((r) => reader.once('connect', () => r()));
    const ended = new Promise<void>((r) => reader.once('close', () => r()));
    const closed = mine.close().then(() => 'closed');
    const hung = new Promise<string>((r) => setTimeout(() => r('still open after 3 s'), 3000).unref());
    assert.equal(await Promise.race([closed, hung]), 'closed');
    await ended;
  });
});

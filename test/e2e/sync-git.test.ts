// Sync on the real cluster, judged by git: `kdev dev start` on a generated repository that
// exercises every .gitignore case (plus force-added files) converges to exactly what
// `git ls-files --cached --others --exclude-standard` lists, and follows index and
// .gitignore changes. Then the faults: an unreadable file, a path too long for the
// container and symlink loops are named in events while the rest syncs.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyAll, endDevMode, execCapture, startDevMode, syncSessionFor, watchUntil, type Cluster } from '@kdev/core/internals';
import type { V1Pod } from '@kubernetes/client-node';
import { nodeDeployment, tempNamespace, testKubeconfig } from '../lib/cluster.js';
import { chownTree, tempDir } from '../lib/sync.js';
import { LIST_FILES, forceAdd, gitListing, isolateGit, realRepoTree } from '../lib/gitignore-gen.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'cli', 'dist', 'main.js');
const NOBODY = 65534;

async function containerFiles(cluster: Cluster, pod: string, container: string, dir: string): Promise<string[]> {
  const r = await execCapture(cluster, pod, container, ['node', '-e', LIST_FILES, dir]);
  assert.equal(r.exitCode, 0, r.stderr);
  return JSON.parse(r.stdout) as string[];
}

/** Waits until the container's file list is exactly `want`; on timeout shows the difference. */
async function converges(cluster: Cluster, pod: string, container: string, dir: string, want: string[], timeoutMs = 90_000): Promise<void> {
  const sorted = [...want].sort();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const have = await containerFiles(cluster, pod, container, dir);
    if (JSON.stringify(have) === JSON.stringify(sorted)) return;
    if (Date.now() > deadline) {
      const extra = have.filter((p) => !sorted.includes(p));
      const missing = sorted.filter((p) => !have.includes(p));
      assert.fail(`the container's files differ from git's listing: extra ${JSON.stringify(extra)}, missing ${JSON.stringify(missing)}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function readyDevPod(cluster: Cluster, namespace: string): Promise<string> {
  return watchUntil<V1Pod, string>(cluster, {
    resource: { apiVersion: 'v1', plural: 'pods', namespace },
    labelSelector: 'kdev.dev/dev-of',
    timeoutMs: 120_000,
    what: 'the dev pod',
    onEvent: (t, p) => (t !== 'DELETED' && !p.metadata?.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? { done: true, value: p.metadata!.name! } : { done: false }),
  });
}

describe('kdev dev start on a repository: the container holds exactly what git lists', { timeout: 300_000 }, () => {
  let ns: Awaited<ReturnType<typeof tempNamespace>>;
  let child: ChildProcess | undefined;
  const xdg = tempDir('gitsync-xdg');

  before(async () => {
    isolateGit(xdg); // the CLI inherits it: no user or system git config on this machine leaks in
    ns = await tempNamespace('kdev-gitsync');
    await applyAll(ns.cluster, [nodeDeployment(ns.name, 'app')]);
  });
  after(async () => {
    child?.kill('SIGKILL');
    await ns?.remove();
  });

  it('converges to git ls-files, then follows `git add -f` and a .gitignore edit', async () => {
    const local = tempDir('gitsync-local');
    const tracked = realRepoTree(local, 8, 20_251_207);
    const want = gitListing(local);
    for (const p of ['node_modules/pkg/fixture.js', 'test/node_modules/dep/index.js', 'fixtures/node_modules/x/index.js', 'out/keep.txt', 'loop', 'tr', 'é.txt', 'keep.bak']) assert.ok(want.includes(p), `git lists ${p}`);
    for (const p of ['node_modules/pkg/other.js', 'build/keep.txt', 'fixtures/deep/node_modules/z.js', 'tr ', 'x.secret', 'y.bak']) assert.ok(!want.includes(p), `git ignores ${p}`);
    assert.ok(want.length > 40 && tracked.length > 10, `a tree of ${want.length} files, ${tracked.length} tracked`);
    let output = '';
    child = spawn(process.execPath, [CLI, 'dev', 'start', 'deployment/app', '-n', ns.name, '--image', 'kdev.local/dev-node:18', '--workdir', '/src', '--local', local, '--kubeconfig', testKubeconfig()], {
      env: { ...process.env, XDG_CONFIG_HOME: xdg },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const pod = await readyDevPod(ns.cluster, ns.name);
    await converges(ns.cluster, pod, 'app', '/src', want);

    // a file under an ignored folder syncs once it is force-added (the index is watched)
    mkdirSync(join(local, 'node_modules/late'), { recursive: true });
    writeFileSync(join(local, 'node_modules/late/fixture.js'), 'late');
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(!(await containerFiles(ns.cluster, pod, 'app', '/src')).includes('node_modules/late/fixture.js'), 'not synced while untracked');
    forceAdd(local, ['node_modules/late/fixture.js']);
    await converges(ns.cluster, pod, 'app', '/src', gitListing(local), 30_000);

    // a .gitignore edit re-includes build/: its files sync, and later edits in it too
    writeFileSync(join(local, '.gitignore'), '*.log\n');
    await converges(ns.cluster, pod, 'app', '/src', gitListing(local), 30_000);
    writeFileSync(join(local, 'build/x.txt'), 'edited after re-inclusion');
    const deadline = Date.now() + 20_000;
    for (;;) {
      const r = await execCapture(ns.cluster, pod, 'app', ['cat', '/src/build/x.txt']);
      if (r.stdout === 'edited after re-inclusion') break;
      assert.ok(Date.now() < deadline, `build/x.txt in the container: ${JSON.stringify(r.stdout)}`);
      await new Promise((r2) => setTimeout(r2, 300));
    }

    const exited = new Promise<number | null>((r) => child!.on('close', (code) => r(code)));
    child.kill('SIGINT');
    assert.equal(await exited, 0, output);
    execFileSync(process.execPath, [CLI, 'dev', 'end', 'deployment/app', '-n', ns.name, '--kubeconfig', testKubeconfig()], { env: { ...process.env, XDG_CONFIG_HOME: xdg }, stdio: 'pipe' });
  });
});


describe('sync faults on the local cluster: named in events, the rest syncs', { timeout: 240_000 }, () => {
  let ns: Awaited<ReturnType<typeof tempNamespace>>;
  const asRoot = process.getuid?.() === 0;

  before(async () => {
    ns = await tempNamespace('kdev-gitfault');
    await applyAll(ns.cluster, [nodeDeployment(ns.name, 'app')]);
  });
  after(async () => {
    if (asRoot) process.seteuid!(0);
    await ns?.remove();
  });

  it('an unreadable file, a path too long for the container and symlink loops', async () => {
    // a long workDir leaves 4095 - 1 - 205 bytes for a path in the dev container
    const workDir = '/src/' + 'w'.repeat(200);
    const session = await startDevMode(ns.cluster, { workload: 'deployment/app', image: 'kdev.local/dev-node:18', workDir });
    const local = tempDir('gitfault');
    writeFileSync(join(local, 'ok.txt'), 'ok');
    mkdirSync(join(local, 'dir'));
    writeFileSync(join(local, 'dir/also.txt'), 'also');
    writeFileSync(join(local, 'secret.txt'), 'secret');
    symlinkSync('loop', join(local, 'loop'));
    symlinkSync('l3', join(local, 'l2'));
    symlinkSync('l2', join(local, 'l3'));
    const longDir = Array.from({ length: 19 }, (_, i) => `${i}`.padEnd(200, 'd')).join('/');
    const longFile = `${longDir}/${'f'.repeat(140)}`;
    mkdirSync(join(local, longDir), { recursive: true });
    writeFileSync(join(local, longFile), 'long');
    if (asRoot) {
      chownTree(local);
      chmodSync(join(local, 'secret.txt'), 0);
      process.seteuid!(NOBODY); // root reads any file: read as nobody
    } else chmodSync(join(local, 'secret.txt'), 0);
    const sync = syncSessionFor(ns.cluster, session, { localRoot: local, sync: { mode: 'send-only', ignore: [], deleteLocal: false } });
    const events: string[] = [];
    sync.on('error', (e) => events.push(`${e.message} | ${e.hint ?? ''}`));
    try {
      await sync.start();
      await sync.whenWatching();
      const want = ['ok.txt', 'dir/also.txt', 'loop', 'l2', 'l3'];
      await converges(ns.cluster, session.pod, 'app', workDir, want, 30_000);
      const loop = await execCapture(ns.cluster, session.pod, 'app', ['readlink', `${workDir}/loop`]);
      assert.equal(loop.stdout.trim(), 'loop', 'the loop is the same link in the container');
      const named = (re: RegExp): string => events.find((e) => re.test(e)) ?? assert.fail(`no event like ${re}: ${JSON.stringify(events)}`);
      assert.match(named(/cannot be read: secret\.txt \(EACCES\)/), /chmod u\+r secret\.txt.*sync\.ignore/);
      assert.match(named(/too long for the container's file system/), new RegExp(`${longFile} \\(\\d+ bytes; the limit there is 3889\\).*Shorten`));
      assert.match(named(/symlink loop/), /l2 \(-> l3\)/);
      // fixed: it syncs with no restart, as does a new file
      chmodSync(join(local, 'secret.txt'), 0o644);
      writeFileSync(join(local, 'secret.txt'), 'readable now');
      writeFileSync(join(local, 'new.txt'), 'new');
      await converges(ns.cluster, session.pod, 'app', workDir, [...want, 'secret.txt', 'new.txt'], 30_000);
    } finally {
      if (asRoot) process.seteuid!(0);
      await sync.stop();
      await endDevMode(ns.cluster, { workload: 'deployment/app' });
    }
  });
});

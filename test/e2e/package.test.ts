// `npm run package` → kdev-<version>.tgz, installed offline into a temporary prefix: the
// installed `kdev` lists the workloads of a namespace on the local cluster, reports the
// versions, finds its templates and the sync sidecar (a real dev start), runs as
// `kubectl kdev`, and kubectl's completion completes it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { applyAll, raw, SIDECAR_CONFIGMAP, SIDECAR_CONTAINER } from '@kdev/core/internals';
import { nodeDeployment, tempNamespace, testKubeconfig } from '../lib/cluster.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const run = promisify(execFile);

describe('the kdev package, installed', () => {
  let prefix: string;
  let ns: Awaited<ReturnType<typeof tempNamespace>>;
  let env: NodeJS.ProcessEnv;
  const kdev = (...args: string[]) => run(join(prefix, 'bin', 'kdev'), args, { env, timeout: 240_000 });

  before(async () => {
    ns = await tempNamespace('kdev-package');
    await applyAll(ns.cluster, [nodeDeployment(ns.name, 'web', { code: "require('http').createServer((q, r) => r.end('ok')).listen(8080)", readyOnPort: 8080 })]);
    await run(process.execPath, [join(ROOT, 'scripts', 'package.mjs')], { cwd: ROOT, timeout: 300_000 });
    const version = (JSON.parse(readFileSync(join(ROOT, 'cli', 'package.json'), 'utf8')) as { version: string }).version;
    const tgz = join(ROOT, `kdev-${version}.tgz`);
    assert.ok(existsSync(tgz), tgz);
    prefix = mkdtempSync(join(tmpdir(), 'kdev-prefix-'));
    // offline: everything the package needs is in it; an empty cache proves no fetch is possible
    const cache = join(prefix, '.npm-cache');
    await run('npm', ['install', '-g', '--offline', '--no-audit', '--no-fund', '--cache', cache, '--prefix', prefix, tgz], { cwd: tmpdir(), timeout: 300_000 });
    // nothing of the workspace on the path: run from elsewhere, with the prefix's bin first
    env = { ...process.env, KUBECONFIG: testKubeconfig(), PATH: `${join(prefix, 'bin')}:${process.env.PATH}`, NODE_PATH: '' };
  });
  after(async () => {
    if (prefix) rmSync(prefix, { recursive: true, force: true });
    await ns?.remove();
  });

  it('installs the kdev, kubectl-kdev and kubectl_complete-kdev commands, one bundled file outside the workspace', () => {
    for (const bin of ['kdev', 'kubectl-kdev', 'kubectl_complete-kdev']) assert.ok(existsSync(join(prefix, 'bin', bin)), bin);
    const installed = join(prefix, 'lib', 'node_modules', 'kdev');
    assert.ok(existsSync(join(installed, 'dist', 'kdev.mjs')));
    assert.ok(existsSync(join(installed, 'node_modules', '@kdev', 'sync-sidecar', 'dist', 'server.bundle.cjs')));
    assert.ok(!existsSync(join(installed, 'node_modules', '@kdev', 'core')), 'core is bundled, not installed');
  });

  it('kdev version and kubectl kdev version report the client and the cluster', async () => {
    const own = await kdev('version');
    assert.match(own.stdout, /^kdev \d+\.\d+\.\d+\ncluster: v1\.\d+/);
    const plugin = await run('kubectl', ['kdev', 'version'], { env, timeout: 60_000 });
    assert.equal(plugin.stdout, own.stdout);
  });

  it('kubectl completes `kubectl kdev …` through kubectl_complete-kdev, with live names', async () => {
    assert.ok(existsSync(join(prefix, 'bin', 'kubectl_complete-kdev')));
    const sub = await run('kubectl', ['__complete', 'kdev', 'dev', 'st'], { env, timeout: 60_000 });
    assert.deepEqual(sub.stdout.trim().split('\n'), ['start', 'status', ':4']);
    const live = await run('kubectl', ['__complete', 'kdev', '-n', ns.name, 'dev', 'start', ''], { env, timeout: 60_000 });
    assert.deepEqual(live.stdout.trim().split('\n'), ['web', ':4']);
  });

  it("kdev ls lists the namespace's workloads", async () => {
    const { stdout } = await kdev('ls', '-n', ns.name);
    assert.match(stdout, /^deployment\s+web\s+[01]\/1 ready\s+kdev\.local\/node:18\s+-$/m);
  });

  it('finds its own templates', async () => {
    const { stdout } = await kdev('env', 'templates', '-o', 'json');
    const hello = (JSON.parse(stdout) as { name: string; dir: string }[]).find((t) => t.name === 'hello');
    assert.equal(hello?.dir, join(prefix, 'lib', 'node_modules', 'kdev', 'templates', 'hello'));
  });

  it('starts and ends dev mode with the sync sidecar it carries', async () => {
    const started = await kdev('dev', 'start', 'web', '-n', ns.name, '--no-sync', '--image', 'kdev.local/dev-node:18', '--timeout', '200');
    assert.match(started.stdout, /Dev container ready: pod\/web-/);
    const listed = await kdev('ls', '-n', ns.name, '-o', 'json');
    assert.ok((JSON.parse(listed.stdout) as { name: string; dev?: unknown }[]).some((w) => w.name === 'web' && w.dev), listed.stdout);
    // the sidecar's code came from the package: the bundle it carries, byte for byte
    const sent = await raw.get(ns.cluster, { apiVersion: 'v1', plural: 'configmaps', namespace: ns.name, name: SIDECAR_CONFIGMAP });
    const carried = readFileSync(join(prefix, 'lib', 'node_modules', 'kdev', 'node_modules', '@kdev', 'sync-sidecar', 'dist', 'server.bundle.cjs'), 'utf8');
    assert.ok((sent as { data?: Record<string, string> }).data?.['server.js'] === carried, 'the ConfigMap holds the packaged sidecar bundle');
    const deployment = await raw.get(ns.cluster, { apiVersion: 'apps/v1', plural: 'deployments', namespace: ns.name, name: 'web' });
    const containers = ((deployment.spec as { template: { spec: { containers: { name: string }[] } } }).template.spec.containers).map((c) => c.name);
    assert.ok(containers.includes(SIDECAR_CONTAINER), containers.join(', '));
    const ended = await kdev('dev', 'end', 'web', '-n', ns.name);
    assert.match(ended.stdout, /restored/);
  });
});

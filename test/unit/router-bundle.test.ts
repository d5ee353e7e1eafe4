// The bundle the pod runs (router/dist/router.bundle.cjs, one file, Node's standard library
// only): started as its own process it routes, exits 1 naming the field on an invalid table,
// and exits 0 on SIGTERM.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { get, httpUpstream } from '../lib/router.js';

const BUNDLE = createRequire(import.meta.url).resolve('@kdev/router/router.bundle.cjs');

describe('router: the bundle', { timeout: 60_000 }, () => {
  it('needs nothing but Node: no require of anything outside node:', () => {
    const requires = [...readFileSync(BUNDLE, 'utf8').matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]!);
    assert.ok(requires.length > 0);
    assert.deepEqual(requires.filter((r) => !r.startsWith('node:')), []);
  });

  it('routes as its own process and stops on SIGTERM', async () => {
    const [a, o] = await Promise.all([httpUpstream('alice'), httpUpstream('orig')]);
    const dir = mkdtempSync(join(tmpdir(), 'kdev-router-bundle-'));
    const table = join(dir, 'table.json');
    writeFileSync(table, JSON.stringify({ ports: [{ listen: 0, default: o.addr, routes: [{ header: 'x-kdev-route', value: 'alice', upstream: a.addr }] }] }));
    const child = spawn(process.execPath, [BUNDLE], { env: { ...process.env, KDEV_ROUTER_TABLE: table, KDEV_ROUTER_HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      const deadline = Date.now() + 10_000;
      while (!/routing on (\d+)/.test(out)) {
        assert.ok(Date.now() < deadline, `router did not start: ${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const port = Number(/routing on (\d+)/.exec(out)![1]);
      assert.equal(JSON.parse((await get(port, { 'x-kdev-route': 'alice' })).body).name, 'alice');
      assert.equal(JSON.parse((await get(port)).body).name, 'orig');
      child.kill('SIGTERM');
      const [code] = await once(child, 'exit');
      assert.equal(code, 0);
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      await Promise.all([a.close(), o.close()]);
    }
  });

  it('exits 1 with the field named when the table is invalid', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdev-router-bundle-'));
    const table = join(dir, 'table.json');
    writeFileSync(table, JSON.stringify({ ports: [{ listen: 0, default: 'no-port' }] }));
    const child = spawn(process.execPath, [BUNDLE, table], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const [code] = await once(child, 'exit');
    rmSync(dir, { recursive: true, force: true });
    assert.equal(code, 1);
    assert.match(out, /cannot start: routing table: ports\[0\]\.default\[0\]: "no-port" is not host:port/);
  });
});

// The meeting template's delivered code: each service's bundle, built by `npm run build`
// (never committed), is exactly what its TypeScript source builds to, fits a ConfigMap, and
// parses on Node; every service of template.yaml has one; git ignores them.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { build, CONFIGMAP_LIMIT, services, TEMPLATES_DIR } from '@kdev/templates/bundle.js';
import { parse } from 'yaml';

describe('meeting bundles', () => {
  const bundles = services().filter((b) => b.template === 'meeting');

  it('there is one per service', () => {
    assert.deepEqual(bundles.map((b) => b.service), ['gateway', 'media', 'quality-indexer', 'quality-ingest', 'quality-query', 'rooms', 'scheduler', 'signalling', 'users']);
  });

  for (const b of bundles) {
    it(`${b.service}: built bundle matches its source, < 900 KiB, parses`, async () => {
      assert.ok(existsSync(b.out), `${b.out} is missing: run npm run build`);
      const fresh = await build(b);
      assert.equal(readFileSync(b.out, 'utf8'), fresh, `${b.out} is stale: run npm run build`);
      assert.ok(Buffer.byteLength(fresh) < CONFIGMAP_LIMIT);
      execFileSync(process.execPath, ['--check', b.out]);
      assert.doesNotMatch(fresh, /from ["'](?!node:)[^."'][^"']*["']/, 'imports only node built-ins');
    });
  }

  it('the bundles are generated files: git ignores them', () => {
    const ignored = execFileSync('git', ['check-ignore', '--no-index', ...bundles.map((b) => b.out)], { cwd: TEMPLATES_DIR, encoding: 'utf8' });
    assert.deepEqual(ignored.trim().split('\n'), bundles.map((b) => b.out));
  });

  it('template.yaml delivers each bundle to its workload, with a dev config', () => {
    const t = parse(readFileSync(join(TEMPLATES_DIR, 'meeting', 'template.yaml'), 'utf8')) as { workloads: Array<{ name: string; source?: string; dev?: { run?: string } }> };
    for (const b of bundles) {
      const w = t.workloads.find((x) => x.source === `services/${b.service}`);
      assert.ok(w, `no workload delivers services/${b.service}`);
      assert.match(w.dev?.run ?? '', /node main\.mjs/);
    }
  });
});

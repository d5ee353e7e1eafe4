// scripts/preflight.mjs (run before every build): when node_modules is stale against
// package-lock.json, so that `npm ci` runs on a fresh clone and after a lock change.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

type Entry = { version?: string; optional?: boolean; link?: boolean; resolved?: string };
type Lock = { packages: Record<string, Entry> };
type Staleness = (lock: Lock, installed: Lock | undefined, exists?: (path: string) => boolean) => string | undefined;

const { staleness } = (await import(pathToFileURL(join(ROOT, 'scripts', 'preflight.mjs')).href)) as { staleness: Staleness };

const LOCK: Lock = {
  packages: {
    '': { version: '0.0.0' },
    core: { version: '0.1.0' },
    'node_modules/@kdev/core': { resolved: 'core', link: true },
    'node_modules/yaml': { version: '2.8.1' },
    'node_modules/@esbuild/darwin-arm64': { version: '0.28.2', optional: true },
  },
};
const INSTALLED: Lock = { packages: { 'node_modules/@kdev/core': { resolved: 'core', link: true }, 'node_modules/yaml': { version: '2.8.1' } } };

describe('preflight: is node_modules stale?', () => {
  it('no record of an install: stale', () => {
    assert.match(staleness(LOCK, undefined) ?? '', /missing/);
  });

  it('every package at its locked version, optional ones of other platforms absent: fresh', () => {
    assert.equal(staleness(LOCK, INSTALLED), undefined);
  });

  it('a package at another version: stale, naming it', () => {
    const installed = { packages: { ...INSTALLED.packages, 'node_modules/yaml': { version: '2.7.0' } } };
    assert.equal(staleness(LOCK, installed), 'node_modules/yaml is 2.7.0, package-lock.json wants 2.8.1');
  });

  it('a package the lock has and the install lacks: stale', () => {
    const lock = { packages: { ...LOCK.packages, 'node_modules/zod': { version: '4.1.12' } } };
    assert.equal(staleness(lock, INSTALLED), 'node_modules/zod is not installed');
  });

  it('a workspace link that points elsewhere, or a package folder deleted by hand: stale', () => {
    const relinked = { packages: { ...INSTALLED.packages, 'node_modules/@kdev/core': { resolved: 'old-core', link: true } } };
    assert.match(staleness(LOCK, relinked) ?? '', /not linked to core/);
    assert.match(staleness(LOCK, INSTALLED, (p) => p !== 'node_modules/yaml') ?? '', /yaml is recorded as installed but is not on disk/);
  });

  it("this workspace's own node_modules (installed by npm ci) is fresh", () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as Lock;
    const installed = JSON.parse(readFileSync(join(ROOT, 'node_modules', '.package-lock.json'), 'utf8')) as Lock;
    assert.equal(staleness(lock, installed, (p) => existsSync(join(ROOT, p))), undefined);
  });
});

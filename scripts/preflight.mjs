/* global process */
// Runs before every `npm run build` (so before `npm run demo` and `npm test`): when the
// workspace's node_modules is missing or does not match package-lock.json, it runs
// `npm ci` first, so that a fresh `git clone` needs no other command. Dependency-free:
// it runs before anything is installed.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Why node_modules must be (re)installed, or undefined when it matches the lock.
 * `lock` is package-lock.json; `installed` is npm's record of what it installed
 * (node_modules/.package-lock.json), undefined when absent; `exists(path)` tells whether
 * a package folder is on disk. Every package of the lock must be installed at its version
 * (or linked to the same workspace folder), except optional ones npm skips on this platform.
 */
export function staleness(lock, installed, exists = () => true) {
  if (!installed) return 'node_modules is missing (or was not installed by npm)';
  for (const [path, want] of Object.entries(lock.packages ?? {})) {
    if (!path.includes('node_modules/')) continue; // the root and the workspace folders
    const have = installed.packages?.[path];
    if (!have) {
      if (want.optional) continue;
      return `${path} is not installed`;
    }
    if (want.link) {
      if (!have.link || have.resolved !== want.resolved) return `${path} is not linked to ${want.resolved}`;
    } else if (have.version !== want.version) return `${path} is ${have.version ?? 'unknown'}, package-lock.json wants ${want.version}`;
    if (!exists(path)) return `${path} is recorded as installed but is not on disk`;
  }
  return undefined;
}

function readJson(path) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

function main() {
  const lock = readJson(join(ROOT, 'package-lock.json'));
  if (!lock) throw new Error('package-lock.json is missing or unreadable');
  const reason = staleness(lock, readJson(join(ROOT, 'node_modules', '.package-lock.json')), (path) => existsSync(join(ROOT, path)));
  if (!reason) return 0;
  process.stderr.write(`installing the workspace's dependencies (${reason}): npm ci\n`);
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) process.stderr.write('✗ npm ci failed: see its output above\n');
  return r.status ?? 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exit(main());

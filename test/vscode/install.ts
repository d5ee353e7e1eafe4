// What the real-VS-Code tests need, installed on first use and cached under ~/.cache/kdev:
// Debian's chromium (the browser playwright drives), and code-server (VS Code 1.100.3 as a
// server, the last line that runs on Node 20) from npm. See ../shared/notes/vscode-testing.md.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const CODE_SERVER_VERSION = '4.100.3';
export const CHROMIUM = '/usr/bin/chromium';

/** Debian packages: the browser, and what code-server's native modules need to build. */
const DEBIAN_PACKAGES = ['chromium', 'libkrb5-dev', 'ripgrep', 'build-essential', 'python3'];

// @vscode/ripgrep 1.15.11 (in code-server 4.100.3) downloads rg from GitHub in postinstall
// unless this archive is already in its cache folder under $TMPDIR.
const RIPGREP_CACHE = 'vscode-ripgrep-cache-1.15.11';
const RIPGREP_ARCHIVE = 'ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz';

export function cacheDir(): string {
  return process.env.KDEV_CACHE_DIR ?? join(homedir(), '.cache', 'kdev');
}

export function codeServerDir(): string {
  return join(cacheDir(), 'code-server', CODE_SERVER_VERSION);
}

/** The script to run with node: code-server's own entry point. */
export function codeServerEntry(): string {
  return join(codeServerDir(), 'node_modules', 'code-server', 'out', 'node', 'entry.js');
}

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; log: (line: string) => void }): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (d: Buffer) => {
      tail = (tail + d.toString()).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else {
        opts.log(tail);
        reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}`));
      }
    });
  });
}

function installed(pkg: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('dpkg-query', ['-W', '-f=${Status}', pkg], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', () => resolve(false));
    child.on('close', () => resolve(out.includes('install ok installed')));
  });
}

async function ensureDebianPackages(log: (line: string) => void): Promise<void> {
  const missing: string[] = [];
  for (const p of DEBIAN_PACKAGES) if (!(await installed(p))) missing.push(p);
  if (missing.length === 0) return;
  log(`installing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['update', '-q'], { env, log });
  await run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], { env, log });
}

async function installCodeServer(log: (line: string) => void): Promise<void> {
  const final = codeServerDir();
  const staging = `${final}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  const tmp = join(staging, 'tmp');
  mkdirSync(join(tmp, RIPGREP_CACHE), { recursive: true });
  await run('tar', ['-czf', join(tmp, RIPGREP_CACHE, RIPGREP_ARCHIVE), '-C', '/usr/bin', 'rg'], { log });
  writeFileSync(join(staging, 'package.json'), JSON.stringify({ name: 'kdev-code-server', private: true }, null, 2));
  log(`installing code-server@${CODE_SERVER_VERSION} from npm into ${final} (about a minute, once)`);
  const env = {
    ...process.env,
    TMPDIR: tmp,
    npm_config_unsafe_perm: 'true',
    npm_config_yes: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  };
  await run('npm', ['install', '--no-save', '--no-package-lock', `code-server@${CODE_SERVER_VERSION}`], { cwd: staging, env, log });
  if (!existsSync(join(staging, 'node_modules', 'code-server', 'out', 'node', 'entry.js'))) {
    throw new Error('code-server installed without its entry point');
  }
  rmSync(tmp, { recursive: true, force: true });
  rmSync(final, { recursive: true, force: true });
  mkdirSync(join(final, '..'), { recursive: true });
  renameSync(staging, final);
}

/** Installs whatever is missing; returns at once when everything is there. */
export async function ensureTools(log: (line: string) => void): Promise<void> {
  await ensureDebianPackages(log);
  if (!existsSync(codeServerEntry())) await installCodeServer(log);
}

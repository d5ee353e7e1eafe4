// What git knows about a sync folder: whether it is in a work tree, where that tree's top
// and git files are, and which files the index tracks. Asked of git itself (one rev-parse,
// one config and one ls-files), so worktrees, submodules' .git files and GIT_DIR behave as
// they do for git.
import { execFile } from 'node:child_process';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export interface GitFacts {
  /** The work tree's top folder. */
  top: string;
  /** The sync folder relative to the top, POSIX, '' when they are the same. */
  prefix: string;
  /** The index file (watched: `git add`, a checkout). */
  index: string;
  infoExclude: string;
  /** core.excludesFile, or its default ($XDG_CONFIG_HOME/git/ignore). */
  excludesFile: string;
  /** Tracked paths relative to the sync folder (files, symlinks and submodules). */
  tracked: Set<string>;
}

/** Why git could not answer (not installed, not a work tree, an unsafe repository...). */
export interface GitUnavailable {
  reason: 'no-git' | 'not-a-work-tree' | 'failed';
  message?: string;
}

function run(cwd: string, args: string[], maxBuffer = 1 << 30): Promise<{ code: number | 'ENOENT'; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile('git', args, { cwd, maxBuffer, encoding: 'utf8', env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' } }, (err, stdout, stderr) => {
      const code = err ? ((err as NodeJS.ErrnoException).code === 'ENOENT' ? 'ENOENT' : typeof err.code === 'number' ? err.code : 1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

/** Tracked paths under `root` (relative to it), from `git ls-files -z --cached`. */
export async function gitTracked(root: string): Promise<Set<string> | undefined> {
  const r = await run(root, ['-c', 'core.quotePath=false', 'ls-files', '-z', '--cached']);
  if (r.code !== 0) return undefined;
  return new Set(r.stdout.split('\0').filter((p) => p !== ''));
}

export async function gitFacts(root: string): Promise<GitFacts | GitUnavailable> {
  const [rev, cfg, tracked] = await Promise.all([
    run(root, ['rev-parse', '--is-inside-work-tree', '--show-toplevel', '--show-prefix', '--git-path', 'index', '--git-path', 'info/exclude']),
    run(root, ['config', '--path', 'core.excludesFile']),
    gitTracked(root),
  ]);
  if (rev.code === 'ENOENT') return { reason: 'no-git' };
  const lines = rev.stdout.split('\n');
  if (rev.code !== 0) {
    return /not a git repository/i.test(rev.stderr) ? { reason: 'not-a-work-tree' } : { reason: 'failed', message: rev.stderr.trim().split('\n')[0] };
  }
  if (lines[0] !== 'true') return { reason: 'not-a-work-tree' };
  if (!tracked) return { reason: 'failed', message: 'git ls-files failed' };
  const xdg = process.env.XDG_CONFIG_HOME || join(homedir(), '.config');
  const configured = cfg.code === 0 ? cfg.stdout.trim() : '';
  return {
    top: lines[1]!,
    prefix: lines[2]!.replace(/\/$/, ''),
    index: resolve(root, lines[3]!),
    infoExclude: resolve(root, lines[4]!),
    excludesFile: configured ? resolve(root, configured) : join(xdg, 'git', 'ignore'),
    tracked,
  };
}

// `npm run bench:ignore`: what git's rule costs in the first scan of a 10,000-file repository
// (bench/results/ignore.json). Per round: kdev's scan with the git rule (git rev-parse, config
// and ls-files plus the walk and the matcher), kdev's scan of the same tree as a plain folder
// (.gitignore layers only, no git), and git's own `ls-files --cached --others
// --exclude-standard` as a reference. No cluster. The machine's load and idle CPU are kept.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { HashCache } from '@kdev/sync-sidecar';
import { IgnoreRules, scanTree } from '@kdev/core/internals';
import { forceAdd, isolateGit } from '@kdev/test/lib/gitignore-gen.js';
import { tempDir } from '@kdev/test/lib/sync.js';
import { percentile, writeResult } from './lib/stats.js';

const ROUNDS = Number(process.env.ROUNDS ?? 7);

function cpuIdle(): { idle: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return { idle: f[3]! + f[4]!, total: f.reduce((a, b) => a + b, 0) };
}

/** 100 folders of 100 files, .gitignore files at three levels, 500 ignored files, 50 force-added. */
function buildTree(root: string): number {
  execFileSync('git', ['init', '-q'], { cwd: root });
  writeFileSync(join(root, '.gitignore'), 'node_modules/\n*.log\ndist/\nbuild/\n.env\n*.tmp\ncoverage/\n**/gen/\n!keep.log\n/out\n');
  const force: string[] = [];
  for (let d = 0; d < 100; d++) {
    mkdirSync(join(root, `pkg${d}/src/gen`), { recursive: true });
    if (d % 10 === 0) writeFileSync(join(root, `pkg${d}/.gitignore`), '*.snap\n!important.snap\n');
    for (let f = 0; f < 95; f++) writeFileSync(join(root, `pkg${d}/src/f${f}.${f % 3 ? 'js' : 'ts'}`), `export const v${f} = ${f};\n`);
    for (let f = 0; f < 5; f++) writeFileSync(join(root, `pkg${d}/src/gen/g${f}.log`), 'ignored');
    if (d < 50) force.push(`pkg${d}/src/gen/g0.log`);
  }
  execFileSync('git', ['add', '-A'], { cwd: root });
  forceAdd(root, force);
  return 100 * 100;
}

async function kdevScan(root: string, git: boolean): Promise<{ ms: number; files: number }> {
  const t = performance.now();
  const rules = new IgnoreRules(root);
  if (git) await rules.reload();
  const entries = await scanTree(root, rules, new HashCache(), '', { hash: false });
  return { ms: performance.now() - t, files: [...entries.values()].filter((e) => e.t !== 'd').length };
}

async function main(): Promise<void> {
  isolateGit(tempDir('bench-ignore-xdg'));
  const root = tempDir('bench-ignore');
  const files = buildTree(root);
  const rounds: Array<{ kdev_git_ms: number; kdev_plain_ms: number; git_ls_files_ms: number; synced: number; git_listed: number; loadavg_1m: number }> = [];
  const cpu0 = cpuIdle();
  for (let i = 0; i < ROUNDS; i++) {
    const withGit = await kdevScan(root, true);
    const plain = await kdevScan(root, false);
    const t = performance.now();
    const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 28 }).split('\0').filter(Boolean).length;
    const gitMs = performance.now() - t;
    rounds.push({ kdev_git_ms: Math.round(withGit.ms), kdev_plain_ms: Math.round(plain.ms), git_ls_files_ms: Math.round(gitMs), synced: withGit.files, git_listed: listed, loadavg_1m: loadavg()[0]! });
    console.log(`round ${i + 1}: kdev (git rule) ${withGit.ms.toFixed(0)} ms, kdev (plain folder) ${plain.ms.toFixed(0)} ms, git ls-files ${gitMs.toFixed(0)} ms; ${withGit.files} synced, git lists ${listed}`);
  }
  const cpu1 = cpuIdle();
  const med = (k: 'kdev_git_ms' | 'kdev_plain_ms' | 'git_ls_files_ms'): number => percentile(rounds.map((r) => r[k]), 50);
  const path = writeResult('ignore', {
    files,
    rounds,
    median: { kdev_git_ms: med('kdev_git_ms'), kdev_plain_ms: med('kdev_plain_ms'), git_ls_files_ms: med('git_ls_files_ms') },
    machine: { cpus: (await import('node:os')).cpus().length, idle_cpu_pct: Math.round((100 * (cpu1.idle - cpu0.idle)) / (cpu1.total - cpu0.total)), loadavg_1m_end: loadavg()[0] },
    note: 'kdev_git_ms: new IgnoreRules + reload() (git rev-parse, git config, git ls-files --cached) + scanTree without hashing (the handshake scan); kdev_plain_ms: the same tree scanned with .gitignore layers only; git_ls_files_ms: git ls-files --cached --others --exclude-standard on the same tree (git walks it too). synced must equal git_listed.',
  });
  console.log(`medians: kdev (git rule) ${med('kdev_git_ms')} ms, plain ${med('kdev_plain_ms')} ms, git ls-files ${med('git_ls_files_ms')} ms → ${path}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});

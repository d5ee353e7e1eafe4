// Runs the bash completion of `kdev completion bash` for real: sources the script, sets
// COMP_LINE/COMP_WORDS/COMP_CWORD as bash does for a line typed up to its end, calls the
// completion function and returns COMPREPLY. `bin` is a folder with a `kdev` on it.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KDEV_MAIN } from './cli.js';

/** A temporary folder with a `kdev` that runs the built CLI, as an installed one would. */
export function kdevBinDir(): string {
  const bin = mkdtempSync(join(tmpdir(), 'kdev-bin-'));
  writeFileSync(join(bin, 'kdev'), `#!/bin/sh\nexec "${process.execPath}" "${KDEV_MAIN}" "$@"\n`);
  chmodSync(join(bin, 'kdev'), 0o755);
  return bin;
}

export function bashComplete(line: string, bin: string, env: Record<string, string>): string[] {
  const runEnv = { ...process.env, ...env, PATH: `${bin}:${process.env.PATH}` };
  const script = execFileSync('kdev', ['completion', 'bash'], { env: runEnv }).toString();
  // COMP_WORDS split the way bash does: at spaces, with = and : as words of their own
  const words = line.split(/\s+/).flatMap((w) => w.split(/([=:])/).filter((p) => p !== ''));
  if (/\s$/.test(line)) words.push('');
  const program = `${script}
COMP_LINE=${JSON.stringify(line)}; COMP_POINT=\${#COMP_LINE}
COMP_WORDS=(${words.map((w) => JSON.stringify(w)).join(' ')}); COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 ))
_kdev_complete
printf '%s\\n' "\${COMPREPLY[@]}"`;
  return execFileSync('bash', ['-c', program], { env: runEnv })
    .toString()
    .split('\n')
    .filter((l) => l.length > 0);
}

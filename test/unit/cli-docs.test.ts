// docs/cli.md is generated from the command definitions (npm run docs:cli); it cannot drift.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const GENERATOR = join(ROOT, 'cli', 'dist', 'docs', 'generate.js');

describe('docs/cli.md', () => {
  const printed = execFileSync(process.execPath, [GENERATOR, '--stdout']).toString();

  it('is what `npm run docs:cli` prints from the command definitions', () => {
    const committed = readFileSync(join(ROOT, 'docs', 'cli.md'), 'utf8');
    assert.ok(committed === printed, 'docs/cli.md differs from the command definitions: run `npm run docs:cli` and commit docs/cli.md');
  });

  it('has every command of `kdev --help`, with its options and their defaults, and the exit codes', () => {
    const help = execFileSync(process.execPath, [join(ROOT, 'cli', 'dist', 'main.js'), '--help']).toString();
    const commands = [...help.split('Commands:')[1]!.matchAll(/^ {2}([a-z][\w-]*)/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
    assert.ok(commands.length >= 10, help);
    for (const c of commands) assert.match(printed, new RegExp(`^### \`kdev ${c}[ \`]`, 'm'), c);
    assert.match(printed, /\| `--timeout <seconds>` \| how long to wait for the dev pod \| "180" \|/);
    assert.match(printed, /\| `--mode <mode>` \| .*\(one of: replace, duplicate\) \| "replace" \|/);
    for (const code of ['0', '1', '2', '130']) assert.match(printed, new RegExp(`^\\| ${code} \\| `, 'm'));
    assert.doesNotMatch(printed, /^### `kdev __complete/m, "the hidden command has no section");
  });
});

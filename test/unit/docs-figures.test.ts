// Each figure in the results tables of bench/README.md and README.md equals the value in its
// JSON file under bench/results, so a quoted figure cannot drift from the last run.
// A row reads: | figure | value | target | `file.json` `key.path` |  (the file may be a link).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export interface Quoted {
  figure: string;
  value: string;
  file: string;
  key: string;
}

/** The rows of a markdown text whose last cell names a results file and a key in it. */
export function quotedFigures(text: string): Quoted[] {
  const rows: Quoted[] = [];
  for (const line of text.split('\n')) {
    const m = /^\| (.+?) \| ([^|]+?) \| [^|]*\| \[?`([\w-]+\.json)`\]?(?:\([^)]*\))? `([^`]+)` \|$/.exec(line);
    if (m) rows.push({ figure: m[1]!, value: m[2]!.trim(), file: m[3]!, key: m[4]! });
  }
  return rows;
}

/** The value at a dotted path ("limited.hosts.10000.1.placements_per_s"). */
export function valueAt(data: unknown, key: string): unknown {
  return key.split('.').reduce<unknown>((v, part) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined), data);
}

function check(doc: string, minimum: number): void {
  const rows = quotedFigures(readFileSync(join(ROOT, doc), 'utf8'));
  assert.ok(rows.length >= minimum, `${doc}: ${rows.length} figures found, expected at least ${minimum}`);
  const wrong: string[] = [];
  for (const row of rows) {
    const data = JSON.parse(readFileSync(join(ROOT, 'bench', 'results', row.file), 'utf8')) as unknown;
    const actual = valueAt(data, row.key);
    if (typeof actual !== 'number' || Number(row.value) !== actual) wrong.push(`${doc}: "${row.figure}" says ${row.value}, ${row.file} ${row.key} is ${JSON.stringify(actual)}`);
  }
  assert.deepEqual(wrong, []);
}

describe('figures quoted in the docs', () => {
  it('reads rows and dotted keys', () => {
    const text = '| a (ms) | 994 | ≤ 5000 | `devstart.json` `p50_ms` |\n| b | 0.68 | ≥ 1 (**over**) | [`sync.json`](bench/results/sync.json) `firstsync.ratio` |\n| c | 1 | | no source |';
    assert.deepEqual(quotedFigures(text), [
      { figure: 'a (ms)', value: '994', file: 'devstart.json', key: 'p50_ms' },
      { figure: 'b', value: '0.68', file: 'sync.json', key: 'firstsync.ratio' },
    ]);
    assert.equal(valueAt({ hosts: { '10000': { '1': { x: 5 } } } }, 'hosts.10000.1.x'), 5);
    assert.equal(valueAt({ a: 1 }, 'a.b'), undefined);
  });

  it('bench/README.md quotes its JSON files exactly', () => check(join('bench', 'README.md'), 30));

  it('README.md quotes its JSON files exactly', () => check('README.md', 8));
});

// The `.kdev.yaml` reference in README.md is generated from the zod schema
// (`npm run docs:config`); this fails when the committed text differs from the generator's.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIG_BEGIN, CONFIG_END, configReference, typeText, withConfigReference } from '../lib/docs-config.js';

const README = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'README.md');

describe('the .kdev.yaml reference', () => {
  it('in README.md is what `npm run docs:config` generates', () => {
    const text = readFileSync(README, 'utf8');
    assert.ok(text.includes(CONFIG_BEGIN) && text.includes(CONFIG_END), 'README.md has the marked section');
    assert.equal(text, withConfigReference(text), 'README.md is out of date: run `npm run docs:config`');
  });

  it('has a row with a description for every key of the schema', () => {
    const rows = configReference().split('\n').slice(2);
    for (const key of ['version', 'dev', 'dev.<workload>.sync.mode', 'dev.<workload>.debug.type', 'dev.<workload>.resources.limits.memory']) {
      assert.ok(rows.some((r) => r.startsWith(`| \`${key}\` |`)), key);
    }
    for (const row of rows) assert.doesNotMatch(row, /\| {1,2}\|$/, `no description: ${row}`);
  });

  it('writes types in words', () => {
    assert.equal(typeText({ type: 'string', enum: ['a', 'b'] }), '`a` \\| `b`');
    assert.equal(typeText({ type: 'array', items: { type: 'integer', minimum: 1, maximum: 9 } }), 'list of integer 1–9');
    assert.equal(typeText({ type: 'object', additionalProperties: { type: 'string' } }), 'map of string to string');
  });

  it('refuses a README without the markers', () => {
    assert.throws(() => withConfigReference('# no markers'), /markers are missing/);
  });
});

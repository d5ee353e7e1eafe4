// README.md is for users: short, the sections a newcomer looks for, no lab notebook
// (no first person, no history of earlier versions, no word about who measured what).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const README = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'README.md'), 'utf8');
const prose = README.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '').replace(/`[^`\n]*`/g, '');

describe('README.md', () => {
  it('stays at most about 400 lines', () => {
    const lines = README.split('\n').length;
    assert.ok(lines <= 400, `${lines} lines`);
  });

  it('has the sections a user looks for', () => {
    const headings = [...README.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
    for (const h of ['On a fresh clone: two commands', 'Installing `kdev`', 'A five-minute tour', 'Configuration (`.kdev.yaml`)', 'In the terminal and in VS Code', 'Figures', 'How it works']) {
      assert.ok(headings.includes(h), `missing section "${h}" (has: ${headings.join(' | ')})`);
    }
    assert.match(README, /\(docs\/cli\.md\)/, 'links the CLI reference');
    assert.match(README, /\(bench\/README\.md\)/, 'links the benchmarks');
  });

  it('speaks to the user: no first person, no history, no who measured', () => {
    for (const re of [/\b(we|our|us)\b/i, /\bI\b/, /\bmeasured (here|by)\b/i, /\b(earlier|previous|older) versions?\b/i, /\b(used to|no longer|now faster|was \d)/i]) {
      const hit = re.exec(prose);
      assert.equal(hit, null, `README prose matches ${re}: "${hit ? prose.slice(Math.max(0, hit.index - 40), hit.index + 40) : ''}"`);
    }
  });
});

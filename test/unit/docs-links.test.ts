// Every relative link and image in README.md, bench/README.md and docs/*.md points at a file
// that exists, and a #fragment at a heading of its target (GitHub's anchor rule).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The markdown text outside fenced code blocks and inline code. */
export function proseOf(text: string): string {
  return text
    .replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '')
    .replace(/`[^`\n]*`/g, '');
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/`/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a markdown file, with GitHub's -1, -2 … for repeated headings. */
export function anchorsOf(text: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  const withoutFences = text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  for (const m of withoutFences.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    anchors.add(n === 0 ? base : `${base}-${n}`);
    seen.set(base, n + 1);
  }
  return anchors;
}

/** The link targets of a markdown text: [text](target) and ![alt](target), outside code. */
export function linksOf(text: string): string[] {
  return [...proseOf(text).matchAll(/!?\[(?:[^\]`]|`[^`]*`)*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
}

function checkedFiles(): string[] {
  const docs = readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join('docs', f));
  return ['README.md', join('bench', 'README.md'), ...docs];
}

function problemsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const problems: string[] = [];
  for (const link of linksOf(text)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue; // https:, mailto: …
    const [path, fragment] = link.split('#', 2) as [string, string | undefined];
    const target = path === '' ? join(ROOT, file) : resolve(ROOT, dirname(file), decodeURI(path));
    const shown = relative(ROOT, target);
    if (!target.startsWith(ROOT)) {
      problems.push(`${file}: ${link} leaves the repository`);
      continue;
    }
    if (!existsSync(target)) {
      problems.push(`${file}: ${link} → ${shown} does not exist`);
      continue;
    }
    if (fragment && target.endsWith('.md') && statSync(target).isFile() && !anchorsOf(readFileSync(target, 'utf8')).has(fragment)) {
      problems.push(`${file}: ${link} → no heading #${fragment} in ${shown}`);
    }
  }
  return problems;
}

describe('relative links of the docs', () => {
  it('makes anchors as GitHub does', () => {
    assert.equal(slug('Configuration (`.kdev.yaml`)'), 'configuration-kdevyaml');
    assert.equal(slug('`npm run bench:sync` → `sync.json`'), 'npm-run-benchsync--syncjson');
    assert.equal(slug('The [meeting](x.md) template'), 'the-meeting-template');
    assert.deepEqual([...anchorsOf('# A\n## Tests\n```\n# not a heading\n```\n## Tests\n')], ['a', 'tests', 'tests-1']);
  });

  it('finds links and images outside code only', () => {
    const text = '[a](x.md) ![b](img.png "t") `[c](no.md)`\n```\n[d](no.md)\n```\n[`e`](y.md#h) [f](https://example.com)';
    assert.deepEqual(linksOf(text), ['x.md', 'img.png', 'y.md#h', 'https://example.com']);
  });

  it('README.md, bench/README.md and docs/*.md link only to files and headings that exist', () => {
    const files = checkedFiles();
    assert.ok(files.length >= 10, `docs found: ${files.join(', ')}`);
    const problems = files.flatMap(problemsOf);
    assert.deepEqual(problems, []);
  });
});

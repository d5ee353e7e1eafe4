// The renderer of docs/terminal-devstart.svg (npm run docs:terminal): SGR parsing and the SVG.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applySgr, color256, parseLine, plainText, screenToSvg } from '../lib/terminal-svg.js';

describe('terminal screen → SVG', () => {
  it('splits a line into runs by SGR and keeps the style across runs', () => {
    const { runs, style } = parseLine('\x1b[32m  ✓ \x1b[1m\x1b[39mready\x1b[0;2m  pod/web\x1b[0m');
    assert.deepEqual(runs.map((r) => r.text), ['  ✓ ', 'ready', '  pod/web']);
    assert.equal(runs[0]!.style.fg, '#23d18b');
    assert.deepEqual(runs[1]!.style, { bold: true });
    assert.deepEqual(runs[2]!.style, { dim: true });
    assert.deepEqual(style, {});
  });

  it('reads 256-colour and true-colour parameters and resets', () => {
    assert.equal(applySgr({}, [38, 5, 196]).fg, '#ff0000');
    assert.equal(applySgr({}, [48, 2, 1, 2, 3]).bg, '#010203');
    assert.equal(color256(244), '#808080');
    assert.deepEqual(applySgr({ fg: '#fff', bold: true }, [0]), {});
    assert.deepEqual(applySgr({ fg: '#fff', bold: true }, [39, 22]), { bold: false, dim: false });
  });

  it('drops escape sequences that are not SGR', () => {
    assert.equal(plainText('\x1b[2K\x1b[32m● \x1b[39msynced 1s ago\n$ '), '● synced 1s ago\n$ ');
  });

  it('puts each run at its column, escapes XML and leaves out trailing empty lines', () => {
    const svg = screenToSvg('ab\x1b[31m<c>\x1b[0m\n\n\n', { cols: 10, title: 'kdev & co', charWidth: 10, lineHeight: 20 });
    assert.match(svg, /<text x="16.0" y="51" fill="#d4d4d4" textLength="20.0"[^>]*>ab<\/text>/);
    assert.match(svg, /<text x="36.0" y="51" fill="#f14c4c" textLength="30.0"[^>]*>&lt;c&gt;<\/text>/);
    assert.match(svg, />kdev &amp; co</);
    assert.match(svg, /height="72"/, 'one line: 36 + 20 + 16');
  });
});

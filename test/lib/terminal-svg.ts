// Renders a terminal screen captured with `tmux capture-pane -e -p` (text with SGR escape
// sequences) into an SVG that looks like a terminal window: one <text> per run of equal
// style, stretched to an exact cell width so that columns line up in any monospace font.

export interface Style {
  fg?: string;
  bg?: string;
  bold?: boolean;
  dim?: boolean;
  italic?: boolean;
  underline?: boolean;
  inverse?: boolean;
}

export interface Run {
  text: string;
  style: Style;
}

const BASE16 = [
  '#1e1e1e', '#f14c4c', '#23d18b', '#e5e510', '#3b8eea', '#d670d6', '#29b8db', '#cccccc',
  '#666666', '#f14c4c', '#23d18b', '#f5f543', '#3b8eea', '#d670d6', '#29b8db', '#ffffff',
];
const FG = '#d4d4d4';
const BG = '#1e1e1e';

/** xterm's 256-colour palette. */
export function color256(n: number): string {
  if (n < 16) return BASE16[n]!;
  if (n >= 232) {
    const v = 8 + (n - 232) * 10;
    return rgb(v, v, v);
  }
  const i = n - 16;
  const level = (x: number): number => (x === 0 ? 0 : 55 + x * 40);
  return rgb(level(Math.floor(i / 36)), level(Math.floor(i / 6) % 6), level(i % 6));
}

const rgb = (r: number, g: number, b: number): string => `#${[r, g, b].map((v) => v.toString(16).padStart(2, '0')).join('')}`;

/** Applies one SGR parameter list (the numbers of `ESC [ … m`) to a style. */
export function applySgr(style: Style, params: number[]): Style {
  let s: Style = { ...style };
  for (let i = 0; i < params.length; i++) {
    const p = params[i]!;
    if (p === 0) s = {};
    else if (p === 1) s.bold = true;
    else if (p === 2) s.dim = true;
    else if (p === 3) s.italic = true;
    else if (p === 4) s.underline = true;
    else if (p === 7) s.inverse = true;
    else if (p === 22) s.bold = s.dim = false;
    else if (p === 23) s.italic = false;
    else if (p === 24) s.underline = false;
    else if (p === 27) s.inverse = false;
    else if (p >= 30 && p <= 37) s.fg = BASE16[p - 30];
    else if (p >= 90 && p <= 97) s.fg = BASE16[p - 90 + 8];
    else if (p >= 40 && p <= 47) s.bg = BASE16[p - 40];
    else if (p >= 100 && p <= 107) s.bg = BASE16[p - 100 + 8];
    else if (p === 39) delete s.fg;
    else if (p === 49) delete s.bg;
    else if (p === 38 || p === 48) {
      const key = p === 38 ? 'fg' : 'bg';
      if (params[i + 1] === 5) {
        s[key] = color256(params[i + 2] ?? 0);
        i += 2;
      } else if (params[i + 1] === 2) {
        s[key] = rgb(params[i + 2] ?? 0, params[i + 3] ?? 0, params[i + 4] ?? 0);
        i += 4;
      }
    }
  }
  return s;
}

/** Splits one captured line into runs of equal style; other escape sequences are dropped. */
export function parseLine(line: string, start: Style = {}): { runs: Run[]; style: Style } {
  const runs: Run[] = [];
  let style = start;
  let text = '';
  // eslint-disable-next-line no-control-regex -- the escape sequences are what is parsed
  const re = /\x1b\[([0-9;:]*)([A-Za-z])/g;
  let last = 0;
  const flush = (): void => {
    if (text) runs.push({ text, style });
    text = '';
  };
  for (let m = re.exec(line); m; m = re.exec(line)) {
    text += line.slice(last, m.index);
    last = re.lastIndex;
    if (m[2] !== 'm') continue;
    flush();
    style = applySgr(style, m[1] === '' ? [0] : m[1]!.split(/[;:]/).map((n) => Number(n) || 0));
  }
  text += line.slice(last);
  flush();
  return { runs, style };
}

/** The captured text without its escape sequences. */
export function plainText(captured: string): string {
  return captured.split('\n').map((line) => parseLine(line).runs.map((r) => r.text).join('')).join('\n');
}

const escapeXml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export interface SvgOptions {
  cols: number;
  title: string;
  charWidth?: number;
  lineHeight?: number;
  fontSize?: number;
}

/** The SVG of a captured screen; trailing empty lines are left out. */
export function screenToSvg(captured: string, opts: SvgOptions): string {
  const cw = opts.charWidth ?? 8.4;
  const lh = opts.lineHeight ?? 19;
  const fs = opts.fontSize ?? 14;
  const lines = captured.replace(/\n+$/, '').split('\n');
  const pad = 16;
  const top = 36;
  const width = Math.ceil(opts.cols * cw + 2 * pad);
  const height = Math.ceil(top + lines.length * lh + pad);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="'DejaVu Sans Mono', Menlo, Consolas, monospace" font-size="${fs}">`);
  out.push(`<rect width="${width}" height="${height}" rx="8" fill="${BG}"/>`);
  out.push(['#ff5f56', '#ffbd2e', '#27c93f'].map((c, i) => `<circle cx="${20 + i * 20}" cy="18" r="6" fill="${c}"/>`).join(''));
  out.push(`<text x="${width / 2}" y="22" fill="#999999" text-anchor="middle">${escapeXml(opts.title)}</text>`);
  let style: Style = {};
  lines.forEach((line, row) => {
    const parsed = parseLine(line, style);
    style = parsed.style;
    let col = 0;
    const y = top + row * lh;
    for (const run of parsed.runs) {
      const chars = [...run.text];
      const x = (pad + col * cw).toFixed(1);
      const w = (chars.length * cw).toFixed(1);
      let fg = run.style.fg ?? FG;
      let bg = run.style.bg;
      if (run.style.inverse) [fg, bg] = [bg ?? BG, fg];
      if (bg) out.push(`<rect x="${x}" y="${y}" width="${w}" height="${lh}" fill="${bg}"/>`);
      if (run.text.trim() !== '') {
        const attrs = [
          `x="${x}"`, `y="${y + lh - 5}"`, `fill="${fg}"`, `textLength="${w}"`, 'lengthAdjust="spacingAndGlyphs"',
          run.style.bold ? 'font-weight="bold"' : '', run.style.dim ? 'opacity="0.6"' : '', run.style.italic ? 'font-style="italic"' : '',
          run.style.underline ? 'text-decoration="underline"' : '',
        ].filter(Boolean);
        out.push(`<text ${attrs.join(' ')} xml:space="preserve">${escapeXml(run.text)}</text>`);
      }
      col += chars.length;
    }
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

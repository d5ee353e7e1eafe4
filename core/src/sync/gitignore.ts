// .gitignore patterns with git's own semantics (gitignore(5), git's wildmatch), written from
// the documented rules and checked against git itself by the oracle test
// (test/unit/sync-gitignore-oracle.test.ts). Everything works on bytes: pattern text and
// paths are "binary strings" (one char per byte, latin1), as git compares bytes, so `?`
// matches one byte of a UTF-8 name, not one character.

/** One pattern line, compiled. */
export interface Pattern {
  negative: boolean;
  /** A trailing slash: matches folders only. */
  dirOnly: boolean;
  /** No slash in the pattern (except a trailing one): matched against the last component. */
  basename: boolean;
  /** Matched against the basename, or the path relative to the pattern file's folder; null: never matches. */
  re: RegExp | null;
}

/** A pattern file's patterns, for paths under `base` ('' = the top). */
export interface PatternList {
  base: string;
  patterns: Pattern[];
}

/** Bytes of a UTF-8 string as a binary string (the identity for ASCII). */
export function bytesOf(s: string): string {
  // eslint-disable-next-line no-control-regex
  return /[^\x00-\x7f]/.test(s) ? Buffer.from(s, 'utf8').toString('latin1') : s;
}

/** Trailing spaces are dropped unless escaped with a backslash (as git does). */
function trimTrailingSpaces(line: string): string {
  let lastSpace = -1;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === ' ') {
      if (lastSpace < 0) lastSpace = i;
    } else if (c === '\\') {
      i++;
      if (i >= line.length) return line;
      lastSpace = -1;
    } else lastSpace = -1;
  }
  return lastSpace >= 0 ? line.slice(0, lastSpace) : line;
}

/** Parses a pattern file (given as a binary string) into its patterns, first line first. */
export function parsePatterns(text: string): Pattern[] {
  if (text.startsWith('\xef\xbb\xbf')) text = text.slice(3); // a UTF-8 byte order mark
  const out: Pattern[] = [];
  for (let line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const p = parsePattern(trimTrailingSpaces(line));
    if (p) out.push(p);
  }
  return out;
}

export function parsePattern(line: string): Pattern | undefined {
  let p = line;
  const negative = p.startsWith('!');
  if (negative) p = p.slice(1);
  const dirOnly = p.endsWith('/');
  if (dirOnly) p = p.slice(0, -1);
  if (p === '') return undefined; // matches nothing
  const basename = !p.includes('/');
  if (basename) return { negative, dirOnly, basename, re: compileGlob(p, false) };
  if (p.startsWith('/')) p = p.slice(1);
  // git compares the part before the first wildcard literally and runs wildmatch on the
  // rest only, so a `**` right after that part counts as "at the start" of the pattern
  const cut = p.search(/[*?[\\]/);
  if (cut < 0) return { negative, dirOnly, basename, re: new RegExp(`^${escapeRe(p)}$`) };
  const rest = compileGlob(p.slice(cut), true);
  return { negative, dirOnly, basename, re: rest && new RegExp(`^${escapeRe(p.slice(0, cut))}${rest.source.slice(1)}`) };
}

function escapeRe(s: string): string {
  let out = '';
  for (const c of s) out += hexChar(c.charCodeAt(0));
  return out;
}

function hexChar(code: number): string {
  return /[A-Za-z0-9_]/.test(String.fromCharCode(code)) ? String.fromCharCode(code) : `\\x${code.toString(16).padStart(2, '0')}`;
}

const CLASSES: Record<string, (c: number) => boolean> = {
  alnum: (c) => isAlpha(c) || isDigit(c),
  alpha: (c) => isAlpha(c),
  blank: (c) => c === 0x20 || c === 0x09,
  cntrl: (c) => c < 0x20 || c === 0x7f,
  digit: (c) => isDigit(c),
  graph: (c) => c > 0x20 && c < 0x7f,
  lower: (c) => c >= 0x61 && c <= 0x7a,
  print: (c) => c >= 0x20 && c < 0x7f,
  punct: (c) => c > 0x20 && c < 0x7f && !isAlpha(c) && !isDigit(c),
  space: (c) => c === 0x20 || (c >= 0x09 && c <= 0x0d),
  upper: (c) => c >= 0x41 && c <= 0x5a,
  xdigit: (c) => isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66),
};

function isAlpha(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}
function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/**
 * A bracket expression starting at `pat[i]` (the '['): the set of bytes it matches and the
 * index after its ']', or null when it is malformed (then the whole pattern never matches).
 */
function bracket(pat: string, i: number): { set: boolean[]; end: number } | null {
  const set = new Array<boolean>(256).fill(false);
  let j = i + 1;
  let negated = false;
  if (pat[j] === '!' || pat[j] === '^') {
    negated = true;
    j++;
  }
  let prev = -1; // the previous single byte, for a range; -1 after a range or a class
  let first = true;
  for (;;) {
    if (j >= pat.length) return null;
    let c = pat.charCodeAt(j);
    if (c === 0x5d /* ] */ && !first) break;
    first = false;
    if (c === 0x5c /* \ */) {
      j++;
      if (j >= pat.length) return null;
      c = pat.charCodeAt(j);
      set[c] = true;
      prev = c;
    } else if (c === 0x2d /* - */ && prev >= 0 && j + 1 < pat.length && pat[j + 1] !== ']') {
      j++;
      let hi = pat.charCodeAt(j);
      if (hi === 0x5c) {
        j++;
        if (j >= pat.length) return null;
        hi = pat.charCodeAt(j);
      }
      for (let x = prev; x <= hi; x++) set[x] = true;
      prev = -1;
    } else if (c === 0x5b /* [ */ && pat[j + 1] === ':') {
      const close = pat.indexOf(']', j + 2);
      if (close < 0) return null;
      if (close - (j + 2) < 1 || pat[close - 1] !== ':') {
        set[c] = true; // "[:" without ":]": a plain '['
        prev = c;
      } else {
        const test = CLASSES[pat.slice(j + 2, close - 1)];
        if (!test) return null;
        for (let x = 0; x < 256; x++) if (test(x)) set[x] = true;
        prev = -1;
        j = close;
      }
    } else {
      set[c] = true;
      prev = c;
    }
    j++;
  }
  if (negated) for (let x = 0; x < 256; x++) set[x] = !set[x];
  return { set, end: j + 1 };
}

function classRe(set: boolean[], pathname: boolean): string {
  if (pathname) set[0x2f] = false;
  const parts: string[] = [];
  for (let x = 0; x < 256; x++) if (set[x]) parts.push(`\\x${x.toString(16).padStart(2, '0')}`);
  return parts.length === 0 ? '(?!)' : `[${parts.join('')}]`;
}

/**
 * A wildmatch pattern as an anchored RegExp over binary strings; `pathname`: '*', '?' and
 * brackets do not match '/', and `**` between slashes (or at either end) spans folders.
 * null: the pattern can never match (a malformed bracket, a trailing backslash).
 */
export function compileGlob(pat: string, pathname: boolean): RegExp | null {
  let re = '';
  const any = '[\\s\\S]';
  for (let i = 0; i < pat.length; ) {
    const c = pat[i]!;
    if (c === '\\') {
      if (i + 1 >= pat.length) return null;
      re += hexChar(pat.charCodeAt(i + 1));
      i += 2;
    } else if (c === '?') {
      re += pathname ? '[^/]' : any;
      i++;
    } else if (c === '[') {
      const b = bracket(pat, i);
      if (!b) return null;
      re += classRe(b.set, pathname);
      i = b.end;
    } else if (c === '*') {
      let j = i;
      while (pat[j] === '*') j++;
      const atStart = i === 0 || pat[i - 1] === '/';
      const next = pat.slice(j, j + 2);
      const doubled = j - i >= 2 && atStart && (j === pat.length || next[0] === '/' || next === '\\/');
      if (!pathname) re += `${any}*`;
      else if (doubled && next[0] === '/') {
        re += `(?:${any}*/)?`; // zero or more whole folders
        j++;
      } else re += doubled ? `${any}*` : '[^/]*';
      i = j;
    } else {
      re += hexChar(pat.charCodeAt(i));
      i++;
    }
  }
  return new RegExp(`^${re}$`);
}

/** Whether one pattern matches: `path` relative to the list's base, `name` its last component. */
function matches(p: Pattern, path: string, name: string, isDir: boolean): boolean {
  if (p.dirOnly && !isDir) return false;
  if (!p.re) return false;
  return p.re.test(p.basename ? name : path);
}

/**
 * The decision of one pattern list for a path (relative to the top, binary string): true =
 * ignored, false = re-included by a negation, undefined = no pattern matches. The last
 * matching pattern wins.
 */
export function listDecides(list: PatternList, full: string, isDir: boolean): boolean | undefined {
  let path = full;
  if (list.base) {
    if (!full.startsWith(list.base + '/')) return undefined;
    path = full.slice(list.base.length + 1);
  }
  const name = path.slice(path.lastIndexOf('/') + 1);
  for (let i = list.patterns.length - 1; i >= 0; i--) {
    const p = list.patterns[i]!;
    if (matches(p, path, name, isDir)) return !p.negative;
  }
  return undefined;
}

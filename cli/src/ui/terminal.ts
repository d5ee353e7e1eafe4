// One rule for every view: a live, redrawn, coloured view only where a person watches a
// terminal. With NO_COLOR set (any non-empty value), TERM=dumb, in CI, or when the stream
// is not a TTY (a pipe, a file, a CI log) each change is printed as a plain line as it
// happens, with no ANSI escapes (ink would otherwise print only its last frame there).
export function isLive(stream: NodeJS.WriteStream = process.stderr, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR) return false;
  if (env.CI) return false;
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}

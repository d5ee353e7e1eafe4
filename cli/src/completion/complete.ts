// Completion candidates for a partly typed command line, from the commander tree itself
// (commands, aliases, options, choices), and live names where an argument is a workload or
// an environment. The shell scripts (scripts.ts) hand the words to `kdev __complete`.
import type { Argument, Command, Option } from 'commander';

/** What a positional argument or an option value names, when it is live in the cluster. */
export type LiveKind = 'workload' | 'environment';

const live = new WeakMap<Argument | Option, LiveKind>();

/** Marks an argument or option whose values are names in the cluster; returns it. */
export function completesWith<T extends Argument | Option>(item: T, kind: LiveKind): T {
  live.set(item, kind);
  return item;
}

/** The cluster flags on the line, so live names come from the namespace the user means. */
export interface LineGlobals {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

export type Want = { type: 'words'; words: string[] } | { type: 'live'; kind: LiveKind; globals: LineGlobals; prefix: string } | { type: 'files' };

function visible(cmd: Command): Command[] {
  return cmd.commands.filter((c) => !(c as Command & { _hidden?: boolean })._hidden);
}

function optionsOf(path: Command[]): Option[] {
  return path.flatMap((c) => c.options.filter((o) => !o.hidden));
}

function findOption(path: Command[], flag: string): Option | undefined {
  return optionsOf(path).find((o) => o.short === flag || o.long === flag || (o.negate && o.long === flag));
}

function takesValue(o: Option): boolean {
  return o.required || o.optional;
}

const GLOBAL_KEYS: Record<string, keyof LineGlobals> = { '--kubeconfig': 'kubeconfig', '--context': 'context', '-n': 'namespace', '--namespace': 'namespace' };

/** Values for an option's argument. */
function optionValues(o: Option, globals: LineGlobals, prefix: string): Want {
  if (o.argChoices) return { type: 'words', words: o.argChoices };
  const kind = live.get(o);
  if (kind) return { type: 'live', kind, globals, prefix };
  return { type: 'files' };
}

/**
 * What to offer for the last word of `words` (the words after `kdev`; the last one is the
 * word being completed, possibly empty).
 */
// Reason for the length: one pass over the line (commands, options and their values,
// positionals), which reads best in one place.
export function completionFor(program: Command, words: readonly string[]): Want {
  const path: Command[] = [program];
  const globals: LineGlobals = {};
  let positionals = 0;
  let pendingOption: Option | undefined;
  const done = words.slice(0, -1);
  const current = words.at(-1) ?? '';
  for (const word of done) {
    if (pendingOption) {
      const key = GLOBAL_KEYS[pendingOption.long ?? ''] ?? GLOBAL_KEYS[pendingOption.short ?? ''];
      if (key) globals[key] = word;
      pendingOption = undefined;
      continue;
    }
    if (word.startsWith('-') && word !== '-') {
      const eq = word.indexOf('=');
      const flag = eq > 0 ? word.slice(0, eq) : word;
      const inline = eq > 0 ? word.slice(eq + 1) : undefined;
      const o = findOption(path, flag);
      if (o && takesValue(o)) {
        if (inline !== undefined) {
          const key = GLOBAL_KEYS[flag];
          if (key) globals[key] = inline;
        } else pendingOption = o;
      }
      continue;
    }
    const cmd = path.at(-1)!;
    const sub = visible(cmd).find((c) => c.name() === word || c.aliases().includes(word));
    if (sub && positionals === 0) path.push(sub);
    else positionals++;
  }
  if (pendingOption) return optionValues(pendingOption, globals, current);
  if (current.startsWith('-')) {
    const eq = current.indexOf('=');
    if (eq > 0) {
      const o = findOption(path, current.slice(0, eq));
      const values = o && takesValue(o) ? optionValues(o, globals, current.slice(eq + 1)) : ({ type: 'words', words: [] } as Want);
      return values.type === 'words' ? { type: 'words', words: values.words.map((w) => `${current.slice(0, eq + 1)}${w}`) } : values;
    }
    const flags = optionsOf(path).flatMap((o) => [o.long, o.short].filter((f): f is string => f !== undefined));
    return { type: 'words', words: [...flags, '--help'] };
  }
  const cmd = path.at(-1)!;
  if (visible(cmd).length > 0 && positionals === 0) return { type: 'words', words: visible(cmd).flatMap((c) => [c.name(), ...c.aliases()]) };
  const args = cmd.registeredArguments;
  const arg = args[Math.min(positionals, args.length - 1)] as Argument | undefined;
  if (!arg || (positionals >= args.length && !arg.variadic)) return { type: 'words', words: [] };
  if (arg.argChoices) return { type: 'words', words: arg.argChoices };
  const kind = live.get(arg);
  return kind ? { type: 'live', kind, globals, prefix: current } : { type: 'files' };
}

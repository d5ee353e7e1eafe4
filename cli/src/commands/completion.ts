// kdev completion bash|zsh|fish, and the hidden `kdev __complete -- <words…>` the scripts
// call: candidates from the commander tree, live names through core.
import { Argument, Command } from 'commander';
import { completionNames, connect } from '@kdev/core';
import { completionFor, type Want } from '../completion/complete.js';
import { completionScript, SHELLS, type Shell } from '../completion/scripts.js';

/** A shell waits for this at most: a slow or unreachable cluster gives no names, not a hang. */
const LIVE_TIMEOUT_MS = 4000;

/** The candidates, and whether the shell should offer file names instead when there are none. */
async function candidates(program: Command, words: string[]): Promise<{ found: string[]; files: boolean }> {
  const want = completionFor(program, words.length === 0 ? [''] : words);
  if (want.type === 'words') return { found: want.words.filter((w) => w.startsWith(words.at(-1) ?? '')), files: false };
  if (want.type === 'files') return { found: [], files: true };
  return { found: await liveNames(want), files: false };
}

async function liveNames(want: Extract<Want, { type: 'live' }>): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string[]>((resolve) => (timer = setTimeout(() => resolve([]), LIVE_TIMEOUT_MS)));
  try {
    const cluster = connect(want.globals);
    return await Promise.race([completionNames(cluster, want.kind, want.prefix), timeout]);
  } catch {
    return [];
  } finally {
    clearTimeout(timer);
  }
}

export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script (commands, flags, and workload and environment names from the cluster)')
    .addArgument(new Argument('<shell>', 'the shell').choices(SHELLS))
    .addHelpText('after', '\nLoad it:\n  bash: source <(kdev completion bash)     (add it to ~/.bashrc)\n  zsh:  source <(kdev completion zsh)      (after compinit, in ~/.zshrc)\n  fish: kdev completion fish | source      (or save it in ~/.config/fish/completions/kdev.fish)')
    .action((shell: Shell) => void process.stdout.write(completionScript(shell)));

  program
    .command('__complete', { hidden: true })
    .description('the candidates for a partly typed command line (used by the completion scripts)')
    .argument('[words...]', 'the words after `kdev`, the last one being completed')
    .option('--cobra', "end with cobra's directive line (:0 files allowed, :4 no files), as kubectl wants from a plugin")
    .helpOption(false)
    .action(async (words: string[], o: { cobra?: boolean }) => {
      const { found, files } = await candidates(program, words);
      const lines = o.cobra ? [...found, `:${files ? 0 : 4}`] : found;
      if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
    });
}

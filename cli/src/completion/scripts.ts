// The shell side of completion: each script hands the words typed so far to
// `<the command> __complete -- <words…>` and offers what it prints, one candidate a line
// (nothing printed: file names). What to offer comes from the commander tree
// (complete.ts), so a script never goes stale when commands or flags change.

export type Shell = 'bash' | 'zsh' | 'fish';
export const SHELLS: readonly Shell[] = ['bash', 'zsh', 'fish'];

/** The names the script registers for: the command and its kubectl-plugin name. */
const NAMES = ['kdev', 'kubectl-kdev'];

function bash(): string {
  return `# kdev completion for bash. Load it with:  source <(kdev completion bash)
_kdev_complete() {
  local line="\${COMP_LINE:0:COMP_POINT}" word="\${COMP_WORDS[COMP_CWORD]}"
  local -a typed
  read -ra typed <<< "$line"
  # a line ending in a space starts a new, empty word
  [[ "$line" =~ [[:space:]]$ ]] && typed+=("")
  [[ "$word" == "=" || "$word" == ":" ]] && word=""
  local last="\${typed[\${#typed[@]}-1]}" IFS=$'\\n' candidate
  # bash splits words at = and :, so it replaces only the end of the last word
  local strip=$(( \${#last} - \${#word} ))
  COMPREPLY=()
  for candidate in $("\${typed[0]}" __complete -- "\${typed[@]:1}" 2>/dev/null); do
    COMPREPLY+=("\${candidate:strip}")
  done
}
complete -o default -F _kdev_complete ${NAMES.join(' ')}
`;
}

function zsh(): string {
  return `#compdef ${NAMES.join(' ')}
# kdev completion for zsh. Load it with:  source <(kdev completion zsh)  (after compinit)
_kdev() {
  local -a candidates
  candidates=("\${(@f)$("\${words[1]}" __complete -- "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  if [[ \${#candidates} -eq 0 || -z "\${candidates[1]}" ]]; then
    _files
  else
    compadd -Q -- "\${candidates[@]}"
  fi
}
compdef _kdev ${NAMES.join(' ')}
`;
}

function fish(): string {
  const lines = [
    '# kdev completion for fish. Load it with:  kdev completion fish | source',
    'function __kdev_complete',
    '    set -l typed (commandline -opc)',
    '    set -l out ($typed[1] __complete -- $typed[2..-1] (commandline -ct) 2>/dev/null)',
    '    if test (count $out) -eq 0',
    '        __fish_complete_path (commandline -ct)',
    '    else',
    "        printf '%s\\n' $out",
    '    end',
    'end',
    ...NAMES.map((n) => `complete -c ${n} -f -a '(__kdev_complete)'`),
  ];
  return `${lines.join('\n')}\n`;
}

export function completionScript(shell: Shell): string {
  return { bash, zsh, fish }[shell]();
}

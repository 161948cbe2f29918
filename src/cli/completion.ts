/**
 * Shell completion (`camera-archiver completion`): yargs' own completion, with three fixes.
 * - The default command: `camera-archiver /camera --dr<TAB>` names no command, so yargs would
 *   complete only the global options; the words are completed as `archive`'s.
 * - Short aliases: yargs offers `--o`, `--y`, `--j`, `--q` once a word starts with `--`; those
 *   flags do not exist. Single-letter options are offered as `-o`, `-y`, `-j`, `-q`, `-v`.
 * - Negations users type (`--no-confirm`, `--no-skip`, from the Python archiver) are offered.
 */

/** Every command word (main.ts registers them); the first of them is the default command. */
export const COMMANDS = [
  'archive',
  'record',
  'snapshot',
  'detect',
  'config',
  'stats',
  'completion',
];

/** The shell passes `--get-yargs-completions <program> <words…> <current word>`. */
export const COMPLETION_FLAG = '--get-yargs-completions';

/**
 * The command line yargs should complete: `archive` inserted after the program name when no
 * command word precedes the current word, and there is a previous word (a directory, an option)
 * or the current word is an option. A first word alone still completes the command names.
 */
export function completionArgv(argv: readonly string[], commands: readonly string[]): string[] {
  if (argv[0] !== COMPLETION_FLAG || argv.length < 3) return [...argv];
  const words = argv.slice(2); // after the program name
  const current = words[words.length - 1] ?? '';
  const previous = words.slice(0, -1);
  if (previous.some((w) => commands.includes(w))) return [...argv];
  if (previous.length === 0 && !current.startsWith('-')) return [...argv];
  return [argv[0], argv[1] ?? 'camera-archiver', 'archive', ...words];
}

/** The parts of yargs' getOptions() that decide what may be offered. */
export interface CompletionOptions {
  boolean: string[];
  alias: Record<string, string[]>;
  default: Record<string, unknown>;
  key: Record<string, unknown>;
}

/**
 * yargs' "fallback" completion function: runs yargs' own completion, then fixes its list with
 * the options of the parser as the completed command built it.
 */
export function completeWith(
  parser: () => unknown,
): (
  current: string,
  argv: unknown,
  completionFilter: (onCompleted: (error: Error | null, completions?: string[]) => void) => void,
  done: (completions: string[]) => void,
) => void {
  return (current, _argv, completionFilter, done) => {
    completionFilter((error, completions) => {
      const options = (parser() as { getOptions(): CompletionOptions }).getOptions();
      done(error ? [] : fixCompletions(completions ?? [], current, options));
    });
  };
}

/** yargs' completions, corrected (see above) and narrowed to the current word. */
export function fixCompletions(
  completions: readonly string[],
  current: string,
  options: CompletionOptions,
): string[] {
  const out = completions.filter((c) => !/^--[^-](:|$)/.test(c));
  if (current.startsWith('-')) {
    for (const [name, aliases] of Object.entries(options.alias))
      for (const alias of [name, ...aliases])
        if (alias.length === 1 && options.key[name] !== undefined) out.push(`-${alias}`);
    for (const name of options.boolean)
      if (name.length > 1 && options.default[name] === true) out.push(`--no-${name}`);
  }
  const unique = [...new Set(out)];
  return current === '' ? unique : unique.filter((c) => c.startsWith(current));
}

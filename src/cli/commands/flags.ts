/**
 * How every command declares its flags: once, each with its yargs declaration (type, default,
 * help) and the parser that validates and types its value (`Flag`); a command's table goes to
 * yargs with `declareFlags` and its parsed values come back typed from `parseFlags`, so no
 * handler reads yargs' loosely typed values itself. Also the camera tree flags
 * (`[directory] --output --trash-root`, `--age`, `--now`) that archive and stats both take.
 * Every bad value is a UsageError (exit 2).
 */
import path from 'node:path';
import type { Argv, Options } from 'yargs';
import { UsageError } from '../../core/errors.js';
import { parseDuration, parseSize } from '../../core/units.js';
import { OUTPUT_DIR_NAME, TRASH_DIR_NAME } from '../../tree/naming.js';
import { optionText, parseArchiveAge, parseMinFree } from '../../retention/options.js';
import type { MinFree } from '../../retention/plan.js';

/** One flag: how yargs reads it, and how its value is checked and typed. */
export interface Flag<T> {
  readonly option: Options;
  /** The value yargs parsed (after the config file and environment), checked; `name` for messages. */
  readonly parse: (value: unknown, name: string) => T;
}

export type FlagTable = Readonly<Record<string, Flag<unknown>>>;

/** The typed values of a table's flags. */
export type FlagValues<F extends FlagTable> = {
  -readonly [K in keyof F]: ReturnType<F[K]['parse']>;
};

/** Declares every flag of `table` to yargs, in its order. */
export function declareFlags(y: Argv, table: FlagTable): Argv {
  for (const [name, flag] of Object.entries(table)) y = y.option(name, flag.option);
  return y;
}

/** Each flag of `table` read from yargs' result and checked: the one place a command reads them. */
export function parseFlags<F extends FlagTable>(
  table: F,
  argv: Record<string, unknown>,
): FlagValues<F> {
  const values: Record<string, unknown> = {};
  for (const [name, flag] of Object.entries(table)) values[name] = flag.parse(argv[name], name);
  return values as FlagValues<F>;
}

export function flag<T>(option: Options, parse: (value: unknown, name: string) => T): Flag<T> {
  return { option, parse };
}

/** A boolean flag; `default` is what yargs gives when it is absent. */
export function booleanFlag(option: Options & { default: boolean }): Flag<boolean> {
  return flag({ type: 'boolean', ...option }, (v) => (typeof v === 'boolean' ? v : option.default));
}

/** A string flag: undefined when absent or empty. */
export function stringFlag(option: Options): Flag<string | undefined> {
  return flag({ type: 'string', ...option }, (v) => str(v));
}

/** A repeatable string flag. */
export function stringsFlag(option: Options): Flag<string[]> {
  return flag({ type: 'string', array: true, ...option }, (v) => strings(v));
}

/** One of `choices`; yargs refuses any other value before this runs. */
export function choiceFlag<const C extends readonly string[]>(
  choices: C,
  option: Options & { default: C[number] },
): Flag<C[number]> {
  return flag({ choices, ...option }, (v) =>
    choices.includes(v as string) ? (v as C[number]) : option.default,
  );
}

/** A whole number from `min` to `max`; the default (if any) when absent. */
export function wholeFlag(
  option: Options,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): Flag<number | undefined> {
  return flag({ type: 'number', ...option }, (v, name) => wholeNumber(name, v, min, max));
}

/** A duration (`5m`, `90s`, `0`) in seconds. */
export function durationFlag(option: Options & { default: string }): Flag<number> {
  return flag({ type: 'string', ...option }, (v, name) =>
    parseDuration(String(v ?? option.default), `--${name}`),
  );
}

/** A path, made absolute; undefined when absent. */
export function pathFlag(option: Options): Flag<string | undefined> {
  return flag({ type: 'string', ...option }, (v) => {
    const given = str(v);
    return given === undefined ? undefined : path.resolve(given);
  });
}

/** `--max-size`: a size in bytes (`500GB`, 1024-based), the one parser of it. */
export function maxSizeFlag(option: Options): Flag<number | undefined> {
  return flag({ type: 'string', ...option }, (v) => {
    const text = str(typeof v === 'number' ? String(v) : v);
    return text === undefined ? undefined : parseSize(text, '--max-size');
  });
}

/** `--age`: days footage stays raw, a number ≥ 0 (default 30). */
export function ageFlag(option: Options): Flag<number> {
  return flag({ type: 'number', default: 30, ...option }, (v) => ageDaysOf({ age: v }));
}

/** `--min-free`: bytes or a percentage of the filesystem, with the text as given (for messages). */
export function minFreeFlag(option: Options): Flag<{ value: MinFree; text: string } | undefined> {
  return flag({ type: 'string', ...option }, (v) => {
    const text = optionText(v);
    return text === undefined ? undefined : { value: parseMinFree(text), text };
  });
}

/** `--archive-age`: days archives are kept, 0 (`keep`) = the caps only; undefined = `--age`. */
export function archiveAgeFlag(option: Options): Flag<number | undefined> {
  return flag({ type: 'string', ...option }, (v) => {
    const text = optionText(v);
    return text === undefined ? undefined : parseArchiveAge(text);
  });
}

/** `-v` (repeatable) and `-q` together: -1 quiet, 0 normal, 1 verbose, 2 debug. */
export const verbosityFlags = (group: string, verbose: string) =>
  ({
    verbose: flag({ alias: 'v', type: 'count', describe: verbose, group }, (v) => num(v) ?? 0),
    quiet: booleanFlag({ alias: 'q', default: false, describe: 'warnings and errors only', group }),
  }) as const;

/** The verbosity -v/-q give, the same in every command. */
export function verbosityOf(values: { verbose: number; quiet: boolean }): number {
  return values.quiet ? -1 : values.verbose;
}

export const DEFAULT_ROOT = '/camera';

/** A non-empty string flag, or undefined. */
export function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** A repeatable string option: yargs gives an array (or, from the environment, one string). */
export function strings(v: unknown): string[] {
  return (Array.isArray(v) ? v : v === undefined ? [] : [v]).map(String).filter((s) => s !== '');
}

export function num(v: unknown): number | undefined {
  return typeof v === 'number' && !Number.isNaN(v) ? v : undefined;
}

/**
 * A numeric flag checked against its range. Numeric flags are declared as strings to yargs so
 * that a bad value can be repeated as typed (`--age abc`, not yargs' `NaN`); a config file may
 * give a number.
 */
export function numberFlag(
  name: string,
  v: unknown,
  range: { min: number; max: number; whole?: boolean; what?: string },
): number | undefined {
  if (v === undefined) return undefined;
  const typed = typeof v === 'string' ? v.trim() : v;
  const n =
    typeof typed === 'number'
      ? typed
      : typeof typed === 'string' && /^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(typed)
        ? Number(typed)
        : NaN;
  if (
    !Number.isFinite(n) ||
    (range.whole && !Number.isInteger(n)) ||
    n < range.min ||
    n > range.max
  ) {
    const kind = range.what ?? (range.whole ? 'a whole number' : 'a number');
    throw new UsageError(
      `--${name} must be ${kind} from ${range.min} to ${range.max}, got '${String(v)}'`,
    );
  }
  return n;
}

export function wholeNumber(
  name: string,
  v: unknown,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  return numberFlag(name, v, { min, max, whole: true });
}

/** Upper bound of `--age` and other day counts: a century, far beyond any camera's footage. */
export const MAX_DAYS = 36_500;

/** The `[directory]` positional with `--output` and `--trash-root`, whose defaults lie inside it. */
export function treeFlags(y: Argv, group?: string): Argv {
  return y
    .positional('directory', {
      type: 'string',
      default: DEFAULT_ROOT,
      describe: 'camera tree with YYYY/MM/DD folders',
    })
    .option('output', {
      alias: 'o',
      type: 'string',
      describe: `archive root [default: <directory>/${OUTPUT_DIR_NAME}]`,
      ...(group ? { group } : {}),
    })
    .option('trash-root', {
      type: 'string',
      describe: `trash root [default: <directory>/${TRASH_DIR_NAME}]`,
      ...(group ? { group } : {}),
    });
}

/**
 * The `[directory]` positional, also when it follows `--` (`camera-archiver -y -- /camera2`):
 * yargs fills positionals only from the words before `--` and keeps the rest in `argv['--']`
 * (main.ts asks for that), so without this the run would fall back to /camera: a wrong tree.
 */
export function directoryOf(argv: Record<string, unknown>, name = 'directory'): string | undefined {
  const given = str(argv[name]);
  const tail = strings(argv['--']);
  if (tail.length === 0) return given;
  if (tail.length > 1)
    throw new UsageError(`one ${name} expected after --, got ${tail.length}: ${tail.join(' ')}`);
  // A positional defaults to /camera (treeFlags), so "given" may only be the default here.
  if (given !== undefined && given !== DEFAULT_ROOT && given !== tail[0])
    throw new UsageError(`${name} given twice: ${given} and ${tail[0] ?? ''} (after --)`);
  return tail[0];
}

/** The part of yargs' runtime instance (the middleware's second argument) read here. */
export interface ParserOptions {
  getOptions(): { array: string[]; number: string[]; alias: Record<string, string[]> };
}

const camelCase = (s: string): string => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** The value last typed for an option on the command line (`--name V`, `--name=V`, `-a V`). */
function typedOnCommandLine(raw: readonly string[], names: readonly string[]): string | undefined {
  let typed: string | undefined;
  const end = raw.indexOf('--');
  const words = end < 0 ? raw : raw.slice(0, end);
  words.forEach((word, i) => {
    for (const name of names) {
      const flag = name.length === 1 ? `-${name}` : `--${name}`;
      if (word === flag) typed = words[i + 1] ?? '';
      else if (word.startsWith(`${flag}=`)) typed = word.slice(flag.length + 1);
    }
  });
  return typed;
}

/**
 * yargs middleware (before validation) that makes the parsed values say what the user typed:
 * - an option repeated on the command line takes its last value, as with the Python archiver
 *   (argparse), instead of an array that then fails (`--age 7 --age 14` means 14); options
 *   declared `array` (`--notify-url`, repeatable) keep every value;
 * - a numeric option whose text is not a number gets that text back instead of yargs' `NaN`
 *   (or its 0 for `--age ''`), so the validation's message can repeat it (`got 'abc'`).
 */
export function commandLineValues(
  raw: readonly string[],
  env: NodeJS.ProcessEnv,
): (argv: Record<string, unknown>, yargs: ParserOptions) => void {
  return (argv, yargs) => {
    const options = yargs.getOptions();
    const variants = (name: string): string[] => {
      const names = [name, ...(options.alias[name] ?? [])];
      return [...new Set([...names, ...names.map(camelCase)])];
    };
    const repeatable = new Set(options.array.flatMap(variants));
    for (const [key, value] of Object.entries(argv)) {
      if (key === '_' || key === '--' || repeatable.has(key) || !Array.isArray(value)) continue;
      argv[key] = value[value.length - 1];
    }
    for (const name of options.number) {
      const value = argv[name];
      if (typeof value !== 'number') continue;
      const names = variants(name);
      const typed =
        typedOnCommandLine(raw, names) ??
        env[`CAMERA_ARCHIVER_${name.toUpperCase().replace(/-/g, '_')}`];
      if (typed === undefined || /^\s*[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?\s*$/i.test(typed))
        continue;
      for (const key of names) if (key in argv) argv[key] = typed;
    }
  };
}

/** Absolute input, archive and trash roots from treeFlags' values. */
export function treeRootsOf(argv: Record<string, unknown>): {
  root: string;
  output: string;
  trash: string;
} {
  const root = path.resolve(directoryOf(argv) ?? DEFAULT_ROOT);
  return {
    root,
    output: path.resolve(str(argv.output) ?? path.join(root, OUTPUT_DIR_NAME)),
    trash: path.resolve(str(argv['trash-root']) ?? path.join(root, TRASH_DIR_NAME)),
  };
}

/** `--age`: days footage stays raw, a number ≥ 0. */
export function ageDaysOf(argv: Record<string, unknown>): number {
  // Bounded: a huge age would put the cutoff before any representable date.
  return (
    numberFlag('age', argv.age ?? 30, { min: 0, max: MAX_DAYS, what: 'a number of days' }) ?? 30
  );
}

/** `--now` (tests and what-if runs): an ISO date, or undefined when not given. */
export function nowOf(argv: Record<string, unknown>): Date | undefined {
  const text = str(argv.now);
  if (text === undefined) return undefined;
  const now = new Date(text);
  if (Number.isNaN(now.getTime()))
    throw new UsageError(`--now must be an ISO date, got '${String(argv.now)}'`);
  return now;
}

/**
 * The settings every command shares: the configuration file (`--config FILE`, else
 * /etc/camera-archiver/config.{yaml,yml,json} if present), the environment (CAMERA_ARCHIVER_*),
 * and where every effective value came from.
 *
 * Precedence: command line > environment > config file > defaults. This module finds, parses and
 * validates the file and reads the environment itself, for one command at a time, against that
 * command's own options; the merged, validated object goes to yargs' `.config(object)` inside the
 * command's builder, so the command line still wins and yargs applies the types as for flags.
 * (Not yargs' `.env()`: under `.strict()` it turns every variable meant for another command into
 * "Unknown argument", and one environment file serves every systemd unit.)
 *
 * File layout: top-level keys are options of `archive` (the default command, the nightly job).
 * A section named after another command (`record:`) holds that command's options; it also inherits
 * the top-level keys it knows (notify-url, log-file…), so shared settings are written once.
 * An `archive:` section is accepted too. Keys are the long option names, kebab- or camelCase.
 * Environment variables a command has no option for belong to another command: ignored.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Parser } from 'yargs/helpers';
import type { Argv } from 'yargs';
import { createRequire } from 'node:module';
import { ConfigError, errorMessage, UsageError } from './errors.js';
import { parseNotifyUrls, redactUrl } from './notify.js';
import { parseUntil } from './until.js';
import { parseDuration, parseSize } from './units.js';

export const DEFAULT_CONFIG_DIR = '/etc/camera-archiver';
export const DEFAULT_CONFIG_FILES = ['config.yaml', 'config.yml', 'config.json'].map((f) =>
  path.join(DEFAULT_CONFIG_DIR, f),
);
export const ENV_PREFIX = 'CAMERA_ARCHIVER';
/** Sections other commands may have; top-level keys belong to archive. */
export const COMMAND_SECTIONS = ['archive', 'record', 'detect', 'snapshot', 'stats'] as const;
/** Options that make no sense in a file. */
const NOT_IN_FILE = new Set(['help', 'version', 'config']);

export interface LoadedConfig {
  path: string;
  /** True when named by --config or CAMERA_ARCHIVER_CONFIG, false for the default location. */
  explicit: boolean;
  data: Record<string, unknown>;
}

/** What main.ts found before parsing: a loaded file, none, or the error to report when a command runs. */
export interface ConfigState {
  file?: LoadedConfig | undefined;
  error?: ConfigError | undefined;
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  /** The settings applied to the command that runs (set by its builder). */
  applied?: SharedSettings | undefined;
}

export type ConfigLocation = { path: string; explicit: boolean } | undefined;

/**
 * Finds the config file before yargs runs (yargs needs its contents to parse): `--config FILE`,
 * `--config=FILE`, then CAMERA_ARCHIVER_CONFIG, then the first default file that exists.
 * `--no-config` (or an empty value) means no file at all, not even the default one.
 */
export function locateConfig(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  exists: (file: string) => boolean = existsSync,
): ConfigLocation {
  let given: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] ?? '';
    if (token === '--') break;
    if (token === '--no-config') return undefined;
    if (token === '--config') given = argv[i + 1] ?? '';
    else if (token.startsWith('--config=')) given = token.slice('--config='.length);
  }
  given ??= env[`${ENV_PREFIX}_CONFIG`];
  if (given !== undefined)
    return given === '' || given === 'false'
      ? undefined
      : { path: path.resolve(given), explicit: true };
  const found = DEFAULT_CONFIG_FILES.find((file) => exists(file));
  return found ? { path: found, explicit: false } : undefined;
}

/**
 * The YAML parser, loaded only when a YAML file is read: it is a third of `--help`'s start-up.
 * require(), not `import('yaml')`: in the esbuild bundle a dynamic import of this CommonJS package
 * yields a namespace without its named exports ("parse is not a function"); require() resolves
 * the installed package the same way bundled or not.
 */
function loadYaml(): typeof import('yaml') {
  return createRequire(import.meta.url)('yaml') as typeof import('yaml');
}

/**
 * Parses a config file's text, YAML or JSON (by extension; anything else as YAML, a superset of
 * JSON). The one parser of every command's configuration (record reads its cameras through it).
 */
export function parseConfigText(text: string, file: string): Record<string, unknown> {
  let data: unknown;
  if (path.extname(file).toLowerCase() === '.json') {
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw new ConfigError(`config file ${file}: not valid JSON: ${errorMessage(error)}`);
    }
  } else {
    const doc = loadYaml().parseDocument(text, { prettyErrors: true, uniqueKeys: true });
    const first = doc.errors[0];
    if (first) {
      const where = first.linePos?.[0]
        ? ` (line ${first.linePos[0].line}, column ${first.linePos[0].col})`
        : '';
      const message = (first.message.split('\n')[0] ?? '').replace(
        / at line \d+, column \d+:?$/,
        '',
      );
      throw new ConfigError(`config file ${file}: not valid YAML${where}: ${message}`);
    }
    data = doc.toJS();
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(
      `config file ${file}: the top level must be a mapping of option names to values`,
    );
  }
  return data as Record<string, unknown>;
}

export function loadConfigFile(location: NonNullable<ConfigLocation>): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(location.path, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    const why =
      code === 'ENOENT'
        ? 'not found'
        : code === 'EACCES'
          ? 'permission denied'
          : errorMessage(error);
    throw new ConfigError(`config file ${location.path}: ${why}`);
  }
  return { ...location, data: parseConfigText(text, location.path) };
}

/** Finds and loads the config file; never throws, so `--help` works even with a broken file. */
export function loadConfigState(argv: readonly string[], env: NodeJS.ProcessEnv): ConfigState {
  try {
    const location = locateConfig(argv, env);
    return { argv, env, file: location ? loadConfigFile(location) : undefined };
  } catch (error) {
    return {
      argv,
      env,
      error: error instanceof ConfigError ? error : new ConfigError(errorMessage(error)),
    };
  }
}

// ---------------------------------------------------------------------------------------------
// The options of a command, as yargs knows them (so options added by anyone are covered).

export type OptionType = 'string' | 'number' | 'boolean' | 'array' | 'count';

export interface OptionSpec {
  key: string;
  type: OptionType;
  choices?: readonly unknown[] | undefined;
  aliases: string[];
  default?: unknown;
  hidden: boolean;
}

export type OptionSchema = Map<string, OptionSpec>;

/** The subset of yargs' runtime getOptions() we read (not in @types/yargs). */
interface YargsOptionTable {
  key: Record<string, unknown>;
  alias: Record<string, string[]>;
  array: string[];
  boolean: string[];
  string: string[];
  number: string[];
  count: string[];
  choices: Record<string, unknown[]>;
  default: Record<string, unknown>;
  hiddenOptions: string[];
}

export function optionTable(y: Argv<unknown>): YargsOptionTable {
  return (y as unknown as { getOptions(): YargsOptionTable }).getOptions();
}

export function schemaFromTable(t: YargsOptionTable): OptionSchema {
  const schema: OptionSchema = new Map();
  // yargs lists some aliases (-o, -y) as keys of their own; they are spellings, not settings.
  const aliases = new Set(Object.values(t.alias).flat());
  for (const key of Object.keys(t.key)) {
    if (aliases.has(key)) continue;
    const type: OptionType = t.count.includes(key)
      ? 'count'
      : t.array.includes(key)
        ? 'array'
        : t.boolean.includes(key)
          ? 'boolean'
          : t.number.includes(key)
            ? 'number'
            : 'string';
    schema.set(key, {
      key,
      type,
      choices: t.choices[key],
      aliases: t.alias[key] ?? [],
      default: t.default[key],
      hidden: t.hiddenOptions.includes(key),
    });
  }
  return schema;
}

/** One spelling for max-size, maxSize and MAX_SIZE (the environment's form). */
export function canonicalName(name: string): string {
  return name.replace(/[-_]/g, '').toLowerCase();
}

function lookup(schema: OptionSchema, name: string): OptionSpec | undefined {
  const wanted = canonicalName(name);
  for (const spec of schema.values()) {
    if (canonicalName(spec.key) === wanted) return spec;
  }
  return undefined;
}

function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_v, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(
        (prev[j] ?? 0) + 1,
        (row[j - 1] ?? 0) + 1,
        (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

function suggest(schema: OptionSchema, name: string): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const spec of schema.values()) {
    if (spec.hidden || NOT_IN_FILE.has(spec.key)) continue;
    const d = levenshtein(canonicalName(name), canonicalName(spec.key));
    if (d < bestDistance) [best, bestDistance] = [spec.key, d];
  }
  return best ? ` (did you mean '${best}'?)` : '';
}

/** Checks beyond the type, for options whose strings have a syntax of their own. */
const VALUE_CHECKS: Record<string, (value: string) => void> = {
  'settle-time': (v) => parseDuration(v, 'duration'),
  'stall-timeout': (v) => parseDuration(v, 'duration'),
  'max-size': (v) => parseSize(v, 'size'),
  until: (v) => parseUntil(v, new Date(), 'time'),
  'notify-url': (v) => parseNotifyUrls([v], 'URL'),
};

function describe(value: unknown): string {
  return value === null
    ? 'null'
    : Array.isArray(value)
      ? 'a list'
      : typeof value === 'object'
        ? 'a mapping'
        : `${typeof value} ${JSON.stringify(value)}`;
}

/** Type-checks one value; returns the value yargs should see, or the reason it is wrong. */
export function checkValue(
  spec: OptionSpec,
  value: unknown,
): { value: unknown } | { error: string } {
  const choice = (v: unknown): { error: string } | undefined =>
    spec.choices && !spec.choices.includes(v)
      ? { error: `must be one of ${spec.choices.map(String).join(', ')}, got ${describe(v)}` }
      : undefined;
  const syntax = (v: string): { error: string } | undefined => {
    const check = VALUE_CHECKS[spec.key];
    if (!check) return undefined;
    try {
      check(v);
      return undefined;
    } catch (error) {
      return { error: errorMessage(error).replace(/^invalid \w+ /, 'invalid value ') };
    }
  };
  switch (spec.type) {
    case 'boolean':
      return typeof value === 'boolean'
        ? { value }
        : { error: `must be true or false, got ${describe(value)}` };
    case 'count':
      return typeof value === 'number' && Number.isInteger(value) && value >= 0
        ? { value }
        : { error: `must be a whole number ≥ 0, got ${describe(value)}` };
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value))
        return { error: `must be a number, got ${describe(value)}` };
      return choice(value) ?? { value };
    case 'array': {
      const list = Array.isArray(value) ? value : [value];
      for (const item of list) {
        if (typeof item !== 'string' || item === '')
          return { error: `must be a string or a list of strings, got ${describe(value)}` };
        const bad = choice(item) ?? syntax(item);
        if (bad) return bad;
      }
      return { value: list };
    }
    case 'string': {
      // YAML reads `max-size: 500` or `settle-time: 300` as numbers; they mean the same as strings.
      if (typeof value !== 'string' && typeof value !== 'number')
        return { error: `must be a string, got ${describe(value)}` };
      const text = String(value);
      return choice(text) ?? syntax(text) ?? { value: text };
    }
  }
}

function checkSection(
  data: Record<string, unknown>,
  schema: OptionSchema,
  strict: boolean,
  prefix: string,
  skip: ReadonlySet<string>,
  found: FileValues,
): void {
  for (const [name, raw] of Object.entries(data)) {
    if (
      skip.has(name) ||
      skip.has(name.replace(/[-_]+([a-z0-9])/gi, (_m, c: string) => c.toUpperCase()))
    )
      continue;
    const spec = lookup(schema, name);
    const key = `key ${prefix}${name}`;
    if (!spec || NOT_IN_FILE.has(spec.key)) {
      if (strict) {
        found.errors.push(
          spec
            ? `${key}: cannot be set in a config file`
            : `${key}: not an option${suggest(schema, name)}`,
        );
      }
      continue;
    }
    const checked = checkValue(spec, raw);
    if ('error' in checked) {
      found.errors.push(`${key}: ${checked.error}`);
    } else {
      found.values[spec.key] = checked.value;
      found.keys.set(spec.key, `${prefix}${name}`);
    }
  }
}

export interface FileValues {
  /** Validated values, keyed by the command's declared option names. */
  values: Record<string, unknown>;
  /** Each problem, as "key SECTION.NAME: reason". */
  errors: string[];
  /** Option name → the key in the file it came from (`record.notify-url`, `age`). */
  keys: Map<string, string>;
}

/**
 * The validated values of one command from the file's data, and every problem found (each naming
 * the key and the reason). `command` picks the section; `readByCommand` lists the structured keys
 * of that section the command reads itself (record's cameras, storage…).
 */
export function configValuesFor(
  data: Record<string, unknown>,
  command: string,
  schema: OptionSchema,
  readByCommand: ReadonlySet<string> = new Set(),
): FileValues {
  const found: FileValues = { values: {}, errors: [], keys: new Map() };
  const sections = new Set<string>(COMMAND_SECTIONS);
  for (const name of sections) {
    const section = data[name];
    if (
      section !== undefined &&
      (section === null || typeof section !== 'object' || Array.isArray(section))
    ) {
      found.errors.push(
        `key ${name}: must be a mapping of ${name} options, got ${describe(section)}`,
      );
    }
  }
  const own = data[command];
  // archive owns the top level (strict); other commands inherit the top-level keys they know.
  checkSection(data, schema, command === 'archive', '', sections, found);
  if (own && typeof own === 'object' && !Array.isArray(own)) {
    checkSection(own as Record<string, unknown>, schema, true, `${command}.`, readByCommand, found);
  }
  return found;
}

// ---------------------------------------------------------------------------------------------
// The environment: CAMERA_ARCHIVER_<OPTION>, read per command.

export interface EnvironmentValues {
  values: Record<string, unknown>;
  /** Each problem, as "CAMERA_ARCHIVER_AGE=abc: --age must be a number, got …". */
  errors: string[];
  /** Option name → the variable it came from. */
  variables: Map<string, string>;
}

/** Variables that are not options of any command (read before parsing, or by name elsewhere). */
const NOT_OPTION_VARIABLES = new Set([`${ENV_PREFIX}_CONFIG`, `${ENV_PREFIX}_BIN`]);

/** Environment text to the type the option has, so checkValue judges it as it judges the file. */
function fromEnvironment(spec: OptionSpec, text: string): unknown {
  switch (spec.type) {
    case 'boolean':
      if (/^(true|1|yes|on)$/i.test(text)) return true;
      if (/^(false|0|no|off)$/i.test(text)) return false;
      return text;
    case 'number':
    case 'count':
      return text.trim() !== '' && Number.isFinite(Number(text)) ? Number(text) : text;
    case 'array':
      return [text];
    case 'string':
      return text;
  }
}

/** What an error may show of a variable's value: never a secret, URLs by origin only. */
function shownEnvironmentValue(key: string, text: string): string {
  if (key === 'notify-secret') return '(hidden)';
  if (key === 'notify-url') return redactUrl(text);
  return text;
}

/**
 * The values of one command from CAMERA_ARCHIVER_* variables: each variable naming one of the
 * command's options (`_` for `-`, any case) is typed and checked like a config-file value. A
 * variable the command has no option for belongs to another command (one environment file serves
 * every unit) and is ignored; so is an empty one (`VAR=` in an environment file means unset).
 * `skip`: option names not read from the environment (positionals, --config, --help).
 */
export function environmentValuesFor(
  env: NodeJS.ProcessEnv,
  schema: OptionSchema,
  skip: ReadonlySet<string> = new Set(),
): EnvironmentValues {
  const found: EnvironmentValues = { values: {}, errors: [], variables: new Map() };
  for (const name of Object.keys(env).sort()) {
    const text = env[name];
    if (!name.startsWith(`${ENV_PREFIX}_`) || NOT_OPTION_VARIABLES.has(name)) continue;
    if (text === undefined || text === '') continue;
    const spec = lookup(schema, name.slice(ENV_PREFIX.length + 1));
    if (!spec || skip.has(spec.key) || NOT_IN_FILE.has(spec.key)) continue;
    const checked = checkValue(spec, fromEnvironment(spec, text));
    if ('error' in checked) {
      const error = checked.error.replace(/, got .*$/, '');
      found.errors.push(`${name}=${shownEnvironmentValue(spec.key, text)}: --${spec.key} ${error}`);
    } else {
      found.values[spec.key] = checked.value;
      found.variables.set(spec.key, name);
    }
  }
  return found;
}

/** Option names mapped from the environment to their variables (for provenance). */
export function environmentKeys(env: NodeJS.ProcessEnv, schema: OptionSchema): Map<string, string> {
  return environmentValuesFor(env, schema).variables;
}

// ---------------------------------------------------------------------------------------------
// One command's shared settings: file and environment together.

/** How a command takes part in the shared settings. */
export interface CommandSettings {
  /** The command's name: its section in the file. */
  command: string;
  /** Words that name the command on the command line (to find its flags). */
  words: readonly string[];
  /** Its positional arguments: set in the file, never from the environment. */
  positionals?: readonly string[];
  /** Structured keys of its section that the command reads itself (record's cameras…). */
  readByCommand?: ReadonlySet<string>;
}

export interface SharedSettings {
  /** File values overlaid with environment values: what yargs gets below the command line. */
  values: Record<string, unknown>;
  /** Every problem, each naming the file and key or the variable. */
  errors: string[];
  /** Where each value not given on the command line came from. */
  sources: Map<string, Provenance>;
}

/** The file and environment settings of one command, validated against its options. Pure. */
export function sharedSettingsFor(
  state: Pick<ConfigState, 'file' | 'env' | 'argv'>,
  settings: CommandSettings,
  schema: OptionSchema,
): SharedSettings {
  const file = state.file
    ? configValuesFor(state.file.data, settings.command, schema, settings.readByCommand)
    : undefined;
  const env = environmentValuesFor(state.env, schema, new Set(settings.positionals ?? []));
  const cli = commandLineKeys(state.argv, schema, settings.words, settings.positionals?.[0]);
  const sources = new Map<string, Provenance>();
  for (const [key, where] of file?.keys ?? []) {
    sources.set(key, { source: 'config file', from: state.file?.path ?? '', fileKey: where });
  }
  for (const [key, variable] of env.variables) {
    sources.set(key, { source: 'environment', from: variable });
  }
  for (const key of cli) sources.delete(key);
  return {
    values: { ...file?.values, ...env.values },
    errors: [
      ...(file?.errors ?? []).map((e) => `config file ${state.file?.path ?? ''}, ${e}`),
      ...env.errors,
    ],
    sources,
  };
}

/**
 * Applies the config file and the environment to a command's yargs builder. Problems are raised
 * when the command runs (not for --help), as one ConfigError listing each with the file and key
 * or the variable it came from: exit 2. Records the sources in `state.applied`, so that a value
 * the command itself rejects later can be traced to its origin too (`attributeError`).
 */
export function withSharedConfig<T>(
  y: Argv<T>,
  state: ConfigState,
  settings: CommandSettings,
): Argv<T> {
  const fail = (error: ConfigError): Argv<T> =>
    y.middleware(() => {
      throw error;
    }, true);
  if (state.error) return fail(state.error);
  const shared = sharedSettingsFor(state, settings, schemaFromTable(optionTable(y)));
  state.applied = shared;
  const [first, ...more] = shared.errors;
  if (first !== undefined) {
    return fail(
      new ConfigError(
        more.length
          ? `invalid settings:${[first, ...more].map((e) => `\n  ${e}`).join('')}`
          : first,
      ),
    );
  }
  return y.config(shared.values);
}

/**
 * A UsageError about one option (`--age must be …`) whose value came from the file or the
 * environment, reworded to name that origin; anything else unchanged.
 */
export function attributeError(error: unknown, state: ConfigState): unknown {
  if (!(error instanceof UsageError || error instanceof ConfigError)) return error;
  const match = /^(?:invalid )?--([a-z][a-z0-9-]*)\b/.exec(error.message);
  const where = match?.[1] ? state.applied?.sources.get(match[1]) : undefined;
  if (!where) return error;
  const variable = where.source === 'environment' ? where.from : undefined;
  const origin = variable
    ? `${variable}=${shownEnvironmentValue(match?.[1] ?? '', state.env[variable] ?? '')}`
    : `config file ${where.from ?? ''}, key ${where.fileKey ?? match?.[1] ?? ''}`;
  return new ConfigError(`${origin}: ${error.message}`);
}

// ---------------------------------------------------------------------------------------------
// Provenance: where each effective value came from.

export type Source = 'default' | 'config file' | 'environment' | 'command line';

export interface Provenance {
  source: Source;
  /** The file path or the environment variable. */
  from?: string;
  /** In the file: the key the value was read from (`record.notify-url`). */
  fileKey?: string;
}

/**
 * Option keys given on the command line, read with yargs' own parser (aliases resolved).
 * `commandWords`: the words that name the command, in order (`config record`), each skipped when
 * typed; the first word after them is the command's first positional (`positional`).
 */
export function commandLineKeys(
  argv: readonly string[],
  schema: OptionSchema,
  commandWords: readonly string[],
  positional = 'directory',
): Set<string> {
  const pick = (type: OptionType): string[] =>
    [...schema.values()].filter((s) => s.type === type).map((s) => s.key);
  const parsed = Parser(argv.slice(), {
    alias: Object.fromEntries([...schema.values()].map((s) => [s.key, s.aliases])),
    array: pick('array'),
    boolean: pick('boolean'),
    number: pick('number'),
    count: pick('count'),
    string: pick('string'),
    configuration: { 'camel-case-expansion': false },
  });
  const keys = new Set<string>();
  for (const [key, value] of Object.entries(parsed)) {
    // yargs-parser starts counters (-v) at 0 even when absent.
    if (schema.has(key) && !(schema.get(key)?.type === 'count' && value === 0)) keys.add(key);
  }
  // Positionals: after the command words (where typed), the first one is `positional`.
  const words = parsed._.map(String);
  for (const word of commandWords) if (words[0] === word) words.shift();
  if (words.length && schema.has(positional)) keys.add(positional);
  return keys;
}

export function provenanceOf(
  key: string,
  cli: ReadonlySet<string>,
  sources: ReadonlyMap<string, Provenance>,
): Provenance {
  if (cli.has(key)) return { source: 'command line' };
  return sources.get(key) ?? { source: 'default' };
}

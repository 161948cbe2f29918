/**
 * `camera-archiver config --print [COMMAND] [--json] [COMMAND's options]`: the effective
 * configuration of one command (archive by default; record, snapshot, detect, stats) and where each
 * value came from (default, config file key, CAMERA_ARCHIVER_* variable, command line). Each
 * command's options are built by that command's own builder and go through the same shared-config
 * loading as a run (`withSharedConfig`), so a source is computed by the code that applies the value,
 * and "what would this command line use?" is answered by running it under `config --print`.
 */
import type { Argv, CommandModule } from 'yargs';
import {
  commandLineKeys,
  optionTable,
  provenanceOf,
  schemaFromTable,
  sharedSettingsFor,
  withSharedConfig,
  DEFAULT_CONFIG_FILES,
  type CommandSettings,
  type ConfigState,
  type OptionSchema,
  type Provenance,
} from '../../core/config-file.js';
import { redactUrl } from '../../core/notify.js';
import type { CliContext } from '../context.js';
import { archiveBuilder } from './archive.js';
import { withEffectiveValues, type Row } from './config-effective.js';
import { redactDeep } from '../../core/redact.js';
import { recordRows, statsRows } from './config-commands.js';
import { detectBuilder } from './detect.js';
import { recordBuilder } from './record.js';
import { snapshotBuilder } from './snapshot.js';
import { statsBuilder } from './stats.js';

/** Never printed: they would land in logs and bug reports. */
const SECRET_KEYS = new Set(['notify-secret']);
/** Shown by origin only: webhook URLs usually carry their token. */
const URL_KEYS = new Set(['notify-url']);

/** The commands `config` can show, as main.ts declares their shared settings. */
export type PrintableCommand = 'archive' | 'record' | 'snapshot' | 'detect' | 'stats';
export type PrintableSettings = Record<PrintableCommand, CommandSettings>;

/** `config` alone shows archive's settings, as the nightly run would use them. */
const ARCHIVE_IN_CONFIG: CommandSettings = {
  command: 'archive',
  words: ['config', 'archive'],
  positionals: ['directory'],
};

/** Options of the CLI itself, not settings. */
const NOT_SETTINGS = new Set(['help', 'version', 'print', 'config']);
/** Per command: options that pick an action rather than set a value (record --status --json). */
const ACTIONS: Partial<Record<string, ReadonlySet<string>>> = {
  record: new Set(['status', 'json']),
  snapshot: new Set(['json']),
  detect: new Set(['json']),
};

export interface ConfigRow extends Provenance {
  key: string;
  value: unknown;
}

export function shownValue(key: string, value: unknown): unknown {
  if (value === undefined) return undefined;
  if (SECRET_KEYS.has(key)) return '(set, hidden)';
  if (URL_KEYS.has(key))
    return (Array.isArray(value) ? value : [value]).map((v) => redactUrl(String(v)));
  return redactDeep(value);
}

/**
 * The rows `config --print` shows: every setting of the command, its value and its source. Pure.
 * `settings`: the command's shared settings, with the words that name it on this command line.
 */
export function configRows(
  argv: Record<string, unknown>,
  schema: OptionSchema,
  state: ConfigState,
  commandWords: readonly string[],
  settings: CommandSettings = { ...ARCHIVE_IN_CONFIG, words: commandWords },
): ConfigRow[] {
  const cli = commandLineKeys(state.argv, schema, commandWords, settings.positionals?.[0]);
  const { sources } = sharedSettingsFor(state, { ...settings, words: commandWords }, schema);
  const actions = ACTIONS[settings.command] ?? new Set();
  const rows: ConfigRow[] = [];
  for (const spec of schema.values()) {
    if (NOT_SETTINGS.has(spec.key) || actions.has(spec.key)) continue;
    const { source, from, fileKey } = provenanceOf(spec.key, cli, sources);
    const where: Provenance = from === undefined ? { source } : { source, from };
    // A key other than the option's own name (in a section: `record.notify-url`) is named.
    if (fileKey !== undefined && fileKey !== spec.key) where.fileKey = fileKey;
    // Hidden options (the test clock, the --no-confirm spelling) only when someone set them.
    if (spec.hidden && where.source === 'default') continue;
    rows.push({ key: spec.key, value: shownValue(spec.key, argv[spec.key]), ...where });
  }
  return rows;
}

function formatValue(value: unknown): string {
  if (value === undefined) return '(none)';
  if (Array.isArray(value)) return value.length ? value.map(String).join(', ') : '(none)';
  return String(value);
}

function formatSource(r: Provenance): string {
  const source = r.from ? `${r.source} ${r.from}` : r.source;
  return r.fileKey ? `${source} (key ${r.fileKey})` : source;
}

export function renderConfigText(
  rows: readonly ConfigRow[],
  state: ConfigState,
  command: string = 'archive',
): string[] {
  const file = state.file
    ? `${state.file.path} (${state.file.explicit ? 'from --config or CAMERA_ARCHIVER_CONFIG' : 'default location'})`
    : `none (no --config, and none of ${DEFAULT_CONFIG_FILES.join(', ')} exists)`;
  const keyWidth = Math.max(0, ...rows.map((r) => r.key.length));
  const valueWidth = Math.min(40, Math.max(0, ...rows.map((r) => formatValue(r.value).length)));
  return [
    `Effective configuration of camera-archiver ${command}`,
    `config file: ${file}`,
    'precedence: command line > environment (CAMERA_ARCHIVER_*) > config file > default',
    '',
    ...(rows.length ? [] : ['  (no settings)']),
    ...rows.map(
      (r) =>
        `  ${r.key.padEnd(keyWidth)}  ${formatValue(r.value).padEnd(valueWidth)}  ${formatSource(r)}`,
    ),
  ];
}

export function configJson(
  rows: readonly ConfigRow[],
  state: ConfigState,
  command?: string,
): Record<string, unknown> {
  return {
    command: 'config',
    ...(command ? { for: command } : {}),
    configFile: state.file?.path ?? null,
    options: Object.fromEntries(
      rows.map((r) => [
        r.key,
        {
          value: r.value ?? null,
          source: r.source,
          ...(r.from ? { from: r.from } : {}),
          ...(r.fileKey ? { key: r.fileKey } : {}),
        },
      ]),
    ),
  };
}

type Builder = (y: Argv) => Argv;

const SHOWN: Record<PrintableCommand, { usage: string; builder: Builder }> = {
  archive: { usage: 'archive [directory]', builder: archiveBuilder },
  record: { usage: 'record [root]', builder: recordBuilder },
  snapshot: { usage: 'snapshot [output]', builder: snapshotBuilder },
  detect: { usage: 'detect', builder: detectBuilder },
  stats: { usage: 'stats [directory]', builder: statsBuilder },
};

/**
 * The command's own builder for `config --print COMMAND`, under the same shared settings as a run;
 * `--json` added where the command has none; a required option (snapshot's --camera) made
 * optional, its row saying it is required. `found` receives the schema and the required options.
 */
function printableBuilder(
  command: PrintableCommand,
  state: ConfigState,
  own: CommandSettings,
  found: { schema: OptionSchema; required: Set<string> },
): (y: Argv) => Argv {
  return (y) => {
    const options = SHOWN[command].builder(y);
    if (!('json' in optionTable(options).key))
      options.option('json', { type: 'boolean', default: false, describe: 'JSON output' });
    const demanded = (optionTable(options) as { demandedOptions?: Record<string, unknown> })
      .demandedOptions;
    for (const key of Object.keys(demanded ?? {})) {
      found.required.add(key);
      delete demanded?.[key];
    }
    const built = withSharedConfig(options, state, own);
    found.schema = schemaFromTable(optionTable(built));
    return built;
  };
}

/** Every effective value, as the command computes it from these settings (`text`: for people). */
function effectiveRows<R extends Row>(
  command: PrintableCommand,
  rows: R[],
  args: Record<string, unknown>,
  state: ConfigState,
  required: ReadonlySet<string>,
  text: boolean,
): Row[] {
  switch (command) {
    case 'archive': // parsed as a run parses its flags: a bad value is exit 2 here too
      return withEffectiveValues(rows, args, state.env, text);
    case 'record':
      return recordRows(rows, args, state, text);
    case 'stats':
      return statsRows(rows, args);
    default:
      return rows.map((r) =>
        r.value === undefined && required.has(r.key) && text
          ? { ...r, value: `(none: ${command} requires it)` }
          : r,
      );
  }
}

export function configCommand(
  ctx: CliContext,
  state: ConfigState,
  settings: PrintableSettings,
): CommandModule {
  /** One sub-command per command: its own options, its own shared settings. */
  const shown = (command: PrintableCommand, isDefault: boolean): CommandModule => {
    const own = { ...settings[command], words: ['config', command] };
    const found = { schema: new Map() as OptionSchema, required: new Set<string>() };
    return {
      command: isDefault ? [SHOWN[command].usage, '$0 [directory]'] : SHOWN[command].usage,
      describe: `the settings of ${command}${isDefault ? ' (the default)' : ''}`,
      builder: printableBuilder(command, state, own, found),
      handler: (argv) => {
        const args = argv as Record<string, unknown>;
        const rows = configRows(args, found.schema, state, own.words, own);
        // Output format from the command line only: `json: true` in the file is for the runs.
        const wantsJson =
          commandLineKeys(state.argv, found.schema, own.words, own.positionals?.[0]).has('json') &&
          args.json === true;
        const effective = effectiveRows(command, rows, args, state, found.required, !wantsJson);
        ctx.stdout.write(
          wantsJson
            ? `${JSON.stringify(configJson(effective, state, command === 'archive' ? undefined : command), null, 2)}\n`
            : `${renderConfigText(effective, state, command).join('\n')}\n`,
        );
      },
    };
  };
  return {
    command: 'config',
    describe: 'show the effective configuration of a command and where each value came from',
    builder: (y: Argv) =>
      y
        .option('print', {
          type: 'boolean',
          default: true,
          global: true,
          describe: 'print every setting with its source (the default action)',
          group: 'Config:',
        })
        .command(shown('archive', true))
        .command(shown('record', false))
        .command(shown('snapshot', false))
        .command(shown('detect', false))
        .command(shown('stats', false))
        .example('$0 config --print', "what tonight's archive run uses, and why")
        .example('$0 config --print --json', 'the same, for scripts')
        .example('$0 config --print record', 'what the recorder uses: cameras, segments, storage')
        .example(
          'CAMERA_ARCHIVER_JOBS=2 $0 config --config ./test.yaml',
          'check a new file and an override',
        )
        .epilogue(
          'Accepts every option of the command shown, so it answers "what would this command line use?". --json here means JSON output. The notify secret is never shown, notify URLs only by origin, and a camera URL\'s password as ***.',
        ),
    handler: () => undefined, // a sub-command (archive by default) always runs
  };
}

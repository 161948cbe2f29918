/**
 * `camera-archiver config --print [--json] [archive options]`: the effective configuration of the
 * archive command and where each value came from (default, config file, environment, command
 * line). It accepts every archive option, so "what would tonight's run use?" is answered by
 * running it with the same environment and flags as the timer.
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
} from '../../config-file.js';
import { redactUrl } from '../../notify.js';
import type { CliContext } from '../context.js';
import { archiveBuilder, toArchiveOptions } from './archive.js';
import { withEffectiveValues } from './config-effective.js';

/** Never printed: they would land in logs and bug reports. */
const SECRET_KEYS = new Set(['notify-secret']);
/** Shown by origin only: webhook URLs usually carry their token. */
const URL_KEYS = new Set(['notify-url']);
/** `config` shows the archive command's settings, as `config` would run it. */
const SETTINGS: CommandSettings = {
  command: 'archive',
  words: ['config'],
  positionals: ['directory'],
};

/** Options of the CLI itself, not settings. */
const NOT_SETTINGS = new Set(['help', 'version', 'print', 'config']);

export interface ConfigRow extends Provenance {
  key: string;
  value: unknown;
}

export function shownValue(key: string, value: unknown): unknown {
  if (value === undefined) return undefined;
  if (SECRET_KEYS.has(key)) return '(set, hidden)';
  if (URL_KEYS.has(key))
    return (Array.isArray(value) ? value : [value]).map((v) => redactUrl(String(v)));
  return value;
}

/** The rows `config --print` shows: every setting, its effective value and its source. Pure. */
export function configRows(
  argv: Record<string, unknown>,
  schema: OptionSchema,
  state: ConfigState,
  commandWords: readonly string[],
): ConfigRow[] {
  const cli = commandLineKeys(state.argv, schema, commandWords);
  const { sources } = sharedSettingsFor(state, { ...SETTINGS, words: commandWords }, schema);
  const rows: ConfigRow[] = [];
  for (const spec of schema.values()) {
    if (NOT_SETTINGS.has(spec.key)) continue;
    const { source, from } = provenanceOf(spec.key, cli, sources);
    const where: Provenance = from === undefined ? { source } : { source, from };
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

export function renderConfigText(rows: readonly ConfigRow[], state: ConfigState): string[] {
  const file = state.file
    ? `${state.file.path} (${state.file.explicit ? 'from --config or CAMERA_ARCHIVER_CONFIG' : 'default location'})`
    : `none (no --config, and none of ${DEFAULT_CONFIG_FILES.join(', ')} exists)`;
  const keyWidth = Math.max(...rows.map((r) => r.key.length));
  const valueWidth = Math.min(40, Math.max(...rows.map((r) => formatValue(r.value).length)));
  return [
    'Effective configuration of camera-archiver archive',
    `config file: ${file}`,
    'precedence: command line > environment (CAMERA_ARCHIVER_*) > config file > default',
    '',
    ...rows.map((r) => {
      const source = r.from ? `${r.source} ${r.from}` : r.source;
      return `  ${r.key.padEnd(keyWidth)}  ${formatValue(r.value).padEnd(valueWidth)}  ${source}`;
    }),
  ];
}

export function configJson(
  rows: readonly ConfigRow[],
  state: ConfigState,
): Record<string, unknown> {
  return {
    command: 'config',
    configFile: state.file?.path ?? null,
    options: Object.fromEntries(
      rows.map((r) => [
        r.key,
        { value: r.value ?? null, source: r.source, ...(r.from ? { from: r.from } : {}) },
      ]),
    ),
  };
}

export function configCommand(ctx: CliContext, state: ConfigState): CommandModule {
  let schema: OptionSchema = new Map();
  return {
    command: 'config [directory]',
    describe: 'show the effective configuration and where each value came from',
    builder: (y: Argv) => {
      const built = withSharedConfig(
        archiveBuilder(y)
          .option('print', {
            type: 'boolean',
            default: true,
            describe: 'print every archive setting with its source (the default action)',
            group: 'Config:',
          })
          .example('$0 config --print', "what tonight's run uses, and why")
          .example('$0 config --print --json', 'the same, for scripts')
          .example(
            'CAMERA_ARCHIVER_JOBS=2 $0 config --config ./test.yaml',
            'check a new file and an override',
          )
          .epilogue(
            'Accepts every archive option, so it answers "what would this command line use?". --json here means JSON output. The notify secret is never shown and notify URLs only by origin.',
          ),
        state,
        SETTINGS,
      );
      schema = schemaFromTable(optionTable(built));
      return built;
    },
    handler: (argv) => {
      const args = argv as Record<string, unknown>;
      // The same validation as a real run: a bad value is an error (exit 2) here too.
      toArchiveOptions(args, ctx.commandLine);
      const rows = configRows(args, schema, state, ['config']);
      // Output format from the command line only: `json: true` in the file is for the runs.
      const json =
        commandLineKeys(state.argv, schema, ['config']).has('json') && args.json === true;
      // Every effective value, including the defaults that depend on other settings.
      const shown = withEffectiveValues(rows, args, state.env, !json);
      ctx.stdout.write(
        json
          ? `${JSON.stringify(configJson(shown, state), null, 2)}\n`
          : `${renderConfigText(shown, state).join('\n')}\n`,
      );
    },
  };
}

/**
 * The CLI edge: parses arguments, installs signal handlers, runs one command, and maps its outcome
 * or error to the process exit code. The only module that calls process.exit.
 *
 *   0 ok or nothing to do · 1 some work failed · 2 usage/config error · 129/130/143 SIGHUP/SIGINT/SIGTERM
 */
import yargs, { type Argv, type MiddlewareFunction } from 'yargs';
import { errorMessage, EXIT, exitCodeForError, UsageError } from '../core/errors.js';
import {
  attributeError,
  loadConfigState,
  withSharedConfig,
  type CommandSettings,
  type ConfigState,
} from '../core/config-file.js';
import { RECORD_FILE_KEYS } from '../record/config.js';
import { packageVersion } from '../core/package-version.js';
import { redact } from '../core/redact.js';
import { archiveBuilder, archiveHandler } from './commands/archive.js';
import { detectBuilder, detectHandler } from './commands/detect.js';
import { recordBuilder, recordHandler } from './commands/record.js';
import { snapshotBuilder, snapshotHandler } from './commands/snapshot.js';
import { configCommand } from './commands/config.js';
import { statsBuilder, statsHandler } from './commands/stats.js';
import { commandLineValues } from './commands/flags.js';
import { COMMANDS, completeWith, completionArgv } from './completion.js';
import type { CliContext } from './context.js';
import {
  command,
  commandNameOf,
  listenForSignals,
  unknownOptionMessage,
  type CommandHandler,
} from './runtime.js';

/**
 * How each command reads the shared config file and environment: one file and one environment
 * file serve every command, each taking the options it has and ignoring the others'.
 */
const SETTINGS = {
  archive: { command: 'archive', words: ['archive'], positionals: ['directory'] },
  record: {
    command: 'record',
    words: ['record'],
    positionals: ['root'],
    readByCommand: RECORD_FILE_KEYS,
  },
  snapshot: { command: 'snapshot', words: ['snapshot'], positionals: ['output'] },
  detect: { command: 'detect', words: ['detect'] },
  stats: { command: 'stats', words: ['stats'], positionals: ['directory'] },
} as const satisfies Record<string, CommandSettings>;

/** The commands that run through the runtime, each with its grammar, its handler, its settings. */
const RUN_COMMANDS: Readonly<
  Record<
    keyof typeof SETTINGS,
    {
      name: string | string[];
      describe: string;
      builder: (y: Argv) => Argv;
      handler: CommandHandler;
    }
  >
> = {
  archive: {
    name: ['archive [directory]', '$0 [directory]'],
    describe:
      'transcode old clips into the archive tree, verify, then trash or delete the sources (default command)',
    builder: archiveBuilder,
    handler: archiveHandler,
  },
  record: {
    name: 'record [root]',
    describe: 'record cameras into the tree in clock-aligned segments (long-running)',
    builder: recordBuilder,
    handler: recordHandler,
  },
  snapshot: {
    name: 'snapshot [output]',
    describe: 'grab one frame from a camera as JPEG',
    builder: snapshotBuilder,
    handler: snapshotHandler,
  },
  detect: {
    name: 'detect',
    describe: 'list V4L2 (USB) cameras with formats and a suggested config',
    builder: detectBuilder,
    handler: detectHandler,
  },
  stats: {
    name: 'stats [directory]',
    describe:
      'footage per camera and per day, archive savings, free space and a forecast (reads sizes only)',
    builder: statsBuilder,
    handler: statsHandler,
  },
};

/** The order `--help` lists the commands in. */
const HELP_ORDER = ['archive', 'record', 'snapshot', 'detect', 'config', 'stats'] as const;

export async function runCli(
  argv: readonly string[],
  base: Omit<CliContext, 'setExitCode'>,
): Promise<number> {
  let code: number = EXIT.ok;
  const ctx: CliContext = { ...base, setExitCode: (c) => (code = c) };
  // Precedence: command line > CAMERA_ARCHIVER_* > config file > defaults (core/config-file.ts).
  const configState = loadConfigState(argv, base.env);
  const completing: { parser?: unknown } = {}; // for the completion function to read its options
  const parser = parserFor(argv, ctx, configState, completing);
  completing.parser = parser;
  // yargs prints the script but, without exitProcess, then runs the default command too.
  if (argv.length === 1 && argv[0] === 'completion') {
    parser.showCompletionScript();
    return code;
  }
  try {
    await parser.parseAsync();
  } catch (error) {
    throw attributeError(error, configState);
  }
  return code;
}

/** The command line's grammar: every command, each with the shared settings applied. */
function parserFor(
  argv: readonly string[],
  ctx: CliContext,
  configState: ConfigState,
  completing: { parser?: unknown },
): Argv {
  let y = yargs(completionArgv(argv, COMMANDS))
    .scriptName('camera-archiver')
    .usage(
      '$0 [archive] [directory] [options]\n\nArchive old security-camera clips: transcode, verify, then trash the sources.',
    );
  for (const name of HELP_ORDER) {
    if (name === 'config') {
      y = y.command(configCommand(ctx, configState, SETTINGS));
      continue;
    }
    const c = RUN_COMMANDS[name];
    // Every command with the shared settings applied (config file and environment, read once).
    const builder = (b: Argv): Argv => withSharedConfig(c.builder(b), configState, SETTINGS[name]);
    y = y.command(c.name, c.describe, builder, command(c.handler, ctx, configState));
  }
  return (
    y
      .option('config', {
        type: 'string',
        global: true,
        describe:
          'config file, YAML or JSON [default: /etc/camera-archiver/config.{yaml,yml,json} if present; --no-config: none]',
      })
      .completion(
        'completion',
        'print a bash/zsh completion script (add it to ~/.bashrc or ~/.zshrc)',
        completeWith(() => completing.parser),
      )
      // `-- DIR` stays in argv['--'] for the commands to read (flags.ts directoryOf); an option
      // given twice takes its last value; a bad number keeps its text (commandLineValues).
      .parserConfiguration({ 'populate--': true })
      .middleware(commandLineValues(argv, ctx.env) as unknown as MiddlewareFunction, true)
      .strict()
      .recommendCommands()
      .help()
      .alias('help', 'h')
      .version(packageVersion())
      .wrap(Math.min(110, ctx.stdout.columns ?? 100))
      .exitProcess(false)
      .fail((message, error) => {
        throw (
          error ?? new UsageError(unknownOptionMessage(message, commandNameOf(argv)) ?? message)
        );
      })
  );
}

/**
 * Output is complete whatever reads it: process.exit() discards what a pipe has not taken yet
 * (a slow `| jq` got the first 64 KiB), so exit waits until stdout and stderr have handed every
 * byte to the OS. A reader that leaves early (`| head`) is not an error of the run: what is
 * written after it left is dropped, quietly, and the run ends with its own exit status.
 */
function guardOutput(stream: NodeJS.WriteStream): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') return;
    // Nothing can be reported on a broken stream; the run's exit status still says how it went.
  });
}

/** Resolves when everything written to `stream` so far is flushed (or cannot be any more). */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  if (stream.destroyed || !stream.writable) return Promise.resolve();
  return new Promise((resolve) => {
    // Writes complete in order: this callback runs after every earlier write has been flushed.
    stream.write('', () => resolve());
  });
}

async function exitWhenFlushed(code: number): Promise<never> {
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
}

export async function main(argv: readonly string[]): Promise<void> {
  guardOutput(process.stdout);
  guardOutput(process.stderr);
  // The first signal aborts the run; a second one exits at once, with the first one's code.
  const signals = listenForSignals(process, process.stderr, (first) => process.exit(EXIT[first]));
  // Node exits when nothing is left to wait for, even with the command's promise unsettled (a
  // lost callback, an unreferenced child): that must never read as success to a timer or script.
  const unfinished = (): void => {
    process.stderr.write('camera-archiver: internal error: the run stopped before it finished\n');
    process.exit(EXIT.failed);
  };
  process.once('beforeExit', unfinished);
  let code: number;
  try {
    code = await runCli(argv, {
      stdin: process.stdin,
      stdout: process.stdout,
      stderr: process.stderr,
      env: process.env,
      signal: signals.signal,
      commandLine: ['camera-archiver', ...argv].join(' '),
      takeSignals: signals.takeSignals,
    });
  } catch (error) {
    code = exitCodeForError(error);
    if (!(error as { logged?: boolean }).logged)
      process.stderr.write(`camera-archiver: ${redact(errorMessage(error))}\n`);
    if (error instanceof UsageError)
      process.stderr.write(`Run 'camera-archiver --help' for usage.\n`);
  }
  const interrupted = signals.interrupted();
  if (interrupted && code === EXIT.ok) code = EXIT[interrupted];
  process.off('beforeExit', unfinished);
  await exitWhenFlushed(code);
}

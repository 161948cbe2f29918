/**
 * The CLI edge: parses arguments, installs signal handlers, runs one command, and maps its outcome
 * or error to the process exit code. The only module that calls process.exit.
 *
 *   0 ok or nothing to do · 1 some work failed · 2 usage/config error · 129/130/143 SIGHUP/SIGINT/SIGTERM
 */
import yargs from 'yargs';
import {
  errorMessage,
  EXIT,
  exitCodeForError,
  UsageError,
  type InterruptSignal,
} from '../errors.js';
import { loadConfigState, withConfigFile } from '../config-file.js';
import { packageVersion } from '../package-version.js';
import { redact } from '../redact.js';
import { archiveBuilder, archiveHandler } from './commands/archive.js';
import { detectBuilder, detectHandler } from './commands/detect.js';
import { recordBuilder, recordHandler } from './commands/record.js';
import { snapshotBuilder, snapshotHandler } from './commands/snapshot.js';
import { configCommand } from './commands/config.js';
import { statsBuilder, statsHandler } from './commands/stats.js';
import type { CliContext } from './context.js';

const SIGNALS: readonly InterruptSignal[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export async function runCli(
  argv: readonly string[],
  base: Omit<CliContext, 'setExitCode'>,
): Promise<number> {
  let code: number = EXIT.ok;
  const ctx: CliContext = { ...base, setExitCode: (c) => (code = c) };
  // Precedence (yargs' own): command line > CAMERA_ARCHIVER_* > config file > defaults.
  const configState = loadConfigState(argv, base.env);
  const parser = yargs([...argv])
    .scriptName('camera-archiver')
    .usage(
      '$0 [archive] [directory] [options]\n\nArchive old security-camera clips: transcode, verify, then trash the sources.',
    )
    .command(
      ['archive [directory]', '$0 [directory]'],
      'transcode old clips into the archive tree, verify, then trash or delete the sources (default command)',
      (y) => withConfigFile(archiveBuilder(y), configState, 'archive'),
      (args) => archiveHandler(args, ctx),
    )
    .command(
      'record [root]',
      'record cameras into the tree in clock-aligned segments (long-running)',
      recordBuilder,
      (args) => recordHandler(args, ctx),
    )
    .command('snapshot [output]', 'grab one frame from a camera as JPEG', snapshotBuilder, (args) =>
      snapshotHandler(args, ctx),
    )
    .command(
      'detect',
      'list V4L2 (USB) cameras with formats and a suggested config',
      detectBuilder,
      (args) => detectHandler(args, ctx),
    )
    .command(configCommand(ctx, configState))
    .command(
      'stats [directory]',
      'footage per camera and per day, archive savings, free space and a forecast (reads sizes only)',
      statsBuilder,
      (args) => statsHandler(args, ctx),
    )
    .option('config', {
      type: 'string',
      global: true,
      describe:
        'config file, YAML or JSON [default: /etc/camera-archiver/config.{yaml,yml,json} if present; --no-config: none]',
    })
    .completion(
      'completion',
      'print a bash/zsh completion script (add it to ~/.bashrc or ~/.zshrc)',
    )
    .strict()
    .recommendCommands()
    .env('CAMERA_ARCHIVER')
    .help()
    .alias('help', 'h')
    .version(packageVersion())
    .wrap(Math.min(110, base.stdout.columns ?? 100))
    .exitProcess(false)
    .fail((message, error) => {
      throw error ?? new UsageError(message);
    });
  // yargs prints the script but, without exitProcess, then runs the default command too.
  if (argv.length === 1 && argv[0] === 'completion') {
    parser.showCompletionScript();
    return code;
  }
  await parser.parseAsync();
  return code;
}

export async function main(argv: readonly string[]): Promise<void> {
  const controller = new AbortController();
  let interrupted: InterruptSignal | undefined;
  let takenBy: ((signal: InterruptSignal) => void) | undefined;
  for (const signal of SIGNALS) {
    process.on(signal, () => {
      if (takenBy) {
        takenBy(signal);
        return;
      }
      if (interrupted) {
        // Second signal: the user means it. ffmpeg children got the group signal or our SIGTERM.
        process.stderr.write(`\n${signal} again: exiting now\n`);
        process.exit(EXIT[interrupted]);
      }
      interrupted = signal;
      process.stderr.write(
        `\n${signal} received: stopping (current transcodes are stopped, sources are kept)…\n`,
      );
      controller.abort(signal);
    });
  }
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
      signal: controller.signal,
      commandLine: ['camera-archiver', ...argv].join(' '),
      takeSignals: (handler) => {
        takenBy = handler;
        return () => {
          takenBy = undefined;
        };
      },
    });
  } catch (error) {
    code = exitCodeForError(error);
    if (!(error as { logged?: boolean }).logged)
      process.stderr.write(`camera-archiver: ${redact(errorMessage(error))}\n`);
    if (error instanceof UsageError)
      process.stderr.write(`Run 'camera-archiver --help' for usage.\n`);
  }
  if (interrupted && code === EXIT.ok) code = EXIT[interrupted];
  process.off('beforeExit', unfinished);
  process.exit(code);
}

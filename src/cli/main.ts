/**
 * The CLI edge: parses arguments, installs signal handlers, runs one command, and maps its outcome
 * or error to the process exit code. The only module that calls process.exit.
 *
 *   0 ok or nothing to do · 1 some work failed · 2 usage/config error · 129/130/143 SIGHUP/SIGINT/SIGTERM
 */
import yargs from 'yargs';
import { errorMessage, EXIT, exitCodeForError, UsageError, type InterruptSignal } from '../errors.js';
import { archiveBuilder, archiveHandler } from './commands/archive.js';
import type { CliContext } from './context.js';

const SIGNALS: readonly InterruptSignal[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export async function runCli(argv: readonly string[], base: Omit<CliContext, 'setExitCode'>): Promise<number> {
  let code: number = EXIT.ok;
  const ctx: CliContext = { ...base, setExitCode: (c) => (code = c) };
  const parser = yargs([...argv])
    .scriptName('camera-archiver')
    .usage('$0 [archive] [directory] [options]\n\nArchive old security-camera clips: transcode, verify, then trash the sources.')
    .command(
      ['archive [directory]', '$0 [directory]'],
      'transcode old clips into the archive tree, verify, then trash or delete the sources (default command)',
      archiveBuilder,
      (args) => archiveHandler(args, ctx),
    )
    .strict()
    .recommendCommands()
    .env('CAMERA_ARCHIVER')
    .help()
    .alias('help', 'h')
    .version()
    .wrap(Math.min(110, base.stdout.columns ?? 100))
    .exitProcess(false)
    .fail((message, error) => {
      throw error ?? new UsageError(message);
    });
  await parser.parseAsync();
  return code;
}

export async function main(argv: readonly string[]): Promise<void> {
  const controller = new AbortController();
  let interrupted: InterruptSignal | undefined;
  for (const signal of SIGNALS) {
    process.on(signal, () => {
      if (interrupted) {
        // Second signal: the user means it. ffmpeg children got the group signal or our SIGTERM.
        process.stderr.write(`\n${signal} again: exiting now\n`);
        process.exit(EXIT[interrupted]);
      }
      interrupted = signal;
      process.stderr.write(`\n${signal} received: stopping (current transcodes are stopped, sources are kept)…\n`);
      controller.abort(signal);
    });
  }
  let code: number;
  try {
    code = await runCli(argv, {
      stdin: process.stdin,
      stdout: process.stdout,
      stderr: process.stderr,
      env: process.env,
      signal: controller.signal,
      commandLine: ['camera-archiver', ...argv].join(' '),
    });
  } catch (error) {
    code = exitCodeForError(error);
    if (!(error as { logged?: boolean }).logged) process.stderr.write(`camera-archiver: ${errorMessage(error)}\n`);
    if (error instanceof UsageError) process.stderr.write(`Run 'camera-archiver --help' for usage.\n`);
  }
  if (interrupted && code === EXIT.ok) code = EXIT[interrupted];
  process.exit(code);
}

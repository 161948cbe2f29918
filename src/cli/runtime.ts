/**
 * The command runtime: what every command shares lives here once, the way rclone wraps each
 * command in one `Run` and restic hands each the same global options. Archive, `--cleanup`,
 * stats, record, snapshot and detect all run through it:
 *
 * - **settings**: the config file and the CAMERA_ARCHIVER_* environment are read once per command
 *   line (`loadConfigState`, core/config-file.ts) and applied to every command's options, each
 *   command taking its own and ignoring the others' (`withSharedConfig`); the loaded file is
 *   handed to the commands that read sections of it themselves (record's cameras);
 * - **the logger** of a run (`-v`/`-q`, `--log-file`), created once the run knows its log file;
 * - **the tree lock**, for the runs that change a tree, released however the run ends;
 * - **the run report** (`--metrics-file`, `--notify-url`): every real run is reported once, also
 *   one that fails before it has a logger;
 * - **signals**: the first SIGINT/SIGTERM/SIGHUP aborts a run, a second one ends the process
 *   (`listenForSignals`); the recorder, which runs for months, takes them over while it records
 *   (`recorderSignals`: SIGHUP reloads, SIGINT/SIGTERM close the segments);
 * - **outcome → exit code** (core/errors.ts), for main.ts, the only module that exits.
 */
import { exitCodeForOutcome, type InterruptSignal, type RunOutcome } from '../core/errors.js';
import type { ConfigState, LoadedConfig } from '../core/config-file.js';
// Types only: the logger and the lock load with the first run, not for --help (start-up time).
import type { AppLogger, Log } from '../core/logger.js';
import type { TreeLock } from '../tree/lock.js';
import type { CliContext } from './context.js';
import type { RecordSignals } from '../record/commands.js';

// ---------------------------------------------------------------------------------------------
// The options every command shares

/** The commands as the shared options table names them (`cleanup` is `archive --cleanup`). */
export type CommandName = 'archive' | 'cleanup' | 'stats' | 'record' | 'snapshot' | 'detect';

const EVERY: readonly CommandName[] = [
  'archive',
  'cleanup',
  'stats',
  'record',
  'snapshot',
  'detect',
];
const RUNS: readonly CommandName[] = ['archive', 'cleanup', 'record'];

/**
 * Which commands each shared option applies to, with the same meaning in each (README, "Options
 * every command shares"). Where one does not apply, a config-file key or a CAMERA_ARCHIVER_*
 * variable is ignored (one file and one environment serve every command), and a command-line
 * flag is a usage error (exit 2, `unknownOptionMessage`). test/unit/runtime.test.ts checks this
 * table against the options each command declares.
 */
export const SHARED_OPTIONS: Readonly<Record<string, readonly CommandName[]>> = {
  config: EVERY,
  // record: with --status (a recorder's output is its log).
  json: ['archive', 'cleanup', 'stats', 'record'],
  verbose: RUNS,
  quiet: RUNS,
  'log-file': RUNS,
  // Reports of a finished run; record reports events as they happen, through --notify-url.
  'metrics-file': ['archive', 'cleanup'],
  'notify-url': RUNS,
  'notify-secret': RUNS,
};

const SHORT: Readonly<Record<string, string>> = { v: 'verbose', q: 'quiet' };

/** The command a command line runs, as SHARED_OPTIONS names it. */
export function commandNameOf(argv: readonly string[]): CommandName {
  const words = argv.slice(0, argv.includes('--') ? argv.indexOf('--') : argv.length);
  const named = words.find((w): w is CommandName =>
    (['stats', 'record', 'snapshot', 'detect'] as string[]).includes(w),
  );
  return named ?? (words.includes('--cleanup') ? 'cleanup' : 'archive');
}

/**
 * yargs' "Unknown argument: metrics-file, metricsFile" for a shared option the command does not
 * have, said as what it is: an option of other commands, given to one it does not apply to.
 * Undefined for any other message.
 */
export function unknownOptionMessage(message: string, command: CommandName): string | undefined {
  const listed = /^Unknown arguments?: (.+)$/.exec(message)?.[1];
  if (listed === undefined) return undefined;
  const names = [
    ...new Set(
      listed
        .split(', ')
        .map((n) => SHORT[n] ?? n)
        .filter((n) => !/[A-Z]/.test(n)), // yargs adds the camelCase spelling of each
    ),
  ];
  if (names.length === 0 || !names.every((n) => n in SHARED_OPTIONS)) return undefined;
  return names
    .map((n) => {
      const where = (SHARED_OPTIONS[n] ?? []).map((c) => (c === 'cleanup' ? '--cleanup' : c));
      return `--${n} does not apply to ${command === 'cleanup' ? '--cleanup' : command} (only to ${where.join(', ')}); set in the config file or the environment, it is ignored there`;
    })
    .join('\n');
}

// ---------------------------------------------------------------------------------------------
// Signals

export interface SignalListener {
  /** Aborted, with the signal's name as the reason, on the first SIGINT/SIGTERM/SIGHUP. */
  signal: AbortSignal;
  /** The signal that aborted the run, if one did. */
  interrupted(): InterruptSignal | undefined;
  /** Hands every signal to `handler` until the returned function is called (CliContext). */
  takeSignals(handler: (signal: InterruptSignal) => void): () => void;
}

const SIGNALS: readonly InterruptSignal[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Listens for the three signals that stop a run: the first aborts it (current transcodes are
 * stopped, sources kept, exit 128 + n); a second means the user means it, and `exitNow` ends the
 * process with the first one's code. A command that gives signals another meaning (record)
 * takes them over while it runs.
 */
export function listenForSignals(
  process: Pick<NodeJS.Process, 'on'>,
  stderr: NodeJS.WritableStream,
  exitNow: (signal: InterruptSignal) => void,
): SignalListener {
  const controller = new AbortController();
  let interrupted: InterruptSignal | undefined;
  let takenBy: ((signal: InterruptSignal) => void) | undefined;
  for (const signal of SIGNALS) {
    process.on(signal, () => {
      if (takenBy) return takenBy(signal);
      if (interrupted) {
        // ffmpeg children got the group signal or our SIGTERM already.
        stderr.write(`\n${signal} again: exiting now\n`);
        return exitNow(interrupted);
      }
      interrupted = signal;
      // Said the same way for every command: a cleanup or stats has no transcodes to stop.
      stderr.write(
        `\n${signal} received: stopping — nothing new is started, and what is under way stops without losing footage (${signal} again: exit at once)…\n`,
      );
      controller.abort(signal);
    });
  }
  return {
    signal: controller.signal,
    interrupted: () => interrupted,
    takeSignals: (handler) => {
      takenBy = handler;
      return () => {
        takenBy = undefined;
      };
    },
  };
}

/**
 * A recorder treats signals unlike a batch run: SIGINT/SIGTERM mean "close the segments, then exit
 * 0" and SIGHUP means "reload", not "stop". The CLI edge hands signals to us while recording
 * (ctx.takeSignals). A second SIGINT/SIGTERM is still honoured: ffmpeg is killed at once instead
 * of closing its segments.
 */
export function recorderSignals(ctx: CliContext): { signals: RecordSignals; restore(): void } {
  const controller = new AbortController();
  const hurry = new AbortController();
  const reloadListeners = new Set<() => void>();
  let stops = 0;
  const handler = (signal: InterruptSignal): void => {
    if (signal === 'SIGHUP') {
      ctx.stderr.write('SIGHUP received: reloading the configuration…\n');
      for (const l of reloadListeners) l();
      return;
    }
    stops++;
    if (stops === 1) {
      ctx.stderr.write(
        `\n${signal} received: closing the current segments (send it again to hurry)…\n`,
      );
      controller.abort(signal);
    } else {
      ctx.stderr.write(
        `${signal} again: killing ffmpeg now; what it had written is recovered from the fragments\n`,
      );
      hurry.abort(signal);
    }
  };
  const giveBack = ctx.takeSignals?.(handler);
  // In-process callers (tests) stop us through the context's signal instead.
  const onCtx = (): void => {
    if (ctx.signal.reason === 'SIGHUP') for (const l of reloadListeners) l();
    else controller.abort(ctx.signal.reason);
  };
  ctx.signal.addEventListener('abort', onCtx, { once: true });
  return {
    signals: {
      stop: controller.signal,
      hurry: hurry.signal,
      onReload: (listener) => {
        reloadListeners.add(listener);
        return () => reloadListeners.delete(listener);
      },
    },
    restore: () => {
      ctx.signal.removeEventListener('abort', onCtx);
      giveBack?.();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Commands

/** What a command handler gets: the CLI context and the settings loaded once for the run. */
export interface CommandContext extends CliContext {
  /** The config file, found and parsed once (--config, CAMERA_ARCHIVER_CONFIG, /etc/…). */
  configFile: LoadedConfig | undefined;
  /**
   * Whether an option's value was not taken from the config file or the environment (it was
   * typed, or is the default): a shared option that does not apply is refused only when typed.
   */
  notFromSettings(option: string): boolean;
}

/** A command: parsed, validated flags in, how it ended out. Errors propagate to main.ts. */
export type CommandHandler = (
  args: Record<string, unknown>,
  ctx: CommandContext,
) => Promise<RunOutcome>;

/** A command as yargs runs it: its outcome becomes the exit code (core/errors.ts) here. */
export function command(
  handler: CommandHandler,
  ctx: CliContext,
  config: ConfigState,
): (args: Record<string, unknown>) => Promise<void> {
  return async (args) => {
    const outcome = await handler(args, {
      ...ctx,
      configFile: config.file,
      notFromSettings: (option) => !config.applied?.sources.has(option),
    });
    ctx.setExitCode(exitCodeForOutcome(outcome));
  };
}

// ---------------------------------------------------------------------------------------------
// Runs: logger, lock and report

/** Where a run's outcome goes besides the exit code (archive/report.ts RunReport, CleanupReport). */
export interface RunReporter {
  settle<T extends RunOutcome>(outcome: T): T;
  fail(error: unknown): void;
  /** Writes the metrics and sends the event, once; never throws. */
  finish(log: Log): Promise<void>;
}

/** A run's logger: `-v`/`-q` as a verbosity (-1 … 2), the log file, the rotation's state folder. */
export interface LogSettings {
  verbosity: number;
  /** Undefined: console only (dry runs, a refused tree). */
  file?: string | undefined;
  stateDir?: string | undefined;
}

/** What the body of a run gets from the runtime. */
export interface RunScope {
  log: AppLogger;
  /** Takes the tree lock of `dir` (tree/lock.ts) until the run ends; a held lock is an error. */
  lockTree(dir: string): Promise<void>;
}

export interface RunSpec<P> {
  io: { stderr: NodeJS.WriteStream; env: NodeJS.ProcessEnv };
  /** The command line, shown in the lock file to whoever finds the tree busy. */
  commandLine: string;
  /** Undefined: the run reports nothing (dry runs report nothing either: RunReport.enabled). */
  report?: RunReporter | undefined;
  /** Checks that need no logger yet (roots by identity, the log file's folder). */
  prepare: () => Promise<P>;
  log: (prepared: P) => LogSettings;
  body: (prepared: P, scope: RunScope) => Promise<RunOutcome>;
}

/**
 * One run: prepare, open the logger, run the body; then, however it ended, release the lock,
 * report (once: to the log, or to stderr when the run failed before it had one) and close the log.
 * An error is logged once and marked so main.ts does not print it again.
 */
export async function runCommand<P>(spec: RunSpec<P>): Promise<RunOutcome> {
  const { io, report } = spec;
  let log: AppLogger | undefined;
  const locks: TreeLock[] = [];
  const { consoleLevel, createLogger, stderrLog } = await import('../core/logger.js');
  try {
    const prepared = await spec.prepare();
    const settings = spec.log(prepared);
    log = await createLogger({
      consoleLevel: consoleLevel(settings.verbosity),
      file: settings.file,
      stderr: io.stderr,
      env: io.env,
      stateDir: settings.stateDir,
    });
    const scope = { log, lockTree: lockTreeFor(spec.commandLine, log, locks) };
    const outcome = await spec.body(prepared, scope);
    report?.settle(outcome);
    return outcome;
  } catch (error) {
    report?.fail(error);
    if (log) {
      log.error(error instanceof Error ? error.message : String(error));
      (error as { logged?: boolean }).logged = true;
    }
    throw error;
  } finally {
    for (const lock of locks) await lock.release();
    await report?.finish(log ?? stderrLog(io.stderr));
    await log?.close();
  }
}

/** RunScope.lockTree: each lock taken is kept in `locks`, for runCommand to release. */
function lockTreeFor(
  commandLine: string,
  log: AppLogger,
  locks: TreeLock[],
): (dir: string) => Promise<void> {
  return async (dir) => {
    const { acquireTreeLock } = await import('../tree/lock.js');
    locks.push(
      await acquireTreeLock({
        dir,
        command: commandLine,
        onTakeover: (why) => log.warn(`took over a stale lock (${why})`),
      }),
    );
  };
}

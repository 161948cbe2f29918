/**
 * Logging through winston: stderr for people (or journald), a size- and age-bounded rotating file
 * for the record. Console lines go through a swappable writer so progress bars can print them
 * above the bars instead of tearing them.
 *
 * Without a log file (dry runs) winston is loaded only when the first line passes the console
 * level: a quiet dry run never pays its ≈ 40 ms of start-up (BENCHMARKS.md).
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, lstatSync, mkdirSync, renameSync, unlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { defaultStateDir } from './state-dir.js';
import type winstonType from 'winston';
import type TransportStreamType from 'winston-transport';
import { redact } from './redact.js';

export type Level = 'error' | 'warn' | 'info' | 'verbose' | 'debug';

export interface Log {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  verbose(message: string): void;
  debug(message: string): void;
}

export interface AppLogger extends Log {
  /** Route console lines elsewhere (progress bars); undefined restores stderr. */
  setConsoleWriter(writer: ((line: string) => void) | undefined): void;
  close(): Promise<void>;
}

export interface LoggerOptions {
  consoleLevel: Level;
  /** Log file path (the Python archiver's `archiver.log`); undefined: no file (dry runs). */
  file?: string | undefined;
  fileLevel?: Level;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** Where the rotation's audit file goes; default `--state-dir`'s (logAuditFile). */
  stateDir?: string | undefined;
  /** The day a takeover's dated name carries (tests); default today. */
  today?: (() => Date) | undefined;
}

/** journald's SyslogLevelPrefix: `<3>` error … `<7>` debug, so `journalctl -p warning` works. */
const SYSLOG_PRIORITY: Record<string, number> = {
  error: 3,
  warn: 4,
  info: 6,
  verbose: 7,
  debug: 7,
};

const LEVEL_RANK: Record<Level, number> = { error: 0, warn: 1, info: 2, verbose: 3, debug: 4 };

interface ConsoleSink {
  writer: ((line: string) => void) | undefined;
}

const require = createRequire(import.meta.url);

function makeConsoleSink(
  TransportStream: typeof TransportStreamType,
  stderr: NodeJS.WritableStream,
  style: 'tty' | 'journal' | 'plain',
  level: Level,
  sink: ConsoleSink,
): TransportStreamType {
  class Sink extends TransportStream {
    override log(
      info: { level: string; message: unknown; timestamp?: string },
      next: () => void,
    ): void {
      const message = String(info.message);
      let line: string;
      if (style === 'journal') line = `<${SYSLOG_PRIORITY[info.level] ?? 6}>${message}`;
      else if (style === 'tty')
        line =
          info.level === 'info' || info.level === 'verbose' ? message : `${info.level}: ${message}`;
      else line = `${info.timestamp ?? ''} ${info.level.toUpperCase()} ${message}`;
      if (sink.writer) sink.writer(line);
      else stderr.write(`${line}\n`);
      next();
    }
  }
  return new Sink({ level });
}

/** Python archiver's log line format, so existing log parsers keep working. */
export function formatFileLine(timestamp: string, level: string, message: string): string {
  return `${timestamp} - ${level.toUpperCase()} - ${message}`;
}

export async function createLogger(options: LoggerOptions): Promise<AppLogger> {
  const style = options.stderr.isTTY ? 'tty' : options.env.JOURNAL_STREAM ? 'journal' : 'plain';
  const sink: ConsoleSink = { writer: undefined };
  let logger: winstonType.Logger | undefined;
  let file: RotatingFile | undefined;

  const build = (): winstonType.Logger => {
    // Synchronous require (both are CommonJS) so a line can build the logger on the spot.
    const winston = require('winston') as typeof winstonType;
    const TransportStream = require('winston-transport') as typeof TransportStreamType;
    const transports: TransportStreamType[] = [
      makeConsoleSink(TransportStream, options.stderr, style, options.consoleLevel, sink),
    ];
    const warnings: string[] = [];
    if (options.file) {
      file = fileTransport(options.file, options, winston, warnings);
      transports.push(file);
    }
    const built = winston.createLogger({
      level: 'debug',
      format: winston.format.timestamp({ format: 'YYYY-MM-DD HH:mm:ss,SSS' }),
      transports,
    });
    for (const w of warnings) built.warn(w);
    return built;
  };
  // A log file records every line, so it is opened at once; the console alone waits for a line.
  if (options.file) logger = build();
  const at =
    (level: Level) =>
    (message: string): void => {
      if (!logger && LEVEL_RANK[level] > LEVEL_RANK[options.consoleLevel]) return;
      logger ??= build();
      logger.log(level, redact(message)); // every line, console and file: no password leaves
    };

  return {
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    verbose: at('verbose'),
    debug: at('debug'),
    setConsoleWriter(writer) {
      sink.writer = writer;
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (!logger) return resolve();
        const timer = setTimeout(resolve, 2000);
        const done = (): void => {
          clearTimeout(timer);
          resolve();
        };
        logger.on('finish', () => {
          // winston's 'finish' means every transport took its lines; the rotating file's own
          // stream is flushed when closing it calls back (it then emits 'finish' again).
          if (!file) return done();
          file.once('finish', done);
          file.close();
        });
        logger.end();
      }),
  };
}

/** winston-daily-rotate-file's transport: close() ends its file stream, then emits 'finish'. */
type RotatingFile = TransportStreamType & { close(): void };

function fileTransport(
  file: string,
  options: LoggerOptions,
  winston: typeof winstonType,
  warnings: string[],
): RotatingFile {
  const DailyRotateFile = require('winston-daily-rotate-file') as new (
    options: Record<string, unknown>,
  ) => RotatingFile;
  const dir = path.dirname(file);
  const ext = path.extname(file) || '.log';
  const base = path.basename(file, ext);
  // A regular file at the log path is an older log (the Python archiver's, which it never
  // rotated): moved aside once under a dated name, so the path becomes our link to the current
  // log and rotation works from then on.
  let symlinkOk = true;
  const takenOver = takeOverOldLog(file, options.today?.() ?? new Date());
  if (takenOver.movedTo)
    warnings.push(
      `${file} was a regular file (an older log): moved it aside to ${path.basename(takenOver.movedTo)}; ${path.basename(file)} now links to the current log`,
    );
  else if (takenOver.error) {
    symlinkOk = false;
    warnings.push(
      `${file} is a regular file (an older log) that cannot be moved aside (${takenOver.error}); writing ${base}-DATE${ext} beside it`,
    );
  }
  const transport = new DailyRotateFile({
    dirname: dir,
    filename: `${base}-%DATE%${ext}`,
    datePattern: 'YYYY-MM-DD',
    maxSize: '4m',
    maxFiles: '30d',
    createSymlink: symlinkOk,
    symlinkName: path.basename(file),
    auditFile: logAuditFile(file, options),
    level: options.fileLevel ?? 'verbose',
    format: winston.format.printf((info) =>
      formatFileLine(String(info.timestamp), info.level, String(info.message)),
    ),
  });
  const onError = (error: Error): void => {
    options.stderr.write(`warn: cannot write log file ${file}: ${error.message}\n`);
  };
  transport.on('error', onError);
  // The file stream's own errors (EROFS, ENOSPC, ENOTDIR on open) are emitted on the rotator,
  // which the transport does not listen to: unheard, they crash the process.
  (transport as unknown as { logStream?: NodeJS.EventEmitter }).logStream?.on('error', onError);
  return transport;
}

/** `archiver-old-YYYY-MM-DD.log` beside the log path, or `….1.log`, `….2.log` if taken. */
function takeOverOldLog(file: string, today: Date): { movedTo?: string; error?: string } {
  try {
    if (!lstatSync(file).isFile()) return {};
  } catch {
    return {}; // nothing there
  }
  const ext = path.extname(file) || '.log';
  const stem = path.join(path.dirname(file), `${path.basename(file, ext)}-old-${isoDay(today)}`);
  let target = `${stem}${ext}`;
  for (let n = 1; existsSync(target); n++) target = `${stem}.${n}${ext}`;
  try {
    renameSync(file, target);
    return { movedTo: target };
  } catch (error) {
    return { error: (error as NodeJS.ErrnoException).code ?? String(error) };
  }
}

function isoDay(d: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/**
 * The rotation's bookkeeping (which dated files exist, for the 30-day limit) lives in the state
 * directory, not in the camera tree: `<state-dir>/logs/<log path>-<hash>.audit.json`. Where the
 * state directory cannot be written (a sandbox without one), it stays beside the log as
 * `.<name>-audit.json`. An audit file an earlier version left beside the log is moved in.
 */
export function logAuditFile(
  file: string,
  options: Pick<LoggerOptions, 'env' | 'stateDir'>,
): string {
  const ext = path.extname(file) || '.log';
  const beside = path.join(path.dirname(file), `.${path.basename(file, ext)}-audit.json`);
  const stateDir =
    options.stateDir ?? (options.env.CAMERA_ARCHIVER_STATE_DIR || defaultStateDir(options.env));
  const absolute = path.resolve(file);
  const hash = createHash('sha256').update(absolute).digest('hex').slice(0, 8);
  const name = `${absolute.replace(/^\//, '').replace(/[^A-Za-z0-9._-]+/g, '_')}-${hash}.audit.json`;
  const audit = path.join(stateDir, 'logs', name);
  try {
    mkdirSync(path.dirname(audit), { recursive: true });
  } catch {
    return beside;
  }
  if (existsSync(beside) && !existsSync(audit)) {
    try {
      copyFileSync(beside, audit);
      unlinkSync(beside);
    } catch {
      return beside;
    }
  }
  return audit;
}

/** `-q` (-1), default (0), `-v` (1), `-vv` (2): the console level, the same in every command. */
export function consoleLevel(verbosity: number): Level {
  return verbosity < 0 ? 'warn' : verbosity === 0 ? 'info' : verbosity === 1 ? 'verbose' : 'debug';
}

/** For failures before a run's logger exists (missing input directory, usage errors). */
export function stderrLog(stderr: NodeJS.WritableStream): Log {
  const line = (level: string) => (message: string) => {
    stderr.write(`${level}: ${message}\n`);
  };
  const quiet = (): void => undefined;
  return { error: line('error'), warn: line('warn'), info: quiet, verbose: quiet, debug: quiet };
}

/** A logger that keeps lines in memory: for tests and for library callers that bring none. */
export function memoryLog(): Log & { lines: { level: Level; message: string }[] } {
  const lines: { level: Level; message: string }[] = [];
  const at = (level: Level) => (message: string) => lines.push({ level, message });
  return {
    lines,
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    verbose: at('verbose'),
    debug: at('debug'),
  };
}

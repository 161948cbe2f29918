/**
 * Logging through winston: stderr for people (or journald), a size- and age-bounded rotating file
 * for the record. Console lines go through a swappable writer so progress bars can print them
 * above the bars instead of tearing them.
 */
import { lstatSync } from 'node:fs';
import path from 'node:path';
import TransportStream from 'winston-transport';
import type winstonType from 'winston';

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
}

/** journald's SyslogLevelPrefix: `<3>` error … `<7>` debug, so `journalctl -p warning` works. */
const SYSLOG_PRIORITY: Record<string, number> = {
  error: 3,
  warn: 4,
  info: 6,
  verbose: 7,
  debug: 7,
};

interface ConsoleSink {
  writer: ((line: string) => void) | undefined;
}

function makeConsoleSink(
  stderr: NodeJS.WritableStream,
  style: 'tty' | 'journal' | 'plain',
  level: Level,
): ConsoleSink & TransportStream {
  class Sink extends TransportStream implements ConsoleSink {
    writer: ((line: string) => void) | undefined;
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
      if (this.writer) this.writer(line);
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
  const { default: winston } = (await import('winston')) as { default: typeof winstonType };
  const style = options.stderr.isTTY ? 'tty' : options.env.JOURNAL_STREAM ? 'journal' : 'plain';
  const sink = makeConsoleSink(options.stderr, style, options.consoleLevel);
  const transports: TransportStream[] = [sink];
  const warnings: string[] = [];

  if (options.file) {
    const { default: DailyRotateFile } = await import('winston-daily-rotate-file');
    const dir = path.dirname(options.file);
    const ext = path.extname(options.file) || '.log';
    const base = path.basename(options.file, ext);
    // A regular file at the log path is the Python archiver's old log: leave it, skip the symlink.
    let symlinkOk = true;
    try {
      symlinkOk = lstatSync(options.file).isSymbolicLink();
    } catch {
      symlinkOk = true;
    }
    if (!symlinkOk)
      warnings.push(
        `${options.file} is a regular file (an older log); writing ${base}-DATE${ext} beside it`,
      );
    const fileTransport = new DailyRotateFile({
      dirname: dir,
      filename: `${base}-%DATE%${ext}`,
      datePattern: 'YYYY-MM-DD',
      maxSize: '4m',
      maxFiles: '30d',
      createSymlink: symlinkOk,
      symlinkName: path.basename(options.file),
      auditFile: path.join(dir, `.${base}-audit.json`),
      level: options.fileLevel ?? 'verbose',
      format: winston.format.printf((info) =>
        formatFileLine(String(info.timestamp), info.level, String(info.message)),
      ),
    });
    fileTransport.on('error', (error: Error) => {
      options.stderr.write(`warn: cannot write log file ${options.file}: ${error.message}\n`);
    });
    transports.push(fileTransport);
  }

  const logger = winston.createLogger({
    level: 'debug',
    format: winston.format.timestamp({ format: 'YYYY-MM-DD HH:mm:ss,SSS' }),
    transports,
  });
  for (const w of warnings) logger.warn(w);

  return {
    error: (m) => logger.error(m),
    warn: (m) => logger.warn(m),
    info: (m) => logger.info(m),
    verbose: (m) => logger.verbose(m),
    debug: (m) => logger.debug(m),
    setConsoleWriter(writer) {
      sink.writer = writer;
    },
    close: () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2000);
        logger.on('finish', () => {
          clearTimeout(timer);
          // The file transport flushes after 'finish'; give its stream a turn.
          setTimeout(resolve, 50);
        });
        logger.end();
      }),
  };
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

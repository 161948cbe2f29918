/**
 * Typed errors. Library code throws these; src/cli/main.ts maps them to exit codes in one place
 * (exitCodeForError, exitCodeForOutcome), so no module below the CLI decides how the process ends.
 */

/** Bad flags, bad option values, a prompt that cannot be shown: the user must change the call. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** An invalid configuration file or environment value. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** The environment cannot support the run: missing input folder, no ffmpeg, unwritable roots. */
export class EnvironmentError extends Error {
  override readonly name = 'EnvironmentError';
}

/** Another run holds the tree. */
export class LockHeldError extends Error {
  override readonly name = 'LockHeldError';
}

/** One file's work failed; carries the file so every message names it. */
export class FileError extends Error {
  override readonly name = 'FileError';
  /** The message without the file name, for lines that name the file themselves. */
  readonly reason: string;
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.reason = reason;
  }
}

export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  SIGHUP: 129,
  SIGINT: 130,
  SIGTERM: 143,
} as const;

export type InterruptSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';

/** The signal that aborted a run (the CLI aborts with the signal name as the reason). */
export function interruptSignalOf(signal: AbortSignal): InterruptSignal {
  const reason: unknown = signal.reason;
  return reason === 'SIGTERM' || reason === 'SIGHUP' ? reason : 'SIGINT';
}

/** How an archive or cleanup run ended, when it ended without an error. */
export type RunOutcome =
  | { status: 'ok' }
  | { status: 'failed'; failures: number }
  | { status: 'cancelled' }
  | { status: 'interrupted'; signal: InterruptSignal };

export function exitCodeForError(error: unknown): number {
  if (error instanceof UsageError || error instanceof ConfigError) return EXIT.usage;
  return EXIT.failed;
}

/** A run's exit code: cancelled at the prompt is 0, some work failed is 1, a signal is 128 + n. */
export function exitCodeForOutcome(outcome: RunOutcome): number {
  switch (outcome.status) {
    case 'ok':
    case 'cancelled':
      return EXIT.ok;
    case 'failed':
      return EXIT.failed;
    case 'interrupted':
      return EXIT[outcome.signal];
  }
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

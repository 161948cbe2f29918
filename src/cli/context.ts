/** What every command handler gets from the CLI edge: streams, environment, clock and the abort signal. */
import type { InterruptSignal } from '../core/errors.js';

export interface CliContext {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
  /** Aborted with the signal name as reason on SIGINT/SIGTERM/SIGHUP. */
  signal: AbortSignal;
  /** The command line as typed, for the lock file and logs. */
  commandLine: string;
  /** Handlers set the exit code here; main.ts exits with it. */
  setExitCode(code: number): void;
  /**
   * For long-running commands whose signals mean something else (record: SIGHUP reloads,
   * SIGINT closes segments then exits 0): while set, main.ts passes each signal to `handler`
   * instead of aborting. Returns the function that gives signals back. Absent in-process.
   */
  takeSignals?: (handler: (signal: InterruptSignal) => void) => () => void;
}

export type { InterruptSignal };

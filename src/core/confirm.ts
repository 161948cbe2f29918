/**
 * The question before a real run touches anything. It is asked only when there is something to
 * do (a run with nothing to do never needs an answer, terminal or not), and answered from a
 * terminal or from a pipe (`echo y | camera-archiver …`), as the Python archiver's input() was.
 */
import readline from 'node:readline';
import { interruptSignalOf, UsageError, type InterruptSignal } from './errors.js';
import type { Log } from './logger.js';

/** `eof`: the input ended before a line was answered (Ctrl+D, /dev/null, an empty pipe). */
export type Answer = 'yes' | 'no' | 'eof' | 'interrupted';

/**
 * Only `y`/`yes` proceeds; Enter and anything else decline; EOF ends without an answer; Ctrl+C
 * interrupts, and so does any signal that aborts the run while the question waits (SIGTERM from
 * systemd, SIGHUP).
 */
export function askToProceed(
  question: string,
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
  signal?: AbortSignal,
): Promise<Answer> {
  return new Promise((resolve) => {
    const rl = readline.createInterface({
      input,
      output,
      terminal: Boolean((input as { isTTY?: boolean }).isTTY),
    });
    let settled = false;
    const finish = (answer: Answer): void => {
      if (settled) return;
      settled = true;
      rl.close();
      resolve(answer);
    };
    rl.on('SIGINT', () => {
      output.write('\n');
      finish('interrupted');
    });
    rl.on('close', () => finish('eof'));
    if (signal?.aborted) finish('interrupted');
    signal?.addEventListener('abort', () => finish('interrupted'), { once: true });
    rl.question(question, (text) => finish(/^(y|yes)$/i.test(text.trim()) ? 'yes' : 'no'));
  });
}

export type PromptStop =
  { status: 'cancelled' } | { status: 'interrupted'; signal: InterruptSignal };

export const NO_TERMINAL_REFUSAL =
  'a real run asks before it changes anything, but standard input is not a terminal and gave no answer: add -y (--no-confirm) to proceed, or --dry-run to preview';

/**
 * Asks `Proceed? [y/N]`; undefined means go on, otherwise the outcome the run ends with. EOF at
 * a terminal (Ctrl+D) cancels; EOF without one (cron, systemd, `</dev/null`) means nobody can
 * answer: the documented refusal, a UsageError (exit 2) that says how to proceed.
 */
export async function confirmOrStop(
  io: {
    stdin: NodeJS.ReadableStream & { isTTY?: boolean };
    stderr: NodeJS.WritableStream;
    signal: AbortSignal;
  },
  log: Log,
): Promise<PromptStop | undefined> {
  const answer = await askToProceed('Proceed? [y/N] ', io.stdin, io.stderr, io.signal);
  if (answer === 'eof' && !io.stdin.isTTY) {
    io.stderr.write('\n');
    throw new UsageError(NO_TERMINAL_REFUSAL);
  }
  if (answer === 'interrupted') {
    return {
      status: 'interrupted',
      signal: io.signal.aborted ? interruptSignalOf(io.signal) : 'SIGINT',
    };
  }
  if (answer === 'no' || answer === 'eof') {
    log.info('cancelled at the prompt: nothing was changed');
    return { status: 'cancelled' };
  }
  return undefined;
}

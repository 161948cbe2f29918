/** The interactive question before a real run touches anything. */
import readline from 'node:readline';
import { interruptSignalOf, type InterruptSignal } from './errors.js';
import type { Log } from './logger.js';

export type Answer = 'yes' | 'no' | 'interrupted';

/**
 * Only `y`/`yes` proceeds; Enter, anything else and EOF (Ctrl+D) decline; Ctrl+C interrupts, and
 * so does any signal that aborts the run while the question waits (SIGTERM from systemd, SIGHUP).
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
    rl.on('close', () => finish('no'));
    if (signal?.aborted) finish('interrupted');
    signal?.addEventListener('abort', () => finish('interrupted'), { once: true });
    rl.question(question, (text) => finish(/^(y|yes)$/i.test(text.trim()) ? 'yes' : 'no'));
  });
}

export type PromptStop =
  { status: 'cancelled' } | { status: 'interrupted'; signal: InterruptSignal };

/** Asks `Proceed? [y/N]`; undefined means go on, otherwise the outcome the run ends with. */
export async function confirmOrStop(
  io: { stdin: NodeJS.ReadableStream; stderr: NodeJS.WritableStream; signal: AbortSignal },
  log: Log,
): Promise<PromptStop | undefined> {
  const answer = await askToProceed('Proceed? [y/N] ', io.stdin, io.stderr, io.signal);
  if (answer === 'interrupted') {
    return {
      status: 'interrupted',
      signal: io.signal.aborted ? interruptSignalOf(io.signal) : 'SIGINT',
    };
  }
  if (answer === 'no') {
    log.info('cancelled at the prompt: nothing was changed');
    return { status: 'cancelled' };
  }
  return undefined;
}

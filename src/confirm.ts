/** The interactive question before a real run touches anything. */
import readline from 'node:readline';

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

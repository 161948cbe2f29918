/** `camera-archiver detect`: V4L2 cameras, their formats and stable names, and a suggested config. */
import type { Argv } from 'yargs';
import type { RunOutcome } from '../../core/errors.js';
import type { CommandContext } from '../runtime.js';

export function detectBuilder(y: Argv): Argv {
  return y.example('$0 detect > cameras.txt', 'list USB cameras with formats, sizes, frame rates');
}

export async function detectHandler(
  _argv: Record<string, unknown>,
  ctx: CommandContext,
): Promise<RunOutcome> {
  const { runDetect } = await import('../../record/commands.js');
  const found = await runDetect({
    stdout: ctx.stdout,
    stderr: ctx.stderr,
    env: ctx.env,
    commandLine: ctx.commandLine,
  });
  return found ? { status: 'ok' } : { status: 'failed', failures: 1 };
}

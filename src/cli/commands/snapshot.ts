/** `camera-archiver snapshot --camera NAME=SOURCE OUT.jpg`: one frame, a quick camera check. */
import type { Argv } from 'yargs';
import { UsageError, type RunOutcome } from '../../core/errors.js';
import type { CommandContext } from '../runtime.js';

export function snapshotBuilder(y: Argv): Argv<Record<string, unknown>> {
  return y
    .positional('output', { type: 'string', describe: 'JPEG file to write' })
    .option('camera', {
      alias: 'c',
      type: 'string',
      describe: 'NAME=SOURCE (as for record)',
      demandOption: true,
    })
    .option('timeout', { type: 'number', default: 20, describe: 'seconds to wait for a frame' })
    .option('ffmpeg', { type: 'string', describe: 'ffmpeg binary [env FFMPEG_PATH, then PATH]' })
    .example(
      '$0 snapshot --camera front=rtsp://user:pw@192.168.1.20/stream1 front.jpg',
      'check that a camera answers',
    ) as Argv<Record<string, unknown>>;
}

export async function snapshotHandler(
  argv: Record<string, unknown>,
  ctx: CommandContext,
): Promise<RunOutcome> {
  const output = typeof argv.output === 'string' ? argv.output : undefined;
  if (!output)
    throw new UsageError(
      'snapshot needs an output file, e.g. snapshot --camera front=rtsp://… front.jpg',
    );
  const camera = Array.isArray(argv.camera) ? String(argv.camera.at(-1)) : String(argv.camera);
  const timeout = typeof argv.timeout === 'number' && argv.timeout > 0 ? argv.timeout : 20;
  const { runSnapshot } = await import('../../record/commands.js');
  const written = await runSnapshot(
    {
      camera,
      output,
      timeoutSeconds: timeout,
      ffmpeg: typeof argv.ffmpeg === 'string' ? argv.ffmpeg : undefined,
    },
    { stdout: ctx.stdout, stderr: ctx.stderr, env: ctx.env, commandLine: ctx.commandLine },
  );
  ctx.stdout.write(`${written}\n`);
  return { status: 'ok' };
}

/** `camera-archiver snapshot --camera NAME=SOURCE OUT.jpg`: one frame, a quick camera check. */
import type { Argv } from 'yargs';
import { UsageError, type RunOutcome } from '../../core/errors.js';
import type { CommandContext } from '../runtime.js';
import { declareFlags, flag, parseFlags, str, stringFlag, strings } from './flags.js';

/** Every flag of `snapshot`, declared once. */
export const SNAPSHOT_FLAGS = {
  camera: flag(
    { alias: 'c', type: 'string', describe: 'NAME=SOURCE (as for record)', demandOption: true },
    // Given twice, the last one (as for every single-valued option).
    (v) => strings(v).at(-1) ?? '',
  ),
  timeout: flag({ type: 'number', default: 20, describe: 'seconds to wait for a frame' }, (v) =>
    typeof v === 'number' && v > 0 ? v : 20,
  ),
  ffmpeg: stringFlag({ describe: 'ffmpeg binary [env FFMPEG_PATH, then PATH]' }),
} as const;

export function snapshotBuilder(y: Argv): Argv {
  return declareFlags(
    y.positional('output', { type: 'string', describe: 'JPEG file to write' }),
    SNAPSHOT_FLAGS,
  ).example(
    '$0 snapshot --camera front=rtsp://user:pw@192.168.1.20/stream1 front.jpg',
    'check that a camera answers',
  );
}

export async function snapshotHandler(
  argv: Record<string, unknown>,
  ctx: CommandContext,
): Promise<RunOutcome> {
  const output = str(argv.output);
  if (!output)
    throw new UsageError(
      'snapshot needs an output file, e.g. snapshot --camera front=rtsp://… front.jpg',
    );
  const f = parseFlags(SNAPSHOT_FLAGS, argv);
  const { runSnapshot } = await import('../../record/commands.js');
  const written = await runSnapshot(
    { camera: f.camera, output, timeoutSeconds: f.timeout, ffmpeg: f.ffmpeg },
    { stdout: ctx.stdout, stderr: ctx.stderr, env: ctx.env, commandLine: ctx.commandLine },
  );
  ctx.stdout.write(`${written}\n`);
  return { status: 'ok' };
}

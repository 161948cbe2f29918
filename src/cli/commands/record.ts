/**
 * `camera-archiver record [ROOT] --camera NAME=SOURCE …`: live segmented capture into the tree the
 * archiver reads. Only argument shapes and signal wiring live here; the work is in
 * src/record/commands.ts, loaded on demand so `--help` stays fast.
 */
import path from 'node:path';
import type { Argv } from 'yargs';
import { UsageError, type InterruptSignal, type RunOutcome } from '../../core/errors.js';
import type { RecordCommandOptions, RecordSignals } from '../../record/commands.js';
import { parseNotifyUrls } from '../../core/notify.js';
import type { CliContext } from '../context.js';
import { runCommand, type CommandContext } from '../runtime.js';
import { directoryOf, str } from './flags.js';

export function recordBuilder(y: Argv): Argv<Record<string, unknown>> {
  return y
    .positional('root', {
      type: 'string',
      describe: 'camera tree to record into [default: root: in --config, else /camera]',
    })
    .option('camera', {
      alias: 'c',
      type: 'string',
      array: true,
      describe:
        'NAME=SOURCE; SOURCE is /dev/videoN, /dev/v4l/by-id/…, rtsp://user:pass@host/path or lavfi:<filtergraph> (repeatable)',
      group: 'Record:',
    })
    .option('config', {
      type: 'string',
      describe: 'JSON or YAML file with cameras and their options (reloaded on SIGHUP)',
      group: 'Record:',
    })
    .option('segment-time', {
      type: 'string',
      describe: 'segment length, cut on the clock, e.g. 30m, 10s [default: 30m]',
      group: 'Record:',
    })
    .option('status', {
      type: 'boolean',
      default: false,
      describe: 'print the status of the recorder of ROOT and exit',
      group: 'Record:',
    })
    .option('json', {
      type: 'boolean',
      default: false,
      describe: 'with --status: the status file as JSON',
      group: 'Record:',
    })
    .option('warn-percent', {
      type: 'number',
      describe: 'warn when the disk is this full [default: 80]',
      group: 'Storage:',
    })
    .option('block-percent', {
      type: 'number',
      describe: 'remove the oldest footage when the disk is this full [default: 90]',
      group: 'Storage:',
    })
    .option('output', {
      alias: 'o',
      type: 'string',
      describe: 'archive root, for reclaiming space [default: ROOT/archived]',
      group: 'Storage:',
    })
    .option('trash-root', {
      type: 'string',
      describe: 'trash root, for reclaiming space [default: ROOT/.deleted]',
      group: 'Storage:',
    })
    .option('stall-timeout', {
      type: 'string',
      describe: 'restart a camera whose output stopped growing for this long [default: 60s]',
      group: 'Record:',
    })
    .option('ffmpeg', {
      type: 'string',
      describe: 'ffmpeg binary [env FFMPEG_PATH, then PATH]',
      group: 'Record:',
    })
    .option('ffprobe', {
      type: 'string',
      describe: 'ffprobe binary [env FFPROBE_PATH, then PATH]',
      group: 'Record:',
    })
    .option('log-file', {
      type: 'string',
      describe: 'log file, rotated daily [default: ROOT/recorder.log]',
      group: 'Output:',
    })
    .option('notify-url', {
      type: 'string',
      array: true,
      describe:
        'POST a JSON event here when a camera goes offline or comes back, and when storage crosses a threshold (repeatable)',
      group: 'Output:',
    })
    .option('notify-secret', {
      type: 'string',
      describe: 'sign notifications (HMAC-SHA256, as for archive runs)',
      group: 'Output:',
    })
    .option('verbose', {
      alias: 'v',
      type: 'count',
      describe: 'more detail (-v: ffmpeg commands and warnings)',
      group: 'Output:',
    })
    .option('quiet', {
      alias: 'q',
      type: 'boolean',
      default: false,
      describe: 'warnings and errors only',
      group: 'Output:',
    })
    .example(
      '$0 record /tmp/cams --camera demo=lavfi:testsrc2 --segment-time 10s',
      'try it with a synthetic camera',
    )
    .example(
      '$0 record /camera --camera front=rtsp://user:pw@192.168.1.20/stream1',
      'record an RTSP camera in 30-min segments',
    )
    .example('$0 record /camera --status', 'what the running recorder is doing') as Argv<
    Record<string, unknown>
  >;
}

function percent(name: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || Number.isNaN(v))
    throw new UsageError(`--${name} must be a number, got '${String(v)}'`);
  return v;
}

export function toRecordOptions(argv: Record<string, unknown>): RecordCommandOptions {
  const cameras = Array.isArray(argv.camera) ? argv.camera.map(String) : [];
  const verbose = typeof argv.verbose === 'number' ? argv.verbose : 0;
  const root = directoryOf(argv, 'root'); // also after `--`
  return {
    root: root === undefined ? undefined : path.resolve(root),
    cameras,
    segmentTime: str(argv['segment-time']),
    warnPercent: percent('warn-percent', argv['warn-percent']),
    blockPercent: percent('block-percent', argv['block-percent']),
    stallTimeout: str(argv['stall-timeout']),
    output: str(argv.output),
    trashRoot: str(argv['trash-root']),
    logFile: str(argv['log-file']),
    verbosity: argv.quiet === true ? -1 : verbose,
    ffmpeg: str(argv.ffmpeg),
    ffprobe: str(argv.ffprobe),
    notifyUrls: parseNotifyUrls(
      (Array.isArray(argv['notify-url']) ? argv['notify-url'] : []).map(String).filter(Boolean),
    ),
    notifySecret: str(argv['notify-secret']),
  };
}

/**
 * A recorder treats signals unlike a batch run: SIGINT/SIGTERM mean "close the segments, then exit
 * 0" and SIGHUP means "reload", not "stop". The CLI edge hands signals to us while recording
 * (ctx.takeSignals). A second SIGINT/SIGTERM is still honoured: ffmpeg is killed at once instead
 * of closing its segments.
 */
function takeOverSignals(ctx: CliContext): { signals: RecordSignals; restore(): void } {
  const controller = new AbortController();
  const hurry = new AbortController();
  const reloadListeners = new Set<() => void>();
  let stops = 0;
  const handler = (signal: InterruptSignal): void => {
    if (signal === 'SIGHUP') {
      ctx.stderr.write('SIGHUP received: reloading the configuration…\n');
      for (const l of reloadListeners) l();
      return;
    }
    stops++;
    if (stops === 1) {
      ctx.stderr.write(
        `\n${signal} received: closing the current segments (send it again to hurry)…\n`,
      );
      controller.abort(signal);
    } else {
      ctx.stderr.write(
        `${signal} again: killing ffmpeg now; what it had written is recovered from the fragments\n`,
      );
      hurry.abort(signal);
    }
  };
  const giveBack = ctx.takeSignals?.(handler);
  // In-process callers (tests) stop us through the context's signal instead.
  const onCtx = (): void => {
    if (ctx.signal.reason === 'SIGHUP') for (const l of reloadListeners) l();
    else controller.abort(ctx.signal.reason);
  };
  ctx.signal.addEventListener('abort', onCtx, { once: true });
  return {
    signals: {
      stop: controller.signal,
      hurry: hurry.signal,
      onReload: (listener) => {
        reloadListeners.add(listener);
        return () => reloadListeners.delete(listener);
      },
    },
    restore: () => {
      ctx.signal.removeEventListener('abort', onCtx);
      giveBack?.();
    },
  };
}

export async function recordHandler(
  argv: Record<string, unknown>,
  ctx: CommandContext,
): Promise<RunOutcome> {
  const options = toRecordOptions(argv);
  const commands = await import('../../record/commands.js');
  const io = { stdout: ctx.stdout, stderr: ctx.stderr, env: ctx.env, commandLine: ctx.commandLine };
  if (argv.status === true) {
    let root = options.root;
    try {
      root ??= commands.recordConfigOf({ ...options, cameras: [] }, ctx.configFile).config.root;
    } catch {
      root = '/camera'; // no usable configuration: the default tree
    }
    const running = await commands.printStatus(root, argv.json === true, io);
    return running ? { status: 'ok' } : { status: 'failed', failures: 1 };
  }
  const { signals, restore } = takeOverSignals(ctx);
  try {
    await runCommand({
      io: ctx,
      commandLine: ctx.commandLine,
      prepare: () => commands.prepareRecord(options, ctx.configFile),
      log: (prepared) => ({ verbosity: options.verbosity, file: prepared.logFile }),
      body: async (prepared, { log }) => {
        await commands.runRecord(options, io, signals, log, prepared, ctx.configFile);
        return { status: 'ok' };
      },
    });
    // Stopping by signal is the normal end of a recorder: the segments are safe, so exit 0.
    return { status: 'ok' };
  } finally {
    restore();
  }
}

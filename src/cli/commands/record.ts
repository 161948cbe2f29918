/**
 * `camera-archiver record [ROOT] --camera NAME=SOURCE …`: live segmented capture into the tree the
 * archiver reads. Only argument shapes live here (its signals: runtime.ts `recorderSignals`); the
 * work is in src/record/commands.ts, loaded on demand so `--help` stays fast.
 */
import path from 'node:path';
import type { Argv } from 'yargs';
import { UsageError, type RunOutcome } from '../../core/errors.js';
import type { RecordCommandOptions } from '../../record/commands.js';
import { parseNotifyUrls } from '../../core/notify.js';
import { recorderSignals, runCommand, type CommandContext } from '../runtime.js';
import {
  booleanFlag,
  declareFlags,
  directoryOf,
  flag,
  parseFlags,
  stringFlag,
  strings,
  stringsFlag,
  verbosityFlags,
  verbosityOf,
  type FlagValues,
} from './flags.js';

function percent(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || Number.isNaN(v))
    throw new UsageError(`--${name} must be a number, got '${String(v)}'`);
  return v;
}

/** Every flag of `record`, declared once, in help order. */
export const RECORD_FLAGS = {
  camera: stringsFlag({
    alias: 'c',
    describe:
      'NAME=SOURCE; SOURCE is /dev/videoN, /dev/v4l/by-id/…, rtsp://user:pass@host/path or lavfi:<filtergraph> (repeatable)',
    group: 'Record:',
  }),
  // Found and read by the command runtime, like every command's (core/config-file.ts).
  config: stringFlag({
    describe: 'JSON or YAML file with cameras and their options (reloaded on SIGHUP)',
    group: 'Record:',
  }),
  'segment-time': stringFlag({
    describe: 'segment length, cut on the clock, e.g. 30m, 10s [default: 30m]',
    group: 'Record:',
  }),
  status: booleanFlag({
    default: false,
    describe: 'print the status of the recorder of ROOT and exit',
    group: 'Record:',
  }),
  json: booleanFlag({
    default: false,
    describe: 'with --status: the status file as JSON',
    group: 'Record:',
  }),
  'warn-percent': flag(
    {
      type: 'number',
      describe: 'warn when the disk is this full [default: 80]',
      group: 'Storage:',
    },
    percent,
  ),
  'block-percent': flag(
    {
      type: 'number',
      describe: 'remove the oldest footage when the disk is this full [default: 90]',
      group: 'Storage:',
    },
    percent,
  ),
  output: stringFlag({
    alias: 'o',
    describe: 'archive root, for reclaiming space [default: ROOT/archived]',
    group: 'Storage:',
  }),
  'trash-root': stringFlag({
    describe: 'trash root, for reclaiming space [default: ROOT/.deleted]',
    group: 'Storage:',
  }),
  'stall-timeout': stringFlag({
    describe: 'restart a camera whose output stopped growing for this long [default: 60s]',
    group: 'Record:',
  }),
  ffmpeg: stringFlag({ describe: 'ffmpeg binary [env FFMPEG_PATH, then PATH]', group: 'Record:' }),
  ffprobe: stringFlag({
    describe: 'ffprobe binary [env FFPROBE_PATH, then PATH]',
    group: 'Record:',
  }),
  'log-file': stringFlag({
    describe: 'log file, rotated daily [default: ROOT/recorder.log]',
    group: 'Output:',
  }),
  'notify-url': flag(
    {
      type: 'string',
      array: true,
      describe:
        'POST a JSON event here when a camera goes offline or comes back, and when storage crosses a threshold (repeatable)',
      group: 'Output:',
    },
    (v) => parseNotifyUrls(strings(v)),
  ),
  'notify-secret': stringFlag({
    describe: 'sign notifications (HMAC-SHA256, as for archive runs)',
    group: 'Output:',
  }),
  ...verbosityFlags('Output:', 'more detail (-v: ffmpeg commands and warnings)'),
} as const;

export function recordBuilder(y: Argv): Argv {
  return declareFlags(
    y.positional('root', {
      type: 'string',
      describe: 'camera tree to record into [default: root: in --config, else /camera]',
    }),
    RECORD_FLAGS,
  )
    .example(
      '$0 record /tmp/cams --camera demo=lavfi:testsrc2 --segment-time 10s',
      'try it with a synthetic camera',
    )
    .example(
      '$0 record /camera --camera front=rtsp://user:pw@192.168.1.20/stream1',
      'record an RTSP camera in 30-min segments',
    )
    .example('$0 record /camera --status', 'what the running recorder is doing');
}

/** record's parsed flags, and the options the recorder takes from them. */
export function parseRecordFlags(argv: Record<string, unknown>): {
  flags: FlagValues<typeof RECORD_FLAGS>;
  options: RecordCommandOptions;
} {
  const f = parseFlags(RECORD_FLAGS, argv);
  const root = directoryOf(argv, 'root'); // also after `--`
  return {
    flags: f,
    options: {
      root: root === undefined ? undefined : path.resolve(root),
      cameras: f.camera,
      segmentTime: f['segment-time'],
      warnPercent: f['warn-percent'],
      blockPercent: f['block-percent'],
      stallTimeout: f['stall-timeout'],
      output: f.output,
      trashRoot: f['trash-root'],
      logFile: f['log-file'],
      verbosity: verbosityOf(f),
      ffmpeg: f.ffmpeg,
      ffprobe: f.ffprobe,
      notifyUrls: f['notify-url'],
      notifySecret: f['notify-secret'],
    },
  };
}

export function toRecordOptions(argv: Record<string, unknown>): RecordCommandOptions {
  return parseRecordFlags(argv).options;
}

export async function recordHandler(
  argv: Record<string, unknown>,
  ctx: CommandContext,
): Promise<RunOutcome> {
  const { flags, options } = parseRecordFlags(argv);
  const commands = await import('../../record/commands.js');
  const io = { stdout: ctx.stdout, stderr: ctx.stderr, env: ctx.env, commandLine: ctx.commandLine };
  if (flags.status) {
    let root = options.root;
    try {
      root ??= commands.recordConfigOf({ ...options, cameras: [] }, ctx.configFile).config.root;
    } catch {
      root = '/camera'; // no usable configuration: the default tree
    }
    const running = await commands.printStatus(root, flags.json, io);
    return running ? { status: 'ok' } : { status: 'failed', failures: 1 };
  }
  // --json is the status file's format; typed for a recording run it is a mistake (from the
  // shared settings it is meant for the commands it applies to, and ignored).
  if (flags.json && ctx.notFromSettings('json'))
    throw new UsageError('--json applies to record only with --status (a recorder writes its log)');
  const { signals, restore } = recorderSignals(ctx);
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

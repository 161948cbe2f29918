/**
 * `camera-archiver [archive] [directory]`: the Python archiver's flags, plus the options users of
 * this kind of tool expect. Only argument shapes live here; the work is in archive/run.ts, loaded
 * on demand so `--help` stays fast.
 */
import path from 'node:path';
import type { Argv } from 'yargs';
import {
  AUDIO_MODES,
  CODEC_CHOICES,
  DEFAULT_KEYFRAME_INTERVAL,
  ENCODER_CHOICES,
  type AudioMode,
  type CodecChoice,
  type EncoderChoice,
} from '../../media/encoders.js';
import { UsageError, type RunOutcome } from '../../core/errors.js';
import { parseDuration, parseSize } from '../../core/units.js';
import type { ArchiveOptions, RunIo } from '../../archive/run.js';
import { parseNotifyUrls } from '../../core/notify.js';
import { parseMaxArchiveRatio } from '../../archive/stream-copy.js';
import { lowerHelperThreads } from '../../media/thread-priority.js';
import { parseUntil } from '../../core/until.js';
import { runCommand, type CommandContext } from '../runtime.js';
import type { ReportTargets } from '../../archive/report.js';
import type { CleanupOptions } from '../../retention/run.js';
import { failpointFromEnv } from '../failpoint.js';
import {
  ageDaysOf,
  nowOf,
  num,
  str,
  strings,
  treeFlags,
  treeRootsOf,
  wholeNumber,
} from './flags.js';

export function archiveBuilder(y: Argv): Argv<Record<string, unknown>> {
  return treeFlags(y, 'Archive:')
    .option('delete', {
      type: 'boolean',
      default: false,
      describe: 'delete sources permanently instead of trashing them',
      group: 'Archive:',
    })
    .option('dry-run', {
      type: 'boolean',
      default: false,
      describe: 'show exactly what would be done, change nothing',
      group: 'Archive:',
    })
    .option('yes', {
      alias: 'y',
      type: 'boolean',
      default: false,
      describe: 'do not ask before acting (same as --no-confirm)',
      group: 'Archive:',
    })
    .option('confirm', { type: 'boolean', default: true, hidden: true })
    .option('skip', {
      type: 'boolean',
      default: true,
      describe: '--no-skip: transcode again even when an archive exists',
      group: 'Archive:',
    })
    .option('age', {
      type: 'number',
      default: 30,
      describe: 'only clips recorded more than DAYS ago (from the file name); 0 = no age threshold',
      group: 'Archive:',
    })
    .option('settle-time', {
      type: 'string',
      default: '5m',
      describe:
        'leave clips modified more recently than this alone (may still be uploading); 0 disables',
      group: 'Archive:',
    })
    .option('cleanup', {
      type: 'boolean',
      default: false,
      describe: 'retention mode: remove old footage instead of transcoding',
      group: 'Retention:',
    })
    .option('clean-output', {
      type: 'boolean',
      default: false,
      describe:
        'with --cleanup: archives are managed too (by --archive-age, else --age, and the caps)',
      group: 'Retention:',
    })
    .option('archive-age', {
      type: 'string',
      describe:
        'with --clean-output: remove archives older than DAYS; keep = only the caps [default: --age]',
      group: 'Retention:',
    })
    .option('max-size', {
      type: 'string',
      describe:
        'cap on sources+archives+trash, e.g. 500GB (1024-based): trash, then oldest footage, deleted PERMANENTLY until under it',
      group: 'Retention:',
    })
    .option('min-free', {
      type: 'string',
      describe: 'keep this much free on the footage disk, e.g. 50GB or 10% (+5%; permanent)',
      group: 'Retention:',
    })
    .option('trash-days', {
      type: 'number',
      describe: 'purge files in the trash for more than DAYS; 0 keeps them [default: 30]',
      group: 'Retention:',
    })
    .option('protect', {
      type: 'string',
      describe: 'never remove anything recorded within this window, e.g. 3d [default: 24h]',
      group: 'Retention:',
    })
    .option('max-delete', {
      type: 'string',
      describe:
        'refuse a cleanup that would remove more footage than N files, SIZE or % of it; none = off [default: 75%]',
      group: 'Retention:',
    })
    .option('new-root', {
      type: 'boolean',
      default: false,
      describe: 'accept a root whose marker is missing or different (footage moved on purpose)',
      group: 'Retention:',
    })
    .option('state-dir', {
      type: 'string',
      describe: 'where root markers are remembered [default: $XDG_STATE_HOME/camera-archiver]',
      group: 'Retention:',
    })
    .option('jobs', {
      alias: 'j',
      type: 'number',
      default: 1,
      describe: 'parallel transcodes (1-64)',
      group: 'Encoding:',
    })
    .option('encoder', {
      choices: ENCODER_CHOICES,
      default: 'auto' as EncoderChoice,
      describe: 'auto probes qsv, vaapi, nvenc, then software',
      group: 'Encoding:',
    })
    .option('codec', {
      choices: CODEC_CHOICES,
      default: 'auto' as CodecChoice,
      describe: 'auto: AV1 where the GPU encodes it or on software-only hosts, else HEVC',
      group: 'Encoding:',
    })
    .option('keyframe-interval', {
      type: 'number',
      describe: `frames between keyframes [default: AV1 ${DEFAULT_KEYFRAME_INTERVAL.av1}, HEVC and H.264 ${DEFAULT_KEYFRAME_INTERVAL.hevc}]`,
      group: 'Encoding:',
    })
    .option('max-archive-ratio', {
      type: 'number',
      default: 1,
      describe: 'an archive larger than this share of its clip keeps the clip’s own video instead',
      group: 'Encoding:',
    })
    .option('quality', {
      type: 'number',
      describe:
        'CRF / global_quality / QP / CQ, 0-51 (lower = better, larger) [default: per encoder]',
      group: 'Encoding:',
    })
    .option('preset', {
      type: 'string',
      describe:
        'encoder speed preset [default: medium; SVT-AV1 9 (named presets map onto its numbers); nvenc p5]',
      group: 'Encoding:',
    })
    .option('max-height', {
      type: 'number',
      describe: 'scale down to at most this height, keeping the aspect ratio',
      group: 'Encoding:',
    })
    .option('audio', {
      choices: AUDIO_MODES,
      default: 'aac' as AudioMode,
      describe: 'keep audio as AAC, copy it, or drop it',
      group: 'Encoding:',
    })
    .option('hw-device', {
      type: 'string',
      default: '/dev/dri/renderD128',
      describe: 'DRM render node for QSV/VAAPI',
      group: 'Encoding:',
    })
    .option('ffmpeg', {
      type: 'string',
      describe: 'ffmpeg binary [env FFMPEG_PATH, then PATH]',
      group: 'Encoding:',
    })
    .option('ffprobe', {
      type: 'string',
      describe: 'ffprobe binary [env FFPROBE_PATH, then PATH]',
      group: 'Encoding:',
    })
    .option('stall-timeout', {
      type: 'string',
      default: '2m',
      describe: 'stop ffmpeg when it reports no progress for this long; 0 = never',
      group: 'Encoding:',
    })
    .option('nice', {
      type: 'number',
      default: 10,
      describe: 'CPU niceness for ffmpeg, 0-19 (0 = unchanged)',
      group: 'Encoding:',
    })
    .option('log-file', {
      type: 'string',
      describe: 'log file, rotated daily and at 4 MiB [default: <directory>/archiver.log]',
      group: 'Output:',
    })
    .option('json', {
      type: 'boolean',
      default: false,
      describe: 'print the plan (dry run) or a summary (real run) as JSON on stdout',
      group: 'Output:',
    })
    .option('progress', {
      choices: ['auto', 'bars', 'lines', 'none'] as const,
      default: 'auto' as const,
      describe: 'bars in a terminal, plain lines otherwise',
      group: 'Output:',
    })
    .option('verbose', {
      alias: 'v',
      type: 'count',
      describe: 'more detail (-vv: debug)',
      group: 'Output:',
    })
    .option('quiet', {
      alias: 'q',
      type: 'boolean',
      default: false,
      describe: 'warnings and errors only',
      group: 'Output:',
    })
    .option('ionice', {
      type: 'boolean',
      default: true,
      describe:
        'run ffmpeg at idle I/O priority (ionice -c3) when ionice exists; --no-ionice: as is',
      group: 'Encoding:',
    })
    .option('until', {
      type: 'string',
      describe:
        'stop-by time: start no new clip after it (06:00 = next 06:00 local, +3h, or ISO); the rest is reported as not done, exit 0',
      group: 'Archive:',
    })
    .option('metrics-file', {
      type: 'string',
      describe: 'write Prometheus textfile-collector metrics here after each real run (atomic)',
      group: 'Reporting:',
    })
    .option('notify-url', {
      type: 'string',
      array: true,
      describe: 'POST a JSON event here when a run finishes or fails (repeatable)',
      group: 'Reporting:',
    })
    .option('notify-secret', {
      type: 'string',
      describe:
        'sign notifications: X-Camera-Archiver-Signature: sha256=HMAC(secret, "<timestamp>.<body>")',
      group: 'Reporting:',
    })
    .option('now', {
      type: 'string',
      hidden: true,
      describe: 'pretend the current time is this ISO date (tests, back-fills)',
    })
    .example('$0 /camera --dry-run', "preview tonight's work")
    .example(
      '$0 -y --until 06:00 --metrics-file m.prom --notify-url URL',
      'start nothing after 06:00; write metrics; POST the result',
    )
    .example('$0 /camera -y --age 14 --jobs 2', 'archive clips older than two weeks, two at a time')
    .example(
      '$0 /camera -y --cleanup --clean-output --age 14 --max-size 500GB',
      'weekly retention, as with the Python archiver',
    ) as Argv<Record<string, unknown>>;
}

/**
 * Every encoder's preset names (x264/x265, QSV, NVENC old and new): a name none of them knows is
 * a typo, refused here rather than as a failed encoder probe (exit 1) once the run has started.
 */
const PRESETS = new Set([
  ...['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower'],
  ...['veryslow', 'placebo', 'default', 'hp', 'hq', 'bd', 'll', 'llhq', 'llhp', 'lossless'],
  ...['losslesshp', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7'],
  // SVT-AV1's numbered presets (0 slowest … 13 fastest).
  ...Array.from({ length: 14 }, (_, n) => String(n)),
]);

function presetOf(v: unknown): string | undefined {
  const preset = str(v);
  if (preset !== undefined && !PRESETS.has(preset))
    throw new UsageError(
      `--preset must be an encoder preset (ultrafast … veryslow, p1 … p7, 0 … 13 for AV1), got '${preset}'`,
    );
  return preset;
}

/** Turns parsed flags into validated options; every bad value is a UsageError (exit 2). */
export function toArchiveOptions(
  argv: Record<string, unknown>,
  commandLine: string,
): ArchiveOptions & { now?: Date } {
  const { root, output, trash } = treeRootsOf(argv);
  const age = ageDaysOf(argv);
  const verbose = num(argv.verbose) ?? 0;
  const now = nowOf(argv);
  const maxSize = str(argv['max-size']);
  return {
    root,
    output,
    trash,
    deleteSources: argv.delete === true,
    dryRun: argv['dry-run'] === true,
    assumeYes: argv.yes === true || argv.confirm === false,
    noSkip: argv.skip === false,
    cleanup: argv.cleanup === true,
    cleanOutput: argv['clean-output'] === true,
    ageDays: age,
    maxSize: maxSize === undefined ? undefined : parseSize(maxSize, '--max-size'),
    logFile: path.resolve(str(argv['log-file']) ?? path.join(root, 'archiver.log')),
    settleSeconds: parseDuration(String(argv['settle-time'] ?? '5m'), '--settle-time'),
    // More parallel transcodes than this only thrash the disk and the encoder.
    jobs: wholeNumber('jobs', argv.jobs, 1, 64) ?? 1,
    encoder: argv.encoder as EncoderChoice,
    codec: argv.codec as CodecChoice,
    keyframeInterval: wholeNumber('keyframe-interval', argv['keyframe-interval'], 1, 100_000),
    maxArchiveRatio: parseMaxArchiveRatio(argv['max-archive-ratio']),
    // 0-255 covers every encoder's quality knob (CRF 0-51 for x264/x265, 0-63 for SVT-AV1,
    // VAAPI AV1's q-index up to 255); a value outside it is a typo, refused before the run starts.
    quality: wholeNumber('quality', argv.quality, 0, 255),
    preset: presetOf(argv.preset),
    maxHeight: wholeNumber('max-height', argv['max-height'], 16, 8640),
    audio: argv.audio as AudioMode,
    hwDevice: str(argv['hw-device']) ?? '/dev/dri/renderD128',
    json: argv.json === true,
    verbosity: argv.quiet === true ? -1 : verbose,
    ffmpeg: str(argv.ffmpeg),
    ffprobe: str(argv.ffprobe),
    stallTimeoutSeconds: parseDuration(String(argv['stall-timeout'] ?? '2m'), '--stall-timeout'),
    // Below 0 needs privileges the run does not have; 19 is the kernel's lowest priority.
    niceness: wholeNumber('nice', argv.nice, 0, 19) ?? 0,
    ionice: argv.ionice !== false,
    until: str(argv.until) === undefined ? undefined : parseUntil(String(argv.until), new Date()),
    metricsFile:
      str(argv['metrics-file']) === undefined
        ? undefined
        : path.resolve(String(argv['metrics-file'])),
    notifyUrls: parseNotifyUrls(strings(argv['notify-url'])),
    notifySecret: str(argv['notify-secret']),
    progress: (argv.progress as ArchiveOptions['progress']) ?? 'auto',
    stateDir:
      str(argv['state-dir']) === undefined ? undefined : path.resolve(String(argv['state-dir'])),
    commandLine,
    ...(now ? { now } : {}),
  };
}

/** What both runs of the archive command get from the CLI: streams, clock, signal, failpoints. */
function runIoOf(ctx: CommandContext, now: Date | undefined): RunIo {
  return {
    stdin: ctx.stdin,
    stdout: ctx.stdout,
    stderr: ctx.stderr,
    env: ctx.env,
    signal: ctx.signal,
    clock: now ? () => now : () => new Date(),
    failpoint: failpointFromEnv(ctx.env),
    lowerHelperThreads: () => void lowerHelperThreads(),
  };
}

/** The archive run through the command runtime: roots, logger, tree lock, report. */
async function archiveRun(options: ArchiveOptions, io: RunIo): Promise<RunOutcome> {
  const run = await import('../../archive/run.js');
  const { RunReport } = await import('../../archive/report.js');
  // Metrics and webhooks report every real run, also one that fails before it has a logger.
  const report = new RunReport({ ...reportTargets(options), dryRun: options.dryRun });
  return runCommand({
    io,
    commandLine: options.commandLine,
    report,
    prepare: () => run.prepareArchive(options),
    log: (prepared) => ({
      verbosity: options.verbosity,
      file: prepared.logFile,
      stateDir: options.stateDir,
    }),
    body: async (prepared, { log, lockTree }) => {
      for (const note of prepared.notes) log.info(note);
      if (options.cleanOutput)
        log.warn(
          '--clean-output only has an effect with --cleanup: archives are never treated as sources',
        );
      if (!options.dryRun) await lockTree(prepared.roots.root);
      return run.archive(options, io, log, prepared.roots, report);
    },
  });
}

/** `--cleanup` through the command runtime, reported like an archive run (`-cleanup.prom`). */
async function cleanupRun(options: CleanupOptions, io: RunIo): Promise<RunOutcome> {
  const cleanup = await import('../../retention/run.js');
  const { CleanupReport } = await import('../../archive/report.js');
  const report = new CleanupReport({ ...reportTargets(options), dryRun: options.dryRun });
  return runCommand({
    io,
    commandLine: options.commandLine,
    report,
    prepare: async () => {
      const prepared = await cleanup.prepareCleanup(options, io.env);
      report.resolvedRoot(prepared.roots.root);
      return prepared;
    },
    log: (prepared) => ({
      verbosity: options.verbosity,
      file: cleanup.cleanupLogFile(options, prepared),
      stateDir: prepared.stateDir,
    }),
    body: (prepared, scope) => cleanup.runCleanup(options, io, scope, prepared, report.tally),
  });
}

/** The report's targets: the same three options for the archive and the cleanup. */
function reportTargets(
  o: Pick<ArchiveOptions, 'root' | 'metricsFile' | 'notifyUrls' | 'notifySecret'>,
): { root: string } & ReportTargets {
  return {
    root: path.resolve(o.root),
    metricsFile: o.metricsFile,
    notifyUrls: o.notifyUrls,
    notifySecret: o.notifySecret,
  };
}

export async function archiveHandler(
  argv: Record<string, unknown>,
  ctx: CommandContext,
): Promise<RunOutcome> {
  const options = toArchiveOptions(argv, ctx.commandLine);
  // Retention flags are validated on every run (a bad value is exit 2), used only with --cleanup.
  const { toCleanupOptions } = await import('../../retention/options.js');
  const cleanupOptions = toCleanupOptions(argv, options);
  const io = runIoOf(ctx, options.now);
  return options.cleanup ? cleanupRun(cleanupOptions, io) : archiveRun(options, io);
}

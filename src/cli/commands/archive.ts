/**
 * `camera-archiver [archive] [directory]`: the Python archiver's flags, plus the options users of
 * this kind of tool expect. Only argument shapes live here; the work is in archive/run.ts (and
 * retention/run.ts for `--cleanup`), loaded on demand so `--help` stays fast.
 */
import path from 'node:path';
import type { Argv } from 'yargs';
import {
  AUDIO_MODES,
  CODEC_CHOICES,
  DEFAULT_KEYFRAME_INTERVAL,
  ENCODER_CHOICES,
} from '../../media/encoders.js';
import { UsageError, type RunOutcome } from '../../core/errors.js';
import type { ArchiveOptions, RunIo, TreeRunOptions } from '../../archive/run.js';
import { parseNotifyUrls } from '../../core/notify.js';
import { parseMaxArchiveRatio } from '../../archive/stream-copy.js';
import { lowerHelperThreads } from '../../media/thread-priority.js';
import { parseUntil } from '../../core/until.js';
import {
  runCommand,
  type CommandContext,
  type LogSettings,
  type RunReporter,
  type RunSpec,
} from '../runtime.js';
import type { ReportTargets } from '../../archive/report.js';
import type { CleanupOptions } from '../../retention/run.js';
import {
  DEFAULT_MAX_DELETE,
  optionText as text,
  parseMaxDelete,
  parseProtect,
  parseTrashDays,
} from '../../retention/options.js';
import { failpointFromEnv } from '../failpoint.js';
import {
  ageFlag,
  archiveAgeFlag,
  booleanFlag,
  choiceFlag,
  declareFlags,
  durationFlag,
  flag,
  maxSizeFlag,
  minFreeFlag,
  nowOf,
  parseFlags,
  pathFlag,
  str,
  stringFlag,
  strings,
  treeFlags,
  treeRootsOf,
  verbosityFlags,
  verbosityOf,
  wholeFlag,
  wholeNumber,
  type FlagValues,
} from './flags.js';

const PROGRESS_MODES = ['auto', 'bars', 'lines', 'none'] as const;

/**
 * Every flag of the archive command (and of `--cleanup`, which is `archive --cleanup`), declared
 * once: yargs' declaration and the parser that checks and types the value. In help order.
 */
export const ARCHIVE_FLAGS = {
  delete: booleanFlag({
    default: false,
    describe: 'delete sources permanently instead of trashing them',
    group: 'Archive:',
  }),
  'dry-run': booleanFlag({
    default: false,
    describe: 'show exactly what would be done, change nothing',
    group: 'Archive:',
  }),
  yes: booleanFlag({
    alias: 'y',
    default: false,
    describe: 'do not ask before acting (same as --no-confirm)',
    group: 'Archive:',
  }),
  confirm: booleanFlag({ default: true, hidden: true }),
  skip: booleanFlag({
    default: true,
    describe: '--no-skip: transcode again even when an archive exists',
    group: 'Archive:',
  }),
  age: ageFlag({
    describe: 'only clips recorded more than DAYS ago (from the file name); 0 = no age threshold',
    group: 'Archive:',
  }),
  'settle-time': durationFlag({
    default: '5m',
    describe:
      'leave clips modified more recently than this alone (may still be uploading); 0 disables',
    group: 'Archive:',
  }),
  cleanup: booleanFlag({
    default: false,
    describe: 'retention mode: remove old footage instead of transcoding',
    group: 'Retention:',
  }),
  'clean-output': booleanFlag({
    default: false,
    describe:
      'with --cleanup: archives are managed too (by --archive-age, else --age, and the caps)',
    group: 'Retention:',
  }),
  'archive-age': archiveAgeFlag({
    describe:
      'with --clean-output: remove archives older than DAYS; keep = only the caps [default: --age]',
    group: 'Retention:',
  }),
  'max-size': maxSizeFlag({
    describe:
      'cap on sources+archives+trash, e.g. 500GB (1024-based): trash, then oldest footage, deleted PERMANENTLY until under it',
    group: 'Retention:',
  }),
  'min-free': minFreeFlag({
    describe: 'keep this much free on the footage disk, e.g. 50GB or 10% (+5%; permanent)',
    group: 'Retention:',
  }),
  'trash-days': flag(
    {
      type: 'number',
      describe: 'purge files in the trash for more than DAYS; 0 keeps them [default: 30]',
      group: 'Retention:',
    },
    (v) => parseTrashDays(v),
  ),
  protect: flag(
    {
      type: 'string',
      describe: 'never remove anything recorded within this window, e.g. 3d [default: 24h]',
      group: 'Retention:',
    },
    (v) => parseProtect(text(v)),
  ),
  'max-delete': flag(
    {
      type: 'string',
      describe:
        'refuse a cleanup that would remove more footage than N files, SIZE or % of it; none = off [default: 75%]',
      group: 'Retention:',
    },
    (v) => {
      const given = text(v);
      return given === undefined ? DEFAULT_MAX_DELETE : parseMaxDelete(given);
    },
  ),
  'new-root': booleanFlag({
    default: false,
    describe: 'accept a root whose marker is missing or different (footage moved on purpose)',
    group: 'Retention:',
  }),
  'state-dir': pathFlag({
    describe: 'where root markers are remembered [default: $XDG_STATE_HOME/camera-archiver]',
    group: 'Retention:',
  }),
  jobs: flag(
    {
      alias: 'j',
      type: 'number',
      default: 1,
      describe: 'parallel transcodes (1-64)',
      group: 'Encoding:',
    },
    // More parallel transcodes than this only thrash the disk and the encoder.
    (v) => wholeNumber('jobs', v, 1, 64) ?? 1,
  ),
  encoder: choiceFlag(ENCODER_CHOICES, {
    default: 'auto',
    describe: 'auto probes qsv, vaapi, nvenc, then software',
    group: 'Encoding:',
  }),
  codec: choiceFlag(CODEC_CHOICES, {
    default: 'auto',
    describe: 'auto: AV1 where the GPU encodes it or on software-only hosts, else HEVC',
    group: 'Encoding:',
  }),
  'keyframe-interval': wholeFlag(
    {
      describe: `frames between keyframes [default: AV1 ${DEFAULT_KEYFRAME_INTERVAL.av1}, HEVC and H.264 ${DEFAULT_KEYFRAME_INTERVAL.hevc}]`,
      group: 'Encoding:',
    },
    1,
    100_000,
  ),
  'max-archive-ratio': flag(
    {
      type: 'number',
      default: 1,
      describe: 'an archive larger than this share of its clip keeps the clip’s own video instead',
      group: 'Encoding:',
    },
    (v) => parseMaxArchiveRatio(v),
  ),
  // 0-255 covers every encoder's quality knob (CRF 0-51 for x264/x265, 0-63 for SVT-AV1,
  // VAAPI AV1's q-index up to 255); a value outside it is a typo, refused before the run starts.
  quality: wholeFlag(
    {
      describe:
        'CRF / global_quality / QP / CQ, 0-51 (lower = better, larger) [default: per encoder]',
      group: 'Encoding:',
    },
    0,
    255,
  ),
  preset: flag(
    {
      type: 'string',
      describe:
        'encoder speed preset [default: medium; SVT-AV1 9 (named presets map onto its numbers); nvenc p5]',
      group: 'Encoding:',
    },
    (v) => presetOf(v),
  ),
  'max-height': wholeFlag(
    {
      describe: 'scale down to at most this height, keeping the aspect ratio',
      group: 'Encoding:',
    },
    16,
    8640,
  ),
  audio: choiceFlag(AUDIO_MODES, {
    default: 'aac',
    describe: 'keep audio as AAC, copy it, or drop it',
    group: 'Encoding:',
  }),
  'hw-device': flag(
    {
      type: 'string',
      default: '/dev/dri/renderD128',
      describe: 'DRM render node for QSV/VAAPI',
      group: 'Encoding:',
    },
    (v) => str(v) ?? '/dev/dri/renderD128',
  ),
  ffmpeg: stringFlag({
    describe: 'ffmpeg binary [env FFMPEG_PATH, then PATH]',
    group: 'Encoding:',
  }),
  ffprobe: stringFlag({
    describe: 'ffprobe binary [env FFPROBE_PATH, then PATH]',
    group: 'Encoding:',
  }),
  'stall-timeout': durationFlag({
    default: '2m',
    describe: 'stop ffmpeg when it reports no progress for this long; 0 = never',
    group: 'Encoding:',
  }),
  nice: flag(
    {
      type: 'number',
      default: 10,
      describe: 'CPU niceness for ffmpeg, 0-19 (0 = unchanged)',
      group: 'Encoding:',
    },
    // Below 0 needs privileges the run does not have; 19 is the kernel's lowest priority.
    (v) => wholeNumber('nice', v, 0, 19) ?? 0,
  ),
  'log-file': stringFlag({
    describe: 'log file, rotated daily and at 4 MiB [default: <directory>/archiver.log]',
    group: 'Output:',
  }),
  json: booleanFlag({
    default: false,
    describe: 'print the plan (dry run) or a summary (real run) as JSON on stdout',
    group: 'Output:',
  }),
  progress: choiceFlag(PROGRESS_MODES, {
    default: 'auto',
    describe: 'bars in a terminal, plain lines otherwise',
    group: 'Output:',
  }),
  ...verbosityFlags('Output:', 'more detail (-vv: debug)'),
  ionice: booleanFlag({
    default: true,
    describe: 'run ffmpeg at idle I/O priority (ionice -c3) when ionice exists; --no-ionice: as is',
    group: 'Encoding:',
  }),
  until: flag(
    {
      type: 'string',
      describe:
        'stop-by time: start no new clip after it (06:00 = next 06:00 local, +3h, or ISO); the rest is reported as not done, exit 0',
      group: 'Archive:',
    },
    (v) => {
      const given = str(v);
      return given === undefined ? undefined : parseUntil(given, new Date());
    },
  ),
  'metrics-file': pathFlag({
    describe: 'write Prometheus textfile-collector metrics here after each real run (atomic)',
    group: 'Reporting:',
  }),
  'notify-url': flag(
    {
      type: 'string',
      array: true,
      describe: 'POST a JSON event here when a run finishes or fails (repeatable)',
      group: 'Reporting:',
    },
    (v) => parseNotifyUrls(strings(v)),
  ),
  'notify-secret': stringFlag({
    describe:
      'sign notifications: X-Camera-Archiver-Signature: sha256=HMAC(secret, "<timestamp>.<body>")',
    group: 'Reporting:',
  }),
  now: flag(
    {
      type: 'string',
      hidden: true,
      describe: 'pretend the current time is this ISO date (tests, back-fills)',
    },
    (v) => nowOf({ now: v }),
  ),
} as const;

export type ArchiveFlags = FlagValues<typeof ARCHIVE_FLAGS>;

export function archiveBuilder(y: Argv): Argv {
  return declareFlags(treeFlags(y, 'Archive:'), ARCHIVE_FLAGS)
    .example('$0 /camera --dry-run', "preview tonight's work")
    .example(
      '$0 -y --until 06:00 --metrics-file m.prom --notify-url URL',
      'start nothing after 06:00; write metrics; POST the result',
    )
    .example('$0 /camera -y --age 14 --jobs 2', 'archive clips older than two weeks, two at a time')
    .example(
      '$0 /camera -y --cleanup --clean-output --age 14 --max-size 500GB',
      'weekly retention, as with the Python archiver',
    );
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

/** The roots of a run: the `[directory]` positional with `--output` and `--trash-root`. */
type TreeRoots = ReturnType<typeof treeRootsOf>;

/** The archive command's flags, parsed and checked once; every bad value is a UsageError (exit 2). */
export function parseArchiveFlags(argv: Record<string, unknown>): {
  flags: ArchiveFlags;
  roots: TreeRoots;
} {
  return { flags: parseFlags(ARCHIVE_FLAGS, argv), roots: treeRootsOf(argv) };
}

/** What an archive run and a `--cleanup` run take alike from the parsed flags. */
function treeRunOptionsOf(
  f: ArchiveFlags,
  { root, output, trash }: TreeRoots,
  commandLine: string,
): TreeRunOptions {
  return {
    root,
    output,
    trash,
    deleteSources: f.delete,
    dryRun: f['dry-run'],
    assumeYes: f.yes || !f.confirm,
    ageDays: f.age,
    settleSeconds: f['settle-time'],
    logFile: path.resolve(f['log-file'] ?? path.join(root, 'archiver.log')),
    json: f.json,
    verbosity: verbosityOf(f),
    commandLine,
    stateDir: f['state-dir'],
    metricsFile: f['metrics-file'],
    notifyUrls: f['notify-url'],
    notifySecret: f['notify-secret'],
  };
}

/** The options of an archive run (not `--cleanup`'s) from the parsed flags. */
export function archiveOptionsOf(
  f: ArchiveFlags,
  roots: TreeRoots,
  commandLine: string,
): ArchiveOptions & { now?: Date } {
  return {
    ...treeRunOptionsOf(f, roots, commandLine),
    noSkip: !f.skip,
    jobs: f.jobs,
    encoder: f.encoder,
    codec: f.codec,
    keyframeInterval: f['keyframe-interval'],
    maxArchiveRatio: f['max-archive-ratio'],
    quality: f.quality,
    preset: f.preset,
    maxHeight: f['max-height'],
    audio: f.audio,
    hwDevice: f['hw-device'],
    ffmpeg: f.ffmpeg,
    ffprobe: f.ffprobe,
    stallTimeoutSeconds: f['stall-timeout'],
    niceness: f.nice,
    ionice: f.ionice,
    until: f.until,
    progress: f.progress,
    ...(f.now ? { now: f.now } : {}),
  };
}

/** The options of a `--cleanup` run from the same parsed flags. */
export function cleanupOptionsOf(
  f: ArchiveFlags,
  roots: TreeRoots,
  commandLine: string,
): CleanupOptions {
  return {
    ...treeRunOptionsOf(f, roots, commandLine),
    cleanOutput: f['clean-output'],
    archiveAgeDays: f['archive-age'],
    maxSize: f['max-size'],
    minFree: f['min-free']?.value,
    minFreeText: f['min-free']?.text,
    trashDays: f['trash-days'],
    protectSeconds: f.protect,
    maxDelete: f['max-delete'],
    newRoot: f['new-root'],
  };
}

/** Parsed flags to archive options (config --print and tests use it; a bad value is exit 2). */
export function toArchiveOptions(
  argv: Record<string, unknown>,
  commandLine: string,
): ArchiveOptions & { now?: Date } {
  const { flags, roots } = parseArchiveFlags(argv);
  return archiveOptionsOf(flags, roots, commandLine);
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

/**
 * A run of the tree (archive or cleanup) through the command runtime: its report, created before
 * anything can fail, and its logger at the run's -v/-q.
 */
function treeRun<P>(
  options: TreeRunOptions,
  io: RunIo,
  report: RunReporter,
  steps: Pick<RunSpec<P>, 'prepare' | 'body'> & {
    log: (prepared: P) => Omit<LogSettings, 'verbosity'>;
  },
): Promise<RunOutcome> {
  return runCommand({
    io,
    commandLine: options.commandLine,
    report,
    prepare: steps.prepare,
    log: (prepared) => ({ verbosity: options.verbosity, ...steps.log(prepared) }),
    body: steps.body,
  });
}

/** The archive run: roots, logger, tree lock (real runs), `<metrics-file>` and `archive.*`. */
async function archiveRun(
  options: ArchiveOptions,
  io: RunIo,
  cleanOutput: boolean,
): Promise<RunOutcome> {
  const run = await import('../../archive/run.js');
  const { RunReport } = await import('../../archive/report.js');
  // Metrics and webhooks report every real run, also one that fails before it has a logger.
  const report = new RunReport({ ...reportTargets(options), dryRun: options.dryRun });
  return treeRun(options, io, report, {
    prepare: () => run.prepareArchive(options),
    log: (prepared) => ({ file: prepared.logFile, stateDir: options.stateDir }),
    body: async (prepared, { log, lockTree }) => {
      for (const note of prepared.notes) log.info(note);
      if (cleanOutput)
        log.warn(
          '--clean-output only has an effect with --cleanup: archives are never treated as sources',
        );
      if (!options.dryRun) await lockTree(prepared.roots.root);
      return run.archive(options, io, log, prepared.roots, report);
    },
  });
}

/** `--cleanup`, reported like an archive run: `<metrics-file>-cleanup.prom` and `cleanup.*`. */
async function cleanupRun(options: CleanupOptions, io: RunIo): Promise<RunOutcome> {
  const cleanup = await import('../../retention/run.js');
  const { CleanupReport } = await import('../../archive/report.js');
  const report = new CleanupReport({ ...reportTargets(options), dryRun: options.dryRun });
  return treeRun(options, io, report, {
    prepare: async () => {
      const prepared = await cleanup.prepareCleanup(options, io.env);
      report.resolvedRoot(prepared.roots.root);
      return prepared;
    },
    log: (prepared) => ({
      file: cleanup.cleanupLogFile(options, prepared),
      stateDir: prepared.stateDir,
    }),
    body: (prepared, scope) => cleanup.runCleanup(options, io, scope, prepared, report.tally),
  });
}

/** The report's targets: the same three options for the archive and the cleanup. */
function reportTargets(
  o: Pick<TreeRunOptions, 'root' | 'metricsFile' | 'notifyUrls' | 'notifySecret'>,
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
  // Every flag is checked on every run (a bad retention value is exit 2 without --cleanup too).
  const { flags, roots } = parseArchiveFlags(argv);
  const io = runIoOf(ctx, flags.now);
  return flags.cleanup
    ? cleanupRun(cleanupOptionsOf(flags, roots, ctx.commandLine), io)
    : archiveRun(archiveOptionsOf(flags, roots, ctx.commandLine), io, flags['clean-output']);
}

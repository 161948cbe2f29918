/**
 * The archive command's shell: the one place where the pipeline meets the world.
 *   discovery → planner → (dry run: render) | (real run: confirm → executor → report)
 * Dry run and real run share discovery, planner and renderer; the only fork is here.
 */
import { constants, existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { confirmOrStop } from '../core/confirm.js';
import {
  discoverDays,
  findDayFolders,
  type DiscoveryOptions,
  type IgnoredFile,
  type Skeleton,
} from './discovery.js';
import {
  encoderName,
  profileFor,
  selectEncoder,
  type AudioMode,
  type CodecChoice,
  type EncoderChoice,
  type EncodingProfile,
} from '../media/encoders.js';
import { EnvironmentError, interruptSignalOf, type RunOutcome } from '../core/errors.js';
import { displayPath } from '../core/display-path.js';
import type { ExecutionReport, ExecutorContext } from './executor.js';
import type { AppLogger } from '../core/logger.js';
import {
  addDayCounts,
  ageCutoff,
  countAction,
  countDay,
  emptyCounts,
  planDay,
  planPrunes,
  type PlanAction,
  type PlanCounts,
  type PlanSettings,
} from './planner.js';
import { barProgress, lineProgress, silentProgress, type ProgressReporter } from './progress.js';
import {
  actionToJson,
  encoderLine,
  jsonObjectWriter,
  renderDaySummary,
  streamSink,
  TEXT_PLAN_LIMIT,
  type JsonObjectWriter,
  renderAction,
  renderCounts,
  renderReport,
  totalsOf,
  type RenderContext,
} from './render.js';
import { runCaptured } from '../media/run-captured.js';
import { LOWEST_PRIORITY } from '../media/thread-priority.js';
import {
  locateTool,
  locateToolchain,
  resolveToolchain,
  type Toolchain,
} from '../media/toolchain.js';
import { resolveIonice } from '../media/io-priority.js';
import { resolveRoots } from '../tree/roots.js';
import type { RunReport } from './report.js';
import { stopByMessage, stopChecker, type StopBy } from '../core/until.js';

export interface ArchiveOptions {
  root: string;
  output: string;
  trash: string;
  deleteSources: boolean;
  dryRun: boolean;
  assumeYes: boolean;
  noSkip: boolean;
  cleanup: boolean;
  cleanOutput: boolean;
  ageDays: number;
  maxSize?: number | undefined;
  logFile: string;
  settleSeconds: number;
  jobs: number;
  encoder: EncoderChoice;
  codec: CodecChoice;
  /** Frames between keyframes; undefined: the profile's default. */
  keyframeInterval?: number | undefined;
  /** An archive above this share of its clip keeps the clip's own video (archive/stream-copy.ts). */
  maxArchiveRatio?: number | undefined;
  quality?: number | undefined;
  preset?: string | undefined;
  maxHeight?: number | undefined;
  audio: AudioMode;
  hwDevice: string;
  json: boolean;
  /** -1 quiet, 0 normal, 1 verbose, 2 debug. */
  verbosity: number;
  ffmpeg?: string | undefined;
  ffprobe?: string | undefined;
  stallTimeoutSeconds: number;
  niceness: number;
  progress: 'auto' | 'bars' | 'lines' | 'none';
  commandLine: string;
  /** Prometheus textfile written after every real run (src/core/metrics.ts). */
  metricsFile?: string | undefined;
  /** Webhooks told when a real run finishes or fails (src/core/notify.ts). */
  notifyUrls?: readonly string[] | undefined;
  notifySecret?: string | undefined;
  /** Stop-by time: no clip starts after it (src/core/until.ts). */
  until?: StopBy | undefined;
  /** `--state-dir`: where the log rotation keeps its bookkeeping (src/core/logger.ts). */
  stateDir?: string | undefined;
  /** Run ffmpeg under `ionice -c3` when ionice exists (src/media/io-priority.ts). */
  ionice?: boolean | undefined;
}

export interface RunIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  clock: () => Date;
  /** Fault injection hook for the reliability tests (src/cli/failpoint.ts); undefined in normal runs. */
  failpoint?: ((name: string) => void) | undefined;
  /**
   * Lowers the CPU priority of the process's helper threads for good (src/media/thread-priority.ts);
   * a dry run calls it before it walks the tree. Undefined where the run shares its process
   * (tests that call a run directly).
   */
  lowerHelperThreads?: (() => void) | undefined;
}

/**
 * The input root exists and is a folder, and the archive and trash roots do not overlap it (or
 * each other) by identity (src/tree/roots.ts): for commands that only read the tree, such as `stats`.
 */
export async function checkTreeRoots(
  root: string,
  output: string,
  trash: string,
): Promise<{ root: string; output: string; trash: string; notes: string[] }> {
  const r = await resolveRoots({ root, output, trash });
  return { root: r.input.real, output: r.output.real, trash: r.trash.real, notes: r.notes };
}

/**
 * A real run records what it does in its log file, so one that cannot write it does not start:
 * a read-only footage filesystem, or a log path under a file, is an error naming the file
 * (exit 1; metrics and notifications still go out) rather than a crash mid-run.
 */
export async function checkLogFile(file: string): Promise<void> {
  // The rotating file is created on first write, with any missing folders: the nearest
  // existing folder above it must be writable.
  let dir = path.dirname(file);
  for (;;) {
    try {
      const info = await fsp.stat(dir);
      if (!info.isDirectory()) {
        throw new EnvironmentError(
          `cannot write the log file ${file}: ${dir} is not a folder (nothing was changed)`,
        );
      }
      break;
    } catch (error) {
      if (error instanceof EnvironmentError) throw error;
      const parent = path.dirname(dir);
      if (parent === dir) throw error;
      dir = parent;
    }
  }
  try {
    await fsp.access(dir, constants.W_OK);
  } catch (error) {
    throw new EnvironmentError(
      `cannot write the log file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)} on ${dir} (nothing was changed)`,
    );
  }
}

/** What an archive run knows before its logger exists: its roots, by identity, and its log file. */
export interface PreparedArchive {
  roots: Roots;
  /** The real path of the log file; undefined for a dry run (it writes none). */
  logFile: string | undefined;
  /** What resolving the roots found worth telling (a root followed through a link…). */
  notes: string[];
}

/**
 * The first step of a run: the roots resolved once, by identity (src/tree/roots.ts): from here on
 * the run knows each root by its real path only; overlapping roots are refused (exit 2). A real
 * run's log file must be writable before anything happens.
 */
export async function prepareArchive(opts: ArchiveOptions): Promise<PreparedArchive> {
  const resolved = await resolveRoots({
    root: opts.root,
    output: opts.output,
    trash: opts.trash,
    logFile: opts.dryRun ? undefined : opts.logFile,
    trashUnused: opts.deleteSources,
  });
  if (resolved.logFile) await checkLogFile(resolved.logFile.real);
  return {
    roots: {
      root: resolved.input.real,
      outputRoot: resolved.output.real,
      trashRoot: resolved.trash.real,
    },
    logFile: resolved.logFile?.real,
    notes: resolved.notes,
  };
}

export interface Roots {
  root: string;
  outputRoot: string;
  trashRoot: string;
}

export async function archive(
  opts: ArchiveOptions,
  io: RunIo,
  log: AppLogger,
  roots: Roots,
  runReport: RunReport,
): Promise<RunOutcome> {
  const now = io.clock();
  const started = Date.now();
  const settings: PlanSettings = {
    root: roots.root,
    outputRoot: roots.outputRoot,
    trashRoot: roots.trashRoot,
    disposal: opts.deleteSources ? 'delete' : 'trash',
    ageDays: opts.ageDays,
    settleSeconds: opts.settleSeconds,
    redoExisting: opts.noSkip,
  };
  const discovery: DiscoveryOptions = {
    root: roots.root,
    excluded: [roots.outputRoot, roots.trashRoot],
    outputRoot: roots.outputRoot,
    statClipsNewerThan: statThreshold(now, opts),
  };

  // Tools and encoder are resolved only once a plan needs them: a run with nothing to do works
  // without ffmpeg, and a dry run probes exactly like the real run so its commands are exact.
  let toolchain: Toolchain | undefined;
  let profile: EncodingProfile | undefined;
  let fallbackProfile: EncodingProfile | undefined;
  // A quiet dry run prints only the totals: it reads each day's counts and never builds its
  // actions (half the planning time of a million-file tree, BENCHMARKS.md). Building no command
  // line, it needs to know where ffmpeg and ffprobe are and that the encoder works, but not
  // ffmpeg's version: one ffmpeg start less beside the walk.
  const countsOnly = opts.dryRun && !opts.json && opts.verbosity < 0;
  const toolRequest = { ffmpeg: opts.ffmpeg, ffprobe: opts.ffprobe };
  const warn = (m: string): void => log.warn(m);
  // A dry run's ffmpeg probes use the CPU its planner leaves, like its helper threads (below).
  const probeNice = opts.dryRun ? LOWEST_PRIORITY : undefined;
  // These are promises made once: planning starts them and goes on walking the tree while the
  // child processes run (BENCHMARKS.md); what needs their result awaits it.
  let toolsReady: Promise<unknown> | undefined;
  let toolchainReady: Promise<Toolchain> | undefined;
  let encoderReady: Promise<void> | undefined;
  const resolveTools = (): Promise<Toolchain> =>
    (toolchainReady ??= background(
      resolveToolchain(toolRequest, io.env, warn, probeNice).then((t) => (toolchain = t)),
    ));
  const ensureTools = (): Promise<unknown> =>
    (toolsReady ??= countsOnly
      ? background(Promise.resolve().then(() => locateToolchain(toolRequest, io.env, warn)))
      : resolveTools());
  const ensureEncoder = (): Promise<void> => (encoderReady ??= background(probeEncoder()));
  const probeEncoder = async (): Promise<void> => {
    // The probe needs only ffmpeg's path, so it runs beside `ffmpeg -version`, not after it (a
    // run's fixed cost is a share of the transcode overhead, BENCHMARKS.md).
    const tools = ensureTools();
    const ffmpeg = locateTool('ffmpeg', opts.ffmpeg, io.env);
    const base = {
      codec: opts.codec,
      quality: opts.quality,
      preset: opts.preset,
      keyframeInterval: opts.keyframeInterval,
      maxHeight: opts.maxHeight,
      audio: opts.audio,
      hwDevice: opts.hwDevice,
    };
    const selection = await selectEncoder(
      opts.encoder,
      base,
      async (args) => {
        const r = await runCaptured(ffmpeg.path, args, {
          timeoutMs: 30_000,
          nice: probeNice,
        }).catch((error: Error) => ({ exitCode: 1, stderr: error.message }));
        return { exitCode: r.exitCode, stderr: r.stderr };
      },
      (device) => existsSync(device),
    );
    await tools; // a toolchain that fails is this run's error, whatever the probe said
    const tried = selection.attempts.map((a) => `${a.name}: ${a.ok ? 'ok' : a.error}`).join('; ');
    if (!selection.profile) {
      throw new EnvironmentError(
        `no working encoder for --encoder ${opts.encoder} --codec ${opts.codec} (${tried})`,
      );
    }
    profile = selection.profile;
    for (const warning of selection.warnings) log.warn(warning);
    log.info(
      `encoder: ${encoderLine(profile)}${opts.encoder === 'auto' ? ` [auto: ${tried}]` : ''}`,
    );
    if (opts.encoder === 'auto' && profile.encoder !== 'software')
      fallbackProfile = profileFor('software', { ...base, codec: profile.codec });
  };

  // Resolved once: the dry run prints, and the real run starts, ffmpeg under the same ionice.
  const ionice = resolveIonice(opts.ionice, io.env, log);
  const renderCtx = (): RenderContext => ({
    root: roots.root,
    ffmpeg: toolchain?.ffmpeg.path,
    caps: toolchain?.caps,
    profile,
    ionice,
    niceness: opts.niceness,
  });
  const print = (line: string): void => {
    io.stdout.write(`${line}\n`);
  };
  const streamText = opts.dryRun && !opts.json && opts.verbosity >= 0;
  // Streamed output goes at the reader's pace: a slow pipe must not make the plan pile up here.
  const stdoutSink = streamSink(io.stdout);

  // An unreadable folder may hide footage: an error (and exit 1), not a verbose note.
  let unreadable = 0;
  const noteIgnored = (ignored: IgnoredFile): void => {
    if (ignored.path === opts.logFile) return; // our own log link (logger.ts)
    if (ignored.problem) {
      unreadable++;
      log.error(
        `${ignored.reason.replace(/^cannot read folder/, `cannot read folder ${ignored.path}`)}: footage in it is not archived`,
      );
    } else log.verbose(`ignored ${ignored.path}: ${ignored.reason}`);
  };
  // A dry run ends with its plan, so its listing threads can give way to the planner for good.
  if (opts.dryRun) io.lowerHelperThreads?.();
  const skeleton = await findDayFolders(discovery);
  skeleton.ignored.forEach(noteIgnored);
  const counts: PlanCounts = emptyCounts();
  // A --json dry run streams its plan, an action at a time, at the reader's pace; the fields
  // known only at the end (encoder, counts) follow the actions.
  let jsonPlan: JsonObjectWriter | undefined;
  const openJsonPlan = async (): Promise<JsonObjectWriter> => {
    if (jsonPlan) return jsonPlan;
    jsonPlan = jsonObjectWriter(stdoutSink);
    await jsonPlan.field('command', 'archive');
    await jsonPlan.field('dryRun', true);
    await jsonPlan.field('root', roots.root);
    await jsonPlan.field('output', roots.outputRoot);
    await jsonPlan.field('trash', opts.deleteSources ? null : roots.trashRoot);
    await jsonPlan.field('now', now.toISOString());
    await jsonPlan.array('actions');
    return jsonPlan;
  };
  const emptied = new Set<string>();
  let listedActions = 0;
  let summarisedDays = 0;

  // Only rendering a transcode needs the probed encoder (its exact command line); a quiet dry
  // run or a real run plans on while the probe runs, and waits for it once planning is done.
  const render = async (action: PlanAction): Promise<void> => {
    if (action.kind === 'transcode') await ensureEncoder();
    if (opts.json) await (await openJsonPlan()).item(actionToJson(action, renderCtx()));
    else {
      listedActions++;
      await stdoutSink(`${renderAction(action, renderCtx()).join('\n')}\n`);
    }
  };
  // Called once per clip of the tree: synchronous unless it renders (no promise per action).
  const take = (action: PlanAction): Promise<void> | undefined => {
    countAction(counts, action);
    if (action.kind === 'transcode') void ensureEncoder();
    if (action.kind === 'dispose-archived') void ensureTools();
    if (opts.dryRun) {
      if (opts.json || (streamText && (action.kind !== 'keep' || opts.verbosity > 0)))
        return render(action);
    } else if (action.kind === 'keep') {
      log.verbose(`keep ${displayPath(roots.root, action.path)}: ${action.reason}`);
    }
    return undefined;
  };
  // A real run plans twice and holds neither plan (see executeByDay): this pass counts the plan
  // for the summary and the prompt, totals the bytes for progress, and keeps one fingerprint
  // per day folder so the executing pass acts only on days that still plan the same.
  const wantBytes = !opts.dryRun && opts.progress !== 'none' && opts.verbosity >= 0;
  let totalBytes = 0;
  const dayPrints = new Map<string, number>();

  for await (const day of discoverDays(discovery, skeleton)) {
    if (io.signal.aborted) {
      // A streamed plan still ends as a JSON document, marked as cut short.
      await jsonPlan?.field('interrupted', true);
      await jsonPlan?.end();
      return { status: 'interrupted', signal: interruptSignalOf(io.signal) };
    }
    counts.days++;
    counts.ignored += day.ignored.length;
    day.ignored.forEach(noteIgnored);
    // Past TEXT_PLAN_LIMIT actions, a default dry run shows each further day as one line.
    const summarise = streamText && opts.verbosity === 0 && listedActions >= TEXT_PLAN_LIMIT;
    if (countsOnly || summarise) {
      const tally = countDay(day, settings, now);
      if (tally.emptiesFolder) emptied.add(day.folder.relDir);
      addDayCounts(counts, tally.counts);
      if (tally.counts.transcode > 0) void ensureEncoder();
      if (tally.counts.disposeArchived > 0) void ensureTools();
      if (summarise) {
        summarisedDays++;
        await stdoutSink(`${renderDaySummary(day.folder.relDir, tally.counts)}\n`);
      }
      continue;
    }
    const plan = planDay(day, settings, now);
    if (plan.emptiesFolder) emptied.add(plan.folder.relDir);
    for (const action of plan.actions) {
      const rendering = take(action);
      if (rendering) await rendering;
    }
    if (!opts.dryRun) {
      dayPrints.set(plan.folder.relDir, fingerprint(plan.actions));
      if (wantBytes) totalBytes += await clipBytes(plan.actions);
    }
  }
  let prunesNotListed = 0;
  for (const prune of planPrunes(skeleton, emptied, roots.root)) {
    if (summarisedDays > 0) {
      countAction(counts, prune);
      prunesNotListed++;
    } else await take(prune);
  }
  if (prunesNotListed > 0) await stdoutSink(`remove ${prunesNotListed} emptied folder(s)\n`);
  // A missing ffmpeg or a failing encoder fails the run here, as it did at the first clip.
  await encoderReady;
  await toolsReady;

  const work =
    counts.transcode + counts.disposeArchived + counts.removePartial + counts.pruneFolder;
  if (opts.dryRun) {
    if (opts.json) {
      const plan = await openJsonPlan();
      await plan.field('encoder', profile ? encoderName(profile.encoder, profile.codec) : null);
      await plan.field('counts', counts);
      await plan.end();
    } else {
      if (summarisedDays > 0)
        print(
          `(the first ${TEXT_PLAN_LIMIT} actions in full, then ${summarisedDays} day folder(s) one line each: -v lists every action)`,
        );
      print(`Dry run, nothing was changed. Plan: ${renderCounts(counts)}.`);
    }
    return unreadable > 0 ? { status: 'failed', failures: unreadable } : { status: 'ok' };
  }

  if (work === 0) {
    log.info(`nothing to do: ${renderCounts(counts)}`);
    const summary = summaryJson(opts, roots, counts, undefined, profile, now, started);
    runReport.noteSummary(summary, counts, undefined);
    if (opts.json) print(JSON.stringify(summary, null, 2));
    return unreadable > 0 ? { status: 'failed', failures: unreadable } : { status: 'ok' };
  }

  if (!opts.json && opts.verbosity >= 0) {
    print(`Plan: ${renderCounts(counts)}.`);
    if (counts.transcode) print(`Encoder: ${encoderLine(profile)}.`);
    print(
      opts.deleteSources
        ? 'Sources are DELETED permanently after their archive is verified (--delete).'
        : `Sources go to ${displayPath(roots.root, path.join(roots.trashRoot, 'input'))} after their archive is verified.`,
    );
  }
  if (!opts.assumeYes) {
    const stop = await confirmOrStop(io, log);
    if (stop) return stop;
  }

  const tools = await resolveTools();
  const progress = await makeProgress(opts, io, log);
  // Loaded only for a real run: it brings execa and the transcode/verify stack (start-up cost).
  const executor = await import('./executor.js');
  const report = await executeByDay({
    executor,
    discovery,
    skeleton,
    settings,
    now,
    dayPrints,
    plannedClips: counts.transcode + counts.disposeArchived,
    totalBytes,
    log,
    signal: io.signal,
    context: {
      toolchain: tools,
      profile,
      fallbackProfile,
      // An existing archive that is not the clip's needs an encoder the plan did not ask for.
      selectProfile: async () => (await ensureEncoder(), { profile, fallbackProfile }),
      root: roots.root,
      outputRoot: roots.outputRoot,
      trashRoot: roots.trashRoot,
      settleSeconds: opts.settleSeconds,
      jobs: opts.jobs,
      stallTimeoutMs: opts.stallTimeoutSeconds * 1000,
      niceness: opts.niceness,
      log,
      progress,
      now: io.clock,
      signal: io.signal,
      failpoint: io.failpoint,
      stopStarting: stopChecker(opts.until),
      ionice,
      maxArchiveRatio: opts.maxArchiveRatio,
    },
  });
  const seconds = (Date.now() - started) / 1000;
  for (const line of renderReport(report, seconds, roots.root)) log.info(line);
  // On a signal the executing pass stops walking at once, so the clips not yet planned are
  // counted, not listed: planned less done is what was left in place.
  const notDone = Math.max(
    report.notStarted.length,
    counts.transcode + counts.disposeArchived - report.outcomes.length,
  );
  if (report.interrupted && notDone) {
    log.warn(
      `interrupted: ${notDone} clip(s) not archived and left in place; the next run continues`,
    );
  }
  if (report.stoppedByUntil && opts.until) {
    log.warn(stopByMessage(opts.until, report.notStarted.length));
  }
  const summary = summaryJson(opts, roots, counts, report, profile, now, started);
  runReport.noteSummary(summary, counts, report);
  if (opts.json) print(JSON.stringify(summary, null, 2));
  if (report.interrupted) return { status: 'interrupted', signal: interruptSignalOf(io.signal) };
  const failures = totalsOf(report).failed + unreadable;
  return failures > 0 ? { status: 'failed', failures } : { status: 'ok' };
}

/** Clip actions carried to the executor together: whole day folders, about this many clips. */
const BATCH_CLIPS = 256;

type ClipAction = Extract<PlanAction, { kind: 'transcode' | 'dispose-archived' }>;

function isClipAction(action: PlanAction): action is ClipAction {
  return action.kind === 'transcode' || action.kind === 'dispose-archived';
}

/** FNV-1a over the kind and path of every action that changes something: a day's work, in 32 bits. */
export function fingerprint(actions: readonly PlanAction[]): number {
  let hash = 0x811c9dc5;
  const add = (text: string): void => {
    for (let i = 0; i < text.length; i++) {
      hash ^= text.charCodeAt(i);
      hash = Math.imul(hash, 0x01000193) >>> 0;
    }
  };
  for (const action of actions) {
    if (action.kind === 'keep') continue;
    add(action.kind);
    add(isClipAction(action) ? action.clip.path : action.path);
    add('\n');
  }
  return hash;
}

async function clipBytes(actions: readonly PlanAction[]): Promise<number> {
  const sizes = await Promise.all(
    actions.filter(isClipAction).map((a) =>
      fsp.stat(a.clip.path).then(
        (s) => s.size,
        () => 0,
      ),
    ),
  );
  return sizes.reduce((x, y) => x + y, 0);
}

interface ExecuteByDayOptions {
  executor: typeof import('./executor.js');
  discovery: DiscoveryOptions;
  skeleton: Skeleton;
  settings: PlanSettings;
  now: Date;
  /** The counting pass's fingerprint of each day folder's work. */
  dayPrints: ReadonlyMap<string, number>;
  plannedClips: number;
  totalBytes: number;
  log: AppLogger;
  signal: AbortSignal;
  context: ExecutorContext;
}

/**
 * The real run's executing pass: plans the tree again, day by day, with the very functions of the
 * dry run, and hands the executor whole day folders (about BATCH_CLIPS clips at a time), so memory
 * holds a batch and the day being listed, never the tree's plan (338 MB at 100,000 files when it
 * did; test/integration/memory.test.ts). A day folder whose work is not what the counting pass
 * found (the tree changed after the plan was shown) is left for the next run: a real run may do
 * less than the plan it showed, never more. Between batches every worker waits for the last clip
 * of the batch; with whole days per batch that is a clip's time per day at most.
 */
async function executeByDay(o: ExecuteByDayOptions): Promise<ExecutionReport> {
  const { executor, log, context } = o;
  const merged: ExecutionReport = {
    outcomes: [],
    removedPartials: [],
    prunedFolders: [],
    notStarted: [],
    interrupted: false,
    hardwareFallbacks: 0,
  };
  const progress = context.progress;
  // Each batch is one executor call; the progress shown is the run's, started and stopped once.
  const batchProgress: ProgressReporter = {
    start() {},
    fileStarted: (...a) => progress.fileStarted(...a),
    fileProgress: (...a) => progress.fileProgress(...a),
    fileFinished: (...a) => progress.fileFinished(...a),
    stop() {},
  };
  let profile = context.profile;
  let batch: PlanAction[] = [];
  let batchClips = 0;
  let stopped = false;
  const emptied = new Set<string>();
  const run = async (actions: PlanAction[]): Promise<void> => {
    const r = await executor.executePlan(actions, { ...context, profile, progress: batchProgress });
    merged.outcomes.push(...r.outcomes);
    merged.removedPartials.push(...r.removedPartials);
    merged.prunedFolders.push(...r.prunedFolders);
    merged.notStarted.push(...r.notStarted);
    merged.hardwareFallbacks += r.hardwareFallbacks;
    if (r.stoppedByUntil) merged.stoppedByUntil = true;
    if (r.interrupted) merged.interrupted = true;
    if (r.interrupted || r.stoppedByUntil) stopped = true;
    // The executor switches to software after so many hardware failures within a call: so does
    // the run across its calls.
    if (
      context.fallbackProfile &&
      merged.hardwareFallbacks >= executor.HARDWARE_FAILURES_BEFORE_SWITCH
    )
      profile = context.fallbackProfile;
  };
  const flush = async (): Promise<void> => {
    const actions = batch;
    batch = [];
    batchClips = 0;
    if (actions.length > 0) await run(actions);
  };

  progress.start({ files: o.plannedClips, bytes: o.totalBytes });
  try {
    for await (const day of discoverDays(o.discovery, o.skeleton)) {
      // A signal ends the walk at once; what was not planned yet is counted by the caller.
      if (o.signal.aborted) {
        merged.interrupted = true;
        break;
      }
      const plan = planDay(day, o.settings, o.now);
      const work = plan.actions.filter((a) => a.kind !== 'keep');
      if (work.length === 0) {
        if (plan.emptiesFolder) emptied.add(plan.folder.relDir);
        continue;
      }
      const changed = fingerprint(plan.actions) !== o.dayPrints.get(plan.folder.relDir);
      if (stopped || changed) {
        // Stopped by --until: the rest is listed as not done, as when the plan was held whole.
        for (const a of work) if (isClipAction(a)) merged.notStarted.push(a.clip.path);
        if (changed && !stopped)
          log.warn(
            `${displayPath(context.root, plan.folder.dir)} changed after the plan was made: left as it is for the next run`,
          );
        continue;
      }
      if (plan.emptiesFolder) emptied.add(plan.folder.relDir);
      batch.push(...work);
      batchClips += work.filter(isClipAction).length;
      if (batchClips >= BATCH_CLIPS) await flush();
    }
    if (!stopped && !merged.interrupted) await flush();
    if (!merged.interrupted) {
      // Date folders the run left empty, bottom-up, after every clip (and only then).
      await run(planPrunes(o.skeleton, emptied, context.root));
    } else batch = [];
  } finally {
    progress.stop();
  }
  if (o.signal.aborted) merged.interrupted = true;
  return merged;
}

/** Started now, awaited later: until then its failure must not count as an unhandled rejection. */
function background<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

function statThreshold(now: Date, opts: ArchiveOptions): Date {
  // mtimes matter only for clips old enough to act on but named recently enough to still be
  // uploading; the executor re-checks every clip's mtime just before it touches it anyway.
  const from = new Date(now.getTime() - (opts.settleSeconds + 86_400) * 1000);
  const cutoff = ageCutoff(now, opts.ageDays);
  if (opts.settleSeconds === 0 || (cutoff && cutoff <= from)) return new Date(8.64e15);
  return from;
}

async function makeProgress(
  opts: ArchiveOptions,
  io: RunIo,
  log: AppLogger,
): Promise<ProgressReporter> {
  const mode = opts.progress === 'auto' ? (io.stderr.isTTY ? 'bars' : 'lines') : opts.progress;
  if (mode === 'none' || opts.verbosity < 0) return silentProgress;
  if (mode === 'bars') return barProgress(log, io.stderr);
  return lineProgress(log);
}

function summaryJson(
  opts: ArchiveOptions,
  roots: Roots,
  counts: PlanCounts,
  report: ExecutionReport | undefined,
  profile: EncodingProfile | undefined,
  now: Date,
  started: number,
): Record<string, unknown> {
  const totals = report
    ? totalsOf(report)
    : { archived: 0, alreadyArchived: 0, skipped: 0, failed: 0, bytesIn: 0, bytesOut: 0 };
  return {
    command: 'archive',
    dryRun: false,
    root: roots.root,
    output: roots.outputRoot,
    trash: opts.deleteSources ? null : roots.trashRoot,
    startedAt: now.toISOString(),
    durationSeconds: (Date.now() - started) / 1000,
    encoder: profile ? encoderName(profile.encoder, profile.codec) : null,
    planned: counts,
    ...totals,
    savedBytes: totals.bytesIn - totals.bytesOut,
    interrupted: report?.interrupted ?? false,
    until: opts.until?.deadline.toISOString() ?? null,
    stoppedByUntil: report?.stoppedByUntil ?? false,
    removedPartials: report?.removedPartials ?? [],
    prunedFolders: report?.prunedFolders ?? [],
    notDone: report?.notStarted ?? [],
    files: report?.outcomes ?? [],
  };
}

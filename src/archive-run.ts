/**
 * The archive command's shell: the one place where the pipeline meets the world.
 *   discovery → planner → (dry run: render) | (real run: confirm → executor → report)
 * Dry run and real run share discovery, planner and renderer; the only fork is here.
 */
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { confirmOrStop } from './confirm.js';
import {
  discoverDays,
  findDayFolders,
  type DiscoveryOptions,
  type IgnoredFile,
} from './discovery.js';
import {
  encoderName,
  profileFor,
  selectEncoder,
  type AudioMode,
  type Codec,
  type EncoderChoice,
  type EncodingProfile,
} from './encoders.js';
import { EnvironmentError, interruptSignalOf, UsageError, type RunOutcome } from './errors.js';
import { displayPath } from './display-path.js';
import type { ExecutionReport } from './executor.js';
import { acquireTreeLock, type TreeLock } from './lock.js';
import { createLogger, type AppLogger, type Level } from './logger.js';
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
  renderAction,
  renderCounts,
  renderReport,
  totalsOf,
  type RenderContext,
} from './render.js';
import { runCaptured } from './run-captured.js';
import { LOWEST_PRIORITY } from './thread-priority.js';
import { locateTool, locateToolchain, resolveToolchain, type Toolchain } from './toolchain.js';
import { resolveIonice } from './io-priority.js';
import { RunReport, stderrLog } from './run-report.js';
import { stopByMessage, stopChecker, type StopBy } from './until.js';

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
  codec: Codec;
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
  /** Prometheus textfile written after every real run (src/metrics.ts). */
  metricsFile?: string | undefined;
  /** Webhooks told when a real run finishes or fails (src/notify.ts). */
  notifyUrls?: readonly string[] | undefined;
  notifySecret?: string | undefined;
  /** Stop-by time: no clip starts after it (src/until.ts). */
  until?: StopBy | undefined;
  /** Run ffmpeg under `ionice -c3` when ionice exists (src/io-priority.ts). */
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
   * Lowers the CPU priority of the process's helper threads for good (src/thread-priority.ts);
   * a dry run calls it before it walks the tree. Undefined where the run shares its process
   * (tests that call a run directly).
   */
  lowerHelperThreads?: (() => void) | undefined;
}

export function consoleLevel(verbosity: number): Level {
  return verbosity < 0 ? 'warn' : verbosity === 0 ? 'info' : verbosity === 1 ? 'verbose' : 'debug';
}

export async function checkInputRoot(root: string): Promise<void> {
  let info;
  try {
    info = await fsp.stat(root);
  } catch {
    throw new EnvironmentError(
      `input directory ${root} does not exist (nothing was created or changed)`,
    );
  }
  if (!info.isDirectory()) throw new EnvironmentError(`input path ${root} is not a directory`);
}

export async function runArchive(opts: ArchiveOptions, io: RunIo): Promise<RunOutcome> {
  // Metrics and webhooks report every real run, also one that throws before it has a logger.
  const report = new RunReport({
    root: path.resolve(opts.root),
    dryRun: opts.dryRun,
    metricsFile: opts.metricsFile,
    notifyUrls: opts.notifyUrls,
    notifySecret: opts.notifySecret,
  });
  try {
    return report.settle(await runArchiveUnreported(opts, io, report));
  } catch (error) {
    report.fail(error);
    throw error;
  } finally {
    await report.finish(stderrLog(io.stderr)); // a no-op when the run already reported
  }
}

async function runArchiveUnreported(
  opts: ArchiveOptions,
  io: RunIo,
  report: RunReport,
): Promise<RunOutcome> {
  const root = path.resolve(opts.root);
  const outputRoot = path.resolve(opts.output);
  const trashRoot = path.resolve(opts.trash);
  if (!opts.dryRun && !opts.assumeYes && !io.stdin.isTTY) {
    throw new UsageError(
      'a real run asks before it changes anything, but standard input is not a terminal: add -y (--no-confirm) to proceed, or --dry-run to preview',
    );
  }
  await checkInputRoot(root);

  const log = await createLogger({
    consoleLevel: consoleLevel(opts.verbosity),
    file: opts.dryRun ? undefined : opts.logFile,
    stderr: io.stderr,
    env: io.env,
  });
  let lock: TreeLock | undefined;
  try {
    if (opts.cleanOutput && !opts.cleanup) {
      log.warn(
        '--clean-output only has an effect with --cleanup: archives are never treated as sources',
      );
    }
    if (!opts.dryRun) {
      lock = await acquireTreeLock({
        dir: root,
        command: opts.commandLine,
        onTakeover: (why) => log.warn(`took over a stale lock (${why})`),
      });
    }
    return report.settle(await archive(opts, io, log, { root, outputRoot, trashRoot }, report));
  } catch (error) {
    report.fail(error);
    log.error(error instanceof Error ? error.message : String(error));
    (error as { logged?: boolean }).logged = true;
    throw error;
  } finally {
    await lock?.release();
    await report.finish(log);
    await log.close();
  }
}

interface Roots {
  root: string;
  outputRoot: string;
  trashRoot: string;
}

async function archive(
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
    log.info(
      `encoder: ${encoderLine(profile)}${opts.encoder === 'auto' ? ` [auto: ${tried}]` : ''}`,
    );
    if (opts.encoder === 'auto' && profile.encoder !== 'software')
      fallbackProfile = profileFor('software', base);
  };

  const renderCtx = (): RenderContext => ({
    root: roots.root,
    ffmpeg: toolchain?.ffmpeg.path,
    caps: toolchain?.caps,
    profile,
  });
  const print = (line: string): void => {
    io.stdout.write(`${line}\n`);
  };
  const streamText = opts.dryRun && !opts.json && opts.verbosity >= 0;

  // An unreadable folder may hide footage: an error (and exit 1), not a verbose note.
  let unreadable = 0;
  const noteIgnored = (ignored: IgnoredFile): void => {
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
  const actions: PlanAction[] = [];
  const jsonActions: Record<string, unknown>[] = [];
  const emptied = new Set<string>();

  // Only rendering a transcode needs the probed encoder (its exact command line); a quiet dry
  // run or a real run plans on while the probe runs, and waits for it once planning is done.
  const render = async (action: PlanAction): Promise<void> => {
    if (action.kind === 'transcode') await ensureEncoder();
    if (opts.json) jsonActions.push(actionToJson(action, renderCtx()));
    else for (const line of renderAction(action, renderCtx())) print(line);
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
    } else {
      actions.push(action);
    }
    return undefined;
  };

  for await (const day of discoverDays(discovery, skeleton)) {
    if (io.signal.aborted) return { status: 'interrupted', signal: interruptSignalOf(io.signal) };
    counts.days++;
    counts.ignored += day.ignored.length;
    day.ignored.forEach(noteIgnored);
    if (countsOnly) {
      const tally = countDay(day, settings, now);
      if (tally.emptiesFolder) emptied.add(day.folder.relDir);
      addDayCounts(counts, tally.counts);
      if (tally.counts.transcode > 0) void ensureEncoder();
      if (tally.counts.disposeArchived > 0) void ensureTools();
      continue;
    }
    const plan = planDay(day, settings, now);
    if (plan.emptiesFolder) emptied.add(plan.folder.relDir);
    for (const action of plan.actions) {
      const rendering = take(action);
      if (rendering) await rendering;
    }
  }
  for (const prune of planPrunes(skeleton, emptied, roots.root)) await take(prune);
  // A missing ffmpeg or a failing encoder fails the run here, as it did at the first clip.
  await encoderReady;
  await toolsReady;

  const work =
    counts.transcode + counts.disposeArchived + counts.removePartial + counts.pruneFolder;
  if (opts.dryRun) {
    if (opts.json) {
      print(
        JSON.stringify(
          {
            command: 'archive',
            dryRun: true,
            root: roots.root,
            output: roots.outputRoot,
            trash: opts.deleteSources ? null : roots.trashRoot,
            now: now.toISOString(),
            encoder: profile ? encoderName(profile.encoder, profile.codec) : null,
            counts,
            actions: jsonActions,
          },
          null,
          2,
        ),
      );
    } else {
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
  const { executePlan } = await import('./executor.js');
  const report = await executePlan(actions, {
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
    ionice: resolveIonice(opts.ionice, io.env, log),
  });
  const seconds = (Date.now() - started) / 1000;
  for (const line of renderReport(report, seconds, roots.root)) log.info(line);
  if (report.interrupted && report.notStarted.length) {
    log.warn(
      `interrupted: ${report.notStarted.length} clip(s) not archived and left in place; the next run continues`,
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

/**
 * The archive command's shell: the one place where the pipeline meets the world.
 *   discovery → planner → (dry run: render) | (real run: confirm → executor → report)
 * Dry run and real run share discovery, planner and renderer; the only fork is here.
 */
import { constants, promises as fsp } from 'node:fs';
import path from 'node:path';
import { confirmOrStop } from '../core/confirm.js';
import { findDayFolders, type Skeleton } from './discovery.js';
import {
  encoderName,
  type AudioMode,
  type CodecChoice,
  type EncoderChoice,
  type EncodingProfile,
} from '../media/encoders.js';
import { EnvironmentError, type RunOutcome } from '../core/errors.js';
import { displayPath } from '../core/display-path.js';
import type { ExecutionReport } from './executor.js';
import type { AppLogger } from '../core/logger.js';
import { ageCutoff, type PlanCounts } from './planner.js';
import { executeByDay } from './execute-by-day.js';
import { barProgress, lineProgress, silentProgress, type ProgressReporter } from './progress.js';
import { encoderLine, renderCounts, renderReport, totalsOf } from './render.js';
import { resolveIonice } from '../media/io-priority.js';
import { resolveRoots } from '../tree/roots.js';
import type { RunReport } from './report.js';
import { stopByMessage, stopChecker, type StopBy } from '../core/until.js';
import {
  countsOnly,
  interrupted,
  outcomeOf,
  PlanPass,
  type ArchiveRun,
  type CountedPlan,
} from './plan-pass.js';
import { RunTools } from './run-tools.js';

/**
 * What an archive run and a `--cleanup` run of the same tree both take: the roots, what happens to
 * sources, the prompt, the age rules, the output and the report (src/cli/commands/archive.ts
 * builds both from the same parsed flags).
 */
export interface TreeRunOptions {
  root: string;
  output: string;
  trash: string;
  /** --delete: sources are deleted instead of trashed. */
  deleteSources: boolean;
  dryRun: boolean;
  assumeYes: boolean;
  ageDays: number;
  settleSeconds: number;
  logFile: string;
  json: boolean;
  /** -1 quiet, 0 normal, 1 verbose, 2 debug. */
  verbosity: number;
  commandLine: string;
  /** `--state-dir`: log rotation bookkeeping, cleanup's root markers. */
  stateDir?: string | undefined;
  /** Prometheus textfile written after every real run (src/core/metrics.ts). */
  metricsFile?: string | undefined;
  /** Webhooks told when a real run finishes or fails (src/core/notify.ts). */
  notifyUrls?: readonly string[] | undefined;
  notifySecret?: string | undefined;
}

export interface ArchiveOptions extends TreeRunOptions {
  noSkip: boolean;
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
  ffmpeg?: string | undefined;
  ffprobe?: string | undefined;
  stallTimeoutSeconds: number;
  niceness: number;
  progress: 'auto' | 'bars' | 'lines' | 'none';
  /** Stop-by time: no clip starts after it (src/core/until.ts). */
  until?: StopBy | undefined;
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

/**
 * An archive run once its roots are resolved, its logger open and its tree locked (the command
 * runtime, src/cli/runtime.ts, does those): plan by counting, then either end the dry run with
 * its plan, or confirm and execute day by day, and report.
 */
export async function archive(
  opts: ArchiveOptions,
  io: RunIo,
  log: AppLogger,
  roots: Roots,
  runReport: RunReport,
): Promise<RunOutcome> {
  const run = startRun(opts, io, log, roots);
  // A dry run ends with its plan, so its listing threads can give way to the planner for good.
  if (opts.dryRun) io.lowerHelperThreads?.();
  const skeleton = await findDayFolders(run.discovery);
  const pass = new PlanPass(run);
  const planned = await pass.count(skeleton);
  if (!planned) return interrupted(io.signal);
  if (opts.dryRun) return pass.finishDryRun();
  if (workOf(planned.counts) === 0) return nothingToDo(run, planned, runReport);
  const stop = await confirmPlan(run, planned.counts);
  if (stop) return stop;
  const report = await execute(run, skeleton, planned);
  return reportRun(run, planned, report, runReport);
}

/** The first step: what the run plans with (settings, discovery, now) and its tools, unresolved. */
export function startRun(
  opts: ArchiveOptions,
  io: RunIo,
  log: AppLogger,
  roots: Roots,
): ArchiveRun {
  const now = io.clock();
  return {
    opts,
    io,
    log,
    roots,
    now,
    started: Date.now(),
    settings: {
      root: roots.root,
      outputRoot: roots.outputRoot,
      trashRoot: roots.trashRoot,
      disposal: opts.deleteSources ? 'delete' : 'trash',
      ageDays: opts.ageDays,
      settleSeconds: opts.settleSeconds,
      redoExisting: opts.noSkip,
    },
    discovery: {
      root: roots.root,
      excluded: [roots.outputRoot, roots.trashRoot],
      outputRoot: roots.outputRoot,
      statClipsNewerThan: statThreshold(now, opts),
    },
    tools: new RunTools(opts, io.env, log, countsOnly(opts)),
    // Resolved once: the dry run prints, and the real run starts, ffmpeg under the same ionice.
    ionice: resolveIonice(opts.ionice, io.env, log),
  };
}

/** Everything the plan changes: clips to archive or dispose of, partials, emptied folders. */
function workOf(counts: PlanCounts): number {
  return counts.transcode + counts.disposeArchived + counts.removePartial + counts.pruneFolder;
}

/** A real run with nothing to do: says so, and reports its counts. */
function nothingToDo(run: ArchiveRun, planned: CountedPlan, runReport: RunReport): RunOutcome {
  const { opts, io, log, tools } = run;
  log.info(`nothing to do: ${renderCounts(planned.counts)}`);
  const summary = summaryJson(run, planned.counts, undefined, tools.profile);
  runReport.noteSummary(summary, planned.counts, undefined);
  if (opts.json) io.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  return outcomeOf(planned.unreadable);
}

/**
 * Shows the plan's totals and where the sources go, then asks (unless -y). Without a terminal
 * the question is still asked: it may be answered through a pipe, and nobody answering is
 * refused then (confirm.ts). Returns the outcome that stops the run, or undefined to go on.
 */
async function confirmPlan(run: ArchiveRun, counts: PlanCounts): Promise<RunOutcome | undefined> {
  const { opts, io, log, roots, tools } = run;
  if (!opts.json && opts.verbosity >= 0) {
    const print = (line: string): boolean => io.stdout.write(`${line}\n`);
    print(`Plan: ${renderCounts(counts)}.`);
    if (counts.transcode) print(`Encoder: ${encoderLine(tools.profile)}.`);
    print(
      opts.deleteSources
        ? 'Sources are DELETED permanently after their archive is verified (--delete).'
        : `Sources go to ${displayPath(roots.root, path.join(roots.trashRoot, 'input'))} after their archive is verified.`,
    );
  }
  if (opts.assumeYes) return undefined;
  return confirmOrStop(io, log);
}

/** The real run's work: the executing pass over the tree, with the executor and its context. */
async function execute(
  run: ArchiveRun,
  skeleton: Skeleton,
  planned: CountedPlan,
): Promise<ExecutionReport> {
  const { opts, io, log, roots, tools } = run;
  const toolchain = await tools.resolveTools();
  const progress = await makeProgress(opts, io, log);
  // Loaded only for a real run: it brings execa and the transcode/verify stack (start-up cost).
  const executor = await import('./executor.js');
  return executeByDay({
    executor,
    discovery: run.discovery,
    skeleton,
    settings: run.settings,
    now: run.now,
    dayPrints: planned.dayPrints,
    plannedClips: planned.counts.transcode + planned.counts.disposeArchived,
    totalBytes: planned.totalBytes,
    log,
    signal: io.signal,
    context: {
      toolchain,
      profile: tools.profile,
      fallbackProfile: tools.fallbackProfile,
      // An existing archive that is not the clip's needs an encoder the plan did not ask for.
      selectProfile: async () => (
        await tools.ensureEncoder(),
        { profile: tools.profile, fallbackProfile: tools.fallbackProfile }
      ),
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
      ionice: run.ionice,
      maxArchiveRatio: opts.maxArchiveRatio,
    },
  });
}

/** The last step: what happened to each clip, in the log, the --json summary and the report. */
function reportRun(
  run: ArchiveRun,
  planned: CountedPlan,
  report: ExecutionReport,
  runReport: RunReport,
): RunOutcome {
  const { opts, io, log, roots } = run;
  const { counts } = planned;
  const seconds = (Date.now() - run.started) / 1000;
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
  const summary = summaryJson(run, counts, report, run.tools.profile);
  runReport.noteSummary(summary, counts, report);
  if (opts.json) io.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  if (report.interrupted) return interrupted(io.signal);
  const failures = totalsOf(report).failed + planned.unreadable;
  return failures > 0 ? { status: 'failed', failures } : { status: 'ok' };
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

/** The --json summary of a real run (README, "JSON summary"); also the report's numbers. */
function summaryJson(
  run: Pick<ArchiveRun, 'opts' | 'roots' | 'now' | 'started'>,
  counts: PlanCounts,
  report: ExecutionReport | undefined,
  profile: EncodingProfile | undefined,
): Record<string, unknown> {
  const { opts, roots, now, started } = run;
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

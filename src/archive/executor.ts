/**
 * Executor: runs a plan. Order per clip, and the safety rule behind it:
 *   re-check source → probe → fingerprint → transcode to a temporary name → verify → fsync + rename
 *   into place (clip-archive.ts) → re-check source unchanged → only then trash/delete the clip and
 *   its thumbnail (`verifyThenDispose`).
 * A failure at any step keeps the source and removes the temporary output. An abort (signal)
 * stops new work, stops ffmpeg, removes its partial output and keeps every source.
 * Each step is a top-level function given the run's `ExecutionRun`: the caller's context plus the
 * state one call shares (encoder choice, look-ahead probes, clip sizes).
 */
import { promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { displayPath } from '../core/display-path.js';
import { errorMessage, FileError } from '../core/errors.js';
import type { Log } from '../core/logger.js';
import { formatBytes } from '../core/units.js';
import { readIdentity } from '../media/identity.js';
import { probeMedia, type MediaInfo } from '../media/probe.js';
import type { Toolchain } from '../media/toolchain.js';
import {
  dispose,
  notRegularFile,
  pruneFolders,
  removeIfExists,
  type Disposal,
  type DisposedFile,
} from '../tree/file-manager.js';
import {
  findVerifiedArchive,
  RunEncoders,
  transcodeClip,
  type ClipSource,
  type EncoderChoice,
  type MadeArchive,
} from './clip-archive.js';
import type { DisposeArchivedAction, PlanAction, TranscodeAction } from './planner.js';
import type { ProgressReporter } from './progress.js';
import { describeStreamCopy, type StreamCopyNote } from './stream-copy.js';

export { HARDWARE_FAILURES_BEFORE_SWITCH } from './clip-archive.js';

/** What a run hands the executor; the encoder fields are EncoderChoice's (clip-archive.ts). */
export interface ExecutorContext extends EncoderChoice {
  toolchain: Toolchain;
  root: string;
  outputRoot: string;
  trashRoot: string;
  settleSeconds: number;
  jobs: number;
  stallTimeoutMs: number;
  niceness: number;
  log: Log;
  progress: ProgressReporter;
  now: () => Date;
  signal: AbortSignal;
  /**
   * Fault injection: called at each step boundary with its name (see FAILPOINTS); the reliability
   * tests make the process SIGKILL itself there. Production runs pass nothing.
   */
  failpoint?: ((name: Failpoint) => void) | undefined;
  /** True once the stop-by time (--until) has passed: no new clip starts, running ones finish. */
  stopStarting?: (() => boolean) | undefined;
  /** ionice binary to run ffmpeg under at idle I/O priority (--ionice); undefined: as is. */
  ionice?: string | undefined;
  /** An archive above this share of its clip's size is replaced by the clip's own video (1). */
  maxArchiveRatio?: number | undefined;
}

/** Step boundaries where a killed run must still leave a recoverable tree (DESIGN.md invariant 3). */
export const FAILPOINTS = [
  'transcoded',
  'verified',
  'archive-placed',
  'linked-to-trash',
  'thumbnail-disposed',
  'clip-disposed',
  'before-prune',
  'pruned-one',
] as const;
export type Failpoint = (typeof FAILPOINTS)[number];

export type FileOutcome =
  | {
      status: 'archived';
      clip: string;
      archive: string;
      bytesIn: number;
      bytesOut: number;
      encoder: string;
      seconds: number;
      disposed: DisposedFile[];
      /** Set when the archive is the clip's own video: the encoded one was too large. */
      streamCopy?: StreamCopyNote | undefined;
    }
  | {
      status: 'already-archived';
      clip: string;
      archive: string;
      bytesIn: number;
      disposed: DisposedFile[];
      /** The archive records no identity and was adopted because its pictures are the clip's. */
      adoptedByContent?: boolean;
    }
  | { status: 'skipped'; clip: string; reason: string }
  | { status: 'failed'; clip: string; reason: string };

export interface ExecutionReport {
  outcomes: FileOutcome[];
  removedPartials: string[];
  prunedFolders: string[];
  /** Clips not started because the run was interrupted or reached its stop-by time. */
  notStarted: string[];
  interrupted: boolean;
  hardwareFallbacks: number;
  /** The stop-by time (--until) passed before every clip was started. */
  stoppedByUntil?: boolean;
}

/** A report with nothing done yet. */
export function emptyExecutionReport(): ExecutionReport {
  return {
    outcomes: [],
    removedPartials: [],
    prunedFolders: [],
    notStarted: [],
    interrupted: false,
    hardwareFallbacks: 0,
  };
}

type ClipAction = TranscodeAction | DisposeArchivedAction;

/** What the steps of one executePlan call share, handed to each of them. */
export interface ExecutionRun extends ExecutorContext {
  encoders: RunEncoders;
  lookahead: ProbeAhead;
  /** Each queued clip's size when the call started (for progress). */
  sizes: ReadonlyMap<string, number>;
}

/** The shared state of a new executor call over `ctx` (tests run single steps with one). */
export function startRun(
  ctx: ExecutorContext,
  sizes: ReadonlyMap<string, number> = new Map(),
): ExecutionRun {
  return { ...ctx, encoders: new RunEncoders(ctx), lookahead: new ProbeAhead(ctx), sizes };
}

/** Runs the plan's actions: stale partials, then every clip (ctx.jobs at a time), then prunes. */
export async function executePlan(
  actions: readonly PlanAction[],
  ctx: ExecutorContext,
): Promise<ExecutionReport> {
  const report = emptyExecutionReport();
  report.removedPartials = await removeStalePartials(ctx, actions);
  const queue = actions.filter(
    (a): a is ClipAction => a.kind === 'transcode' || a.kind === 'dispose-archived',
  );
  const run = startRun(ctx, await sizesOf(queue));
  ctx.progress.start({
    files: queue.length,
    bytes: [...run.sizes.values()].reduce((x, y) => x + y, 0),
  });
  let taken = 0;
  try {
    taken = await runQueue(run, queue, report);
  } finally {
    ctx.progress.stop();
    // Probes of clips never started: aborted with the run, or left to finish; none outlives it.
    await run.lookahead.settle();
  }
  report.hardwareFallbacks = run.encoders.fallbacks;
  report.interrupted = ctx.signal.aborted;
  // Interrupted, or stopped by --until: what was not started stays in place for the next run.
  if (report.interrupted || report.stoppedByUntil) {
    for (const action of queue.slice(taken)) report.notStarted.push(action.clip.path);
  }
  if (report.interrupted) return report;
  report.prunedFolders = await pruneEmptyFolders(ctx, actions);
  return report;
}

/** Removes the partials a killed run left (`remove-partial`); returns those removed. */
export async function removeStalePartials(
  ctx: Pick<ExecutorContext, 'root' | 'log' | 'signal'>,
  actions: readonly PlanAction[],
): Promise<string[]> {
  const removed: string[] = [];
  for (const action of actions) {
    if (action.kind !== 'remove-partial' || ctx.signal.aborted) continue;
    if (await removeIfExists(action.path)) {
      removed.push(action.path);
      ctx.log.info(`removed ${displayPath(ctx.root, action.path)}: ${action.reason}`);
    }
  }
  return removed;
}

async function sizesOf(queue: readonly ClipAction[]): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  await Promise.all(
    queue.map(async (a) => {
      const s = await fsp.stat(a.clip.path).catch(() => undefined);
      sizes.set(a.clip.path, s?.size ?? 0);
    }),
  );
  return sizes;
}

/**
 * Runs `ctx.jobs` workers over the queue, each taking the next clip until none is left, the run
 * is aborted or its stop-by time passed. Returns how many clips were taken.
 */
async function runQueue(
  run: ExecutionRun,
  queue: readonly ClipAction[],
  report: ExecutionReport,
): Promise<number> {
  const cursor = { next: 0 };
  const workers = Math.max(1, Math.min(run.jobs, queue.length));
  await Promise.all(Array.from({ length: workers }, () => work(run, queue, cursor, report)));
  return cursor.next;
}

async function work(
  run: ExecutionRun,
  queue: readonly ClipAction[],
  cursor: { next: number },
  report: ExecutionReport,
): Promise<void> {
  while (cursor.next < queue.length) {
    if (run.signal.aborted) return;
    if (run.stopStarting?.()) {
      report.stoppedByUntil = true;
      return;
    }
    const action = queue[cursor.next++];
    if (!action) return;
    run.lookahead.start(queue[cursor.next]?.clip.path);
    await archiveOne(run, action, report);
  }
}

/** One clip, start to finish: its outcome logged and reported, its failure kept to itself. */
async function archiveOne(
  run: ExecutionRun,
  action: ClipAction,
  report: ExecutionReport,
): Promise<void> {
  const file = action.clip.path;
  const rel = (p: string): string => displayPath(run.root, p);
  run.progress.fileStarted(file, path.basename(file), run.sizes.get(file) ?? 0);
  let outcome: FileOutcome | undefined;
  try {
    outcome = await processClip(run, action);
  } catch (error) {
    if (run.signal.aborted) {
      run.log.warn(
        `interrupted while archiving ${rel(file)}: the clip is kept, no archive was written`,
      );
      report.notStarted.push(file);
    } else {
      outcome = { status: 'failed', clip: file, reason: reasonOf(error, file) };
    }
  }
  run.progress.fileFinished(file, run.sizes.get(file) ?? 0);
  if (outcome) {
    report.outcomes.push(outcome);
    logOutcome(run.log, outcome, rel);
  }
}

/**
 * The per-clip driver: re-check the clip, probe and fingerprint it, then `verifyThenDispose`.
 * Throws on failure (the caller reports it); the clip is then kept.
 */
export async function processClip(run: ExecutionRun, action: ClipAction): Promise<FileOutcome> {
  const { clip } = action;
  const before = await recheckClip(run, clip.path);
  if (typeof before === 'string') return { status: 'skipped', clip: clip.path, reason: before };
  const started = Date.now();
  const info = await probeClip(run, clip.path, before);
  // Read before anything is written: the archive records it, verification compares with it.
  const identity = await readIdentity(clip.path, clip.relPath, before.mtimeMs);
  return verifyThenDispose(run, action, { path: clip.path, info, identity }, before, started);
}

/**
 * The safety rule in one place: the clip and its thumbnail are disposed of only after
 * `verifiedArchiveOf` resolved with an archive of this very clip, verified against it and at its
 * final name, and only if the clip is still the file that was verified. Any failure before the
 * disposal throws past it, and both stay.
 */
export async function verifyThenDispose(
  run: ExecutionRun,
  action: ClipAction,
  clip: ClipSource,
  before: Stats,
  started: number,
): Promise<FileOutcome> {
  const archive = await verifiedArchiveOf(run, action, clip);
  // The clip must be the very file we archived: an upload that rewrote it meanwhile keeps it.
  if (!(await unchangedSince(clip.path, before))) {
    return {
      status: 'skipped',
      clip: clip.path,
      reason: 'the clip changed while it was being archived; kept, the next run archives it again',
    };
  }
  run.signal.throwIfAborted();
  const disposed = await disposeSource(run, action.disposal);
  return outcomeOf(clip.path, before.size, archive, disposed, started);
}

/** An archive of the clip that passed verification against it: made by this run, or found. */
export type VerifiedArchive =
  ({ kind: 'made' } & MadeArchive) | { kind: 'found'; path: string; adoptedByContent: boolean };

/**
 * `transcode`: makes the archive (transcode → verify → place). `dispose-archived`: the first
 * candidate that verifies, or else a new archive at the clip's own free name. Throws when there
 * is none.
 */
export async function verifiedArchiveOf(
  run: ExecutionRun,
  action: ClipAction,
  clip: ClipSource,
): Promise<VerifiedArchive> {
  if (action.kind === 'transcode') {
    const made = await transcodeClip(run, clip, {
      path: action.archivePath,
      replace: action.replacesExisting,
      // Without a planned fallback, placement never clobbers: it fails, keeping the clip.
      fallback: action.fallbackPath ?? action.archivePath,
    });
    return { kind: 'made', ...made };
  }
  const found = await findVerifiedArchive(run, clip, action.candidates);
  if (found) return { kind: 'found', path: found.path, adoptedByContent: found.adoptedByContent };
  const own = action.ownArchivePath;
  run.log.warn(
    `no existing archive is of ${displayPath(run.root, clip.path)}: transcoding it to ${displayPath(run.root, own)}`,
  );
  const made = await transcodeClip(run, clip, { path: own, replace: false, fallback: own });
  return { kind: 'made', ...made };
}

/**
 * The clip as it is just before it is touched: its lstat, or why it is left (gone, not a regular
 * file, or modified within the settle time). Discovery reads names only: this lstat is where a
 * link or folder named like a clip is found, and it is never followed.
 */
export async function recheckClip(
  ctx: Pick<ExecutorContext, 'now' | 'settleSeconds'>,
  file: string,
): Promise<Stats | string> {
  let seen: Stats;
  try {
    seen = await fsp.lstat(file);
  } catch {
    return 'the clip disappeared before it was archived';
  }
  if (!seen.isFile()) return notRegularFile(seen);
  const quietFor = (ctx.now().getTime() - seen.mtimeMs) / 1000;
  if (ctx.settleSeconds > 0 && quietFor < ctx.settleSeconds) {
    return `modified ${Math.max(0, Math.round(quietFor))}s ago (settle time ${ctx.settleSeconds}s): may still be uploading`;
  }
  return seen;
}

/** The clip's probe (the look-ahead's, if the clip is unchanged since): it must be a video. */
export async function probeClip(run: ExecutionRun, file: string, seen: Stats): Promise<MediaInfo> {
  const info = await run.lookahead.take(file, seen);
  if (!info.video) throw new FileError(file, 'the clip has no video stream');
  if (!(info.duration > 0))
    throw new FileError(file, 'the clip has no duration (empty or damaged)');
  return info;
}

/** Whether the file at `file` still has the size and mtime it had in `before`. */
export async function unchangedSince(file: string, before: Stats): Promise<boolean> {
  const after = await fsp.lstat(file).catch(() => undefined);
  return after !== undefined && after.size === before.size && after.mtimeMs === before.mtimeMs;
}

/** Trashes or deletes the clip and its thumbnail (file-manager.ts `dispose`). */
export function disposeSource(
  run: Pick<ExecutorContext, 'root' | 'trashRoot' | 'failpoint' | 'log'>,
  disposal: Disposal,
): Promise<DisposedFile[]> {
  return dispose(disposal, {
    trashRoot: run.trashRoot,
    failpoint: run.failpoint,
    onThumbnailLeft: (file, reason) =>
      run.log.warn(`left ${displayPath(run.root, file)} in place: ${reason}`),
  });
}

function outcomeOf(
  clip: string,
  bytesIn: number,
  archive: VerifiedArchive,
  disposed: DisposedFile[],
  started: number,
): FileOutcome {
  if (archive.kind === 'found') {
    return {
      status: 'already-archived',
      clip,
      archive: archive.path,
      bytesIn,
      disposed,
      ...(archive.adoptedByContent ? { adoptedByContent: true } : {}),
    };
  }
  return {
    status: 'archived',
    clip,
    archive: archive.path,
    bytesIn,
    bytesOut: archive.bytesOut,
    encoder: archive.encoder,
    seconds: (Date.now() - started) / 1000,
    disposed,
    ...(archive.streamCopy ? { streamCopy: archive.streamCopy } : {}),
  };
}

/** rmdir's the folders the plan left empty, once every clip is done. */
export async function pruneEmptyFolders(
  ctx: Pick<ExecutorContext, 'root' | 'log' | 'failpoint'>,
  actions: readonly PlanAction[],
): Promise<string[]> {
  const prunes = actions.filter((a) => a.kind === 'prune-folder').map((a) => a.path);
  ctx.failpoint?.('before-prune');
  const pruned = await pruneFolders(prunes, ctx.failpoint);
  for (const folder of pruned)
    ctx.log.verbose(`removed empty folder ${displayPath(ctx.root, folder)}`);
  return pruned;
}

interface SourceProbe {
  info: MediaInfo;
  /** lstat of the clip taken before the probe ran. */
  size: number;
  mtimeMs: number;
}

/**
 * The next clip's source probe runs while this clip transcodes, so a run spends no time between
 * transcodes waiting for ffprobe (≈ 2 % of a short clip's time, BENCHMARKS.md). A probe is used
 * only if the clip's size and mtime are still those seen before it ran.
 */
export class ProbeAhead {
  private readonly probes = new Map<string, Promise<SourceProbe | undefined>>();

  constructor(private readonly ctx: { toolchain: Toolchain; signal: AbortSignal }) {}

  /** Starts probing `file` in the background (nothing if aborted or already started). */
  start(file: string | undefined): void {
    if (file === undefined || this.ctx.signal.aborted || this.probes.has(file)) return;
    const probe = (async (): Promise<SourceProbe | undefined> => {
      const seen = await fsp.lstat(file);
      // Never open a FIFO or device named like a clip (a FIFO blocks its reader): recheckClip
      // reports it when its turn comes.
      if (!seen.isFile()) return undefined;
      const info = await this.probe(file);
      return { info, size: seen.size, mtimeMs: seen.mtimeMs };
    })().catch(() => undefined); // a failed probe is simply run again, in order, for its error
    this.probes.set(file, probe);
  }

  /** The probe of `file` as it is now (`now`: its lstat): the look-ahead's, or a new one. */
  async take(file: string, now: Stats): Promise<MediaInfo> {
    const ahead = await this.probes.get(file);
    this.probes.delete(file);
    if (ahead && ahead.size === now.size && ahead.mtimeMs === now.mtimeMs) return ahead.info;
    return this.probe(file);
  }

  /** Waits for every probe still running. */
  async settle(): Promise<void> {
    await Promise.all(this.probes.values());
  }

  private probe(file: string): Promise<MediaInfo> {
    return probeMedia(this.ctx.toolchain.ffprobe.path, file, { signal: this.ctx.signal });
  }
}

function reasonOf(error: unknown, clip: string): string {
  if (!(error instanceof FileError)) return errorMessage(error);
  // A failure about another file (the archive) names it; one about the clip need not repeat it.
  return error.file === clip ? error.reason : error.message;
}

function describeDisposal(disposed: readonly DisposedFile[], rel: (p: string) => string): string {
  if (disposed.length === 0) return '';
  const names = disposed.map((d) => path.basename(d.from)).join(' + ');
  const first = disposed[0];
  return first?.to ? `; moved ${names} to ${rel(path.dirname(first.to))}` : `; deleted ${names}`;
}

function logOutcome(log: Log, outcome: FileOutcome, rel: (p: string) => string): void {
  switch (outcome.status) {
    case 'archived': {
      const saved =
        outcome.bytesIn > 0 ? Math.round((1 - outcome.bytesOut / outcome.bytesIn) * 100) : 0;
      const change = saved >= 0 ? `${saved}% smaller` : `${-saved}% larger`;
      log.info(
        `archived ${rel(outcome.clip)} → ${rel(outcome.archive)} (${formatBytes(outcome.bytesIn)} → ${formatBytes(outcome.bytesOut)}, ${change}, ${outcome.streamCopy ? describeStreamCopy(outcome.streamCopy) : outcome.encoder}, ${outcome.seconds.toFixed(1)}s)${describeDisposal(outcome.disposed, rel)}`,
      );
      break;
    }
    case 'already-archived':
      log.info(
        `already archived ${rel(outcome.clip)}: ${rel(outcome.archive)} verified${outcome.adoptedByContent ? " (it records no source: adopted because its pictures are the clip's)" : ''}${describeDisposal(outcome.disposed, rel)}`,
      );
      break;
    case 'skipped':
      log.warn(`skipped ${rel(outcome.clip)}: ${outcome.reason}`);
      break;
    case 'failed':
      log.error(`failed ${rel(outcome.clip)}: ${outcome.reason}; the clip is kept`);
      break;
  }
}

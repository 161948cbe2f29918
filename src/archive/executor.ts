/**
 * Executor: runs a plan. Order per clip, and the safety rule behind it:
 *   re-check source → probe → transcode to a temporary name → verify → fsync + rename into place
 *   → re-check source unchanged → only then trash/delete the clip and its thumbnail.
 * A failure at any step keeps the source and removes the temporary output. An abort (signal)
 * stops new work, stops ffmpeg, removes its partial output and keeps every source.
 */
import { promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { displayPath } from '../core/display-path.js';
import { encoderName, type EncodingProfile } from '../media/encoders.js';
import {
  formatIdentity,
  identityMatches,
  parseIdentity,
  readIdentity,
  type SourceIdentity,
} from '../media/identity.js';
import { errorMessage, FileError } from '../core/errors.js';
import {
  dispose,
  ensureDirInside,
  folderModeFor,
  notRegularFile,
  placeArchive,
  pruneFolders,
  removeIfExists,
  type DisposedFile,
} from '../tree/file-manager.js';
import type { Log } from '../core/logger.js';
import { probeMedia, type MediaInfo } from '../media/probe.js';
import { parseLegacyArchiveName, partialPathFor } from '../tree/naming.js';
import type { DisposeArchivedAction, PlanAction, PlannedClip, TranscodeAction } from './planner.js';
import type { ProgressReporter } from './progress.js';
import type { Toolchain } from '../media/toolchain.js';
import { runTranscode, TranscodeError } from './transcoder.js';
import { transcodeInvocation, withIdleIo } from '../media/io-priority.js';
import { formatBytes } from '../core/units.js';
import {
  expectedArchiveSize,
  sampleClip,
  VerificationError,
  verifyArchive,
  type ClipSampling,
} from './verification.js';
import { describeStreamCopy, keepClipVideoIfSmaller, type StreamCopyNote } from './stream-copy.js';

export interface ExecutorContext {
  toolchain: Toolchain;
  /** Undefined when the plan has no transcodes. */
  profile: EncodingProfile | undefined;
  /** Software profile to fall back to when an auto-selected hardware encoder fails a clip. */
  fallbackProfile?: EncodingProfile | undefined;
  /**
   * Selects the encoder when the plan had no transcode but one turns out to be needed (an
   * existing archive that is not the clip's): without it such a clip could never be archived.
   */
  selectProfile?:
    | (() => Promise<{
        profile: EncodingProfile | undefined;
        fallbackProfile?: EncodingProfile | undefined;
      }>)
    | undefined;
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

/** After this many hardware failures in one auto run, the rest of the run uses software. */
export const HARDWARE_FAILURES_BEFORE_SWITCH = 3;

interface SourceProbe {
  info: MediaInfo;
  /** lstat of the clip taken before the probe ran. */
  size: number;
  mtimeMs: number;
}

type ClipAction = TranscodeAction | DisposeArchivedAction;

class Aborted extends Error {}

export async function executePlan(
  actions: readonly PlanAction[],
  ctx: ExecutorContext,
): Promise<ExecutionReport> {
  const report: ExecutionReport = {
    outcomes: [],
    removedPartials: [],
    prunedFolders: [],
    notStarted: [],
    interrupted: false,
    hardwareFallbacks: 0,
  };
  const rel = (p: string): string => displayPath(ctx.root, p);

  for (const action of actions) {
    if (action.kind !== 'remove-partial' || ctx.signal.aborted) continue;
    if (await removeIfExists(action.path)) {
      report.removedPartials.push(action.path);
      ctx.log.info(`removed ${rel(action.path)}: ${action.reason}`);
    }
  }

  const queue = actions.filter(
    (a): a is ClipAction => a.kind === 'transcode' || a.kind === 'dispose-archived',
  );
  const sizes = new Map<string, number>();
  await Promise.all(
    queue.map(async (a) => {
      const s = await fsp.stat(a.clip.path).catch(() => undefined);
      sizes.set(a.clip.path, s?.size ?? 0);
    }),
  );
  ctx.progress.start({
    files: queue.length,
    bytes: [...sizes.values()].reduce((x, y) => x + y, 0),
  });

  let profile = ctx.profile;
  let hardwareFailures = 0;
  let next = 0;

  // The next clip's source probe runs while this clip transcodes, so a run spends no time between
  // transcodes waiting for ffprobe (≈ 2 % of a short clip's time, BENCHMARKS.md). A probe is used
  // only if the clip's size and mtime are still those seen before it ran.
  const probes = new Map<string, Promise<SourceProbe | undefined>>();
  const probeAhead = (action: ClipAction | undefined): void => {
    if (!action || ctx.signal.aborted || probes.has(action.clip.path)) return;
    const file = action.clip.path;
    const probe = (async (): Promise<SourceProbe | undefined> => {
      const seen = await fsp.lstat(file);
      // Never open a FIFO or device named like a clip (a FIFO blocks its reader): processClip
      // reports it when its turn comes.
      if (!seen.isFile()) return undefined;
      const info = await probeMedia(ctx.toolchain.ffprobe.path, file, { signal: ctx.signal });
      return { info, size: seen.size, mtimeMs: seen.mtimeMs };
    })().catch(() => undefined); // a failed probe is simply run again, in order, for its error
    probes.set(file, probe);
  };
  const probeSource = async (file: string, now: Stats): Promise<MediaInfo> => {
    const ahead = await probes.get(file);
    probes.delete(file);
    if (ahead && ahead.size === now.size && ahead.mtimeMs === now.mtimeMs) return ahead.info;
    return probeMedia(ctx.toolchain.ffprobe.path, file, { signal: ctx.signal });
  };

  let fallbackProfile = ctx.fallbackProfile;
  const needProfile = async (clip: PlannedClip): Promise<EncodingProfile> => {
    if (!profile && ctx.selectProfile) {
      const selected = await ctx.selectProfile();
      profile = selected.profile;
      fallbackProfile ??= selected.fallbackProfile;
    }
    if (!profile) throw new FileError(clip.path, 'no encoder was selected for this run');
    return profile;
  };

  /**
   * Whether the file at `file` records this clip's identity: only then may a new archive of the
   * clip replace it (--no-skip). Anything else there is another clip's footage, or unknown.
   */
  const recordsIdentity = async (file: string, identity: SourceIdentity): Promise<boolean> => {
    try {
      const info = await probeMedia(ctx.toolchain.ffprobe.path, file, { signal: ctx.signal });
      const recorded = parseIdentity(info.identityTag);
      return recorded !== undefined && identityMatches(recorded, identity);
    } catch {
      return false;
    }
  };

  const transcodeInto = async (
    clip: PlannedClip,
    source: MediaInfo,
    identity: SourceIdentity,
    target: { path: string; replace: boolean; fallback: string },
  ): Promise<{
    encoder: string;
    bytesOut: number;
    archivePath: string;
    streamCopy?: StreamCopyNote | undefined;
  }> => {
    await needProfile(clip);
    let archivePath = target.path;
    let replace = false;
    if (target.replace) {
      if (await recordsIdentity(target.path, identity)) replace = true;
      else {
        ctx.log.warn(
          `${rel(target.path)} does not record ${rel(clip.path)} as its source: it is left as it is and the new archive is ${rel(target.fallback)}`,
        );
        archivePath = target.fallback;
      }
    }
    // An archive and the folders made for it are no more open than the clip (0600 stays 0600).
    const mode = (await fsp.stat(clip.path)).mode;
    await ensureDirInside(ctx.outputRoot, path.dirname(archivePath), folderModeFor(mode));
    const partial = partialPathFor(archivePath);
    const recorded = formatIdentity(identity);
    let streamCopy: StreamCopyNote | undefined;
    const attempt = async (p: EncodingProfile): Promise<void> => {
      const start = (invocation: { ffmpeg: string; args: string[] }) =>
        runTranscode({
          ...invocation,
          input: clip.path,
          durationSeconds: source.duration,
          signal: ctx.signal,
          stallTimeoutMs: ctx.stallTimeoutMs,
          niceness: ctx.niceness,
          onProgress: (pr) => ctx.progress.fileProgress(clip.path, pr.fraction, pr.speed),
        });
      try {
        // The very command the dry run prints (transcodeInvocation, shared with render.ts).
        const result = await start(
          transcodeInvocation({
            ionice: ctx.ionice,
            ffmpeg: ctx.toolchain.ffmpeg.path,
            profile: p,
            input: clip.path,
            output: partial,
            caps: ctx.toolchain.caps,
            identity: recorded,
          }),
        );
        ctx.failpoint?.('transcoded');
        if (ctx.signal.aborted) throw new Aborted();
        // An encode larger than the clip is replaced by the clip's own video, stream-copied with
        // the same identity tag and verified like any archive.
        streamCopy = await keepClipVideoIfSmaller({
          clip: clip.path,
          partial,
          encoder: encoderName(p.encoder, p.codec),
          videoCodec: source.video?.codec,
          audio: p.audio,
          maxRatio: ctx.maxArchiveRatio ?? 1,
          caps: ctx.toolchain.caps,
          identity: recorded,
          run: async (args) => {
            await start(withIdleIo(ctx.ionice, ctx.toolchain.ffmpeg.path, args));
          },
        });
        if (ctx.signal.aborted) throw new Aborted();
        // A transcode that wrote no samples (an encoder path that cannot download its frames)
        // is checked against samples taken from the clip on their own: slower, never weaker.
        const sampling: ClipSampling =
          result.samples.length > 0
            ? { samples: result.samples, frames: result.frames }
            : await sampleClip(
                ctx.toolchain.ffmpeg.path,
                clip.path,
                ctx.toolchain.caps,
                ctx.signal,
              );
        await verifyArchive(
          { ffmpeg: ctx.toolchain.ffmpeg.path, ffprobe: ctx.toolchain.ffprobe.path },
          partial,
          {
            source,
            videoCodec: streamCopy ? source.video?.codec : p.codec,
            requireAudio: p.audio !== 'none',
            expectedFrames: sampling.frames ?? source.video?.readPackets,
            expectedSize: expectedArchiveSize(source, streamCopy ? undefined : p.maxHeight),
            clipSamples: sampling.samples,
            exactSampleCount: true,
            identity,
            requireIdentity: true,
          },
          ctx.toolchain.caps,
          ctx.signal,
        );
        ctx.failpoint?.('verified');
        if (ctx.signal.aborted) throw new Aborted();
        await placeArchive(partial, archivePath, replace, mode);
        ctx.failpoint?.('archive-placed');
      } finally {
        await fsp.rm(partial, { force: true });
      }
    };
    let used = await needProfile(clip);
    try {
      await attempt(used);
    } catch (error) {
      const fallback = fallbackProfile;
      if (
        ctx.signal.aborted ||
        !fallback ||
        used.encoder === 'software' ||
        !(error instanceof TranscodeError)
      )
        throw error;
      hardwareFailures++;
      report.hardwareFallbacks++;
      ctx.log.warn(
        `${encoderName(used.encoder, used.codec)} failed on ${rel(clip.path)} (${error.message}); retrying with ${encoderName(fallback.encoder, fallback.codec)}`,
      );
      if (hardwareFailures >= HARDWARE_FAILURES_BEFORE_SWITCH && profile !== fallback) {
        ctx.log.warn(
          `hardware encoder failed ${hardwareFailures} times: the rest of this run uses software encoding`,
        );
        profile = fallback;
      }
      used = fallback;
      await attempt(used);
    }
    const out = await fsp.stat(archivePath);
    // A stream copy's encoder is `copy`, like ffmpeg's name for it; the note says which was tried.
    return {
      encoder: streamCopy ? 'copy' : encoderName(used.encoder, used.codec),
      bytesOut: out.size,
      archivePath,
      streamCopy,
    };
  };

  /**
   * The first candidate that is this clip's archive: it decodes, has the clip's duration and
   * frames, records the clip's identity (or none, and then its pictures must be the clip's, as
   * they must in any case). Undefined when none is.
   */
  const findArchive = async (
    action: DisposeArchivedAction,
    source: MediaInfo,
    identity: SourceIdentity,
  ): Promise<{ path: string; adoptedByContent: boolean } | undefined> => {
    let sampling: ClipSampling | undefined;
    for (const candidate of action.candidates) {
      const legacy = parseLegacyArchiveName(path.basename(candidate)) !== undefined;
      const seen = await fsp.lstat(candidate).catch(() => undefined);
      if (!seen?.isFile()) continue;
      sampling ??= await sampleClip(
        ctx.toolchain.ffmpeg.path,
        action.clip.path,
        ctx.toolchain.caps,
        ctx.signal,
      );
      try {
        const verified = await verifyArchive(
          { ffmpeg: ctx.toolchain.ffmpeg.path, ffprobe: ctx.toolchain.ffprobe.path },
          candidate,
          {
            source,
            // The Python archiver dropped audio and resampled frames: check what it did keep.
            requireAudio: !legacy,
            expectedFrames: legacy ? undefined : (sampling.frames ?? source.video?.readPackets),
            clipSamples: sampling.samples,
            exactSampleCount: !legacy,
            identity,
            requireIdentity: false,
          },
          ctx.toolchain.caps,
          ctx.signal,
        );
        return { path: candidate, adoptedByContent: verified.identity === 'absent' };
      } catch (error) {
        if (ctx.signal.aborted || !(error instanceof VerificationError)) throw error;
        ctx.log.warn(
          `${rel(candidate)} is not an archive of ${rel(action.clip.path)} (${error.reason}); it is left as it is`,
        );
      }
    }
    return undefined;
  };

  const processClip = async (action: ClipAction): Promise<FileOutcome> => {
    const clip = action.clip;
    let before: Stats;
    try {
      before = await fsp.lstat(clip.path);
    } catch {
      return {
        status: 'skipped',
        clip: clip.path,
        reason: 'the clip disappeared before it was archived',
      };
    }
    // Discovery reads names only: this lstat is where a link or folder named like a clip is
    // found, and it is never followed.
    if (!before.isFile())
      return { status: 'skipped', clip: clip.path, reason: notRegularFile(before) };
    const quietFor = (ctx.now().getTime() - before.mtimeMs) / 1000;
    if (ctx.settleSeconds > 0 && quietFor < ctx.settleSeconds) {
      return {
        status: 'skipped',
        clip: clip.path,
        reason: `modified ${Math.max(0, Math.round(quietFor))}s ago (settle time ${ctx.settleSeconds}s): may still be uploading`,
      };
    }
    const started = Date.now();
    const source = await probeSource(clip.path, before);
    if (!source.video) throw new FileError(clip.path, 'the clip has no video stream');
    if (!(source.duration > 0))
      throw new FileError(clip.path, 'the clip has no duration (empty or damaged)');

    const identity = await readIdentity(clip.path, clip.relPath, before.mtimeMs);
    let archivePath: string;
    let transcoded:
      { encoder: string; bytesOut: number; streamCopy?: StreamCopyNote | undefined } | undefined;
    let adoptedByContent = false;
    if (action.kind === 'dispose-archived') {
      const found = await findArchive(action, source, identity);
      if (found) {
        archivePath = found.path;
        adoptedByContent = found.adoptedByContent;
      } else {
        ctx.log.warn(
          `no existing archive is of ${rel(clip.path)}: transcoding it to ${rel(action.ownArchivePath)}`,
        );
        const made = await transcodeInto(clip, source, identity, {
          path: action.ownArchivePath,
          replace: false,
          fallback: action.ownArchivePath,
        });
        transcoded = made;
        archivePath = made.archivePath;
      }
    } else {
      const made = await transcodeInto(clip, source, identity, {
        path: action.archivePath,
        replace: action.replacesExisting,
        // Without a planned fallback, placement never clobbers: it fails, keeping the clip.
        fallback: action.fallbackPath ?? action.archivePath,
      });
      transcoded = made;
      archivePath = made.archivePath;
    }

    // The clip must be the very file we archived: an upload that rewrote it meanwhile keeps it.
    const after = await fsp.lstat(clip.path).catch(() => undefined);
    if (!after || after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
      return {
        status: 'skipped',
        clip: clip.path,
        reason:
          'the clip changed while it was being archived; kept, the next run archives it again',
      };
    }
    if (ctx.signal.aborted) throw new Aborted();
    const disposed = await dispose(action.disposal, {
      trashRoot: ctx.trashRoot,
      failpoint: ctx.failpoint,
      onThumbnailLeft: (file, reason) => ctx.log.warn(`left ${rel(file)} in place: ${reason}`),
    });
    if (transcoded) {
      return {
        status: 'archived',
        clip: clip.path,
        archive: archivePath,
        bytesIn: before.size,
        bytesOut: transcoded.bytesOut,
        encoder: transcoded.encoder,
        seconds: (Date.now() - started) / 1000,
        disposed,
        ...(transcoded.streamCopy ? { streamCopy: transcoded.streamCopy } : {}),
      };
    }
    return {
      status: 'already-archived',
      clip: clip.path,
      archive: archivePath,
      bytesIn: before.size,
      disposed,
      ...(adoptedByContent ? { adoptedByContent } : {}),
    };
  };

  const worker = async (): Promise<void> => {
    while (next < queue.length) {
      if (ctx.signal.aborted) return;
      if (ctx.stopStarting?.()) {
        report.stoppedByUntil = true;
        return;
      }
      const action = queue[next++];
      if (!action) return;
      probeAhead(queue[next]);
      const label = path.basename(action.clip.path);
      ctx.progress.fileStarted(action.clip.path, label, sizes.get(action.clip.path) ?? 0);
      let outcome: FileOutcome | undefined;
      try {
        outcome = await processClip(action);
      } catch (error) {
        if (ctx.signal.aborted) {
          ctx.log.warn(
            `interrupted while archiving ${rel(action.clip.path)}: the clip is kept, no archive was written`,
          );
          report.notStarted.push(action.clip.path);
        } else {
          outcome = {
            status: 'failed',
            clip: action.clip.path,
            reason: reasonOf(error, action.clip.path),
          };
        }
      }
      ctx.progress.fileFinished(action.clip.path, sizes.get(action.clip.path) ?? 0);
      if (outcome) {
        report.outcomes.push(outcome);
        logOutcome(ctx.log, outcome, rel);
      }
    }
  };

  try {
    await Promise.all(
      Array.from({ length: Math.max(1, Math.min(ctx.jobs, queue.length)) }, worker),
    );
  } finally {
    ctx.progress.stop();
    // Probes of clips never started: aborted with the run, or left to finish; none outlives it.
    await Promise.all(probes.values());
  }
  report.interrupted = ctx.signal.aborted;
  if (report.interrupted) {
    for (const action of queue.slice(next)) report.notStarted.push(action.clip.path);
    return report;
  }
  // Stopped by --until: what was not started stays in place for the next run (not a failure).
  if (report.stoppedByUntil) {
    for (const action of queue.slice(next)) report.notStarted.push(action.clip.path);
  }

  const prunes = actions.filter((a) => a.kind === 'prune-folder').map((a) => a.path);
  ctx.failpoint?.('before-prune');
  report.prunedFolders = await pruneFolders(prunes, ctx.failpoint);
  for (const folder of report.prunedFolders) ctx.log.verbose(`removed empty folder ${rel(folder)}`);
  return report;
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

/**
 * The archive of one clip, obtained in one of two ways and verified against the clip either way:
 * - made: transcode to a temporary name → verify → place at the final name (`makeArchive`), with
 *   the temporary removed whatever happens, and a hardware encoder's failure retried in software;
 * - found: the first existing candidate that verifies against the clip (`findVerifiedArchive`).
 * Each step is a function of its own, given the small `ArchiveStepContext` it works in. The
 * executor (executor.ts) disposes of a clip only after one of these has resolved.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { displayPath } from '../core/display-path.js';
import { errorMessage, FileError } from '../core/errors.js';
import type { Log } from '../core/logger.js';
import { encoderName, type EncodingProfile } from '../media/encoders.js';
import {
  formatIdentity,
  identityMatches,
  parseIdentity,
  type SourceIdentity,
} from '../media/identity.js';
import { transcodeInvocation, withIdleIo } from '../media/io-priority.js';
import { probeMedia, type MediaInfo } from '../media/probe.js';
import type { Toolchain } from '../media/toolchain.js';
import { ensureDirInside, folderModeFor, placeArchive } from '../tree/file-manager.js';
import { parseLegacyArchiveName, partialPathFor } from '../tree/naming.js';
import type { ProgressReporter } from './progress.js';
import { keepClipVideoIfSmaller, type StreamCopyNote } from './stream-copy.js';
import { runTranscode, TranscodeError, type TranscodeResult } from './transcoder.js';
import {
  expectedArchiveSize,
  sampleClip,
  VerificationError,
  verifyArchive,
  type ClipSampling,
  type Verified,
} from './verification.js';

/** After this many hardware failures in one executor call, the rest of it uses software. */
export const HARDWARE_FAILURES_BEFORE_SWITCH = 3;

/** Step names where a killed run must still leave a recoverable tree (DESIGN.md invariant 3). */
export type ArchiveFailpoint = 'transcoded' | 'verified' | 'archive-placed';

/** The encoder a run starts with (ExecutorContext's fields). */
export interface EncoderChoice {
  /** Undefined when the plan has no transcodes. */
  profile: EncodingProfile | undefined;
  /** Software profile to fall back to when an auto-selected hardware encoder fails a clip. */
  fallbackProfile?: EncodingProfile | undefined;
  /**
   * Selects the encoder when the plan had no transcode but one turns out to be needed (an
   * existing archive that is not the clip's): without it such a clip could never be archived.
   */
  selectProfile?: (() => Promise<Omit<EncoderChoice, 'selectProfile'>>) | undefined;
}

/**
 * The encoder of one executor call: the plan's, or one selected when the first clip needs it,
 * and the software fallback that replaces a hardware encoder once it failed too often.
 */
export class RunEncoders {
  /** Clips retried in software after their hardware encode failed (the report's count). */
  fallbacks = 0;
  private profile: EncodingProfile | undefined;
  private fallback: EncodingProfile | undefined;

  constructor(private readonly choice: EncoderChoice) {
    this.profile = choice.profile;
    this.fallback = choice.fallbackProfile;
  }

  /** The encoder for the next clip; selected now if the plan had none. */
  async current(clip: string): Promise<EncodingProfile> {
    if (!this.profile && this.choice.selectProfile) {
      const selected = await this.choice.selectProfile();
      this.profile = selected.profile;
      this.fallback ??= selected.fallbackProfile;
    }
    if (!this.profile) throw new FileError(clip, 'no encoder was selected for this run');
    return this.profile;
  }

  /**
   * The profile to retry a clip with after `used` failed with `error`, or undefined when the
   * failure stands (software already, no fallback, not the encoder's failure, or aborted).
   * Counts the fallback; `switched` says the rest of the call now uses the fallback.
   */
  retryAfter(
    used: EncodingProfile,
    error: unknown,
    signal: AbortSignal,
  ): { profile: EncodingProfile; switched: boolean } | undefined {
    const fallback = this.fallback;
    if (signal.aborted || !fallback || used.encoder === 'software') return undefined;
    if (!(error instanceof TranscodeError)) return undefined;
    this.fallbacks++;
    const switched = this.fallbacks >= HARDWARE_FAILURES_BEFORE_SWITCH && this.profile !== fallback;
    if (switched) this.profile = fallback;
    return { profile: fallback, switched };
  }
}

/** What the steps here work with: an executor context (executor.ts) is one. */
export interface ArchiveStepContext {
  toolchain: Toolchain;
  encoders: RunEncoders;
  /** The input root: paths in log lines are shown relative to it. */
  root: string;
  outputRoot: string;
  stallTimeoutMs: number;
  niceness: number;
  ionice?: string | undefined;
  maxArchiveRatio?: number | undefined;
  log: Log;
  progress: ProgressReporter;
  signal: AbortSignal;
  failpoint?: ((name: ArchiveFailpoint) => void) | undefined;
}

/** The clip as read before anything is written: its probe and the identity its archive records. */
export interface ClipSource {
  path: string;
  info: MediaInfo;
  identity: SourceIdentity;
}

/** Where a new archive goes, as planned: `fallback` when `path` holds another clip's archive. */
export interface ArchiveTarget {
  path: string;
  /** The file at `path` may be replaced, if it records this clip (--no-skip). */
  replace: boolean;
  fallback: string;
}

/** One archive to make: the clip, its final name, and the temporary ffmpeg writes first. */
export interface ArchiveJob {
  clip: ClipSource;
  archivePath: string;
  /** Replace the file at archivePath (one recording this clip) rather than fail on it. */
  replace: boolean;
  partial: string;
  /** The clip's mode: an archive is no more open than its footage (0600 stays 0600). */
  mode: number;
}

/** A transcode's output at the partial name, before verification. */
export interface Encoded {
  /** The clip's sampled pictures and presented frames, which the archive must match. */
  sampling: ClipSampling;
  /** Set when the partial holds the clip's own video: the encoded one was too large. */
  streamCopy: StreamCopyNote | undefined;
}

/** An archive made by this run, verified and at its final name. */
export interface MadeArchive {
  path: string;
  encoder: string;
  bytesOut: number;
  streamCopy: StreamCopyNote | undefined;
  verified: Verified;
}

const rel = (ctx: { root: string }, p: string): string => displayPath(ctx.root, p);
const tools = (ctx: ArchiveStepContext): { ffmpeg: string; ffprobe: string } => ({
  ffmpeg: ctx.toolchain.ffmpeg.path,
  ffprobe: ctx.toolchain.ffprobe.path,
});

/**
 * Makes the clip's archive at `target` (or its fallback) with the run's encoder: `makeArchive`,
 * retried once with the software fallback if a hardware encoder fails.
 */
export async function transcodeClip(
  ctx: ArchiveStepContext,
  clip: ClipSource,
  target: ArchiveTarget,
): Promise<MadeArchive> {
  // The encoder is selected first: without one, no archive name is even looked at.
  await ctx.encoders.current(clip.path);
  const job = await prepareJob(ctx, clip, target);
  const { result, used } = await withEncoderFallback(ctx, clip.path, (profile) =>
    makeArchive(ctx, job, profile),
  );
  const { streamCopy } = result.encoded;
  return {
    path: job.archivePath,
    // A stream copy's encoder is `copy`, like ffmpeg's name for it; the note says which was tried.
    encoder: streamCopy ? 'copy' : encoderName(used.encoder, used.codec),
    bytesOut: (await fsp.stat(job.archivePath)).size,
    streamCopy,
    verified: result.verified,
  };
}

/** The archive's final name, its folder created (with the clip's mode), and its partial name. */
export async function prepareJob(
  ctx: ArchiveStepContext,
  clip: ClipSource,
  target: ArchiveTarget,
): Promise<ArchiveJob> {
  const { archivePath, replace } = await chooseArchiveName(ctx, clip, target);
  const mode = (await fsp.stat(clip.path)).mode;
  await ensureDirInside(ctx.outputRoot, path.dirname(archivePath), folderModeFor(mode));
  return { clip, archivePath, replace, partial: partialPathFor(archivePath), mode };
}

/**
 * Runs `attempt` with the run's encoder; when a hardware encoder fails it, runs it once more with
 * the software fallback (and, after HARDWARE_FAILURES_BEFORE_SWITCH such failures, the rest of
 * the call uses software).
 */
export async function withEncoderFallback<T>(
  ctx: ArchiveStepContext,
  clip: string,
  attempt: (profile: EncodingProfile) => Promise<T>,
): Promise<{ result: T; used: EncodingProfile }> {
  const used = await ctx.encoders.current(clip);
  try {
    return { result: await attempt(used), used };
  } catch (error) {
    const retry = ctx.encoders.retryAfter(used, error, ctx.signal);
    if (!retry) throw error;
    ctx.log.warn(
      `${encoderName(used.encoder, used.codec)} failed on ${rel(ctx, clip)} (${errorMessage(error)}); retrying with ${encoderName(retry.profile.encoder, retry.profile.codec)}`,
    );
    if (retry.switched)
      ctx.log.warn(
        `hardware encoder failed ${ctx.encoders.fallbacks} times: the rest of this run uses software encoding`,
      );
    return { result: await attempt(retry.profile), used: retry.profile };
  }
}

/**
 * The final name of a new archive: the planned one, replacing the file there only when it records
 * this clip's identity (--no-skip); anything else there is another clip's footage, or unknown,
 * and stays, and the archive takes the fallback name.
 */
export async function chooseArchiveName(
  ctx: ArchiveStepContext,
  clip: ClipSource,
  target: ArchiveTarget,
): Promise<{ archivePath: string; replace: boolean }> {
  if (!target.replace) return { archivePath: target.path, replace: false };
  if (await recordsIdentity(ctx, target.path, clip.identity))
    return { archivePath: target.path, replace: true };
  ctx.log.warn(
    `${rel(ctx, target.path)} does not record ${rel(ctx, clip.path)} as its source: it is left as it is and the new archive is ${rel(ctx, target.fallback)}`,
  );
  return { archivePath: target.fallback, replace: false };
}

async function recordsIdentity(
  ctx: ArchiveStepContext,
  file: string,
  identity: SourceIdentity,
): Promise<boolean> {
  try {
    const info = await probeMedia(ctx.toolchain.ffprobe.path, file, { signal: ctx.signal });
    const recorded = parseIdentity(info.identityTag);
    return recorded !== undefined && identityMatches(recorded, identity);
  } catch {
    return false;
  }
}

/**
 * Transcode → verify → place, in that order: the archive takes its final name only once the
 * partial passed verification against the clip. The partial is removed whatever happens, so a
 * failed or interrupted attempt leaves nothing behind, and nothing that passes for an archive.
 */
export async function makeArchive(
  ctx: ArchiveStepContext,
  job: ArchiveJob,
  profile: EncodingProfile,
): Promise<{ encoded: Encoded; verified: Verified }> {
  try {
    const encoded = await transcodeToPartial(ctx, job, profile);
    const verified = await verifyPartial(ctx, job, profile, encoded);
    ctx.failpoint?.('verified');
    ctx.signal.throwIfAborted();
    await placeArchive(job.partial, job.archivePath, job.replace, job.mode);
    ctx.failpoint?.('archive-placed');
    return { encoded, verified };
  } finally {
    await fsp.rm(job.partial, { force: true });
  }
}

/**
 * Writes the clip's archive to `job.partial`: the very command the dry run prints
 * (transcodeInvocation, shared with render.ts), replaced by a stream copy of the clip's video when
 * the encode is larger than the clip allows. Returns what verification compares it with.
 */
export async function transcodeToPartial(
  ctx: ArchiveStepContext,
  job: ArchiveJob,
  profile: EncodingProfile,
): Promise<Encoded> {
  const { clip, partial } = job;
  const recorded = formatIdentity(clip.identity);
  const start = ffmpegFor(ctx, clip);
  const ffmpeg = ctx.toolchain.ffmpeg.path;
  const { caps } = ctx.toolchain;
  const result = await start(
    transcodeInvocation({
      ionice: ctx.ionice,
      ffmpeg,
      profile,
      input: clip.path,
      output: partial,
      caps,
      identity: recorded,
    }),
  );
  ctx.failpoint?.('transcoded');
  ctx.signal.throwIfAborted();
  // An encode larger than the clip is replaced by the clip's own video, stream-copied with the
  // same identity tag and verified like any archive.
  const streamCopy = await keepClipVideoIfSmaller({
    clip: clip.path,
    partial,
    encoder: encoderName(profile.encoder, profile.codec),
    videoCodec: clip.info.video?.codec,
    audio: profile.audio,
    maxRatio: ctx.maxArchiveRatio ?? 1,
    caps,
    identity: recorded,
    run: async (args) => {
      await start(withIdleIo(ctx.ionice, ffmpeg, args));
    },
  });
  ctx.signal.throwIfAborted();
  // A transcode that wrote no samples (an encoder path that cannot download its frames) is
  // checked against samples taken from the clip on their own: slower, never weaker.
  const sampling =
    result.samples.length > 0
      ? { samples: result.samples, frames: result.frames }
      : await sampleClip(ffmpeg, clip.path, caps, ctx.signal);
  return { sampling, streamCopy };
}

/** Runs an ffmpeg that writes the clip's archive: watched for stalls, its progress reported. */
function ffmpegFor(
  ctx: ArchiveStepContext,
  clip: ClipSource,
): (invocation: { ffmpeg: string; args: string[] }) => Promise<TranscodeResult> {
  return (invocation) =>
    runTranscode({
      ...invocation,
      input: clip.path,
      durationSeconds: clip.info.duration,
      signal: ctx.signal,
      stallTimeoutMs: ctx.stallTimeoutMs,
      niceness: ctx.niceness,
      onProgress: (pr) => ctx.progress.fileProgress(clip.path, pr.fraction, pr.speed),
    });
}

/**
 * Checks the partial as the archive of this very clip: it records the clip's identity, has the
 * clip's duration, frames and picture size, the profile's codec (the clip's for a stream copy),
 * decodes cleanly, and shows the clip's pictures. Throws VerificationError otherwise.
 */
export function verifyPartial(
  ctx: ArchiveStepContext,
  job: ArchiveJob,
  profile: EncodingProfile,
  encoded: Encoded,
): Promise<Verified> {
  const source = job.clip.info;
  const copy = encoded.streamCopy !== undefined;
  return verifyArchive(
    tools(ctx),
    job.partial,
    {
      source,
      videoCodec: copy ? source.video?.codec : profile.codec,
      requireAudio: profile.audio !== 'none',
      expectedFrames: encoded.sampling.frames ?? source.video?.readPackets,
      expectedSize: expectedArchiveSize(source, copy ? undefined : profile.maxHeight),
      clipSamples: encoded.sampling.samples,
      exactSampleCount: true,
      identity: job.clip.identity,
      requireIdentity: true,
    },
    ctx.toolchain.caps,
    ctx.signal,
  );
}

/**
 * The first candidate that is this clip's archive: it decodes, has the clip's duration and
 * frames, records the clip's identity (or none, and then its pictures must be the clip's, as
 * they must in any case). Undefined when none is; a candidate that fails is left as it is.
 */
export async function findVerifiedArchive(
  ctx: ArchiveStepContext,
  clip: ClipSource,
  candidates: readonly string[],
): Promise<{ path: string; adoptedByContent: boolean; verified: Verified } | undefined> {
  let sampling: ClipSampling | undefined;
  for (const candidate of candidates) {
    const legacy = parseLegacyArchiveName(path.basename(candidate)) !== undefined;
    const seen = await fsp.lstat(candidate).catch(() => undefined);
    if (!seen?.isFile()) continue;
    sampling ??= await sampleClip(
      ctx.toolchain.ffmpeg.path,
      clip.path,
      ctx.toolchain.caps,
      ctx.signal,
    );
    try {
      const verified = await verifyArchive(
        tools(ctx),
        candidate,
        {
          source: clip.info,
          // The Python archiver dropped audio and resampled frames: check what it did keep.
          requireAudio: !legacy,
          expectedFrames: legacy ? undefined : (sampling.frames ?? clip.info.video?.readPackets),
          clipSamples: sampling.samples,
          exactSampleCount: !legacy,
          identity: clip.identity,
          requireIdentity: false,
        },
        ctx.toolchain.caps,
        ctx.signal,
      );
      return { path: candidate, adoptedByContent: verified.identity === 'absent', verified };
    } catch (error) {
      if (ctx.signal.aborted || !(error instanceof VerificationError)) throw error;
      ctx.log.warn(
        `${rel(ctx, candidate)} is not an archive of ${rel(ctx, clip.path)} (${error.reason}); it is left as it is`,
      );
    }
  }
  return undefined;
}

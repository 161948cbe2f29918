/**
 * Verification gate: an archive must pass every check here before it takes its final name, and an
 * existing archive must pass it before its source is removed. Three questions, in order of cost:
 * is it a plausible video (ffprobe with packet counting), is it the archive of *this* clip (the
 * identity it records, identity.ts), and does it show this clip's pictures (a full decode whose
 * sampled pictures are compared with the clip's, media/frame-samples.ts). Costs ≈ 2 % of the transcode
 * (BENCHMARKS.md: Verification).
 */
import { stat } from 'node:fs/promises';
import { execa } from 'execa';
import { lastLines } from '../media/encoders.js';
import { FileError } from '../core/errors.js';
import { sampleOutputArgs, samplesProblem } from '../media/frame-samples.js';
import { identityMatches, parseIdentity, type SourceIdentity } from '../media/identity.js';
import { probeMedia, type MediaInfo } from '../media/probe.js';

export interface VerifyExpectations {
  source: MediaInfo;
  /** Codec name ffprobe must report for the video stream (own archives); undefined accepts any. */
  videoCodec?: string | undefined;
  /** The source has audio and the archive must keep it. */
  requireAudio: boolean;
  /**
   * Video frames the archive must hold: the frames the clip presents (counted by the transcode,
   * or by the clip's sampling pass), which an edit list makes fewer than its packets. Undefined:
   * not checked (the Python archiver resampled).
   */
  expectedFrames?: number | undefined;
  /** Picture size our transcode produces; undefined: an existing archive (see sizeProblem). */
  expectedSize?: { width: number; height: number } | undefined;
  /** The clip's sampled pictures (media/frame-samples.ts). */
  clipSamples: Uint8Array;
  /** Our archives keep every frame with its timestamp: the same pictures are sampled. */
  exactSampleCount: boolean;
  /** The clip's identity: an archive that records another is not this clip's. */
  identity: SourceIdentity;
  /** A new archive must record the identity (an existing one may predate it). */
  requireIdentity: boolean;
}

export interface Verified {
  info: MediaInfo;
  /** Whether the archive records the clip's identity, or was adopted on its pictures alone. */
  identity: 'recorded' | 'absent';
}

export class VerificationError extends FileError {}

/** |archive − source| allowed: half a second or two frames, whichever is larger. */
export function durationTolerance(source: MediaInfo): number {
  const fps = source.video?.fps;
  return Math.max(0.5, fps ? 2 / fps : 0);
}

/**
 * The picture size our transcode writes: the clip's, or scaled to maxHeight keeping the aspect
 * ratio (never up).
 */
export function expectedArchiveSize(
  source: MediaInfo,
  maxHeight: number | undefined,
): { width: number; height: number } | undefined {
  const w = source.video?.width;
  const h = source.video?.height;
  if (!w || !h) return undefined;
  if (!maxHeight || h <= maxHeight) return { width: w, height: h };
  return { width: Math.round((w * maxHeight) / h / 2) * 2, height: maxHeight };
}

function sizeProblem(archive: MediaInfo, exp: VerifyExpectations): string | undefined {
  const a = archive.video;
  const s = exp.source.video;
  if (!a?.width || !a.height || !s?.width || !s.height) return undefined;
  const size = `${a.width}x${a.height}`;
  if (exp.expectedSize) {
    const e = exp.expectedSize;
    // Hardware scalers round the width their own way.
    if (Math.abs(a.height - e.height) > 1 || Math.abs(a.width - e.width) > 2)
      return `archive pictures are ${size}, expected ${e.width}x${e.height}`;
    return undefined;
  }
  // An existing archive may have been made with another --max-height (or by the Python archiver
  // at 1024x768): usable footage is more than half the clip's size, or 480 lines.
  const usable = (a.width * 2 > s.width && a.height * 2 > s.height) || a.height >= 480;
  return usable ? undefined : `archive pictures are ${size}, the clip's ${s.width}x${s.height}`;
}

/** Pure checks on two probes; returns the first problem found. */
export function compareProbes(archive: MediaInfo, exp: VerifyExpectations): string | undefined {
  const video = archive.video;
  if (!video) return 'archive has no video stream';
  if (exp.videoCodec && video.codec !== exp.videoCodec) {
    return `archive video codec is ${video.codec}, expected ${exp.videoCodec}`;
  }
  const diff = Math.abs(archive.duration - exp.source.duration);
  if (!(archive.duration > 0) || diff > durationTolerance(exp.source)) {
    return `archive lasts ${archive.duration.toFixed(3)}s but the clip lasts ${exp.source.duration.toFixed(3)}s`;
  }
  if (
    video.nbFrames !== undefined &&
    video.readPackets !== undefined &&
    video.nbFrames !== video.readPackets
  ) {
    return `archive is truncated: its index lists ${video.nbFrames} frames but only ${video.readPackets} packets can be read`;
  }
  if (exp.expectedFrames !== undefined && video.readPackets !== undefined) {
    if (Math.abs(video.readPackets - exp.expectedFrames) > 2) {
      return `archive has ${video.readPackets} video frames, the clip presents ${exp.expectedFrames}`;
    }
  }
  const size = sizeProblem(archive, exp);
  if (size) return size;
  if (exp.requireAudio && exp.source.hasAudio && !archive.hasAudio)
    return 'archive lost the audio stream';
  return undefined;
}

/** The identity check: undefined when the archive is this clip's or records no identity. */
export function identityProblem(archive: MediaInfo, exp: VerifyExpectations): string | undefined {
  const tag = archive.identityTag;
  if (tag === undefined) {
    return exp.requireIdentity ? 'archive does not record which clip it was made from' : undefined;
  }
  const recorded = parseIdentity(tag);
  if (!recorded)
    return `archive records an identity this version cannot read (${tag.slice(0, 80)})`;
  if (identityMatches(recorded, exp.identity)) return undefined;
  return `archive is of another clip (${recorded.relPath || 'unknown path'}, ${recorded.size} bytes), not of this one (${exp.identity.size} bytes)`;
}

/**
 * Decodes every frame (-xerror: without it ffmpeg exits 0 on a truncated or corrupt file),
 * writing the sampled pictures to stdout, and demuxes every stream. Shared with the benchmark that
 * times it.
 */
export function buildDecodeCheckArgs(file: string, caps: { hasFpsMode: boolean }): string[] {
  return [
    '-hide_banner',
    '-nostdin',
    '-v',
    'error',
    '-xerror',
    '-i',
    file,
    ...sampleOutputArgs('pipe:1', caps),
    '-map',
    '0',
    '-c',
    'copy',
    '-f',
    'null',
    '-',
  ];
}

export interface ClipSampling {
  samples: Buffer;
  /** Frames the clip presents (after its edit list), as counted by the decoder. */
  frames: number | undefined;
}

/**
 * Samples a clip on its own (for an existing archive, which no transcode of this run sampled): one
 * decode of the clip. The null output comes first so that the progress report counts every
 * presented frame, not only the sampled ones.
 */
export function buildClipSamplingArgs(file: string, caps: { hasFpsMode: boolean }): string[] {
  return [
    '-hide_banner',
    '-nostdin',
    '-v',
    'error',
    '-progress',
    'pipe:2',
    '-nostats',
    '-i',
    file,
    '-map',
    '0:v:0',
    ...(caps.hasFpsMode ? ['-fps_mode', 'passthrough'] : ['-vsync', 'passthrough']),
    '-f',
    'null',
    '-',
    ...sampleOutputArgs('pipe:1', caps),
  ];
}

/**
 * Runs one decoding ffmpeg (a clip's sampling pass, or an archive's decode check): the sampled
 * pictures come on stdout, errors and progress on stderr. An abort rejects with its reason.
 */
async function runDecode(
  ffmpeg: string,
  args: string[],
  signal: AbortSignal | undefined,
): Promise<{ exitCode: number | undefined; stdout: Buffer; stderr: string }> {
  const result = await execa(ffmpeg, args, {
    reject: false,
    stdin: 'ignore',
    encoding: 'buffer',
    timeout: 1_800_000,
    maxBuffer: 512 * 1024 * 1024,
    ...(signal ? { cancelSignal: signal } : {}),
  });
  if (result.isCanceled) throw signal?.reason ?? new Error('aborted');
  return {
    exitCode: result.exitCode,
    stdout: Buffer.from(result.stdout),
    stderr: Buffer.from(result.stderr).toString('utf8'),
  };
}

export async function sampleClip(
  ffmpeg: string,
  file: string,
  caps: { hasFpsMode: boolean },
  signal?: AbortSignal,
): Promise<ClipSampling> {
  const result = await runDecode(ffmpeg, buildClipSamplingArgs(file, caps), signal);
  const { stderr } = result;
  if (result.exitCode !== 0) {
    throw new FileError(
      file,
      `the clip cannot be decoded: ${lastLines(stderr.replace(/^\w+=.*$/gm, ''), 2, file) || `exit ${result.exitCode}`}`,
    );
  }
  const frames = [...stderr.matchAll(/^frame=(\d+)$/gm)].at(-1)?.[1];
  return { samples: result.stdout, frames: frames === undefined ? undefined : Number(frames) };
}

export async function verifyArchive(
  tools: { ffmpeg: string; ffprobe: string },
  file: string,
  exp: VerifyExpectations,
  caps: { hasFpsMode: boolean },
  signal?: AbortSignal,
): Promise<Verified> {
  const info = await stat(file);
  if (!info.isFile() || info.size === 0) throw new VerificationError(file, 'archive is empty');
  let archive: MediaInfo;
  try {
    archive = await probeMedia(tools.ffprobe, file, { signal });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new VerificationError(file, `archive cannot be read: ${(error as Error).message}`);
  }
  const problem = identityProblem(archive, exp) ?? compareProbes(archive, exp);
  if (problem) throw new VerificationError(file, problem);

  const decode = await runDecode(tools.ffmpeg, buildDecodeCheckArgs(file, caps), signal);
  const { stderr } = decode;
  if (decode.exitCode !== 0 || stderr.trim() !== '') {
    throw new VerificationError(
      file,
      `archive does not decode cleanly: ${lastLines(stderr, 2, file) || `exit ${decode.exitCode}`}`,
    );
  }
  const pictures = samplesProblem(exp.clipSamples, decode.stdout, exp.exactSampleCount);
  if (pictures) throw new VerificationError(file, pictures);
  return { info: archive, identity: archive.identityTag === undefined ? 'absent' : 'recorded' };
}

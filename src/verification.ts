/**
 * Verification gate: an archive must pass every check here before it takes its final name, and an
 * existing archive must pass it before its source is removed. Costs ≈0.15 s a file (an ffprobe with
 * packet counting and a demux pass), against seconds to minutes of transcoding.
 */
import { stat } from 'node:fs/promises';
import { execa } from 'execa';
import { lastLines } from './encoders.js';
import { FileError } from './errors.js';
import { probeMedia, type MediaInfo } from './media-probe.js';

export interface VerifyExpectations {
  source: MediaInfo;
  /** Codec name ffprobe must report for the video stream (own archives); undefined accepts any. */
  videoCodec?: string | undefined;
  /** The source has audio and the archive must keep it. */
  requireAudio: boolean;
  /**
   * Our own archives keep every frame (-fps_mode passthrough), so packet counts must match the
   * source's; the Python archiver resampled, so its archives are checked for duration only.
   */
  samePacketCount: boolean;
}

export class VerificationError extends FileError {}

/** |archive − source| allowed: half a second or two frames, whichever is larger. */
export function durationTolerance(source: MediaInfo): number {
  const fps = source.video?.fps;
  return Math.max(0.5, fps ? 2 / fps : 0);
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
  const sourcePackets = exp.source.video?.readPackets;
  if (exp.samePacketCount && sourcePackets !== undefined && video.readPackets !== undefined) {
    if (Math.abs(video.readPackets - sourcePackets) > 2) {
      return `archive has ${video.readPackets} video frames, the clip has ${sourcePackets}`;
    }
  }
  if (exp.requireAudio && exp.source.hasAudio && !archive.hasAudio)
    return 'archive lost the audio stream';
  return undefined;
}

/**
 * Demuxes every packet; -xerror turns "partial file" and corrupt-packet warnings into a failure
 * (without it ffmpeg exits 0 on a truncated file). Shared with the benchmark that times it.
 */
export function buildDemuxCheckArgs(file: string): string[] {
  return [
    '-hide_banner',
    '-nostdin',
    '-v',
    'error',
    '-xerror',
    '-i',
    file,
    '-map',
    '0',
    '-c',
    'copy',
    '-f',
    'null',
    '-',
  ];
}

export async function verifyArchive(
  tools: { ffmpeg: string; ffprobe: string },
  file: string,
  exp: VerifyExpectations,
  signal?: AbortSignal,
): Promise<MediaInfo> {
  const info = await stat(file);
  if (!info.isFile() || info.size === 0) throw new VerificationError(file, 'archive is empty');
  let archive: MediaInfo;
  try {
    archive = await probeMedia(tools.ffprobe, file, { signal });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new VerificationError(file, `archive cannot be read: ${(error as Error).message}`);
  }
  const problem = compareProbes(archive, exp);
  if (problem) throw new VerificationError(file, problem);

  const demux = await execa(tools.ffmpeg, buildDemuxCheckArgs(file), {
    reject: false,
    stdin: 'ignore',
    timeout: 300_000,
    ...(signal ? { cancelSignal: signal } : {}),
  });
  if (demux.isCanceled) throw signal?.reason ?? new Error('aborted');
  if (demux.exitCode !== 0 || demux.stderr.trim() !== '') {
    throw new VerificationError(
      file,
      `archive does not demux cleanly: ${lastLines(demux.stderr, 2, file) || `exit ${demux.exitCode}`}`,
    );
  }
  return archive;
}

/**
 * The archive that is never larger than its clip. Re-encoding a clip the camera already compressed
 * hard (a night scene at a low bitrate, a few-second clip) can give a bigger file; then the clip's
 * own video packets, remuxed into the archive's MP4 (`-c:v copy`), are the archive instead. The
 * copy is verified like any archive (same packet count, the source's codec), so a source still
 * leaves only after a checked archive of that very clip exists.
 */
import { promises as fsp } from 'node:fs';
import { ARCHIVE_RUN_PREAMBLE, audioArgs, type AudioMode } from '../media/encoders.js';
import { UsageError } from '../core/errors.js';
import { identityOutputArgs } from '../media/identity.js';
import type { FfmpegCaps } from '../media/toolchain.js';

/** Default `--max-archive-ratio`: an archive may not be larger than its clip. */
export const DEFAULT_MAX_ARCHIVE_RATIO = 1;

/** Whether an encoded archive of `bytesOut` is too large to keep for a clip of `bytesIn`. */
export function exceedsArchiveRatio(bytesOut: number, bytesIn: number, maxRatio: number): boolean {
  return bytesIn > 0 && bytesOut > bytesIn * maxRatio;
}

/** `--max-archive-ratio`: a share of the clip's size above 0 (1 = never larger than the clip). */
export function parseMaxArchiveRatio(value: unknown): number {
  if (value === undefined) return DEFAULT_MAX_ARCHIVE_RATIO;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n) || !(n > 0))
    throw new UsageError(`--max-archive-ratio must be a number above 0, got '${String(value)}'`);
  return n;
}

/** The ffmpeg argument list that remuxes a clip's video, unchanged, into an archive. */
export function buildStreamCopyArgs(
  input: string,
  output: string,
  opts: { videoCodec: string | undefined; audio: AudioMode; identity: string },
  caps: Pick<FfmpegCaps, 'hasFpsMode'>,
): string[] {
  return [
    ...ARCHIVE_RUN_PREAMBLE,
    '-i',
    input,
    '-map',
    '0:v:0',
    '-c:v',
    'copy',
    // The tag Apple players need; a copy keeps the camera's own (often hev1) otherwise.
    ...(opts.videoCodec === 'hevc' ? ['-tag:v', 'hvc1'] : []),
    // Audio as the profile says: cameras' G.711 cannot go into MP4 unconverted.
    ...audioArgs(opts.audio),
    // Every packet with its timestamp, as verification expects.
    ...(caps.hasFpsMode ? ['-fps_mode', 'passthrough'] : ['-vsync', 'passthrough']),
    '-map_metadata',
    '0',
    // The same identity tag as a transcode's: the copy is this clip's archive (identity.ts).
    ...identityOutputArgs(opts.identity),
    '-f',
    'mp4',
    output,
  ];
}

/** Why an archive is the clip's own video: what the encoder made instead. */
export interface StreamCopyNote {
  /** Encoder whose output was too large (libx265, …). */
  encoder: string;
  encodedBytes: number;
  clipBytes: number;
  /** The clip's video codec, now the archive's. */
  videoCodec: string | undefined;
}

/**
 * Called with an encoded `partial`: when it is larger than `maxRatio` of the clip, replaces it with
 * the stream copy (run by `run`, the caller's ffmpeg runner) and says so; otherwise leaves it.
 */
export async function keepClipVideoIfSmaller(job: {
  clip: string;
  partial: string;
  encoder: string;
  videoCodec: string | undefined;
  audio: AudioMode;
  maxRatio: number;
  caps: Pick<FfmpegCaps, 'hasFpsMode'>;
  /** The clip's identity, recorded in the copy as in any archive. */
  identity: string;
  run: (args: string[]) => Promise<void>;
}): Promise<StreamCopyNote | undefined> {
  const [clip, encoded] = await Promise.all([fsp.stat(job.clip), fsp.stat(job.partial)]);
  if (!exceedsArchiveRatio(encoded.size, clip.size, job.maxRatio)) return undefined;
  await job.run(
    buildStreamCopyArgs(
      job.clip,
      job.partial,
      { videoCodec: job.videoCodec, audio: job.audio, identity: job.identity },
      job.caps,
    ),
  );
  return {
    encoder: job.encoder,
    encodedBytes: encoded.size,
    clipBytes: clip.size,
    videoCodec: job.videoCodec,
  };
}

/** The log's words for a stream copy. */
export function describeStreamCopy(note: StreamCopyNote): string {
  const pct = Math.round((note.encodedBytes / note.clipBytes - 1) * 100);
  const size = pct >= 0 ? `${pct}% larger than` : `${-pct}% smaller than, but above the limit of,`;
  return `kept the clip's own ${note.videoCodec ?? 'video'} video: ${note.encoder} made it ${size} the clip`;
}

/** ffprobe: what a clip or archive contains, with packet counts (index-based, ≈0.07 s a file). */
import { execa } from 'execa';
import { lastLines } from './encoders.js';
import { FileError } from '../core/errors.js';
import { IDENTITY_TAG } from './identity.js';

export interface StreamInfo {
  index: number;
  type: string;
  codec: string;
  width?: number | undefined;
  height?: number | undefined;
  /** Frames per second from avg_frame_rate (or r_frame_rate). */
  fps?: number | undefined;
  /** From the container header; absent for fragmented MP4 and many TS/MKV files. */
  nbFrames?: number | undefined;
  /** Packets actually read by `-count_packets`: catches truncation the header hides. */
  readPackets?: number | undefined;
  /** A still picture attached to the file (cover art, a camera's poster frame): not the video. */
  attachedPic?: boolean | undefined;
}

export interface MediaInfo {
  duration: number;
  formatName: string;
  streams: StreamInfo[];
  video?: StreamInfo | undefined;
  hasAudio: boolean;
  /** The source identity an archive records (identity.ts), when it has one. */
  identityTag?: string | undefined;
}

interface RawProbe {
  format?: { duration?: string; format_name?: string; tags?: Record<string, string> };
  streams?: {
    index?: number;
    codec_type?: string;
    codec_name?: string;
    width?: number;
    height?: number;
    avg_frame_rate?: string;
    r_frame_rate?: string;
    nb_frames?: string;
    nb_read_packets?: string;
    disposition?: { attached_pic?: number };
  }[];
}

function num(value: string | undefined): number | undefined {
  if (value === undefined || value === 'N/A' || value === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

function rate(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const [a, b] = value.split('/').map(Number);
  if (a === undefined || !b || !Number.isFinite(a) || a === 0) return undefined;
  return a / b;
}

export function parseProbe(json: string): MediaInfo {
  const raw = JSON.parse(json) as RawProbe;
  const streams: StreamInfo[] = (raw.streams ?? []).map((s, i) => ({
    index: s.index ?? i,
    type: s.codec_type ?? 'unknown',
    codec: s.codec_name ?? 'unknown',
    width: s.width,
    height: s.height,
    fps: rate(s.avg_frame_rate) ?? rate(s.r_frame_rate),
    nbFrames: num(s.nb_frames),
    readPackets: num(s.nb_read_packets),
    attachedPic: s.disposition?.attached_pic === 1,
  }));
  const formatName = raw.format?.format_name ?? 'unknown';
  // A still image named like a clip (a JPEG called .mp4) opens through an image demuxer: its one
  // picture is not video, whatever its codec.
  const image = /(^|,)(image2|[a-z0-9]+_pipe)(,|$)/.test(formatName);
  return {
    duration: num(raw.format?.duration) ?? 0,
    formatName,
    streams,
    // Cover art is marked by its disposition, not by its codec: an MJPEG camera's video is MJPEG.
    video: image ? undefined : streams.find((s) => s.type === 'video' && !s.attachedPic),
    hasAudio: streams.some((s) => s.type === 'audio'),
    identityTag: raw.format?.tags?.[IDENTITY_TAG],
  };
}

export function buildProbeArgs(file: string): string[] {
  return [
    '-v',
    'error',
    '-count_packets',
    '-show_entries',
    `format=duration,format_name:format_tags=${IDENTITY_TAG}:stream=index,codec_type,codec_name,width,height,avg_frame_rate,r_frame_rate,nb_frames,nb_read_packets:stream_disposition=attached_pic`,
    '-of',
    'json',
    file,
  ];
}

export async function probeMedia(
  ffprobe: string,
  file: string,
  options: { signal?: AbortSignal | undefined; timeoutMs?: number } = {},
): Promise<MediaInfo> {
  const result = await execa(ffprobe, buildProbeArgs(file), {
    reject: false,
    stdin: 'ignore',
    timeout: options.timeoutMs ?? 120_000,
    ...(options.signal ? { cancelSignal: options.signal } : {}),
  });
  if (result.isCanceled) throw options.signal?.reason ?? new Error('aborted');
  if (result.timedOut) throw new FileError(file, 'ffprobe did not answer within its time limit');
  if (result.exitCode !== 0) {
    throw new FileError(
      file,
      `not a readable video: ${lastLines(result.stderr, 2, file) || `ffprobe exit ${result.exitCode}`}`,
    );
  }
  try {
    return parseProbe(result.stdout);
  } catch {
    throw new FileError(file, 'ffprobe printed unreadable output');
  }
}

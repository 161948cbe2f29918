/** ffprobe: what a clip or archive contains, with packet counts (index-based, ≈0.07 s a file). */
import { execa } from 'execa';
import { lastLines } from './encoders.js';
import { FileError } from './errors.js';

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
}

export interface MediaInfo {
  duration: number;
  formatName: string;
  streams: StreamInfo[];
  video?: StreamInfo | undefined;
  hasAudio: boolean;
}

interface RawProbe {
  format?: { duration?: string; format_name?: string };
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
  }));
  return {
    duration: num(raw.format?.duration) ?? 0,
    formatName: raw.format?.format_name ?? 'unknown',
    streams,
    video: streams.find((s) => s.type === 'video' && s.codec !== 'mjpeg' && s.codec !== 'png'),
    hasAudio: streams.some((s) => s.type === 'audio'),
  };
}

export function buildProbeArgs(file: string): string[] {
  return [
    '-v',
    'error',
    '-count_packets',
    '-show_entries',
    'format=duration,format_name:stream=index,codec_type,codec_name,width,height,avg_frame_rate,r_frame_rate,nb_frames,nb_read_packets',
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

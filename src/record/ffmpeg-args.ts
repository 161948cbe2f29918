/**
 * The one place each recorder ffmpeg argument list is built: recording, the per-segment
 * thumbnail, the leftover remux and `snapshot`. Logs show `formatCommand(ffmpeg, args)` of exactly
 * these lists, so what a user reads is what ran. Pure functions.
 */
import path from 'node:path';
import { audioArgs, videoEncodeParts, type EncodingProfile } from '../media/encoders.js';
import type { FfmpegCaps } from '../media/toolchain.js';
import type { CameraConfig } from './config.js';

/** Segment list and output name pattern of one ffmpeg run of one camera. */
export interface SegmentTarget {
  /** `ROOT/.incoming/<camera>`: same filesystem as the tree, so the final move is a rename. */
  stagingDir: string;
  /** CSV written by the segment muxer; a line is appended once a segment is closed. */
  listFile: string;
}

/** Seconds between `-progress` blocks: the watchdog's heartbeat. */
export const PROGRESS_PERIOD_SECONDS = 5;

/**
 * fMP4: a power cut or SIGKILL loses the last fragment, not the whole segment (the note measured
 * 3.07 s of 4 s recoverable; plain MP4 and +faststart lose everything). frag_duration bounds a
 * fragment to 1 s even when the camera's GOP is 10 s or more.
 */
export const FRAGMENTED_MOVFLAGS =
  'movflags=+frag_keyframe+empty_moov+default_base_moof:frag_duration=1000000';

/** Staged segment names: ffmpeg expands these with strftime in TZ=UTC (see recorder env). */
export function segmentPattern(stagingDir: string, camera: string): string {
  // -strftime expands '%' in the whole path: a literal '%' in ROOT must be doubled.
  return path.join(stagingDir.replace(/%/g, '%%'), `${camera}_%Y%m%d%H%M%S.mp4`);
}

/** Input options for a camera. `live` adds `-re` for synthetic sources (real cameras pace themselves). */
export function inputArgs(
  camera: CameraConfig,
  caps: Pick<FfmpegCaps, 'lavfMajor'>,
  live: boolean,
): string[] {
  const s = camera.source;
  switch (s.kind) {
    case 'lavfi':
      // -re makes the synthetic camera real-time, so segment cuts and the watchdog behave as live.
      return [...(live ? ['-re'] : []), '-f', 'lavfi', '-i', s.input];
    case 'rtsp': {
      // ffmpeg ≥ 5 (lavf 59): -timeout is the socket I/O timeout in µs. Before, -timeout meant
      // *listen* (and switched to server mode) and -stimeout was the socket timeout.
      const timeoutFlag = caps.lavfMajor >= 59 ? '-timeout' : '-stimeout';
      return [
        '-rtsp_transport',
        camera.rtspTransport,
        timeoutFlag,
        String(Math.round(camera.rtspTimeoutSeconds * 1_000_000)),
        '-i',
        s.input,
      ];
    }
    case 'v4l2':
      return [
        '-f',
        'v4l2',
        '-thread_queue_size',
        '512',
        ...(camera.inputFormat ? ['-input_format', camera.inputFormat] : []),
        ...(camera.size ? ['-video_size', camera.size] : []),
        ...(camera.frameRate ? ['-framerate', String(camera.frameRate)] : []),
        '-i',
        s.input,
      ];
  }
}

/**
 * Video output options. Copy: every packet kept, cuts on the camera's keyframes. Encode: the
 * profile's encoder with a keyframe forced every `keyframeSeconds`, so each clock-aligned cut lands
 * at most that long after its boundary and every segment starts on a keyframe.
 */
function videoArgs(
  camera: CameraConfig,
  profile: EncodingProfile | undefined,
  caps: Pick<FfmpegCaps, 'hasFpsMode'>,
): { pre: string[]; out: string[] } {
  if (camera.mode === 'copy' || !profile)
    return { pre: [], out: ['-map', '0:v:0', '-c:v', 'copy'] };
  const parts = videoEncodeParts(profile, camera.keyframeSeconds);
  return {
    pre: parts.input,
    out: [
      '-map',
      '0:v:0',
      ...(parts.filter ? ['-vf', parts.filter] : []),
      ...parts.codec,
      '-force_key_frames',
      `expr:gte(t,n_forced*${camera.keyframeSeconds})`,
      ...(caps.hasFpsMode ? ['-fps_mode', 'passthrough'] : ['-vsync', 'passthrough']),
    ],
  };
}

/** The full recording command of one camera for one ffmpeg run (binary not included). */
export function buildRecordArgs(
  camera: CameraConfig,
  profile: EncodingProfile | undefined,
  target: SegmentTarget,
  caps: Pick<FfmpegCaps, 'lavfMajor' | 'hasFpsMode' | 'hasStatsPeriod'>,
): string[] {
  const video = videoArgs(camera, profile, caps);
  return [
    // No -nostdin: the supervisor stops ffmpeg by writing 'q' to its stdin. Unlike a signal, 'q'
    // does not add to a SIGINT the terminal or systemd already sent to the whole group, which
    // ffmpeg would count as a second signal and answer by exiting without closing its segment.
    '-hide_banner',
    '-loglevel',
    'warning',
    '-nostats',
    // key=value blocks on stdout; out_time_us advancing is the watchdog's heartbeat.
    '-progress',
    'pipe:1',
    ...(caps.hasStatsPeriod ? ['-stats_period', String(PROGRESS_PERIOD_SECONDS)] : []),
    ...video.pre,
    ...inputArgs(camera, caps, true),
    ...video.out,
    ...audioArgs(camera.audio),
    '-f',
    'segment',
    '-segment_time',
    String(camera.segmentSeconds),
    // Cuts on the wall clock (:00, :30 …): names line up across cameras and restarts.
    '-segment_atclocktime',
    '1',
    // Without it each file's duration reads as its end time.
    '-reset_timestamps',
    '1',
    '-strftime',
    '1',
    '-segment_format',
    'mp4',
    '-segment_format_options',
    FRAGMENTED_MOVFLAGS,
    '-segment_list',
    target.listFile,
    '-segment_list_type',
    'csv',
    segmentPattern(target.stagingDir, camera.name),
  ];
}

/** One frame of a finished segment as a JPEG, at most 480 lines high (a thumbnail, not a still). */
export function buildThumbnailArgs(segment: string, output: string): string[] {
  return [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'error',
    '-i',
    segment,
    '-map',
    '0:v:0',
    '-frames:v',
    '1',
    '-vf',
    "scale=-2:'min(ih,480)'",
    ...jpegOutputArgs(4, output),
  ];
}

/** One JPEG at mjpeg quality `quality` (2 best … 31). */
function jpegOutputArgs(quality: number, output: string): string[] {
  return [
    '-c:v',
    'mjpeg',
    '-q:v',
    String(quality),
    // image2 with -update: the output name is taken literally (no %d pattern), whatever it ends in.
    '-f',
    'image2',
    '-update',
    '1',
    '-y',
    output,
  ];
}

/**
 * Rewrites a crash leftover (an fMP4 cut short) into a complete MP4 without re-encoding, so the
 * archiver's verification sees a file whose index matches its packets.
 */
export function buildRemuxArgs(input: string, output: string): string[] {
  return [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'error',
    // The last sample of a cut-short file is partial ("partial file"): the mov demuxer flags it
    // corrupt, and copying it would leave a frame no decoder can read.
    '-fflags',
    '+discardcorrupt',
    '-i',
    input,
    '-map',
    '0',
    '-c',
    'copy',
    '-f',
    'mp4',
    '-y',
    output,
  ];
}

/** `snapshot`: a single full-size frame from the camera, written as JPEG. */
export function buildSnapshotArgs(
  camera: CameraConfig,
  output: string,
  caps: Pick<FfmpegCaps, 'lavfMajor'>,
): string[] {
  return [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'error',
    ...inputArgs(camera, caps, false),
    '-map',
    '0:v:0',
    '-frames:v',
    '1',
    ...jpegOutputArgs(2, output),
  ];
}

/** One `-progress` block, reduced to what the watchdog and status need. */
export interface ProgressBlock {
  outTimeUs?: number | undefined;
  frame?: number | undefined;
  speed?: string | undefined;
  end: boolean;
}

/**
 * Feeds `-progress` lines and returns a block when one completes (`progress=continue|end`).
 * Values may be `N/A` or carry leading spaces (note §6).
 */
export function progressParser(): (line: string) => ProgressBlock | undefined {
  let current: Record<string, string> = {};
  return (line) => {
    const eq = line.indexOf('=');
    if (eq <= 0) return undefined;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (key !== 'progress') {
      current[key] = value;
      return undefined;
    }
    const num = (v: string | undefined): number | undefined => {
      if (v === undefined || v === 'N/A' || v === '') return undefined;
      const n = Number(v);
      return Number.isFinite(n) ? n : undefined;
    };
    const block: ProgressBlock = {
      outTimeUs: num(current.out_time_us),
      frame: num(current.frame),
      speed: current.speed,
      end: value === 'end',
    };
    current = {};
    return block;
  };
}

/**
 * Encoding profiles and the one function that builds each ffmpeg argument list. Dry run prints
 * these lists and the transcoder runs them, so what is previewed is what runs.
 */
import { sampleOutputArgs } from './frame-samples.js';
import { IDENTITY_PLACEHOLDER, IDENTITY_TAG } from './identity.js';
import type { FfmpegCaps } from './toolchain.js';

export const ENCODER_CHOICES = ['auto', 'qsv', 'vaapi', 'nvenc', 'software'] as const;
export type EncoderChoice = (typeof ENCODER_CHOICES)[number];
export type Encoder = Exclude<EncoderChoice, 'auto'>;
export const CODECS = ['hevc', 'h264'] as const;
export type Codec = (typeof CODECS)[number];
export const AUDIO_MODES = ['aac', 'copy', 'none'] as const;
export type AudioMode = (typeof AUDIO_MODES)[number];

export interface EncodingProfile {
  encoder: Encoder;
  codec: Codec;
  /** CRF (software), global_quality (QSV), QP (VAAPI) or CQ (NVENC); lower is better and bigger. */
  quality: number;
  /** Encoder speed preset; undefined means the encoder's profile default. */
  preset?: string | undefined;
  /** Scale down to at most this height, keeping the aspect ratio; never scales up. */
  maxHeight?: number | undefined;
  audio: AudioMode;
  /** DRM render node for VAAPI and QSV. */
  hwDevice: string;
}

/** Defaults calibrated on real footage (BENCHMARKS.md): ≈ equal visual quality across encoders. */
export const DEFAULT_QUALITY: Record<Encoder, Record<Codec, number>> = {
  software: { hevc: 28, h264: 23 },
  qsv: { hevc: 25, h264: 23 },
  vaapi: { hevc: 26, h264: 24 },
  nvenc: { hevc: 28, h264: 24 },
};

const DEFAULT_PRESET: Record<Encoder, Record<Codec, string | undefined>> = {
  software: { hevc: 'medium', h264: 'medium' },
  qsv: { hevc: 'medium', h264: 'medium' },
  vaapi: { hevc: undefined, h264: undefined },
  nvenc: { hevc: 'p5', h264: 'p5' },
};

export function encoderName(encoder: Encoder, codec: Codec): string {
  switch (encoder) {
    case 'software':
      return codec === 'hevc' ? 'libx265' : 'libx264';
    case 'qsv':
      return `${codec}_qsv`;
    case 'vaapi':
      return `${codec}_vaapi`;
    case 'nvenc':
      return `${codec}_nvenc`;
  }
}

/** Options that open the hardware before `-i` (decode on the GPU where the frames stay there). */
function hardwareInputArgs(profile: EncodingProfile): string[] {
  switch (profile.encoder) {
    case 'qsv':
      // The Python archiver's working model: decode and scale on the GPU, frames never leave it.
      return ['-hwaccel', 'qsv', '-hwaccel_output_format', 'qsv'];
    case 'vaapi':
      // Software decode + upload is slower than full-GPU decode but works for every source codec.
      return ['-vaapi_device', profile.hwDevice];
    case 'nvenc':
      return ['-hwaccel', 'cuda', '-hwaccel_output_format', 'cuda'];
    case 'software':
      return [];
  }
}

function videoFilter(profile: EncodingProfile): string | undefined {
  const h = profile.maxHeight;
  switch (profile.encoder) {
    case 'software':
      // -2 keeps the aspect ratio with an even width; min() never scales up.
      return h ? `scale=-2:'min(ih,${h})'` : undefined;
    case 'qsv':
      return h ? `scale_qsv=w=-1:h='min(ih,${h})'` : undefined;
    case 'vaapi':
      return h ? `format=nv12,hwupload,scale_vaapi=w=-2:h='min(ih,${h})'` : 'format=nv12,hwupload';
    case 'nvenc':
      return h ? `scale_cuda=-2:'min(ih,${h})'` : undefined;
  }
}

function videoCodecArgs(profile: EncodingProfile): string[] {
  const name = encoderName(profile.encoder, profile.codec);
  const preset = profile.preset ?? DEFAULT_PRESET[profile.encoder][profile.codec];
  const q = String(profile.quality);
  const presetArgs = preset ? ['-preset', preset] : [];
  switch (profile.encoder) {
    case 'software':
      return profile.codec === 'hevc'
        ? // x265 writes its banner to stderr even at -v error unless told otherwise; hvc1 lets Apple players open it.
          [
            '-c:v',
            name,
            ...presetArgs,
            '-crf',
            q,
            '-x265-params',
            'log-level=error',
            '-tag:v',
            'hvc1',
            '-pix_fmt',
            'yuv420p',
          ]
        : ['-c:v', name, ...presetArgs, '-crf', q, '-pix_fmt', 'yuv420p'];
    case 'qsv':
      return [
        '-c:v',
        name,
        ...presetArgs,
        '-global_quality',
        q,
        ...(profile.codec === 'hevc' ? ['-tag:v', 'hvc1'] : []),
      ];
    case 'vaapi':
      return ['-c:v', name, '-qp', q, ...(profile.codec === 'hevc' ? ['-tag:v', 'hvc1'] : [])];
    case 'nvenc':
      return [
        '-c:v',
        name,
        ...presetArgs,
        '-tune',
        'hq',
        '-rc',
        'vbr',
        '-cq',
        q,
        '-b:v',
        '0',
        ...(profile.codec === 'hevc' ? ['-tag:v', 'hvc1'] : []),
      ];
  }
}

/** Audio output options; shared with the recorder. */
export function audioArgs(mode: AudioMode): string[] {
  switch (mode) {
    case 'aac':
      // Cameras often record G.711 (pcm_alaw/mulaw), which MP4 cannot hold: AAC always fits.
      return ['-map', '0:a?', '-c:a', 'aac', '-b:a', '64k'];
    case 'copy':
      return ['-map', '0:a?', '-c:a', 'copy'];
    case 'none':
      return ['-an'];
  }
}

/** Where the transcode writes the clip's sampled pictures (frame-samples.ts): the transcoder reads fd 3. */
export const SAMPLES_PIPE = 'pipe:3';

/**
 * The full ffmpeg argument list for one archive (ffmpeg binary not included). `identity` is the
 * clip's identity (identity.ts), written into the archive's metadata; a dry run, which has not read
 * the clip, shows a placeholder. The same command also writes small sampled pictures of the clip
 * to fd 3, for verification to compare the archive's pictures with (the clip is decoded once).
 */
export function buildTranscodeArgs(
  profile: EncodingProfile,
  input: string,
  output: string,
  caps: Pick<FfmpegCaps, 'hasFpsMode' | 'hasStatsPeriod'>,
  identity: string = IDENTITY_PLACEHOLDER,
): string[] {
  const filter = videoFilter(profile);
  return [
    '-hide_banner',
    '-nostdin',
    '-y',
    '-loglevel',
    'error',
    '-nostats',
    // Machine-readable progress on stdout: key=value blocks (out_time_us, speed, progress=end).
    '-progress',
    'pipe:1',
    ...(caps.hasStatsPeriod ? ['-stats_period', '1'] : []),
    ...hardwareInputArgs(profile),
    '-i',
    input,
    '-map',
    '0:v:0',
    ...(filter ? ['-vf', filter] : []),
    ...videoCodecArgs(profile),
    ...audioArgs(profile.audio),
    // Keep every frame with its timestamp: verification compares packet counts with the source.
    ...(caps.hasFpsMode ? ['-fps_mode', 'passthrough'] : ['-vsync', 'passthrough']),
    '-map_metadata',
    '0',
    // Which clip this is the archive of: verification of an existing archive checks it.
    '-metadata',
    `${IDENTITY_TAG}=${identity}`,
    // Index at the front so archives play while streaming (the rewrite costs one extra pass);
    // use_metadata_tags lets the muxer write a key of our own (an mdta atom).
    '-movflags',
    '+faststart+use_metadata_tags',
    // The temporary name does not end in .mp4, so the muxer is named explicitly.
    '-f',
    'mp4',
    output,
    ...sampleOutputArgs(SAMPLES_PIPE, caps, hardwareFrames(profile)),
  ];
}

/** The decoder leaves frames in GPU memory (see hardwareInputArgs). */
function hardwareFrames(profile: EncodingProfile): boolean {
  return profile.encoder === 'qsv' || profile.encoder === 'nvenc';
}

/** A one-frame test encode with the profile's real codec options; exit code 0 is the only proof. */
export function buildEncoderProbeArgs(profile: EncodingProfile): string[] {
  const device: string[] =
    profile.encoder === 'qsv'
      ? ['-init_hw_device', `qsv=hw:${profile.hwDevice}`, '-filter_hw_device', 'hw']
      : profile.encoder === 'vaapi'
        ? ['-vaapi_device', profile.hwDevice]
        : [];
  const filter =
    profile.encoder === 'qsv'
      ? ['-vf', 'format=nv12,hwupload=extra_hw_frames=64']
      : profile.encoder === 'vaapi'
        ? ['-vf', 'format=nv12,hwupload']
        : [];
  return [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'error',
    ...device,
    '-f',
    'lavfi',
    '-i',
    // x265 spends most of a probe analysing its frame: one 64×64 frame (a single HEVC block)
    // proves the same options at half the CPU of 320×240. Hardware encoders have minimum sizes
    // above 64 pixels, so they keep the larger frame.
    profile.encoder === 'software' ? 'color=size=64x64:rate=25' : 'testsrc2=size=320x240:rate=25',
    '-frames:v',
    '1',
    ...filter,
    ...videoCodecArgs(profile),
    '-an',
    '-f',
    'null',
    '-',
  ];
}

export interface ProbeAttempt {
  encoder: Encoder;
  name: string;
  ok: boolean;
  error?: string;
}

export interface EncoderSelection {
  profile: EncodingProfile;
  attempts: ProbeAttempt[];
}

export type ProbeRunner = (args: string[]) => Promise<{ exitCode: number; stderr: string }>;

/** Order tried by --encoder auto: the Python archiver's QSV first, then other GPUs, then software. */
export const AUTO_ORDER: readonly Encoder[] = ['qsv', 'vaapi', 'nvenc', 'software'];

export function profileFor(
  encoder: Encoder,
  base: Omit<EncodingProfile, 'encoder' | 'quality'> & { quality?: number | undefined },
): EncodingProfile {
  return { ...base, encoder, quality: base.quality ?? DEFAULT_QUALITY[encoder][base.codec] };
}

/**
 * Finds the encoder to use. `auto` tries AUTO_ORDER and keeps the first that encodes a frame;
 * an explicit choice is probed too, so a host without the hardware fails before any clip is touched.
 */
export async function selectEncoder(
  choice: EncoderChoice,
  base: Omit<EncodingProfile, 'encoder' | 'quality'> & { quality?: number | undefined },
  run: ProbeRunner,
  hasDevice: (device: string) => boolean,
): Promise<EncoderSelection | { profile: undefined; attempts: ProbeAttempt[] }> {
  const candidates: readonly Encoder[] = choice === 'auto' ? AUTO_ORDER : [choice];
  const attempts: ProbeAttempt[] = [];
  for (const encoder of candidates) {
    const profile = profileFor(encoder, base);
    const name = encoderName(encoder, base.codec);
    if ((encoder === 'qsv' || encoder === 'vaapi') && !hasDevice(base.hwDevice)) {
      attempts.push({ encoder, name, ok: false, error: `no ${base.hwDevice}` });
      continue;
    }
    const result = await run(buildEncoderProbeArgs(profile));
    if (result.exitCode === 0) {
      attempts.push({ encoder, name, ok: true });
      return { profile, attempts };
    }
    attempts.push({
      encoder,
      name,
      ok: false,
      error: firstLine(result.stderr) || `exit code ${result.exitCode}`,
    });
  }
  return { profile: undefined, attempts };
}

/** One ffmpeg stderr line without its `[demuxer @ 0x55…]` prefix, and with `file` shortened. */
export function cleanFfmpegLine(line: string, file?: string): string {
  let out = line.replace(/^\[[^\]]* @ 0x[0-9a-f]+\]\s*/i, '').trim();
  if (file) out = out.split(`${file}: `).join('').split(file).join('<file>');
  return out;
}

/** The last distinct, cleaned lines of ffmpeg's error output. */
export function lastLines(text: string, count: number, file?: string): string {
  const lines = text
    .split('\n')
    .map((l) => cleanFfmpegLine(l, file))
    .filter(Boolean);
  return [...new Set(lines)].slice(-count).join(' / ');
}

export function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .map((l) => cleanFfmpegLine(l))
      .find(Boolean) ?? ''
  );
}

/** Shell-quoted command line for display (dry run, logs); never executed through a shell. */
export function formatCommand(binary: string, args: readonly string[]): string {
  return [binary, ...args].map(shellQuote).join(' ');
}

export function shellQuote(arg: string): string {
  if (/^[\w@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * The video half of an encode: hardware options that go before `-i`, the filter, and the codec
 * options. For builders of other ffmpeg commands (the recorder's), so every command shares one
 * definition of each profile.
 */
export function videoEncodeParts(profile: EncodingProfile): {
  input: string[];
  filter: string | undefined;
  codec: string[];
} {
  return {
    input: hardwareInputArgs(profile),
    filter: videoFilter(profile),
    codec: videoCodecArgs(profile),
  };
}

/**
 * Encoding profiles and the one function that builds each ffmpeg argument list. Dry run prints
 * these lists and the transcoder runs them, so what is previewed is what runs.
 */
import { sampleOutputArgs } from './frame-samples.js';
import { IDENTITY_PLACEHOLDER, identityOutputArgs } from './identity.js';
import type { FfmpegCaps } from './toolchain.js';

export const ENCODER_CHOICES = ['auto', 'qsv', 'vaapi', 'nvenc', 'software'] as const;
export type EncoderChoice = (typeof ENCODER_CHOICES)[number];
export type Encoder = Exclude<EncoderChoice, 'auto'>;
/** Codecs an archive can have; each name is the one ffprobe reports, which verification checks. */
export const CODECS = ['av1', 'hevc', 'h264'] as const;
export type Codec = (typeof CODECS)[number];
/** `auto` picks per host (codecCandidates): AV1 where it is encoded well, HEVC otherwise. */
export const CODEC_CHOICES = ['auto', ...CODECS] as const;
export type CodecChoice = (typeof CODEC_CHOICES)[number];
export const AUDIO_MODES = ['aac', 'copy', 'none'] as const;
export type AudioMode = (typeof AUDIO_MODES)[number];

export interface EncodingProfile {
  encoder: Encoder;
  codec: Codec;
  /**
   * CRF (software), global_quality (QSV), QP (VAAPI; a q-index for AV1) or CQ (NVENC); lower is
   * better and bigger.
   */
  quality: number;
  /** Encoder speed preset; undefined means the encoder's profile default. */
  preset?: string | undefined;
  /** Frames between keyframes (`-g`); undefined means the codec's DEFAULT_KEYFRAME_INTERVAL. */
  keyframeInterval?: number | undefined;
  /** Scale down to at most this height, keeping the aspect ratio; never scales up. */
  maxHeight?: number | undefined;
  audio: AudioMode;
  /** DRM render node for VAAPI and QSV. */
  hwDevice: string;
}

/**
 * SVT-AV1 settings tuned on the real clip (BENCHMARKS.md, "Choosing the AV1 settings"): preset 9
 * with 5 hierarchical levels (32-frame mini-GOPs, which suit a picture that barely changes)
 * reaches today's HEVC fidelity at 90 % saved for about half of preset 8's CPU.
 */
const SVT_PRESET = '9';
const SVT_CRF = 37;
/** Extra SVT-AV1 parameters; otherwise its defaults (film grain synthesis off, PSNR tuning). */
const SVT_PARAMS: readonly string[] = ['hierarchical-levels=5'];

/**
 * Default quality per encoder and codec: ≈ equal fidelity across codecs on real footage (README,
 * "Choosing a codec", BENCHMARKS.md). Software AV1 was tuned on the real 10 fps outdoor clip to
 * keep at least x265 CRF 28's PSNR at no more CPU, and x264 CRF 27 is the first to match it (CRF
 * 23 was far above: SSIM 0.988 against 0.977, for twice the bytes); the hardware AV1 values are the vendors' scales
 * (QSV ICQ 1–51, VAAPI AV1 q-index 0–255, NVENC CQ 0–51) set near the HEVC defaults' fidelity,
 * untested on hardware here.
 */
export const DEFAULT_QUALITY: Record<Encoder, Record<Codec, number>> = {
  software: { av1: SVT_CRF, hevc: 28, h264: 27 },
  qsv: { av1: 28, hevc: 25, h264: 23 },
  vaapi: { av1: 120, hevc: 26, h264: 24 },
  nvenc: { av1: 30, hevc: 28, h264: 24 },
};

export const DEFAULT_PRESET: Record<Encoder, Record<Codec, string | undefined>> = {
  software: { av1: SVT_PRESET, hevc: 'medium', h264: 'medium' },
  qsv: { av1: 'medium', hevc: 'medium', h264: 'medium' },
  vaapi: { av1: undefined, hevc: undefined, h264: undefined },
  nvenc: { av1: 'p5', hevc: 'p5', h264: 'p5' },
};

/**
 * Frames between keyframes, per codec. A fixed camera's picture barely changes, so every keyframe
 * is mostly repeated bytes: on the real clip a 2-s interval cost +66 % size at the same CRF, and
 * SVT-AV1 with 500 frames was 4.6 % smaller than with 250 for 0.06 dB PSNR (BENCHMARKS.md). 500 frames
 * is 50 s at 10 fps, 20 s at 25 fps: a seek decodes at most that far. HEVC and H.264 keep their
 * encoders' own 250, today's measured defaults.
 */
export const DEFAULT_KEYFRAME_INTERVAL: Record<Codec, number> = { av1: 500, hevc: 250, h264: 250 };

/**
 * SVT-AV1 speed presets are numbers (0 slowest … 13 fastest). The x264-style names map onto them,
 * so one --preset (or the recorder's `veryfast` for live input) means the same whichever codec
 * `--codec auto` picks; `medium` is the tuned default.
 */
const SVT_NAMED_PRESETS: Readonly<Record<string, string>> = {
  placebo: '2',
  veryslow: '4',
  slower: '5',
  slow: '6',
  medium: SVT_PRESET,
  fast: '10',
  faster: '11',
  veryfast: '12',
  superfast: '13',
  ultrafast: '13',
};

export function svtPreset(preset: string): string {
  return SVT_NAMED_PRESETS[preset] ?? preset;
}

export function encoderName(encoder: Encoder, codec: Codec): string {
  switch (encoder) {
    case 'software':
      return codec === 'av1' ? 'libsvtav1' : codec === 'hevc' ? 'libx265' : 'libx264';
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

/** Options of the video codec. `keyframeSeconds`: the recorder's clock grid for clean cuts. */
function videoCodecArgs(profile: EncodingProfile, keyframeSeconds?: number): string[] {
  const name = encoderName(profile.encoder, profile.codec);
  const preset = profile.preset ?? DEFAULT_PRESET[profile.encoder][profile.codec];
  const q = String(profile.quality);
  const presetArgs = preset ? ['-preset', preset] : [];
  const gop = ['-g', String(profile.keyframeInterval ?? DEFAULT_KEYFRAME_INTERVAL[profile.codec])];
  // MP4 tag for HEVC that Apple players (Safari, iOS) need; AV1 is av01 by default.
  const tag = profile.codec === 'hevc' ? ['-tag:v', 'hvc1'] : [];
  switch (profile.encoder) {
    case 'software':
      if (profile.codec === 'av1') {
        // SVT-AV1 in ffmpeg 5.1 ignores -force_key_frames: the recorder's grid becomes its
        // keyframe interval in seconds instead (SVT's `keyint=Ns`).
        const params = [...SVT_PARAMS, ...(keyframeSeconds ? [`keyint=${keyframeSeconds}s`] : [])];
        return [
          '-c:v',
          name,
          ...(preset ? ['-preset', svtPreset(preset)] : []),
          '-crf',
          q,
          ...(keyframeSeconds ? [] : gop),
          ...(params.length ? ['-svtav1-params', params.join(':')] : []),
          // 8-bit 4:2:0: what browsers' and phones' hardware AV1 decoders are sure to take.
          '-pix_fmt',
          'yuv420p',
        ];
      }
      return profile.codec === 'hevc'
        ? // x265 writes its banner to stderr even at -v error unless told otherwise.
          [
            '-c:v',
            name,
            ...presetArgs,
            '-crf',
            q,
            ...gop,
            '-x265-params',
            'log-level=error',
            ...tag,
            '-pix_fmt',
            'yuv420p',
          ]
        : ['-c:v', name, ...presetArgs, '-crf', q, ...gop, '-pix_fmt', 'yuv420p'];
    case 'qsv':
      return ['-c:v', name, ...presetArgs, '-global_quality', q, ...gop, ...tag];
    case 'vaapi':
      // AV1's constant quality is a q-index (0–255) through the generic option; H.264/HEVC take -qp.
      return ['-c:v', name, profile.codec === 'av1' ? '-global_quality' : '-qp', q, ...gop, ...tag];
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
        ...gop,
        ...tag,
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

/** Where the transcode writes the clip's sampled pictures (media/frame-samples.ts): the transcoder reads fd 3. */
export const SAMPLES_PIPE = 'pipe:3';

/**
 * How every ffmpeg that writes an archive starts (the transcode and the stream copy): quiet but for
 * errors, overwriting its own temporary, and machine-readable progress on stdout (key=value blocks:
 * out_time_us, speed, progress=end) for the transcoder's progress and stall watchdog.
 */
export const ARCHIVE_RUN_PREAMBLE: readonly string[] = [
  '-hide_banner',
  '-nostdin',
  '-y',
  '-loglevel',
  'error',
  '-nostats',
  '-progress',
  'pipe:1',
];

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
    ...ARCHIVE_RUN_PREAMBLE,
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
    ...identityOutputArgs(identity),
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
  /** What the run should warn about (an AV1 request served with HEVC). */
  warnings: string[];
}

export type ProbeRunner = (args: string[]) => Promise<{ exitCode: number; stderr: string }>;

/** Order tried by --encoder auto: the Python archiver's QSV first, then other GPUs, then software. */
export const AUTO_ORDER: readonly Encoder[] = ['qsv', 'vaapi', 'nvenc', 'software'];

/** What a profile is made from; `codec` may still be `auto` before selection. */
export type ProfileBase<C extends CodecChoice = Codec> = Omit<
  EncodingProfile,
  'encoder' | 'quality' | 'codec'
> & { codec: C; quality?: number | undefined };

export function profileFor(encoder: Encoder, base: ProfileBase): EncodingProfile {
  return { ...base, encoder, quality: base.quality ?? DEFAULT_QUALITY[encoder][base.codec] };
}

/**
 * The (encoder, codec) pairs to probe, best first. `--codec auto`: on each encoder AV1 before HEVC,
 * and any GPU before software — a GPU's HEVC costs the CPU almost nothing, while software AV1
 * costs as much CPU as x265 (README, "Choosing a codec"). `--codec av1` tries AV1 on every encoder
 * before it settles for HEVC (an ffmpeg without an AV1 encoder, like the npm static build).
 */
export function codecCandidates(
  encoder: EncoderChoice,
  codec: CodecChoice,
): { encoder: Encoder; codec: Codec }[] {
  const encoders: readonly Encoder[] = encoder === 'auto' ? AUTO_ORDER : [encoder];
  switch (codec) {
    case 'auto':
      return encoders.flatMap((e) => [
        { encoder: e, codec: 'av1' as const },
        { encoder: e, codec: 'hevc' as const },
      ]);
    case 'av1':
      return [
        ...encoders.map((e) => ({ encoder: e, codec: 'av1' as const })),
        ...encoders.map((e) => ({ encoder: e, codec: 'hevc' as const })),
      ];
    default:
      return encoders.map((e) => ({ encoder: e, codec }));
  }
}

/**
 * Finds the encoder to use: tries codecCandidates in order and keeps the first that encodes a
 * frame. An explicit encoder is probed too, so a host without the hardware fails before any clip
 * is touched; an AV1 request that only HEVC can serve is kept with a warning, never failed.
 */
export async function selectEncoder(
  choice: EncoderChoice,
  base: ProfileBase<CodecChoice>,
  run: ProbeRunner,
  hasDevice: (device: string) => boolean,
): Promise<
  EncoderSelection | { profile: undefined; attempts: ProbeAttempt[]; warnings: string[] }
> {
  const attempts: ProbeAttempt[] = [];
  const warnings: string[] = [];
  for (const { encoder, codec } of codecCandidates(choice, base.codec)) {
    // A quality given for AV1 means nothing to HEVC, nor does an SVT-AV1 preset number; a named
    // preset (the recorder's `veryfast`) means the same to both.
    const fallingBack = base.codec === 'av1' && codec !== 'av1';
    // Software HEVC under `auto` means this ffmpeg has no AV1 encoder at all: worth a warning too.
    const noAv1 =
      fallingBack || (base.codec === 'auto' && encoder === 'software' && codec !== 'av1');
    const profile = profileFor(encoder, {
      ...base,
      codec,
      ...(fallingBack
        ? { quality: undefined, preset: /^\d+$/.test(base.preset ?? '') ? undefined : base.preset }
        : {}),
    });
    const name = encoderName(encoder, codec);
    if ((encoder === 'qsv' || encoder === 'vaapi') && !hasDevice(base.hwDevice)) {
      // One line per encoder, not per codec: both need the same render node.
      if (!attempts.some((a) => a.encoder === encoder))
        attempts.push({ encoder, name, ok: false, error: `no ${base.hwDevice}` });
      continue;
    }
    const result = await run(buildEncoderProbeArgs(profile));
    if (result.exitCode === 0) {
      attempts.push({ encoder, name, ok: true });
      if (noAv1) {
        const tried = attempts
          .filter((a) => !a.ok && a.name === encoderName(a.encoder, 'av1'))
          .map((a) => `${a.name}: ${a.error ?? 'failed'}`)
          .join('; ');
        warnings.push(
          `this ffmpeg cannot encode AV1 (${tried}): archiving as HEVC with ${name}; install ffmpeg with libsvtav1 (Debian 12 and later) for AV1`,
        );
      }
      return { profile, attempts, warnings };
    }
    attempts.push({
      encoder,
      name,
      ok: false,
      error: firstLine(result.stderr) || `exit code ${result.exitCode}`,
    });
  }
  return { profile: undefined, attempts, warnings };
}

/** One ffmpeg stderr line without its `[demuxer @ 0x55…]` prefix, and with `file` shortened. */
export function cleanFfmpegLine(line: string, file?: string): string {
  // SVT-AV1 prints its configuration banner to stderr whatever ffmpeg's log level: not an error.
  if (/^Svt\[info\]/.test(line)) return '';
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
export function videoEncodeParts(
  profile: EncodingProfile,
  /** A keyframe at least this often (seconds), for encoders that ignore -force_key_frames. */
  keyframeSeconds?: number,
): {
  input: string[];
  filter: string | undefined;
  codec: string[];
} {
  return {
    input: hardwareInputArgs(profile),
    filter: videoFilter(profile),
    codec: videoCodecArgs(profile, keyframeSeconds),
  };
}

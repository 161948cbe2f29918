import { describe, expect, it } from 'vitest';
import {
  buildEncoderProbeArgs,
  buildTranscodeArgs,
  cleanFfmpegLine,
  codecCandidates,
  DEFAULT_KEYFRAME_INTERVAL,
  DEFAULT_QUALITY,
  ENCODER_CHOICES,
  CODEC_CHOICES,
  firstLine,
  formatCommand,
  profileFor,
  selectEncoder,
  svtPreset,
  videoEncodeParts,
  type EncodingProfile,
} from '../../src/media/encoders.js';
import { parseCaps } from '../../src/media/toolchain.js';

const caps51 = parseCaps('ffmpeg version 5.1.9-0+deb12u1\nlibavformat    59. 27.100 / 59. 27.100');
const caps41 = parseCaps(
  'ffmpeg version N-47683-g0e8eb07980-static\nlibavformat    58. 24.100 / 58. 24.100',
);
const base = { codec: 'hevc' as const, audio: 'aac' as const, hwDevice: '/dev/dri/renderD128' };

const argAfter = (args: string[], flag: string): string | undefined => args[args.indexOf(flag) + 1];

describe('buildTranscodeArgs', () => {
  it('software HEVC: x265 quiet, hvc1 tag, audio kept, every frame kept, faststart, explicit mp4 muxer', () => {
    const args = buildTranscodeArgs(
      profileFor('software', base),
      '/in/a.mp4',
      '/out/.a.mp4.partial',
      caps51,
    );
    expect(argAfter(args, '-c:v')).toBe('libx265');
    expect(argAfter(args, '-crf')).toBe('28');
    expect(argAfter(args, '-x265-params')).toBe('log-level=error');
    expect(argAfter(args, '-tag:v')).toBe('hvc1');
    expect(argAfter(args, '-c:a')).toBe('aac');
    expect(argAfter(args, '-fps_mode')).toBe('passthrough');
    expect(argAfter(args, '-progress')).toBe('pipe:1');
    expect(argAfter(args, '-f')).toBe('mp4');
    expect(argAfter(args, 'mp4')).toBe('/out/.a.mp4.partial');
    expect(argAfter(args, '-i')).toBe('/in/a.mp4');
    // The clip's identity goes into the archive; its sampled pictures to fd 3.
    expect(argAfter(args, '-metadata')).toMatch(/^camera_archiver_source=v1;size=/);
    expect(argAfter(args, '-movflags')).toBe('+faststart+use_metadata_tags');
    expect(args.at(-1)).toBe('pipe:3');
    const withId = buildTranscodeArgs(
      profileFor('software', base),
      '/in/a.mp4',
      '/o',
      caps51,
      'v1;x',
    );
    expect(argAfter(withId, '-metadata')).toBe('camera_archiver_source=v1;x');
  });

  it('older ffmpeg (npm static build) gets -vsync instead of -fps_mode and no -stats_period', () => {
    const args = buildTranscodeArgs(profileFor('software', base), '/in/a.mp4', '/o', caps41);
    expect(args).not.toContain('-fps_mode');
    expect(argAfter(args, '-vsync')).toBe('passthrough');
    expect(args).not.toContain('-stats_period');
  });

  it('QSV follows the Python archiver’s model: decode and scale on the GPU', () => {
    const p: EncodingProfile = { ...profileFor('qsv', { ...base, codec: 'h264' }), maxHeight: 768 };
    const args = buildTranscodeArgs(p, '/in/a.mp4', '/o', caps51);
    expect(args.slice(args.indexOf('-hwaccel'), args.indexOf('-i'))).toEqual([
      '-hwaccel',
      'qsv',
      '-hwaccel_output_format',
      'qsv',
    ]);
    expect(argAfter(args, '-c:v')).toBe('h264_qsv');
    expect(argAfter(args, '-global_quality')).toBe('23');
    expect(argAfter(args, '-vf')).toBe("scale_qsv=w=-1:h='min(ih,768)'");
  });

  it('VAAPI uploads frames to the render node; NVENC uses constant quality', () => {
    const vaapi = buildTranscodeArgs(profileFor('vaapi', base), '/in', '/o', caps51);
    expect(argAfter(vaapi, '-vaapi_device')).toBe('/dev/dri/renderD128');
    expect(argAfter(vaapi, '-vf')).toBe('format=nv12,hwupload');
    expect(argAfter(vaapi, '-c:v')).toBe('hevc_vaapi');
    const nvenc = buildTranscodeArgs(profileFor('nvenc', base), '/in', '/o', caps51);
    expect(argAfter(nvenc, '-c:v')).toBe('hevc_nvenc');
    expect(argAfter(nvenc, '-cq')).toBe('28');
    expect(argAfter(nvenc, '-b:v')).toBe('0');
  });

  it('scaling keeps the aspect ratio and never scales up; audio can be dropped', () => {
    const args = buildTranscodeArgs(
      { ...profileFor('software', base), maxHeight: 720, audio: 'none' },
      '/in',
      '/o',
      caps51,
    );
    expect(argAfter(args, '-vf')).toBe("scale=-2:'min(ih,720)'");
    expect(args).toContain('-an');
    expect(args).not.toContain('0:a?');
  });

  it('file names are arguments, never shell text; display quoting is reversible', () => {
    const weird = "/cam/2025/01/15/-rf $(rm -rf ~) 'q'_20250115120000.mp4";
    const args = buildTranscodeArgs(profileFor('software', base), weird, '/o', caps51);
    expect(argAfter(args, '-i')).toBe(weird);
    expect(formatCommand('ffmpeg', ['-i', weird])).toBe(
      `ffmpeg -i '/cam/2025/01/15/-rf $(rm -rf ~) '\\''q'\\''_20250115120000.mp4'`,
    );
  });
});

describe('selectEncoder', () => {
  it('auto takes the first encoder whose one-frame test encode exits 0', async () => {
    const tried: string[] = [];
    const run = async (args: string[]) => {
      const codec = argAfter(args, '-c:v') ?? '';
      tried.push(codec);
      return codec === 'hevc_vaapi'
        ? { exitCode: 0, stderr: '' }
        : { exitCode: 1, stderr: `[${codec} @ 0x1] Cannot init\nError` };
    };
    const sel = await selectEncoder('auto', base, run, () => true);
    expect(sel.profile?.encoder).toBe('vaapi');
    expect(tried).toEqual(['hevc_qsv', 'hevc_vaapi']);
    expect(sel.attempts[0]).toMatchObject({ name: 'hevc_qsv', ok: false, error: 'Cannot init' });
  });

  it('skips QSV and VAAPI without a render node and falls back to software', async () => {
    const run = async (args: string[]) => ({
      exitCode: argAfter(args, '-c:v') === 'libx265' ? 0 : 1,
      stderr: 'no',
    });
    const sel = await selectEncoder('auto', base, run, () => false);
    expect(sel.profile?.encoder).toBe('software');
    expect(sel.attempts.map((a) => a.error ?? 'ok')).toEqual([
      'no /dev/dri/renderD128',
      'no /dev/dri/renderD128',
      'no',
      'ok',
    ]);
  });

  it('an explicit encoder that does not work is reported, not silently replaced', async () => {
    const sel = await selectEncoder(
      'qsv',
      base,
      async () => ({ exitCode: 1, stderr: 'unsupported' }),
      () => true,
    );
    expect(sel.profile).toBeUndefined();
    expect(sel.attempts).toHaveLength(1);
  });

  it('probes with the real codec options on a hardware upload path', () => {
    const args = buildEncoderProbeArgs(profileFor('qsv', base));
    expect(args).toContain('-init_hw_device');
    expect(argAfter(args, '-frames:v')).toBe('1');
    expect(argAfter(args, '-global_quality')).toBe('25');
    expect(args.slice(-3)).toEqual(['-f', 'null', '-']);
    expect(argAfter(args, '-i')).toBe('testsrc2=size=320x240:rate=25');
  });

  it('probes software encoders on one small frame, with the real codec options', () => {
    const args = buildEncoderProbeArgs(profileFor('software', base));
    expect(argAfter(args, '-i')).toBe('color=size=64x64:rate=25');
    expect(argAfter(args, '-c:v')).toBe('libx265');
    expect(argAfter(args, '-crf')).toBe('28');
  });
});

describe('AV1 profiles', () => {
  const av1 = { ...base, codec: 'av1' as const };

  it('software AV1: SVT-AV1 with the tuned preset, CRF and keyframe interval, 8-bit 4:2:0, av01 (no hvc1 tag)', () => {
    const args = buildTranscodeArgs(profileFor('software', av1), '/in/a.mp4', '/o', caps51);
    expect(argAfter(args, '-c:v')).toBe('libsvtav1');
    expect(argAfter(args, '-crf')).toBe(String(DEFAULT_QUALITY.software.av1));
    expect(argAfter(args, '-preset')).toMatch(/^\d+$/);
    expect(argAfter(args, '-g')).toBe(String(DEFAULT_KEYFRAME_INTERVAL.av1));
    expect(argAfter(args, '-pix_fmt')).toBe('yuv420p');
    expect(args).not.toContain('-tag:v');
    // Playback in browsers: the index at the front, MP4 muxer.
    expect(argAfter(args, '-movflags')).toBe('+faststart+use_metadata_tags');
    expect(argAfter(args, '-f')).toBe('mp4');
  });

  it('hardware AV1: av1_qsv, av1_vaapi and av1_nvenc in their own quality scales, never tagged hvc1', () => {
    const qsv = buildTranscodeArgs(profileFor('qsv', av1), '/in', '/o', caps51);
    expect(argAfter(qsv, '-c:v')).toBe('av1_qsv');
    expect(argAfter(qsv, '-global_quality')).toBe(String(DEFAULT_QUALITY.qsv.av1));
    const vaapi = buildTranscodeArgs(profileFor('vaapi', av1), '/in', '/o', caps51);
    expect(argAfter(vaapi, '-c:v')).toBe('av1_vaapi');
    expect(argAfter(vaapi, '-global_quality')).toBe(String(DEFAULT_QUALITY.vaapi.av1));
    expect(vaapi).not.toContain('-qp');
    const nvenc = buildTranscodeArgs(profileFor('nvenc', av1), '/in', '/o', caps51);
    expect(argAfter(nvenc, '-c:v')).toBe('av1_nvenc');
    expect(argAfter(nvenc, '-cq')).toBe(String(DEFAULT_QUALITY.nvenc.av1));
    for (const args of [qsv, vaapi, nvenc]) expect(args).not.toContain('hvc1');
  });

  it('every encoder and codec takes the keyframe interval as -g, and a preset where it has them', () => {
    for (const encoder of ENCODER_CHOICES.filter((e) => e !== 'auto')) {
      for (const codec of CODEC_CHOICES.filter((c) => c !== 'auto')) {
        const p = { ...profileFor(encoder, { ...base, codec }), keyframeInterval: 600 };
        const args = buildTranscodeArgs(p, '/in', '/o', caps51);
        expect(argAfter(args, '-g'), `${encoder} ${codec}`).toBe('600');
        expect(
          args.filter((a) => a === '-c:v'),
          `${encoder} ${codec}`,
        ).toHaveLength(1);
      }
    }
  });

  it('the recorder’s keyframe grid: SVT-AV1 (which ignores -force_key_frames) gets keyint in seconds', () => {
    const svt = videoEncodeParts(profileFor('software', av1), 2).codec;
    expect(argAfter(svt, '-svtav1-params')).toMatch(/(^|:)keyint=2s$/);
    expect(svt).not.toContain('-g');
    const x265 = videoEncodeParts(profileFor('software', base), 2).codec;
    expect(argAfter(x265, '-g')).toBe(String(DEFAULT_KEYFRAME_INTERVAL.hevc));
  });

  it('x264-style preset names map onto SVT-AV1 numbers; numbers pass through', () => {
    expect(svtPreset('veryfast')).toBe('12');
    expect(svtPreset('slow')).toBe('6');
    expect(svtPreset('medium')).toBe(
      argAfter(buildTranscodeArgs(profileFor('software', av1), '/i', '/o', caps51), '-preset'),
    );
    expect(svtPreset('5')).toBe('5');
    const live = buildTranscodeArgs(
      { ...profileFor('software', av1), preset: 'veryfast' },
      '/i',
      '/o',
      caps51,
    );
    expect(argAfter(live, '-preset')).toBe('12');
  });

  it('probes SVT-AV1 on one small frame with its real options', () => {
    const args = buildEncoderProbeArgs(profileFor('software', av1));
    expect(argAfter(args, '-i')).toBe('color=size=64x64:rate=25');
    expect(argAfter(args, '-c:v')).toBe('libsvtav1');
    expect(argAfter(args, '-frames:v')).toBe('1');
  });

  it('SVT-AV1’s stderr banner is not taken for an error', () => {
    const stderr =
      'Svt[info]: -------------------------------------------\nSvt[info]: SVT [version]: SVT-AV1 Encoder Lib v1.4.1\n[libsvtav1 @ 0x55d] Error setting encoder parameters\n';
    expect(firstLine(stderr)).toBe('Error setting encoder parameters');
    expect(cleanFfmpegLine('Svt[info]: SVT [config]: preset 8')).toBe('');
  });
});

describe('codec selection', () => {
  const names = (list: { encoder: string; codec: string }[]): string[] =>
    list.map((c) => `${c.encoder}/${c.codec}`);

  it('auto: each GPU’s AV1 then its HEVC, software AV1 last but one', () => {
    expect(names(codecCandidates('auto', 'auto'))).toEqual([
      'qsv/av1',
      'qsv/hevc',
      'vaapi/av1',
      'vaapi/hevc',
      'nvenc/av1',
      'nvenc/hevc',
      'software/av1',
      'software/hevc',
    ]);
    expect(names(codecCandidates('software', 'auto'))).toEqual(['software/av1', 'software/hevc']);
  });

  it('--codec av1 tries AV1 on every encoder before HEVC; hevc and h264 stay what they are', () => {
    expect(names(codecCandidates('auto', 'av1'))).toEqual([
      'qsv/av1',
      'vaapi/av1',
      'nvenc/av1',
      'software/av1',
      'qsv/hevc',
      'vaapi/hevc',
      'nvenc/hevc',
      'software/hevc',
    ]);
    expect(names(codecCandidates('nvenc', 'h264'))).toEqual(['nvenc/h264']);
    expect(names(codecCandidates('auto', 'hevc'))).toEqual([
      'qsv/hevc',
      'vaapi/hevc',
      'nvenc/hevc',
      'software/hevc',
    ]);
  });

  /** A fake host: the encoders (ffmpeg names) whose one-frame test encode succeeds. */
  const host = (working: string[]) => {
    const tried: string[] = [];
    const run = async (args: string[]) => {
      const name = argAfter(args, '-c:v') ?? '';
      tried.push(name);
      return working.includes(name)
        ? { exitCode: 0, stderr: '' }
        : { exitCode: 1, stderr: `Unknown encoder '${name}'` };
    };
    return { tried, run };
  };

  const cases: { host: string; working: string[]; device: boolean; chosen: string }[] = [
    {
      host: 'software only',
      working: ['libsvtav1', 'libx265', 'libx264'],
      device: false,
      chosen: 'libsvtav1',
    },
    {
      host: 'QSV without AV1',
      working: ['hevc_qsv', 'libsvtav1', 'libx265'],
      device: true,
      chosen: 'hevc_qsv',
    },
    {
      host: 'QSV with AV1',
      working: ['av1_qsv', 'hevc_qsv', 'libsvtav1', 'libx265'],
      device: true,
      chosen: 'av1_qsv',
    },
    {
      host: 'VAAPI with HEVC only',
      working: ['hevc_vaapi', 'libsvtav1', 'libx265'],
      device: true,
      chosen: 'hevc_vaapi',
    },
    {
      host: 'NVENC with AV1, no render node',
      working: ['av1_nvenc', 'hevc_nvenc', 'libsvtav1'],
      device: false,
      chosen: 'av1_nvenc',
    },
  ];
  for (const c of cases) {
    it(`--codec auto on a ${c.host} host picks ${c.chosen}, without a warning`, async () => {
      const { run } = host(c.working);
      const sel = await selectEncoder('auto', { ...base, codec: 'auto' }, run, () => c.device);
      expect(sel.profile && `${sel.profile.encoder}:${sel.profile.codec}`).toBeDefined();
      expect(sel.attempts.at(-1)).toMatchObject({ name: c.chosen, ok: true });
      expect(sel.warnings).toEqual([]);
    });
  }

  it('an ffmpeg without AV1 (the npm static build): auto and av1 fall back to HEVC with a warning', async () => {
    for (const codec of ['auto', 'av1'] as const) {
      const { run } = host(['libx265', 'libx264']);
      const sel = await selectEncoder(
        'software',
        { ...base, codec, quality: 40, preset: '8' },
        run,
        () => false,
      );
      expect(sel.profile?.codec).toBe('hevc');
      expect(sel.warnings).toHaveLength(1);
      expect(sel.warnings[0]).toMatch(
        /cannot encode AV1 \(libsvtav1: Unknown encoder 'libsvtav1'\).*libx265/,
      );
      if (codec === 'av1') {
        // AV1's CRF and an SVT preset number mean nothing to x265: its defaults are used.
        expect(sel.profile?.quality).toBe(DEFAULT_QUALITY.software.hevc);
        expect(sel.profile?.preset).toBeUndefined();
      }
    }
  });

  it('a named preset (the recorder’s veryfast) survives the fall back to HEVC', async () => {
    const { run } = host(['libx265']);
    const sel = await selectEncoder(
      'software',
      { ...base, codec: 'av1', preset: 'veryfast' },
      run,
      () => false,
    );
    expect(sel.profile).toMatchObject({ codec: 'hevc', preset: 'veryfast' });
  });

  it('an explicit hardware encoder without AV1 serves --codec av1 with its HEVC, never with software', async () => {
    const { run, tried } = host(['hevc_vaapi', 'libsvtav1']);
    const sel = await selectEncoder('vaapi', { ...base, codec: 'av1' }, run, () => true);
    expect(sel.profile).toMatchObject({ encoder: 'vaapi', codec: 'hevc' });
    expect(tried).toEqual(['av1_vaapi', 'hevc_vaapi']);
    expect(sel.warnings[0]).toMatch(/av1_vaapi/);
  });

  it('no render node: one line per GPU, not one per codec', async () => {
    const { run } = host(['libsvtav1']);
    const sel = await selectEncoder('auto', { ...base, codec: 'auto' }, run, () => false);
    expect(sel.attempts.map((a) => a.name)).toEqual([
      'av1_qsv',
      'av1_vaapi',
      'av1_nvenc',
      'hevc_nvenc',
      'libsvtav1',
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import {
  buildEncoderProbeArgs,
  buildTranscodeArgs,
  formatCommand,
  profileFor,
  selectEncoder,
  type EncodingProfile,
} from '../../src/encoders.js';
import { parseCaps } from '../../src/toolchain.js';

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

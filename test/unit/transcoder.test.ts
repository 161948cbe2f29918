import { describe, expect, it } from 'vitest';
import { formatIdentity, parseIdentity } from '../../src/media/identity.js';
import type { MediaInfo, StreamInfo } from '../../src/media/probe.js';
import { samplesProblem, SAMPLE_BYTES } from '../../src/media/frame-samples.js';
import { parseProbe } from '../../src/media/probe.js';
import {
  applyProgressLine,
  explainFailure,
  progressFromBlock,
} from '../../src/archive/transcoder.js';
import {
  compareProbes,
  durationTolerance,
  expectedArchiveSize,
  identityProblem,
} from '../../src/archive/verification.js';
import { parseCaps } from '../../src/media/toolchain.js';

describe('ffmpeg -progress parsing', () => {
  it('reads blocks, trims padded values, treats out_time_us as microseconds', () => {
    const block = new Map<string, string>();
    const lines = [
      'frame=250',
      'bitrate= 494.9kbits/s',
      'out_time_us=5000000',
      'out_time_ms=5000000',
      'speed= 10.2x',
      'progress=continue',
    ];
    let done = false;
    for (const l of lines) done = applyProgressLine(block, l);
    expect(done).toBe(true);
    expect(progressFromBlock(block, 10)).toEqual({ fraction: 0.5, outTimeSeconds: 5, speed: 10.2 });
  });

  it('N/A speed and progress=end', () => {
    const block = new Map([
      ['out_time_us', 'N/A'],
      ['speed', 'N/A'],
      ['progress', 'end'],
    ]);
    expect(progressFromBlock(block, 10)).toEqual({
      fraction: 1,
      outTimeSeconds: 0,
      speed: undefined,
    });
  });

  it('keeps the lines that explain a failure, without addresses or repeats', () => {
    const stderr =
      '[libx265 @ 0x55d] some warning\n/in/a.mp4: No space left on device\n/in/a.mp4: No space left on device\nConversion failed!\n';
    expect(explainFailure(stderr, '/in/a.mp4')).toBe(
      'some warning / No space left on device / Conversion failed!',
    );
  });
});

describe('probe parsing and verification rules', () => {
  const source: MediaInfo = parseProbe(
    JSON.stringify({
      format: { duration: '10.000000', format_name: 'mov,mp4' },
      streams: [
        {
          index: 0,
          codec_type: 'video',
          codec_name: 'h264',
          avg_frame_rate: '25/1',
          nb_frames: '250',
          nb_read_packets: '250',
        },
        { index: 1, codec_type: 'audio', codec_name: 'aac', nb_read_packets: '469' },
      ],
    }),
  );
  const archive = (
    video: Record<string, string | number>,
    duration = '10.01',
    audio = true,
  ): MediaInfo =>
    parseProbe(
      JSON.stringify({
        format: { duration },
        streams: [
          {
            index: 0,
            codec_type: 'video',
            codec_name: 'hevc',
            nb_frames: '250',
            nb_read_packets: '250',
            ...video,
          },
          ...(audio ? [{ index: 1, codec_type: 'audio', codec_name: 'aac' }] : []),
        ],
      }),
    );
  const identity = {
    relPath: '2025/01/15/a_20250115120000.mp4',
    size: 1,
    mtimeMs: 0,
    sha256: 'a'.repeat(64),
  };
  const exp = {
    source,
    videoCodec: 'hevc',
    requireAudio: true,
    expectedFrames: 250,
    clipSamples: new Uint8Array(0),
    exactSampleCount: true,
    identity,
    requireIdentity: true,
  };

  it('accepts a faithful archive', () => {
    expect(source.video?.fps).toBe(25);
    expect(compareProbes(archive({}), exp)).toBeUndefined();
  });

  it('rejects truncation that the header hides (faststart moov lists all frames)', () => {
    expect(compareProbes(archive({ nb_read_packets: '175' }), exp)).toMatch(/truncated/);
  });

  it('rejects a duration outside the tolerance, a lost audio track, a wrong codec, missing frames', () => {
    expect(durationTolerance(source)).toBe(0.5);
    expect(compareProbes(archive({}, '9.2'), exp)).toMatch(/lasts 9.200s/);
    expect(compareProbes(archive({}, '10.01', false), exp)).toMatch(/audio/);
    expect(compareProbes(archive({ codec_name: 'h264' }), exp)).toMatch(/codec/);
    expect(compareProbes(archive({ nb_frames: '240', nb_read_packets: '240' }), exp)).toMatch(
      /240 video frames/,
    );
  });

  it('counts the frames the clip presents, not its packets (an edit list hides some)', () => {
    const edited = { ...exp, expectedFrames: 240 };
    expect(
      compareProbes(archive({ nb_frames: '240', nb_read_packets: '240' }), edited),
    ).toBeUndefined();
  });

  it('rejects a downscaled archive; an existing one may be smaller, but more than half', () => {
    const sized = (w: number, h: number): MediaInfo => archive({ width: w, height: h });
    const src: MediaInfo = {
      ...source,
      video: { ...(source.video as StreamInfo), width: 768, height: 576 },
    };
    const own = { ...exp, source: src, expectedSize: { width: 768, height: 576 } };
    expect(compareProbes(sized(768, 576), own)).toBeUndefined();
    expect(compareProbes(sized(160, 120), own)).toMatch(/160x120, expected 768x576/);
    const existing = { ...exp, source: src, expectedSize: undefined };
    expect(compareProbes(sized(640, 480), existing)).toBeUndefined();
    expect(compareProbes(sized(160, 120), existing)).toMatch(/160x120/);
    expect(compareProbes(sized(384, 288), existing)).toMatch(/384x288/);
  });

  it("an archive recording another clip is not this clip's; one recording none may still be adopted", () => {
    const other = formatIdentity({ ...identity, sha256: 'b'.repeat(64), relPath: 'x/y.mp4' });
    const withTag = (tag: string | undefined): MediaInfo => ({ ...archive({}), identityTag: tag });
    expect(identityProblem(withTag(formatIdentity(identity)), exp)).toBeUndefined();
    expect(identityProblem(withTag(other), exp)).toMatch(/another clip \(x\/y.mp4/);
    expect(identityProblem(withTag(undefined), exp)).toMatch(/does not record/);
    expect(identityProblem(withTag(undefined), { ...exp, requireIdentity: false })).toBeUndefined();
    // Moved or touched: the same footage.
    const moved = formatIdentity({ ...identity, relPath: 'elsewhere.mp4', mtimeMs: 5 });
    expect(identityProblem(withTag(moved), exp)).toBeUndefined();
    expect(parseIdentity(formatIdentity(identity))).toEqual(identity);
    expect(parseIdentity('v9;size=1')).toBeUndefined();
  });

  it('legacy archives are checked for duration and readability only', () => {
    const legacy = archive(
      { codec_name: 'h264', nb_frames: '240', nb_read_packets: '240' },
      '10.01',
      false,
    );
    expect(
      compareProbes(legacy, {
        ...exp,
        videoCodec: undefined,
        requireAudio: false,
        expectedFrames: undefined,
      }),
    ).toBeUndefined();
  });

  it('MJPEG video is video; only an attached picture is cover art', () => {
    const probe = (attached: number): MediaInfo =>
      parseProbe(
        JSON.stringify({
          format: { duration: '2' },
          streams: [
            {
              index: 0,
              codec_type: 'video',
              codec_name: 'mjpeg',
              disposition: { attached_pic: attached },
            },
          ],
        }),
      );
    expect(probe(0).video?.codec).toBe('mjpeg');
    expect(probe(1).video).toBeUndefined();
    // A JPEG named .mp4 opens through an image demuxer: not video.
    const still = parseProbe(
      JSON.stringify({
        format: { duration: '0.04', format_name: 'jpeg_pipe' },
        streams: [{ index: 0, codec_type: 'video', codec_name: 'mjpeg' }],
      }),
    );
    expect(still.video).toBeUndefined();
  });

  it('expected archive size follows --max-height with an even width, never scaling up', () => {
    const src: MediaInfo = {
      ...source,
      video: { ...(source.video as StreamInfo), width: 1920, height: 1080 },
    };
    expect(expectedArchiveSize(src, undefined)).toEqual({ width: 1920, height: 1080 });
    expect(expectedArchiveSize(src, 720)).toEqual({ width: 1280, height: 720 });
    expect(expectedArchiveSize(src, 2160)).toEqual({ width: 1920, height: 1080 });
  });

  it('sampled pictures: identical pass, black or a count mismatch fail', () => {
    const clip = new Uint8Array(SAMPLE_BYTES * 3).map((_, i) => (i * 7) % 251);
    expect(samplesProblem(clip, clip, true)).toBeUndefined();
    expect(samplesProblem(clip, new Uint8Array(clip.length), true)).toMatch(/PSNR/);
    expect(samplesProblem(clip, clip.subarray(0, SAMPLE_BYTES * 2), true)).toMatch(/2 sampled/);
    expect(samplesProblem(clip, clip.subarray(0, SAMPLE_BYTES * 2), false)).toBeUndefined();
    expect(samplesProblem(new Uint8Array(0), clip, true)).toMatch(/no pictures/);
  });

  it('reads ffmpeg capabilities from -version', () => {
    expect(parseCaps('ffmpeg version 7.1\nlibavformat    61.  7.100').hasFpsMode).toBe(true);
    expect(parseCaps('ffmpeg version 4.4\nlibavformat    58. 76.100').hasFpsMode).toBe(false);
    expect(parseCaps('ffmpeg version 4.4\nlibavformat    58. 76.100').hasStatsPeriod).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import type { MediaInfo } from '../../src/media-probe.js';
import { parseProbe } from '../../src/media-probe.js';
import { applyProgressLine, explainFailure, progressFromBlock } from '../../src/transcoder.js';
import { compareProbes, durationTolerance } from '../../src/verification.js';
import { parseCaps } from '../../src/toolchain.js';

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
  const archive = (video: Record<string, string>, duration = '10.01', audio = true): MediaInfo =>
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
  const exp = { source, videoCodec: 'hevc', requireAudio: true, samePacketCount: true };

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

  it('legacy archives are checked for duration and readability only', () => {
    const legacy = archive(
      { codec_name: 'h264', nb_frames: '240', nb_read_packets: '240' },
      '10.01',
      false,
    );
    expect(
      compareProbes(legacy, { source, requireAudio: false, samePacketCount: false }),
    ).toBeUndefined();
  });

  it('reads ffmpeg capabilities from -version', () => {
    expect(parseCaps('ffmpeg version 7.1\nlibavformat    61.  7.100').hasFpsMode).toBe(true);
    expect(parseCaps('ffmpeg version 4.4\nlibavformat    58. 76.100').hasFpsMode).toBe(false);
    expect(parseCaps('ffmpeg version 4.4\nlibavformat    58. 76.100').hasStatsPeriod).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.js';
import {
  buildStreamCopyArgs,
  describeStreamCopy,
  exceedsArchiveRatio,
  parseMaxArchiveRatio,
} from '../../src/archive/stream-copy.js';
import { parseCaps } from '../../src/media/toolchain.js';
import { seededRandom } from '../helpers/random.js';

const caps51 = parseCaps('ffmpeg version 5.1.9\nlibavformat    59. 27.100 / 59. 27.100');
const caps41 = parseCaps('ffmpeg version N-47683-static\nlibavformat    58. 24.100 / 58. 24.100');
const argAfter = (args: string[], flag: string): string | undefined => args[args.indexOf(flag) + 1];

describe('the never-larger archive', () => {
  it('an archive is too large exactly when it is above the share of its clip (seeded)', () => {
    const seed = Number(process.env.TEST_SEED ?? Date.now() % 1e9);
    console.log(`stream-copy ratio seed ${seed}`);
    const random = seededRandom(seed);
    for (let i = 0; i < 2000; i++) {
      const clip = Math.floor(random() * 1e9);
      const ratio = 0.01 + random() * 2;
      const archive = Math.floor(random() * 2e9);
      const expected = clip > 0 && archive > clip * ratio;
      expect(
        exceedsArchiveRatio(archive, clip, ratio),
        `seed ${seed}: ${archive}/${clip}@${ratio}`,
      ).toBe(expected);
    }
    // Equal size is not larger; an empty clip (nothing to compare with) never triggers a copy.
    expect(exceedsArchiveRatio(1000, 1000, 1)).toBe(false);
    expect(exceedsArchiveRatio(1001, 1000, 1)).toBe(true);
    expect(exceedsArchiveRatio(5, 0, 1)).toBe(false);
  });

  it('--max-archive-ratio takes a number above 0; anything else is a usage error', () => {
    expect(parseMaxArchiveRatio(undefined)).toBe(1);
    expect(parseMaxArchiveRatio(0.8)).toBe(0.8);
    expect(parseMaxArchiveRatio('1.5')).toBe(1.5);
    for (const bad of [0, -1, Number.NaN, 'big', Infinity])
      expect(() => parseMaxArchiveRatio(bad)).toThrow(UsageError);
  });

  it('the copy keeps every video packet unchanged, audio as the profile says, index first', () => {
    const args = buildStreamCopyArgs(
      '/in/a.mp4',
      '/out/.a.partial',
      { videoCodec: 'h264', audio: 'aac', identity: 'v1;size=1' },
      caps51,
    );
    expect(argAfter(args, '-c:v')).toBe('copy');
    expect(argAfter(args, '-i')).toBe('/in/a.mp4');
    expect(argAfter(args, '-c:a')).toBe('aac');
    expect(argAfter(args, '-fps_mode')).toBe('passthrough');
    expect(argAfter(args, '-movflags')).toBe('+faststart+use_metadata_tags');
    // The copy records its clip like any archive (identity.ts).
    expect(argAfter(args, '-metadata')).toBe('camera_archiver_source=v1;size=1');
    expect(argAfter(args, '-f')).toBe('mp4');
    expect(args.at(-1)).toBe('/out/.a.partial');
    expect(args).not.toContain('-tag:v');
    const hevc = buildStreamCopyArgs(
      '/i',
      '/o',
      { videoCodec: 'hevc', audio: 'none', identity: 'v1;size=1' },
      caps41,
    );
    expect(argAfter(hevc, '-tag:v')).toBe('hvc1');
    expect(hevc).toContain('-an');
    expect(argAfter(hevc, '-vsync')).toBe('passthrough');
  });

  it('the log says what was kept and why', () => {
    expect(
      describeStreamCopy({
        encoder: 'libx265',
        encodedBytes: 7700,
        clipBytes: 7500,
        videoCodec: 'h264',
      }),
    ).toBe("kept the clip's own h264 video: libx265 made it 3% larger than the clip");
    expect(
      describeStreamCopy({
        encoder: 'libsvtav1',
        encodedBytes: 900,
        clipBytes: 1000,
        videoCodec: 'hevc',
      }),
    ).toMatch(/10% smaller than, but above the limit of, the clip/);
  });
});

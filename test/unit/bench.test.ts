import { describe, expect, it } from 'vitest';
import {
  median,
  parseCpuSeconds,
  parseMaxRssKb,
  parsePsnrY,
  parseSsim,
  ratio,
  shellLine,
} from '../../bench/lib.mjs';

/** The tail of a real `/usr/bin/time -v` report. */
const TIME_REPORT = `
	Command being timed: "find /tmp/t -type f"
	User time (seconds): 0.10
	System time (seconds): 0.38
	Percent of CPU this job got: 99%
	Elapsed (wall clock) time (h:mm:ss or m:ss): 0:00.48
	Maximum resident set size (kbytes): 3056
	Exit status: 0
`;

describe('benchmark helpers', () => {
  it('read peak memory and CPU seconds from GNU time', () => {
    expect(parseMaxRssKb(TIME_REPORT)).toBe(3056);
    expect(parseCpuSeconds(TIME_REPORT)).toBeCloseTo(0.48, 6);
    expect(parseMaxRssKb('no report')).toBeUndefined();
    expect(parseCpuSeconds('no report')).toBeUndefined();
  });

  it("read the last overall SSIM of ffmpeg's ssim filter", () => {
    const stderr =
      '[Parsed_ssim_0 @ 0x1] SSIM Y:0.971 (15.4) U:0.98 V:0.98 All:0.970001 (15.2)\n' +
      '[Parsed_ssim_0 @ 0x1] SSIM Y:0.981 (17.2) U:0.99 V:0.99 All:0.981234 (17.3)\n';
    expect(parseSsim(stderr)).toBe(0.981234);
    expect(parseSsim('')).toBeUndefined();
  });

  it("read the luma PSNR of ffmpeg's psnr filter summary", () => {
    const stderr =
      '[Parsed_ssim_2 @ 0x1] SSIM Y:0.97 (15.4) U:0.98 V:0.98 All:0.977009 (16.4)\n' +
      '[Parsed_psnr_3 @ 0x2] PSNR y:40.424726 u:45.1 v:45.9 average:41.5 min:36.1 max:47.0\n';
    expect(parsePsnrY(stderr)).toBeCloseTo(40.424726, 6);
    expect(parsePsnrY('')).toBeUndefined();
  });

  it('median, ratio and shell quoting', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBeNaN();
    expect(ratio(1.5, 0.5)).toBe(3);
    expect(ratio(1, 0)).toBeNaN();
    expect(shellLine(['ffmpeg', '-i', "it's here.mp4", '-map', '0:a?'])).toBe(
      "ffmpeg -i 'it'\\''s here.mp4' -map '0:a?'",
    );
  });
});

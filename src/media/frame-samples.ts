/**
 * Content check: small grey pictures sampled from the clip and from its archive, compared by PSNR.
 *
 * Structure checks (duration, frame counts, a clean decode) pass a black, frozen, downscaled or
 * wrong-clip archive of the right length. Comparing pictures catches them. The clip's samples come
 * from the transcode itself (a second output of the same ffmpeg, so the clip is decoded once);
 * the archive's from the full decode that verification runs anyway (BENCHMARKS.md: Verification).
 *
 * Frames are chosen by time, not by index: the first frame, then each frame at least
 * SAMPLE_INTERVAL_S after the previous pick. Only time differences count, so an archive whose
 * timestamps start at 0 while the clip's start later picks the same frames, and the Python
 * archiver's resampled archives pick frames at nearly the same instants. The interval is not a
 * multiple of common frame durations, so rounding between time bases cannot flip a pick.
 */

export const SAMPLE_WIDTH = 64;
export const SAMPLE_HEIGHT = 48;
export const SAMPLE_BYTES = SAMPLE_WIDTH * SAMPLE_HEIGHT;
export const SAMPLE_INTERVAL_S = 1.9873;

/**
 * Minimum PSNR (dB) of every sample pair. Calibrated on the real clip (BENCHMARKS.md:
 * Verification): a correct archive scores 51.5 dB at its worst sample at this size, another part
 * of the same fixed camera at most 26 dB, black at most 6 dB, a frozen first picture 20.6 dB.
 */
export const MIN_SAMPLE_PSNR_DB = 35;

/**
 * The filter that turns decoded video into samples. `hwFrames`: the decoder leaves frames in GPU
 * memory (QSV, CUDA), so the picked ones are downloaded first.
 */
export function sampleFilter(hwFrames = false): string {
  return [
    `select='isnan(prev_selected_t)+gte(t-prev_selected_t\\,${SAMPLE_INTERVAL_S})'`,
    ...(hwFrames ? ['hwdownload', 'format=nv12'] : []),
    `scale=${SAMPLE_WIDTH}:${SAMPLE_HEIGHT}:flags=area`,
    'format=gray',
  ].join(',');
}

/** Output options writing the samples of input 0's first video stream as raw grey bytes. */
export function sampleOutputArgs(
  target: string,
  caps: { hasFpsMode: boolean },
  hwFrames = false,
): string[] {
  return [
    '-map',
    '0:v:0',
    '-vf',
    sampleFilter(hwFrames),
    // Passthrough: a constant-rate muxer default would duplicate picks to fill the gaps.
    ...(caps.hasFpsMode ? ['-fps_mode', 'passthrough'] : ['-vsync', 'passthrough']),
    '-an',
    '-sn',
    '-dn',
    '-f',
    'rawvideo',
    target,
  ];
}

export function psnr(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    sum += d * d;
  }
  const mse = sum / a.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

export interface SampleComparison {
  clipSamples: number;
  archiveSamples: number;
  /** Lowest PSNR over the compared pairs (Infinity when identical). */
  minPsnr: number;
  /** Index of the sample with the lowest PSNR. */
  worst: number;
}

export function compareSamples(clip: Uint8Array, archive: Uint8Array): SampleComparison {
  const clipSamples = Math.floor(clip.length / SAMPLE_BYTES);
  const archiveSamples = Math.floor(archive.length / SAMPLE_BYTES);
  let minPsnr = Infinity;
  let worst = 0;
  for (let i = 0; i < Math.min(clipSamples, archiveSamples); i++) {
    const at = i * SAMPLE_BYTES;
    const p = psnr(clip.subarray(at, at + SAMPLE_BYTES), archive.subarray(at, at + SAMPLE_BYTES));
    if (p < minPsnr) {
      minPsnr = p;
      worst = i;
    }
  }
  return { clipSamples, archiveSamples, minPsnr, worst };
}

/**
 * The first problem the samples show, or undefined. `exactCount`: our archives keep every frame
 * with its timestamp, so they yield exactly the clip's picks; a resampled archive may differ by one.
 */
export function samplesProblem(
  clip: Uint8Array,
  archive: Uint8Array,
  exactCount: boolean,
): string | undefined {
  const c = compareSamples(clip, archive);
  if (c.clipSamples === 0) return 'no pictures could be sampled from the clip';
  const slack = exactCount ? 0 : 1;
  if (Math.abs(c.clipSamples - c.archiveSamples) > slack) {
    return `archive yields ${c.archiveSamples} sampled pictures, the clip ${c.clipSamples}`;
  }
  if (c.minPsnr < MIN_SAMPLE_PSNR_DB) {
    const at = (c.worst * SAMPLE_INTERVAL_S).toFixed(0);
    return `archive pictures differ from the clip's (PSNR ${c.minPsnr.toFixed(1)} dB near ${at}s, at least ${MIN_SAMPLE_PSNR_DB} dB expected)`;
  }
  return undefined;
}

/** Pure helpers of the benchmark runner (unit-tested in test/unit/bench.test.ts). */

/** Peak RSS in KiB from GNU time's `-v` report, or undefined when it is not there. */
export function parseMaxRssKb(report) {
  const m = /Maximum resident set size \(kbytes\):\s*(\d+)/.exec(report);
  return m ? Number(m[1]) : undefined;
}

/**
 * CPU seconds (user + system) from GNU time's `-v` report: the command and every child it waited
 * for. Steadier than wall time on a shared host, where the CPU's speed changes by the minute.
 */
export function parseCpuSeconds(report) {
  const user = /User time \(seconds\):\s*([0-9.]+)/.exec(report);
  const system = /System time \(seconds\):\s*([0-9.]+)/.exec(report);
  return user && system ? Number(user[1]) + Number(system[1]) : undefined;
}

/** The overall SSIM from ffmpeg's ssim filter summary (`SSIM Y:… All:0.981234 (17.2)`). */
export function parseSsim(stderr) {
  const all = [...stderr.matchAll(/SSIM .*?All:([0-9.]+)/g)];
  const last = all[all.length - 1];
  return last ? Number(last[1]) : undefined;
}

/** The average luma PSNR from ffmpeg's psnr filter summary (`PSNR y:40.42 u:… average:…`). */
export function parsePsnrY(stderr) {
  const all = [...stderr.matchAll(/PSNR y:([0-9.]+)/g)];
  const last = all[all.length - 1];
  return last ? Number(last[1]) : undefined;
}

export function median(values) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function ratio(value, baseline) {
  return baseline > 0 ? value / baseline : NaN;
}

/** A POSIX shell command line for an argv (single quotes where needed), for the direct loop. */
export function shellLine(argv) {
  return argv
    .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}

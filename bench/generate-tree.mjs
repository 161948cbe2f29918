/**
 * Synthetic camera trees for the benchmarks: cameras × days × clips per camera per day, each clip
 * an empty `<camera>_<stamp>.mp4` with its `.jpg` thumbnail, in `ROOT/YYYY/MM/DD` folders ending
 * `startDaysAgo` days before today (so every clip is old enough to archive at the default --age).
 *
 * Fast on purpose: synchronous open/close in a tight loop (one creat(2) a file; async fs or a
 * process per file costs several times more). A tree is reused when its marker file records the
 * same parameters, so the 1M-file tree is written once per machine, not once per benchmark run.
 *
 *   node bench/generate-tree.mjs [ROOT] [--cameras 10] [--days 1000] [--clips 50] [--force]
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

export const MARKER = '.bench-tree.json';

/** The tree: 10 cameras × 1000 days (≈ 2.7 years) × 50 clips = 500,000 pairs, 1M files. */
export const SIZES = {
  '1m': { cameras: 10, days: 1000, clipsPerDay: 50 },
  '100k': { cameras: 10, days: 100, clipsPerDay: 50 },
  '10k': { cameras: 10, days: 10, clipsPerDay: 50 },
};

const pad = (n, w = 2) => String(n).padStart(w, '0');

/** Local calendar day `offset` days before `from` (local time, like the cameras' stamps). */
function dayBefore(from, offset) {
  return new Date(from.getFullYear(), from.getMonth(), from.getDate() - offset);
}

/**
 * Clip stamps spread evenly over the day (50 a day: every 28 min 48 s). Pure, so it is
 * unit-testable and the generator and the tests agree on names.
 */
export function clipTimes(clipsPerDay) {
  const times = [];
  const step = Math.floor(86_400 / clipsPerDay);
  for (let i = 0; i < clipsPerDay; i++) {
    const s = i * step;
    times.push(`${pad(Math.floor(s / 3600))}${pad(Math.floor((s % 3600) / 60))}${pad(s % 60)}`);
  }
  return times;
}

/**
 * Writes the tree unless a tree with the same parameters is already there.
 * @returns {{ root: string, files: number, days: number, reused: boolean, seconds: number }}
 */
export function generateTree(
  root,
  params,
  { force = false, startDaysAgo = 60, log = () => {} } = {},
) {
  const { cameras, days, clipsPerDay } = params;
  const files = cameras * days * clipsPerDay * 2;
  const wanted = JSON.stringify({ cameras, days, clipsPerDay, startDaysAgo, files });
  const markerPath = path.join(root, MARKER);
  if (!force && existsSync(markerPath)) {
    // Reused across days: the dates drift, but the shape (and every clip's age > --age) does not.
    const had = JSON.parse(readFileSync(markerPath, 'utf8'));
    if (JSON.stringify({ ...had, createdAt: undefined }) === wanted)
      return { root, files, days, reused: true, seconds: 0 };
  }
  if (existsSync(root)) rmSync(root, { recursive: true, force: true });
  const started = performance.now();
  mkdirSync(root, { recursive: true });
  const cams = Array.from({ length: cameras }, (_, i) => `REO_cam${pad(i + 1)}`);
  const times = clipTimes(clipsPerDay);
  const today = new Date();
  for (let d = 0; d < days; d++) {
    const day = dayBefore(today, startDaysAgo + d);
    const ymd = `${day.getFullYear()}${pad(day.getMonth() + 1)}${pad(day.getDate())}`;
    const dir = path.join(root, ymd.slice(0, 4), ymd.slice(4, 6), ymd.slice(6, 8));
    mkdirSync(dir, { recursive: true });
    for (const cam of cams) {
      for (const t of times) {
        const stem = `${dir}/${cam}_${ymd}${t}`;
        closeSync(openSync(`${stem}.mp4`, 'w'));
        closeSync(openSync(`${stem}.jpg`, 'w'));
      }
    }
    if (d % 100 === 99) log(`  ${d + 1}/${days} days`);
  }
  writeFileSync(
    markerPath,
    JSON.stringify({ ...JSON.parse(wanted), createdAt: new Date().toISOString() }),
  );
  return { root, files, days, reused: false, seconds: (performance.now() - started) / 1000 };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name, fallback) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : fallback;
  };
  const root =
    args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--')) ??
    '/tmp/cam-bench-1m';
  const base = SIZES['1m'];
  const params = {
    cameras: opt('cameras', base.cameras),
    days: opt('days', base.days),
    clipsPerDay: opt('clips', base.clipsPerDay),
  };
  const result = generateTree(root, params, {
    force: args.includes('--force'),
    log: console.error,
  });
  console.log(
    result.reused
      ? `${root}: reused (${result.files} files already there)`
      : `${root}: ${result.files} files in ${result.seconds.toFixed(1)} s`,
  );
}

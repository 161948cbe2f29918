/**
 * Sized trees for the retention and `stats` benchmarks: sparse files (sizes and names matter,
 * contents do not), clip times as modification times, 10 cameras, 144 clips a day, thumbnails,
 * archives for the older half of the days. A tree is reused when its marker records the same
 * parameters: the million-file tree takes minutes to write, so it is written once per machine.
 *
 *   node bench/sized-tree.mjs ROOT --days 365 [--cameras 10] [--clips 144] [--big-day 0]
 */
import {
  closeSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

export const CLIP_BYTES = 50 * 1024 * 1024;
export const THUMB_BYTES = 100 * 1024;
export const ARCHIVE_BYTES = 15 * 1024 * 1024;
/** The benchmarks' clock: the trees end two days before it. */
export const RETENTION_NOW = new Date(Date.UTC(2025, 0, 1, 3));

/** Files a tree of these parameters holds (clip + thumbnail a clip, archives for half the days). */
export function sizedTreeFiles({ cameras, days, clipsPerDay, bigDay = 0 }) {
  return cameras * clipsPerDay * (2 * days + Math.floor((days + 1) / 2)) + bigDay;
}

/**
 * Sources for every day (each with a thumbnail, mtime a minute after the stamp), archives for the
 * older half of the days: `days` days ending two days before RETENTION_NOW. Reused when its
 * marker says the same; an extra day folder of `bigDay` clips when asked.
 */
export function generateSizedTree(root, { cameras, days, clipsPerDay, bigDay = 0 }) {
  const marker = path.join(root, '.bench-sized-tree.json');
  const want = JSON.stringify({ cameras, days, clipsPerDay, bigDay, v: 1 });
  if (existsSync(marker) && readFileSync(marker, 'utf8') === want) return { reused: true };
  rmSync(root, { recursive: true, force: true });
  const started = performance.now();
  let files = 0;
  const put = (file, bytes, at) => {
    const fd = openSync(file, 'w');
    ftruncateSync(fd, bytes);
    closeSync(fd);
    utimesSync(file, at, at);
    files++;
  };
  const day0 = RETENTION_NOW.getTime() - (days + 2) * 86_400_000;
  for (let d = 0; d < days; d++) {
    const date = new Date(day0 + d * 86_400_000);
    const ymd = date.toISOString().slice(0, 10).replace(/-/g, '');
    const rel = `${ymd.slice(0, 4)}/${ymd.slice(4, 6)}/${ymd.slice(6, 8)}`;
    mkdirSync(path.join(root, rel), { recursive: true });
    const archived = d < days / 2;
    if (archived) mkdirSync(path.join(root, 'archived', rel), { recursive: true });
    for (let i = 0; i < clipsPerDay; i++) {
      const s = Math.floor((i * 86_400) / clipsPerDay);
      const at = new Date(date.getTime() + s * 1000);
      const stamp = at.toISOString().replace(/\D/g, '').slice(0, 14);
      const mtime = new Date(at.getTime() + 60_000);
      for (let c = 0; c < cameras; c++) {
        const stem = `REO_cam${c}_${stamp}`;
        put(path.join(root, rel, `${stem}.mp4`), CLIP_BYTES, mtime);
        put(path.join(root, rel, `${stem}.jpg`), THUMB_BYTES, mtime);
        if (archived) put(path.join(root, 'archived', rel, `${stem}.mp4`), ARCHIVE_BYTES, mtime);
      }
    }
  }
  if (bigDay > 0) {
    const date = new Date(day0 - 86_400_000);
    const ymd = date.toISOString().slice(0, 10).replace(/-/g, '');
    const dir = path.join(root, ymd.slice(0, 4), ymd.slice(4, 6), ymd.slice(6, 8));
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < bigDay; i++) {
      const s = i % 86_400;
      const at = new Date(date.getTime() + s * 1000);
      const stamp = at.toISOString().replace(/\D/g, '').slice(0, 14);
      put(path.join(dir, `REO_cam${Math.floor(i / 86_400)}_${stamp}.mp4`), 1024 * 1024, at);
    }
  }
  writeFileSync(marker, want);
  return { reused: false, files, seconds: (performance.now() - started) / 1000 };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name, fallback) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : fallback;
  };
  const root = args[0];
  if (!root || root.startsWith('--')) throw new Error('usage: sized-tree.mjs ROOT --days N');
  const g = generateSizedTree(root, {
    cameras: opt('cameras', 10),
    days: opt('days', 365),
    clipsPerDay: opt('clips', 144),
    bigDay: opt('big-day', 0),
  });
  console.log(
    g.reused ? `${root}: reused` : `${root}: ${g.files} files in ${g.seconds.toFixed(1)} s`,
  );
}

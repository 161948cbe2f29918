/** Trees of zero-filled files of given sizes: retention and stats read sizes and names, not video. */
import { closeSync, ftruncateSync, mkdirSync, openSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const KiB = 1024;

/** Writes `bytes` zero bytes at root/rel, mtime a minute after the name's stamp (UTC) or `mtime`. */
export function putSized(root: string, rel: string, bytes: number, mtime?: Date): string {
  const file = path.join(root, rel);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, Buffer.alloc(bytes));
  const m = /(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})\.\w+$/.exec(rel);
  const at =
    mtime ??
    (m ? new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]! + 1, +m[6]!)) : undefined);
  if (at) utimesSync(file, at, at);
  return file;
}

/**
 * February sources of two cameras with thumbnails (100 + 4 KiB a day each), January archives
 * (30 KiB) and January's sources and thumbnails in the trash: a tree the retention rules all touch.
 */
export function retentionSampleTree(root: string): string {
  for (let d = 1; d <= 28; d++) {
    const dd = String(d).padStart(2, '0');
    for (const cam of ['REO_front', 'REO_back']) {
      putSized(root, `2025/02/${dd}/${cam}_202502${dd}120000.mp4`, 100 * KiB);
      putSized(root, `2025/02/${dd}/${cam}_202502${dd}120000.jpg`, 4 * KiB);
      putSized(root, `archived/2025/01/${dd}/${cam}_202501${dd}120000.mp4`, 30 * KiB);
      putSized(root, `.deleted/input/2025/01/${dd}/${cam}_202501${dd}120000.mp4`, 100 * KiB);
      putSized(root, `.deleted/input/2025/01/${dd}/${cam}_202501${dd}120000.jpg`, 4 * KiB);
    }
  }
  return root;
}

/**
 * `days` day folders ending `endDaysAgo` days before `now` (UTC), each with `clipsPerDay` clips of
 * `bytes` (sparse: no disk used) spread over `cameras`, plus a thumbnail each when `thumbnails`.
 * A tree for scale tests: sizes and names matter, contents do not.
 */
export function sparseTree(
  root: string,
  opts: {
    days: number;
    clipsPerDay: number;
    bytes: number;
    now: Date;
    cameras?: number;
    thumbnails?: boolean;
  },
): number {
  const cameras = opts.cameras ?? 5;
  let files = 0;
  for (let d = 0; d < opts.days; d++) {
    const day = new Date(opts.now.getTime() - (opts.days - d + 1) * 86_400_000);
    const ymd = day.toISOString().slice(0, 10).replace(/-/g, '');
    const dir = path.join(root, ymd.slice(0, 4), ymd.slice(4, 6), ymd.slice(6, 8));
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < opts.clipsPerDay; i++) {
      const second = Math.floor((i * 86_400) / opts.clipsPerDay);
      const hms = [second / 3600, (second / 60) % 60, second % 60]
        .map((n) => String(Math.floor(n)).padStart(2, '0'))
        .join('');
      const stem = path.join(dir, `REO_cam${i % cameras}_${ymd}${hms}`);
      const at = new Date(
        Date.UTC(+ymd.slice(0, 4), +ymd.slice(4, 6) - 1, +ymd.slice(6, 8)) + second * 1000 + 60_000,
      );
      for (const ext of opts.thumbnails ? ['mp4', 'jpg'] : ['mp4']) {
        const fd = openSync(`${stem}.${ext}`, 'w');
        ftruncateSync(fd, ext === 'jpg' ? Math.ceil(opts.bytes / 25) : opts.bytes);
        closeSync(fd);
        utimesSync(`${stem}.${ext}`, at, at);
        files++;
      }
    }
  }
  return files;
}

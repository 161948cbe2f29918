/** Trees of zero-filled files of given sizes: retention and stats read sizes and names, not video. */
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
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

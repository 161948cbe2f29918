/**
 * The segment muxer's CSV list (`-segment_list_type csv`): one line `name,start,end` is appended
 * and flushed when a segment is closed (after its trailer), so a line is the only reliable
 * "this file is finished" signal. Names are basenames; times are seconds of the input timeline
 * (even with -reset_timestamps), so consecutive lines of one run satisfy end[i] == start[i+1].
 */
import { promises as fsp } from 'node:fs';

export interface SegmentEntry {
  name: string;
  start: number;
  end: number;
}

/** One CSV line; undefined for blank or malformed lines (logged by the caller). */
export function parseSegmentLine(line: string): SegmentEntry | undefined {
  const trimmed = line.replace(/\r$/, '');
  if (!trimmed.trim()) return undefined;
  let name: string;
  let rest: string;
  if (trimmed.startsWith('"')) {
    // ffmpeg quotes a name holding ',', '"' or newlines, doubling inner quotes (CSV rules).
    const m = /^"((?:[^"]|"")*)",(.*)$/.exec(trimmed);
    if (!m) return undefined;
    name = (m[1] ?? '').replace(/""/g, '"');
    rest = m[2] ?? '';
  } else {
    const comma = trimmed.indexOf(',');
    if (comma <= 0) return undefined;
    name = trimmed.slice(0, comma);
    rest = trimmed.slice(comma + 1);
  }
  const [a, b, ...extra] = rest.split(',');
  const start = Number(a);
  const end = Number(b);
  if (extra.length > 0 || a === undefined || b === undefined || a === '' || b === '')
    return undefined;
  if (!Number.isFinite(start) || !Number.isFinite(end) || end < start) return undefined;
  return { name, start, end };
}

/**
 * Gaps between consecutive entries of one run, larger than `tolerance` seconds. Within one
 * ffmpeg run stream copy never loses a packet, so anything here is worth a warning.
 */
export function continuityGaps(
  entries: readonly SegmentEntry[],
  tolerance = 0.05,
): { after: string; gap: number }[] {
  const gaps: { after: string; gap: number }[] = [];
  for (let i = 1; i < entries.length; i++) {
    const prev = entries[i - 1];
    const next = entries[i];
    if (!prev || !next) continue;
    const gap = next.start - prev.end;
    if (Math.abs(gap) > tolerance) gaps.push({ after: prev.name, gap });
  }
  return gaps;
}

/**
 * Reads whole lines appended to a file since the last call. Polling (not fs.watch) because it
 * behaves the same on every filesystem, NFS included, and a line is at most a poll interval late.
 */
export class ListTail {
  private offset = 0;
  private pending = '';

  constructor(readonly file: string) {}

  async read(): Promise<string[]> {
    let handle: fsp.FileHandle;
    try {
      handle = await fsp.open(this.file, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    try {
      const { size } = await handle.stat();
      // ffmpeg truncates the list when it starts; a smaller file is a new list.
      if (size < this.offset) {
        this.offset = 0;
        this.pending = '';
      }
      if (size === this.offset) return [];
      const buffer = Buffer.alloc(size - this.offset);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, this.offset);
      this.offset += bytesRead;
      const text = this.pending + buffer.subarray(0, bytesRead).toString('utf8');
      const lines = text.split('\n');
      this.pending = lines.pop() ?? '';
      return lines.filter((l) => l.trim() !== '');
    } finally {
      await handle.close();
    }
  }
}

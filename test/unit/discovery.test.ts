import { describe, expect, it } from 'vitest';
import { scanDay, type DayScan } from '../../src/archive/discovery.js';

const FOLDER = { dir: '/cam/2025/01/15', relDir: '2025/01/15' };

/** libuv's order: bytewise, which for these names is JavaScript's string order. */
const sorted = (names: string[]): string[] =>
  [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

function summary(scan: DayScan | undefined): unknown {
  if (!scan) return undefined;
  return {
    clips: scan.clips.map((c) => [c.name, c.thumbnailName, c.timeMs]),
    orphans: scan.orphanThumbnails.map((t) => t.path),
    ignored: scan.ignored,
    otherEntries: scan.otherEntries,
    stampDates: scan.stampDates,
    newestMs: scan.newestMs,
  };
}

describe('scanDay', () => {
  it('pairs neighbours in a sorted listing exactly as the Map-based scan does', () => {
    const entries = sorted([
      'REO_front_20250115120000.mp4',
      'REO_front_20250115120000.jpg',
      'REO_back_20250115120000.mp4',
      'REO_back_20250115120001.jpg', // orphan: no clip at that second
      'REO_side_20250115130000.MP4',
      'REO_side_20250115130000.mp4', // second clip of one camera and second
      'REO_side_20250115130000.JPG',
      'REO_side_20250115130000.jpg', // second thumbnail
      'REO_side_20250115130000.mp4.bak',
      'notes.txt',
      'REO_x_20250132120000.mp4', // 32 January
      'Cam 2_20250115235959.mp4',
    ]);
    const fast = scanDay(entries, FOLDER, false);
    expect(fast).toBeDefined();
    expect(summary(fast)).toEqual(summary(scanDay(entries, FOLDER, true)));
    expect(fast?.clips.map((c) => [c.name, c.thumbnailName])).toEqual([
      ['Cam 2_20250115235959.mp4', undefined],
      ['REO_back_20250115120000.mp4', undefined],
      ['REO_front_20250115120000.mp4', 'REO_front_20250115120000.jpg'],
      ['REO_side_20250115130000.MP4', 'REO_side_20250115130000.JPG'],
    ]);
    expect(fast?.orphanThumbnails.map((t) => t.name)).toEqual(['REO_back_20250115120001.jpg']);
    const odd = 'name is not <camera>_<YYYYMMDDHHMMSS>.mp4|.jpg';
    expect(
      Object.fromEntries(
        fast?.ignored.map((i) => [i.path.slice(FOLDER.dir.length + 1), i.reason]) ?? [],
      ),
    ).toEqual({
      'REO_side_20250115130000.mp4.bak': odd,
      'REO_side_20250115130000.jpg': 'second thumbnail for REO_side_20250115130000',
      'REO_side_20250115130000.mp4':
        'another clip with the same camera and time exists (REO_side_20250115130000.MP4); left alone',
      'REO_x_20250132120000.mp4': odd,
      'notes.txt': odd,
    });
    expect(fast?.otherEntries).toBe(5);
  });

  it('gives up on a stem whose names are not neighbours, and the Map-based scan pairs them', () => {
    // A camera part may contain '.', so another stem can sort between a stem's .jpg and .mp4.
    const stem = 'REO_a_20250115120000';
    const entries = sorted([`${stem}.jpg`, `${stem}.k_20250115120001.mp4`, `${stem}.mp4`]);
    expect(entries).toEqual([`${stem}.jpg`, `${stem}.k_20250115120001.mp4`, `${stem}.mp4`]);
    expect(scanDay(entries, FOLDER, false)).toBeUndefined();
    expect(scanDay(entries, FOLDER, true)?.clips.map((c) => [c.name, c.thumbnailName])).toEqual([
      [`${stem}.k_20250115120001.mp4`, undefined],
      [`${stem}.mp4`, `${stem}.jpg`],
    ]);
  });

  it('gives up on a listing out of order, and the Map-based scan sorts it', () => {
    const entries = [
      'REO_b_20250115120000.mp4',
      'REO_a_20250115120000.mp4',
      'REO_b_20250115120000.jpg',
    ];
    expect(scanDay(entries, FOLDER, false)).toBeUndefined();
    expect(summary(scanDay(entries, FOLDER, true))).toEqual(
      summary(scanDay(sorted(entries), FOLDER, false)),
    );
  });

  it('notes every stamp date of the folder and the newest clip', () => {
    const scan = scanDay(
      sorted([
        'REO_a_20250115235959.mp4',
        'REO_a_20250116000001.mp4', // uploaded late into the previous day's folder
      ]),
      FOLDER,
      false,
    );
    expect(scan?.stampDates).toEqual(['20250115', '20250116']);
    expect(scan?.newestMs).toBe(new Date(2025, 0, 16, 0, 0, 1).getTime());
  });
});

/** The recorder's mover and camera lock against real files and the real ffmpeg/ffprobe. */
import {
  copyFileSync,
  mkdirSync,
  readFileSync,
  truncateSync,
  writeFileSync,
  statSync,
} from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryLog } from '../../src/core/logger.js';
import { lockCamera, mediaTools } from '../../src/record/adapters.js';
import { SegmentMover } from '../../src/record/segment-mover.js';
import { clipTemplate, ffmpeg, ffprobe, playsCleanly, probe } from '../helpers/media.js';
import { listTree, removeDir, tempDir } from '../helpers/tree.js';

/** A 4-s fragmented MP4 as the recorder writes it (keyframe every second). */
function fragmented(file: string): void {
  copyFileSync(clipTemplate({ seconds: 4, audio: false, fragmented: true }), file);
}

describe('segment mover (real ffmpeg)', () => {
  let root: string;
  let staging: string;
  let mover: SegmentMover;
  const log = memoryLog();
  beforeEach(() => {
    root = tempDir('rec-mover-');
    staging = path.join(root, '.incoming/cam');
    mkdirSync(staging, { recursive: true });
    mover = new SegmentMover({
      root,
      stagingRoot: path.join(root, '.incoming'),
      tools: mediaTools(ffmpeg(), ffprobe(), process.env),
      log,
    });
  });
  afterEach(() => removeDir(root));

  it('names a segment in local time like camera uploads; a repeated DST hour moves on by a second', async () => {
    const tz = process.env.TZ;
    process.env.TZ = 'Europe/Berlin';
    try {
      // 00:30 and 01:30 UTC on 27 Oct 2024 are both 02:30 local (CEST, then CET).
      fragmented(path.join(staging, 'cam_20241027003000.mp4'));
      fragmented(path.join(staging, 'cam_20241027013000.mp4'));
      const first = await mover.finish(path.join(staging, 'cam_20241027003000.mp4'));
      const second = await mover.finish(path.join(staging, 'cam_20241027013000.mp4'));
      expect(first?.file).toBe(path.join(root, '2024/10/27/cam_20241027023000.mp4'));
      expect(second?.file).toBe(path.join(root, '2024/10/27/cam_20241027023001.mp4'));
      expect(second?.thumbnail).toBe(path.join(root, '2024/10/27/cam_20241027023001.jpg'));
      expect(log.lines.some((l) => /DST change/.test(l.message))).toBe(true);
    } finally {
      process.env.TZ = tz;
    }
  });

  it('moves a finished segment with its thumbnail into the day folder (TZ=UTC here)', async () => {
    fragmented(path.join(staging, 'cam_20250101235958.mp4'));
    const moved = await mover.finish(path.join(staging, 'cam_20250101235958.mp4'));
    expect(moved?.file).toBe(path.join(root, '2025/01/01/cam_20250101235958.mp4'));
    expect(listTree(root)).toEqual([
      '.incoming/',
      '.incoming/cam/',
      '2025/',
      '2025/01/',
      '2025/01/01/',
      '2025/01/01/cam_20250101235958.jpg',
      '2025/01/01/cam_20250101235958.mp4',
    ]);
    expect(
      readFileSync(path.join(root, '2025/01/01/cam_20250101235958.jpg'))
        .subarray(0, 2)
        .toString('hex'),
    ).toBe('ffd8');
  });

  it('never overwrites: a repeated name (DST, clock step) keeps both, the thumbnail follows the clip', async () => {
    mkdirSync(path.join(root, '2025/01/01'), { recursive: true });
    writeFileSync(path.join(root, '2025/01/01/cam_20250101120000.mp4'), 'earlier recording');
    fragmented(path.join(staging, 'cam_20250101120000.mp4'));
    const moved = await mover.finish(path.join(staging, 'cam_20250101120000.mp4'));
    // The next free second keeps a name the archiver recognises (a numbered name would not be).
    expect(moved?.file).toBe(path.join(root, '2025/01/01/cam_20250101120001.mp4'));
    expect(moved?.thumbnail).toBe(path.join(root, '2025/01/01/cam_20250101120001.jpg'));
    expect(readFileSync(path.join(root, '2025/01/01/cam_20250101120000.mp4'), 'utf8')).toBe(
      'earlier recording',
    );
  });

  it('recovers a leftover cut short by a crash into a clean, playable file; drops empty and quarantines garbage', async () => {
    const cut = path.join(staging, 'cam_20250102000000.mp4');
    fragmented(cut);
    truncateSync(cut, Math.floor(statSync(cut).size * 0.7));
    writeFileSync(path.join(staging, 'cam_20250102000010.mp4'), '');
    writeFileSync(path.join(staging, 'cam_20250102000020.mp4'), 'not a video at all');
    writeFileSync(path.join(staging, '.segments-1-1.csv'), 'cam_20250101000000.mp4,0,2\n');
    const moved = await mover.recoverAll(staging, 'cam');
    expect(moved.map((m) => path.relative(root, m.file))).toEqual([
      '2025/01/02/cam_20250102000000.mp4',
    ]);
    const recovered = path.join(root, '2025/01/02/cam_20250102000000.mp4');
    expect(playsCleanly(recovered)).toBe(true);
    expect(probe(recovered).duration).toBeGreaterThan(1.5);
    expect(listTree(path.join(root, '.incoming'))).toEqual([
      'broken/',
      'broken/cam_20250102000020.mp4',
      'cam/',
    ]);
    expect(
      log.lines.some(
        (l) =>
          l.level === 'error' && l.message.includes('cam_20250102000020.mp4 is not readable video'),
      ),
    ).toBe(true);
  });
});

describe('camera lock', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('rec-lock-');
  });
  afterEach(() => removeDir(dir));

  it('refuses a second recorder for the same camera and frees the camera on release', async () => {
    const log = memoryLog();
    const first = await lockCamera(path.join(dir, 'front'), 'front', 'record A', log);
    await expect(lockCamera(path.join(dir, 'front'), 'front', 'record B', log)).rejects.toThrow(
      /camera 'front' is currently recording \(pid \d+ .*running 'record A'\)/,
    );
    const other = await lockCamera(path.join(dir, 'back'), 'back', 'record B', log);
    await first.release();
    const again = await lockCamera(path.join(dir, 'front'), 'front', 'record C', log);
    await again.release();
    await other.release();
  });
});

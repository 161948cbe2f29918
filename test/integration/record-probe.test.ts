/**
 * `record` never deletes a segment because a probe failed. ffprobe failures that the real ffprobe
 * cannot produce on demand (a crash, a hang, an out-of-memory exit) come from small fake ffprobe
 * scripts; everything else is the real ffprobe on real files.
 */
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryLog } from '../../src/core/logger.js';
import { mediaTools } from '../../src/record/adapters.js';
import { SegmentMover, type MediaTools } from '../../src/record/segment-mover.js';
import { formatStatus, type RecorderStatus } from '../../src/record/status.js';
import { clipTemplate, ffmpeg, ffprobe } from '../helpers/media.js';
import { listTree, removeDir, tempDir } from '../helpers/tree.js';

const FAKES: Record<string, string> = {
  crash: '#!/bin/sh\nkill -SEGV $$\n',
  hang: '#!/bin/sh\nexec sleep 30\n',
  oom: '#!/bin/sh\necho "Cannot allocate memory" >&2\nexit 1\n',
  killed: '#!/bin/sh\nkill -KILL $$\n',
};

describe('segment probes: unknown is kept, no video is quarantined, never deleted', () => {
  let root: string;
  let staging: string;
  let probeWith: string;
  let mover: SegmentMover;
  const log = memoryLog();
  beforeEach(() => {
    root = tempDir('rec-probe-');
    staging = path.join(root, '.incoming/cam');
    mkdirSync(staging, { recursive: true });
    probeWith = ffprobe();
    // The ffprobe binary can be swapped between calls, as a retry would meet a healthy system.
    const tools: MediaTools = {
      ffmpeg: (args) => mediaTools(ffmpeg(), probeWith, process.env).ffmpeg(args),
      probe: (file) => mediaTools(ffmpeg(), probeWith, process.env, 3000).probe(file),
    };
    mover = new SegmentMover({ root, stagingRoot: path.join(root, '.incoming'), tools, log });
  });
  afterEach(() => removeDir(root));

  function fake(kind: string): string {
    const file = path.join(root, `ffprobe-${kind}.sh`);
    writeFileSync(file, FAKES[kind] ?? '');
    chmodSync(file, 0o755);
    return file;
  }

  it.each(['crash', 'hang', 'oom', 'killed'])(
    'ffprobe %s: the segment stays in staging, is held with the reason, and moves once a probe answers',
    async (kind) => {
      const staged = path.join(staging, 'cam_20250301083000.mp4');
      copyFileSync(clipTemplate({ seconds: 2, audio: false, fragmented: true }), staged);
      const bytes = readFileSync(staged);
      probeWith = fake(kind);
      expect(await mover.finish(staged)).toBeUndefined();
      expect(readFileSync(staged).equals(bytes)).toBe(true);
      const held = mover.held.get(staged);
      expect(held?.reason).toMatch(/ffprobe gave no answer/);
      // Leftover recovery (after an ffmpeg exit) treats it the same way.
      expect(await mover.recoverAll(staging, 'cam')).toEqual([]);
      expect(existsSync(staged)).toBe(true);
      expect(existsSync(path.join(root, '.incoming/broken'))).toBe(false);
      // What `record --status` shows for it.
      const doc: RecorderStatus = {
        pid: 1,
        host: 'h',
        startedAt: '2025-03-01T08:00:00Z',
        updatedAt: '2025-03-01T08:00:00Z',
        root,
        state: 'running',
        nameTimeZone: 'UTC',
        cameras: [],
        held: [...mover.held.values()],
      };
      expect(formatStatus(doc, new Date('2025-03-01T08:00:01Z'), true)).toContain(
        `held in staging: ${staged}: ffprobe gave no answer`,
      );
      probeWith = ffprobe();
      const moved = await mover.retryHeld();
      expect(moved.map((m) => path.relative(root, m.file))).toEqual([
        '2025/03/01/cam_20250301083000.mp4',
      ]);
      expect(mover.held.size).toBe(0);
    },
    20_000,
  );

  it('a file the real ffprobe proves is not video goes to quarantine, byte for byte, never deleted', async () => {
    const staged = path.join(staging, 'cam_20250301090000.mp4');
    writeFileSync(staged, 'headers of nothing at all');
    expect(await mover.finish(staged)).toBeUndefined();
    expect(listTree(path.join(root, '.incoming'))).toEqual([
      'broken/',
      'broken/cam_20250301090000.mp4',
      'cam/',
    ]);
    expect(readFileSync(path.join(root, '.incoming/broken/cam_20250301090000.mp4'), 'utf8')).toBe(
      'headers of nothing at all',
    );
    expect(mover.quarantined).toBe(1);
    expect(
      log.lines.some((l) => l.level === 'error' && /holds no video.*moved to/.test(l.message)),
    ).toBe(true);
  });
});

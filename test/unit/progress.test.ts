import { describe, expect, it } from 'vitest';
import { formatFileLine, memoryLog } from '../../src/core/logger.js';
import { lineProgress, overallDetail, wrapToWidth } from '../../src/archive/progress.js';

describe('plain progress lines (cron, journald, log files)', () => {
  it('one line per interval per file, never a carriage return', () => {
    const log = memoryLog();
    let t = 0;
    const p = lineProgress(log, 30_000, () => t);
    p.start({ files: 2, bytes: 2048 });
    p.fileStarted('a', 'REO_front_20250115120000.mp4', 1024);
    for (t = 1000; t <= 65_000; t += 1000) p.fileProgress('a', t / 100_000, 2.5);
    p.fileFinished('a', 1024);
    const lines = log.lines.map((l) => l.message);
    expect(lines[0]).toBe('2 clip(s) to archive, 2.0 KiB');
    expect(lines.filter((l) => l.startsWith('progress'))).toEqual([
      'progress REO_front_20250115120000.mp4: 30% at 2.5x (0/2 files done)',
      'progress REO_front_20250115120000.mp4: 60% at 2.5x (0/2 files done)',
    ]);
    expect(lines.join('\n')).not.toMatch(/\r/);
  });

  it('log file lines keep the Python archiver format', () => {
    expect(formatFileLine('2025-01-15 12:00:00,123', 'warn', 'skipped x')).toBe(
      '2025-01-15 12:00:00,123 - WARN - skipped x',
    );
  });
});

describe('lines above the bars wrap at the terminal width instead of being cut', () => {
  it('keeps every character, at most width wide, breaking at spaces where it can', () => {
    // Seeded random lines of words (some longer than the width); the seed is printed on failure.
    const seed = Number(process.env.SEED ?? 20251130);
    let x = seed;
    const rand = (n: number): number => {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      return x % n;
    };
    for (let round = 0; round < 500; round++) {
      const width = 10 + rand(90);
      const words = Array.from({ length: 1 + rand(30) }, () =>
        'abcdefghij→/.'.repeat(8).slice(0, 1 + rand(120)),
      );
      const line = words.join(' ');
      const pieces = wrapToWidth(line, width);
      const context = `seed ${seed} round ${round} width ${width}`;
      for (const piece of pieces) expect(piece.length, context).toBeLessThanOrEqual(width);
      expect(pieces.join('').replace(/ /g, ''), context).toBe(line.replace(/ /g, ''));
      expect(pieces.join(' ').split(/ +/).length, context).toBeGreaterThanOrEqual(words.length);
    }
  });

  it('a short line is left alone', () => {
    expect(wrapToWidth('archived a.mp4', 80)).toEqual(['archived a.mp4']);
    expect(wrapToWidth('moved to trash', 10)).toEqual(['moved to', 'trash']);
  });
});

describe('the overall bar says how fast and how long', () => {
  it('speed from the bytes processed so far, ETA from the bytes left', () => {
    expect(
      overallDetail({
        doneFiles: 1,
        files: 4,
        processedBytes: 10 * 1024 ** 2,
        totalBytes: 40 * 1024 ** 2,
        elapsedSeconds: 5,
      }),
    ).toBe('1/4 files, 10.0 MiB of 40.0 MiB, 2.0 MiB/s, ETA 15s');
  });

  it('no speed yet: says so instead of dividing by zero', () => {
    expect(
      overallDetail({
        doneFiles: 0,
        files: 2,
        processedBytes: 0,
        totalBytes: 2048,
        elapsedSeconds: 0,
      }),
    ).toBe('0/2 files, 0 B of 2.0 KiB, …/s, ETA ?');
  });
});

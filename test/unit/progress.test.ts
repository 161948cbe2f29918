import { describe, expect, it } from 'vitest';
import { formatFileLine, memoryLog } from '../../src/logger.js';
import { lineProgress } from '../../src/progress.js';

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

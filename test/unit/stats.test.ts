import { describe, expect, it } from 'vitest';
import { LEGACY_CAMERA } from '../../src/retention/inventory.js';
import type { DateBatch, FileFacts, RootKind, Unit } from '../../src/retention/plan.js';
import {
  computeForecast,
  daysHeld,
  emptyBucket,
  StatsAccumulator,
} from '../../src/retention/stats.js';

const NOW = new Date(2025, 2, 1, 3, 0, 0);
const ROOTS = { root: '/cam', outputRoot: '/cam/archived', trashRoot: '/cam/.deleted' };
let ino = 1;

function u(root: RootKind, camera: string, at: Date, bytes: number, relDir = '2025/01/10'): Unit {
  const f: FileFacts = {
    path: `/x/${ino}.mp4`,
    bytes,
    dev: 1,
    ino: ino++,
    nlink: 1,
    mtimeMs: at.getTime(),
    ctimeMs: at.getTime(),
  };
  const kind = root === 'source' ? 'clip' : root;
  return { root, kind, camera, recordedAt: at, relDir, files: [f] };
}

const batch = (date: string, units: Unit[]): DateBatch => ({ date, units, dayEntries: new Map() });

describe('daysHeld', () => {
  it('is budget/rate while everything is still raw, longer once archives shrink old footage', () => {
    expect(daysHeld(100, 10, 30, 0.3)).toBe(10);
    // 30 days raw (300) + 200 left at 3/day archived.
    expect(daysHeld(500, 10, 30, 0.3)).toBeCloseTo(30 + 200 / 3);
    expect(daysHeld(500, 10, 30, null)).toBe(50);
    expect(daysHeld(500, 0, 30, 0.3)).toBe(Infinity);
  });
});

describe('StatsAccumulator', () => {
  it('aggregates per camera and day, measures archive savings against trashed sources', () => {
    const acc = new StatsAccumulator();
    const t = new Date(2025, 0, 10, 12);
    acc.add(
      batch('2025-01-10', [
        u('archive', 'REO_a', t, 30),
        u('trash', 'REO_a', t, 100, 'input/2025/01/10'),
        u('archive', LEGACY_CAMERA, new Date(2025, 0, 10, 13), 20),
        u('trash', 'REO_b', new Date(2025, 0, 10, 13), 80, 'input/2025/01/10'),
        u('source', 'REO_b', new Date(2025, 0, 10, 14), 50),
      ]),
    );
    const r = acc.finish(ROOTS, undefined, { ageDays: 30 }, NOW);
    expect(r.managed).toEqual({ source: 50, archive: 50, trash: 180, total: 280 });
    expect(r.savings).toEqual({
      sourceBytes: 180,
      archiveBytes: 50,
      savedBytes: 130,
      ratio: 50 / 180,
    });
    expect(r.cameras.map((c) => [c.camera, c.clips, c.archives, c.trashBytes])).toEqual([
      [LEGACY_CAMERA, 0, 1, 0],
      ['REO_a', 0, 1, 100],
      ['REO_b', 1, 0, 80],
    ]);
    expect(r.days.map((d) => [d.date, Object.keys(d.cameras).length])).toEqual([['2025-01-10', 3]]);
    expect(r.totals.oldest).toBe('2025-01-10T12:00:00');
    expect(r.totals.newest).toBe('2025-01-10T14:00:00');
  });
});

describe('computeForecast', () => {
  it('measures the rate over the last complete days and says how long disk and cap last', () => {
    const day = (date: string, sourceBytes: number) => ({
      ...emptyBucket(),
      date,
      clips: 1,
      sourceBytes,
    });
    const days = [
      day('2025-02-26', 100),
      day('2025-02-27', 100),
      day('2025-02-28', 100),
      day('2025-03-01', 999),
    ];
    const totals = {
      ...day('x', 1299),
      oldest: '2025-02-26T00:00:00',
      newest: '2025-03-01T02:00:00',
    };
    const f = computeForecast(
      days,
      totals,
      1299,
      { dev: 1, sizeBytes: 10_000, freeBytes: 2_000 },
      { ageDays: 30, maxSizeBytes: 1500, minFree: { bytes: 1000 } },
      NOW,
    );
    expect(f.bytesPerDay).toBe(100); // today (still recording) is left out
    expect(f.basis).toEqual(['2025-02-26', '2025-02-27', '2025-02-28']);
    expect(f.daysUntilDiskFull).toBe(10); // (2000 free − 1000 kept) / 100
    expect(f.maxSizeHoldsDays).toBe(15);
    expect(f.diskHoldsDays).toBe(22.9); // (1299 + 2000 − 1000) / 100
  });
});

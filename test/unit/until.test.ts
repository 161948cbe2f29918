import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { executePlan, type ExecutorContext } from '../../src/archive/executor.js';
import { findIonice, resolveIonice, withIdleIo } from '../../src/media/io-priority.js';
import { memoryLog } from '../../src/core/logger.js';
import type { TranscodeAction } from '../../src/archive/planner.js';
import { silentProgress } from '../../src/archive/progress.js';
import type { Toolchain } from '../../src/media/toolchain.js';
import {
  describeStopBy,
  isPastStopBy,
  parseUntil,
  stopByMessage,
  stopChecker,
} from '../../src/core/until.js';

// TZ=UTC (vitest.config.ts): local time and UTC coincide.
const at = (iso: string): Date => new Date(iso);

describe('parseUntil', () => {
  it('a clock time later today is today', () => {
    expect(parseUntil('06:00', at('2025-03-01T01:30:00Z')).deadline).toEqual(
      at('2025-03-01T06:00:00Z'),
    );
  });

  it('a clock time already past is tomorrow (a run started at 23:00 stops at 06:00 next morning)', () => {
    expect(parseUntil('06:00', at('2025-03-01T23:00:00Z')).deadline).toEqual(
      at('2025-03-02T06:00:00Z'),
    );
    // Exactly at the time: the next one, not now.
    expect(parseUntil('06:00', at('2025-03-01T06:00:00Z')).deadline).toEqual(
      at('2025-03-02T06:00:00Z'),
    );
  });

  it('accepts seconds, one-digit hours, +durations and ISO date-times', () => {
    const now = at('2025-03-01T01:00:00Z');
    expect(parseUntil('5:30:15', now).deadline).toEqual(at('2025-03-01T05:30:15Z'));
    expect(parseUntil('+3h', now).deadline).toEqual(at('2025-03-01T04:00:00Z'));
    expect(parseUntil('+90m', now).deadline).toEqual(at('2025-03-01T02:30:00Z'));
    expect(parseUntil('2025-03-02T06:00', now).deadline).toEqual(at('2025-03-02T06:00:00Z'));
    // An ISO time in the past is kept as is: nothing will start.
    expect(parseUntil('2000-01-01T00:00:00Z', now).deadline).toEqual(at('2000-01-01T00:00:00Z'));
  });

  it('rejects nonsense with a usage error naming the option', () => {
    const now = at('2025-03-01T01:00:00Z');
    for (const bad of ['24:00', '06:60', 'six', '', '+', '+3x', '0600']) {
      expect(() => parseUntil(bad, now), bad).toThrow(/--until/);
    }
  });

  it('isPastStopBy and stopChecker compare against the clock given', () => {
    const stop = parseUntil('06:00', at('2025-03-01T01:00:00Z'));
    expect(isPastStopBy(stop, at('2025-03-01T05:59:59Z'))).toBe(false);
    expect(isPastStopBy(stop, at('2025-03-01T06:00:00Z'))).toBe(true);
    expect(isPastStopBy(undefined, at('2099-01-01T00:00:00Z'))).toBe(false);
    expect(stopChecker(undefined)).toBeUndefined();
    let now = at('2025-03-01T05:00:00Z');
    const check = stopChecker(stop, () => now);
    expect(check?.()).toBe(false);
    now = at('2025-03-01T07:00:00Z');
    expect(check?.()).toBe(true);
  });

  it('describes what was typed and what it resolved to', () => {
    const stop = parseUntil('06:00', at('2025-03-01T01:00:00Z'));
    expect(describeStopBy(stop)).toBe('06:00 (2025-03-01 06:00:00)');
    expect(stopByMessage(stop, 3)).toMatch(/06:00 .*reached.*3 clip\(s\) not done/);
  });
});

describe('executor with a stop-by time', () => {
  const root = '/nonexistent-camera-root';
  const action = (n: number): TranscodeAction => {
    const clip = path.join(root, `2025/01/15/REO_front_2025011512000${n}.mp4`);
    return {
      kind: 'transcode',
      clip: {
        path: clip,
        relPath: path.relative(root, clip),
        stem: path.basename(clip, '.mp4'),
        camera: 'REO_front',
        recordedAt: new Date(2025, 0, 15, 12, 0, n),
      },
      archivePath: path.join(root, 'archived', path.basename(clip)),
      partialPath: path.join(root, 'archived', `.partial-${n}`),
      replacesExisting: false,
      disposal: { mode: 'delete', files: [clip] },
      reason: 'test',
    };
  };
  const ctx = (stopStarting: (() => boolean) | undefined): ExecutorContext => ({
    // Never reached: a clip that does not exist is skipped before any tool runs.
    toolchain: {} as Toolchain,
    profile: undefined,
    root,
    outputRoot: path.join(root, 'archived'),
    trashRoot: path.join(root, '.deleted'),
    settleSeconds: 0,
    jobs: 1,
    stallTimeoutMs: 1000,
    niceness: 0,
    log: memoryLog(),
    progress: silentProgress,
    now: () => new Date(2025, 2, 1),
    signal: new AbortController().signal,
    stopStarting,
  });

  it('starts no clip after the stop-by time and reports the rest as not done', async () => {
    let checks = 0;
    // The deadline passes after the first clip has started.
    const report = await executePlan(
      [action(1), action(2), action(3)],
      ctx(() => ++checks > 1),
    );
    expect(report.outcomes.map((o) => o.status)).toEqual(['skipped']);
    expect(report.notStarted.map((p) => path.basename(p))).toEqual([
      'REO_front_20250115120002.mp4',
      'REO_front_20250115120003.mp4',
    ]);
    expect(report.stoppedByUntil).toBe(true);
    expect(report.interrupted).toBe(false);
  });

  it('without a stop-by time every clip is taken', async () => {
    const report = await executePlan([action(1), action(2)], ctx(undefined));
    expect(report.outcomes).toHaveLength(2);
    expect(report.notStarted).toEqual([]);
    expect(report.stoppedByUntil).toBeFalsy();
  });
});

describe('low-impact runs: idle I/O priority', () => {
  it('wraps ffmpeg in ionice -c3 -t when ionice exists, and leaves it alone otherwise', () => {
    expect(withIdleIo('/usr/bin/ionice', '/usr/bin/ffmpeg', ['-i', 'a.mp4'])).toEqual({
      ffmpeg: '/usr/bin/ionice',
      args: ['-c3', '-t', '/usr/bin/ffmpeg', '-i', 'a.mp4'],
    });
    expect(withIdleIo(undefined, '/usr/bin/ffmpeg', ['-i', 'a.mp4'])).toEqual({
      ffmpeg: '/usr/bin/ffmpeg',
      args: ['-i', 'a.mp4'],
    });
  });

  it('resolveIonice: off when disabled, found when there, says so when missing', () => {
    const log = memoryLog();
    expect(resolveIonice(false, process.env, log, () => '/usr/bin/ionice')).toBeUndefined();
    expect(resolveIonice(true, {}, log, () => '/opt/bin/ionice')).toBe('/opt/bin/ionice');
    expect(log.lines).toEqual([]);
    // The lookup is injected: this case is reached also where util-linux is installed.
    expect(resolveIonice(true, {}, log, () => undefined)).toBeUndefined();
    expect(log.lines.map((l) => l.message)).toEqual([
      'ionice not found: ffmpeg runs at normal I/O priority',
    ]);
  });

  it('findIonice: PATH first, then the usual places, else none', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cam-ionice-'));
    try {
      const fake = path.join(dir, 'ionice');
      writeFileSync(fake, '#!/bin/sh\n');
      chmodSync(fake, 0o755);
      expect(findIonice({ PATH: `/nonexistent:${dir}` }, [])).toBe(fake);
      expect(findIonice({ PATH: '/nonexistent' }, [dir])).toBe(fake);
      expect(findIonice({ PATH: '/nonexistent' }, [])).toBeUndefined();
      chmodSync(fake, 0o644); // not executable: not an ionice
      expect(findIonice({ PATH: dir }, [])).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

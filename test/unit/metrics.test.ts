import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  escapeLabelValue,
  parseMetricsText,
  previousLastSuccess,
  renderMetrics,
  writeMetricsFile,
  type RunMetrics,
} from '../../src/core/metrics.js';
import { metricValue } from '../helpers/metrics.js';
import { removeDir, tempDir } from '../helpers/tree.js';

const base: Omit<RunMetrics, 'lastSuccess'> = {
  root: '/camera',
  finishedAt: new Date('2025-03-01T05:00:00Z'),
  durationSeconds: 3600.1234,
  exitCode: 0,
  clipsSeen: 12,
  archived: 9,
  alreadyArchived: 1,
  skipped: 1,
  failed: 1,
  notDone: 0,
  bytesIn: 1_000_000,
  bytesOut: 250_000,
  stoppedByUntil: false,
};

describe('renderMetrics', () => {
  it('renders valid exposition text with HELP and TYPE for every family and a root label', () => {
    const text = renderMetrics({ ...base, lastSuccess: 1740805200 });
    const parsed = parseMetricsText(text);
    for (const s of parsed.samples) {
      expect(parsed.types.get(s.name), s.name).toBe('gauge');
      expect(parsed.help.get(s.name), s.name).toBeTruthy();
      expect(s.labels.root).toBe('/camera');
      expect(s.name).toMatch(/^camera_archiver_/);
    }
    expect(metricValue(text, 'camera_archiver_last_run_timestamp_seconds')).toBe(1740805200);
    expect(metricValue(text, 'camera_archiver_last_run_duration_seconds')).toBe(3600.123);
    expect(metricValue(text, 'camera_archiver_last_run_success')).toBe(1);
    expect(metricValue(text, 'camera_archiver_last_run_clips', { result: 'failed' })).toBe(1);
    expect(metricValue(text, 'camera_archiver_last_run_clips', { result: 'archived' })).toBe(9);
    expect(metricValue(text, 'camera_archiver_last_run_bytes', { direction: 'out' })).toBe(250_000);
    expect(metricValue(text, 'camera_archiver_last_success_timestamp_seconds')).toBe(1740805200);
  });

  it('marks failure and leaves last success out when none is known', () => {
    const text = renderMetrics({ ...base, exitCode: 1, lastSuccess: undefined });
    expect(metricValue(text, 'camera_archiver_last_run_success')).toBe(0);
    expect(metricValue(text, 'camera_archiver_last_run_exit_code')).toBe(1);
    expect(text).not.toContain('last_success_timestamp_seconds');
  });

  it('escapes label values (quotes, backslashes, newlines in a root path)', () => {
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    const root = '/mnt/odd "name"\\x';
    const text = renderMetrics({ ...base, root, lastSuccess: undefined });
    expect(parseMetricsText(text).samples.every((s) => s.labels.root === root)).toBe(true);
  });
});

describe('parseMetricsText', () => {
  it('rejects malformed text with the line number', () => {
    expect(() => parseMetricsText('x{a="1"} 1\nx{a="1"} 2\n')).toThrow(/line 2: duplicate series/);
    expect(() => parseMetricsText('x{a=1} 1\n')).toThrow(/line 1/);
    expect(() => parseMetricsText('x one\n')).toThrow(/line 1: bad value/);
    expect(() => parseMetricsText('# TYPE x nonsense\n')).toThrow(/unknown metric type/);
    expect(() => parseMetricsText('x 1\n# TYPE x gauge\n')).toThrow(/after its samples/);
    expect(() => parseMetricsText('x 1')).toThrow(/newline/);
  });

  it('previousLastSuccess finds the value for this root only, and survives garbage', () => {
    const text = renderMetrics({ ...base, lastSuccess: 123 });
    expect(previousLastSuccess(text, '/camera')).toBe(123);
    expect(previousLastSuccess(text, '/other')).toBeUndefined();
    expect(previousLastSuccess('garbage {{{', '/camera')).toBeUndefined();
    expect(previousLastSuccess(undefined, '/camera')).toBeUndefined();
  });
});

describe('writeMetricsFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('metrics-');
  });
  afterEach(() => removeDir(dir));

  it('writes atomically (no temporary file left) and keeps the last success over a failed run', async () => {
    const file = path.join(dir, 'camera-archiver.prom');
    await writeMetricsFile(file, base);
    const first = readFileSync(file, 'utf8');
    expect(metricValue(first, 'camera_archiver_last_success_timestamp_seconds')).toBe(1740805200);

    await writeMetricsFile(file, {
      ...base,
      exitCode: 1,
      finishedAt: new Date('2025-03-02T05:00:00Z'),
    });
    const second = readFileSync(file, 'utf8');
    expect(metricValue(second, 'camera_archiver_last_run_timestamp_seconds')).toBe(1740891600);
    expect(metricValue(second, 'camera_archiver_last_success_timestamp_seconds')).toBe(1740805200);
    expect(readdirSync(dir)).toEqual(['camera-archiver.prom']);
  });

  it('a damaged previous file does not stop the new one', async () => {
    const file = path.join(dir, 'm.prom');
    writeFileSync(file, 'half a line');
    await writeMetricsFile(file, { ...base, exitCode: 1 });
    expect(() => parseMetricsText(readFileSync(file, 'utf8'))).not.toThrow();
  });

  it('fails (for the caller to log) when the directory does not exist, leaving nothing behind', async () => {
    await expect(writeMetricsFile(path.join(dir, 'missing', 'm.prom'), base)).rejects.toThrow(
      /ENOENT/,
    );
    expect(readdirSync(dir)).toEqual([]);
  });
});

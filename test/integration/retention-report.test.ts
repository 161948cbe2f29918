/**
 * A real cleanup reports like an archive run: its own metrics file beside the archive run's, and
 * one webhook event — also when it is refused (a cron job that fails must be seen).
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { KiB, putSized } from '../helpers/sized-tree.js';
import { metricValue } from '../helpers/metrics.js';
import { removeDir, tempDir } from '../helpers/tree.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) removeDir(d);
});

async function withReceiver<T>(
  fn: (url: string, events: Record<string, unknown>[]) => Promise<T>,
): Promise<T> {
  const events: Record<string, unknown>[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      events.push(JSON.parse(body) as Record<string, unknown>);
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, events);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

async function run(args: string[], state: string): Promise<number> {
  const out = new PassThrough();
  const err = new PassThrough();
  out.resume();
  err.resume();
  return runCli([...args, '--no-config'], {
    stdin: process.stdin,
    stdout: out as unknown as NodeJS.WriteStream,
    stderr: err as unknown as NodeJS.WriteStream,
    env: { ...process.env, XDG_STATE_HOME: state },
    signal: new AbortController().signal,
    commandLine: 'camera-archiver (report test)',
  });
}

describe('cleanup metrics and notifications', () => {
  it('writes <metrics-file>-cleanup.prom and posts cleanup.finished, then cleanup.failed when refused', async () => {
    const root = tempDir('cam-report-');
    const state = tempDir('cam-report-state-');
    const metricsDir = tempDir('cam-report-metrics-');
    dirs.push(root, state, metricsDir);
    putSized(root, '2025/01/10/REO_a_20250110120000.mp4', 10 * KiB);
    putSized(root, '2025/02/27/REO_a_20250227120000.mp4', 10 * KiB);
    const metrics = path.join(metricsDir, 'camera-archiver.prom');
    const cleanupMetrics = path.join(metricsDir, 'camera-archiver-cleanup.prom');
    await withReceiver(async (url, events) => {
      const common = [
        '--metrics-file',
        metrics,
        '--notify-url',
        url,
        '--now',
        '2025-03-01T03:00:00Z',
      ];
      expect(await run([root, '--cleanup', '-y', '--age', '30', ...common], state)).toBe(0);
      const text = readFileSync(cleanupMetrics, 'utf8');
      expect(metricValue(text, 'camera_archiver_cleanup_last_run_exit_code', { root })).toBe(0);
      expect(
        metricValue(text, 'camera_archiver_cleanup_last_run_removals', { result: 'done' }),
      ).toBe(1);
      expect(
        metricValue(text, 'camera_archiver_cleanup_last_success_timestamp_seconds'),
      ).toBeGreaterThan(0);
      expect(events.map((e) => e.event)).toEqual(['cleanup.finished']);
      expect(String(events[0]?.text)).toMatch(/1 removed, 0 failed/);

      // --max-delete refuses: exit 1, reported as failed, last success kept.
      putSized(root, '2025/01/11/REO_a_20250111120000.mp4', 10 * KiB);
      putSized(root, '2025/01/12/REO_a_20250112120000.mp4', 10 * KiB);
      expect(
        await run([root, '--cleanup', '-y', '--age', '30', '--max-delete', '1', ...common], state),
      ).toBe(1);
      const after = readFileSync(cleanupMetrics, 'utf8');
      expect(metricValue(after, 'camera_archiver_cleanup_last_run_refused')).toBe(1);
      expect(metricValue(after, 'camera_archiver_cleanup_last_success_timestamp_seconds')).toBe(
        metricValue(text, 'camera_archiver_cleanup_last_success_timestamp_seconds'),
      );
      expect(events.map((e) => e.event)).toEqual(['cleanup.finished', 'cleanup.failed']);
      expect(String(events[1]?.text)).toMatch(/refused to clean .*--max-delete 1/);
    });
  });
});

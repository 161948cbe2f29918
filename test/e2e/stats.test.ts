import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { retentionSampleTree } from '../helpers/sized-tree.js';
import { removeDir, tempDir } from '../helpers/tree.js';

const NOW = '2025-03-01T03:00:00Z';
const roots: string[] = [];
afterEach(() => {
  while (roots.length) removeDir(roots.pop() ?? '');
});

/** February sources (two cameras, thumbnails); January archives and its sources in the trash. */
function sampleTree(): string {
  const root = tempDir('cam-e2e-stats-');
  return retentionSampleTree(root);
}

describe('camera-archiver stats', () => {
  it('prints per-camera and per-day tables and a forecast that matches the footage on disk', async () => {
    const root = sampleTree();
    roots.push(root);
    const json = await runCli(['stats', root, '--json', '--max-size', '6000K', '--now', NOW]);
    expect(json.exitCode).toBe(0);
    const r = JSON.parse(json.stdout) as {
      managed: { total: number; source: number; archive: number; trash: number };
      cameras: { camera: string; clips: number; archives: number; savings: { ratio: number } }[];
      days: { date: string }[];
      forecast: { bytesPerDay: number; basis: string[]; maxSizeHoldsDays: number };
    };
    expect(r.managed).toEqual({
      source: 5824 * 1024,
      archive: 1680 * 1024,
      trash: 5824 * 1024,
      total: 13328 * 1024,
    });
    expect(r.cameras.map((c) => [c.camera, c.clips, c.archives])).toEqual([
      ['REO_back', 28, 28],
      ['REO_front', 28, 28],
    ]);
    expect(r.cameras[0]?.savings.ratio).toBeCloseTo(0.3);
    expect(r.days).toHaveLength(56);
    // Two cameras × (100 KiB clip + 4 KiB thumbnail) a day, measured over the last 7 full days.
    expect(r.forecast.bytesPerDay).toBe(208 * 1024);
    expect(r.forecast.basis).toEqual([
      '2025-02-22',
      '2025-02-23',
      '2025-02-24',
      '2025-02-25',
      '2025-02-26',
      '2025-02-27',
      '2025-02-28',
    ]);
    // 6000 KiB at 208 KiB/day, all still raw (under the 30-day --age): 28.8 days.
    expect(r.forecast.maxSizeHoldsDays).toBe(28.8);

    const text = await runCli(['stats', root, '--max-size', '6000K', '--now', NOW]);
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toMatch(/^REO_front\s+28\s+2\.8 MiB\s+28/m);
    expect(text.stdout).toMatch(/Forecast at 208\.0 KiB\/day/);
    expect(text.stdout).toMatch(/--max-size 5\.9 MiB holds 28\.8 days of footage/);
  });

  it('a missing directory is an error (exit 1)', async () => {
    const r = await runCli(['stats', '/nonexistent/camera']);
    expect(r.exitCode).toBe(1);
  });
});

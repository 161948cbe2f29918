/**
 * Signals at exact points: mid-transcode (ffmpeg running) and mid-move (between the trash link and
 * the unlink, held there with a SIGSTOP failpoint). Each: the documented exit code within seconds,
 * no ffmpeg left, no partial, sources intact, invariants hold, and the next run finishes the job.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN, FAST, runCli } from '../helpers/cli.js';
import { makeTree } from '../helpers/media.js';
import { listTree, removeDir, tempDir } from '../helpers/tree.js';
import { checkInvariants, type ClipRecord } from './invariants.js';
import { waitFor } from '../helpers/wait.js';

const ARGS = ['-y', '--now', '2025-03-01T00:00:00Z', '--settle-time', '0', ...FAST];
const CODES = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;

function processState(pid: number): string {
  try {
    return execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

describe('signals mid-move', () => {
  let root: string;
  const records: ClipRecord[] = [
    { rel: '2025/01/15/REO_front_20250115100000.mp4', thumbnail: true, duration: 1 },
    { rel: '2025/01/15/REO_back_20250115100001.mp4', thumbnail: false, duration: 1 },
  ];
  beforeEach(() => {
    root = tempDir();
    // REO_back is archived first (name order), then REO_front: links #2 and #3 are its thumbnail and clip.
    makeTree(root, [
      { stamp: '20250115100000', thumbnail: true },
      { stamp: '20250115100001', camera: 'REO_back' },
    ]);
  });
  afterEach(() => removeDir(root));

  it.each([
    ['SIGINT', 'group'],
    ['SIGTERM', 'main'],
    ['SIGHUP', 'main'],
  ] as const)(
    '%s (to the %s process) between the trash link and the unlink',
    async (signal, target) => {
      const child = spawn(process.execPath, [BIN, root, ...ARGS], {
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, TZ: 'UTC', ARCHIVER_FAILPOINT: 'linked-to-trash:3:stop' },
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      const pid = child.pid ?? 0;
      expect(await waitFor(() => processState(pid).startsWith('T'), 30_000)).toBe(true);
      // The clip is linked into the trash and still in place: the exact instant of a move.
      expect(existsSync(path.join(root, '2025/01/15/REO_front_20250115100000.mp4'))).toBe(true);
      expect(
        existsSync(path.join(root, '.deleted/input/2025/01/15/REO_front_20250115100000.mp4')),
      ).toBe(true);
      process.kill(target === 'group' ? -pid : pid, signal);
      process.kill(pid, 'SIGCONT');
      const started = Date.now();
      expect(await exited).toBe(CODES[signal]);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(stderr).toContain(`${signal} received`);
      expect(checkInvariants(root, records)).toEqual([]);
      expect(listTree(root).filter((p) => p.endsWith('.partial'))).toEqual([]);
      // The move in progress completed before the run stopped.
      expect(existsSync(path.join(root, '2025/01/15/REO_front_20250115100000.mp4'))).toBe(false);
      const next = await runCli([root, ...ARGS]);
      expect(next.exitCode, next.stderr).toBe(0);
      expect(listTree(root).filter((p) => /^\d{4}\//.test(p))).toEqual([]);
    },
  );
});

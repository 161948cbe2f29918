import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/cli.js';
import { makeTree } from '../helpers/media.js';
import { listTree, removeDir, tempDir } from '../helpers/tree.js';
import { waitFor } from '../helpers/wait.js';

/** ffmpeg processes whose command line mentions `needle`. */
function ffmpegsMentioning(needle: string): string[] {
  try {
    return execFileSync('pgrep', ['-af', 'ffmpeg'], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes(needle));
  } catch {
    return [];
  }
}

describe('signals mid-transcode (e2e)', () => {
  let root: string;
  beforeEach(() => {
    root = tempDir();
    // Long enough (20 s of 640x360, x265 medium) that the signal lands while ffmpeg runs.
    makeTree(root, [{ stamp: '20250115120000', spec: { seconds: 20, size: '640x360', rate: 25 } }]);
  });
  afterEach(() => removeDir(root));

  it.each([
    ['SIGINT', 'group', 130],
    ['SIGTERM', 'main', 143],
    ['SIGHUP', 'main', 129],
  ] as const)(
    '%s to the %s process: exit %i, no ffmpeg left, no partial, source intact',
    async (signal, target, code) => {
      const child = spawn(
        process.execPath,
        [
          BIN,
          root,
          '-y',
          '--now',
          '2025-03-01T00:00:00Z',
          '--encoder',
          'software',
          '--progress',
          'lines',
        ],
        {
          detached: true,
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, TZ: 'UTC' },
        },
      );
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      const partial = path.join(root, 'archived/2025/01/15/.REO_front_20250115120000.mp4.partial');
      expect(await waitFor(() => existsSync(partial), 30_000)).toBe(true);
      const pid = child.pid ?? 0;
      process.kill(target === 'group' ? -pid : pid, signal);
      const started = Date.now();
      expect(await exited).toBe(code);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(stderr).toContain(`${signal} received`);
      expect(stderr).toMatch(
        /interrupted while archiving 2025\/01\/15\/REO_front_20250115120000.mp4: the clip is kept/,
      );
      expect(await waitFor(() => ffmpegsMentioning(root).length === 0, 5000)).toBe(true);
      const files = listTree(root).filter((p) => !p.endsWith('/') && !/archiver/.test(p));
      expect(files).toEqual(['2025/01/15/REO_front_20250115120000.mp4']);
    },
  );
});

/** Dates that break naive code: names in the future, DST changes, 29 February, folders that disagree. */
import { readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FAST, runCli } from '../helpers/cli.js';
import { makeTree } from '../helpers/media.js';
import { listTree, removeDir, tempDir } from '../helpers/tree.js';

const RUN = ['-y', '--settle-time', '0', ...FAST];

describe('clock and calendar edge cases', () => {
  let root: string;
  beforeEach(() => {
    root = tempDir();
  });
  afterEach(() => removeDir(root));

  it('a clip named in the future is kept by the age rule, and archived (not lost) with --age 0', async () => {
    makeTree(root, [{ stamp: '20300101120000', mtime: new Date('2025-01-01T00:00:00Z') }]);
    const kept = await runCli([root, ...RUN, '--now', '2025-03-01T00:00:00Z', '-v']);
    expect(kept.exitCode, kept.stderr).toBe(0);
    expect(kept.stderr).toMatch(
      /keep 2030\/01\/01\/REO_front_20300101120000.mp4: recorded 2030-01-01 12:00:00, newer than --age 30 days/,
    );
    const all = await runCli([root, ...RUN, '--now', '2025-03-01T00:00:00Z', '--age', '0']);
    expect(all.exitCode, all.stderr).toBe(0);
    expect(existsSync(path.join(root, 'archived/2030/01/01/REO_front_20300101120000.mp4'))).toBe(
      true,
    );
  });

  it('DST: the repeated autumn hour and the skipped spring hour both archive under the names’ own dates (Europe/Berlin)', async () => {
    makeTree(root, [
      { stamp: '20241027023000', camera: 'REO_a', mtime: new Date('2024-10-27T03:00:00Z') },
      { stamp: '20241027023000', camera: 'REO_b', mtime: new Date('2024-10-27T03:00:00Z') },
      { stamp: '20240331023000', mtime: new Date('2024-03-31T03:00:00Z') },
    ]);
    const r = await runCli([root, ...RUN, '--now', '2024-12-01T00:00:00Z'], {
      env: { TZ: 'Europe/Berlin' },
    });
    expect(r.exitCode, r.stderr).toBe(0);
    const archives = listTree(root).filter((p) => p.startsWith('archived/') && p.endsWith('.mp4'));
    expect(archives).toEqual([
      'archived/2024/03/31/REO_front_20240331023000.mp4',
      'archived/2024/10/27/REO_a_20241027023000.mp4',
      'archived/2024/10/27/REO_b_20241027023000.mp4',
    ]);
  });

  it('29 February exists in 2024 and not in 2025', async () => {
    makeTree(root, [{ stamp: '20240229120000' }]);
    makeTree(root, [
      { stamp: '20240301120000', dir: '2025/02/28', name: 'REO_front_20250229120000.mp4' },
    ]);
    const r = await runCli([root, ...RUN, '--now', '2025-06-01T00:00:00Z', '-v']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(existsSync(path.join(root, 'archived/2024/02/29/REO_front_20240229120000.mp4'))).toBe(
      true,
    );
    expect(r.stderr).toMatch(
      /ignored .*REO_front_20250229120000.mp4: name is not <camera>_<YYYYMMDDHHMMSS>/,
    );
    expect(existsSync(path.join(root, '2025/02/28/REO_front_20250229120000.mp4'))).toBe(true);
  });

  it('a folder date that disagrees with the name: the name decides the archive day and the age; the trash mirrors the folder', async () => {
    makeTree(root, [{ stamp: '20250116000001', dir: '2025/01/15' }]);
    const r = await runCli([root, ...RUN, '--now', '2025-03-01T00:00:00Z']);
    expect(r.exitCode, r.stderr).toBe(0);
    // A misfiled clip never takes the plain name, which belongs to a clip filed under its date.
    expect(readdirSync(path.join(root, 'archived/2025/01/16'))).toEqual([
      expect.stringMatching(/^REO_front~[0-9a-f]{8}_20250116000001\.mp4$/),
    ]);
    expect(
      existsSync(path.join(root, '.deleted/input/2025/01/15/REO_front_20250116000001.mp4')),
    ).toBe(true);
  });
});

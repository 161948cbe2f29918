/**
 * The trash deletes only what the tool put there: a trash root holding anything else (a mistyped
 * --trash-root) is refused before anything is removed, naming what does not belong; a trash without
 * the marker whose files all match the layout (an older version's, the Python tool's) is adopted.
 */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { TRASH_MARKER_FILE } from '../../src/retention/trash.js';
import { KiB, putSized } from '../helpers/sized-tree.js';
import { removeDir, snapshot, tempDir } from '../helpers/tree.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) removeDir(d);
});

// Trashed files are judged by when they were moved (their ctime: now), so "now" is 60 days on.
const NOW = new Date(Date.now() + 60 * 86_400_000).toISOString();

async function cleanup(args: string[], state: string): Promise<{ code: number; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stderr = '';
  out.resume();
  err.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await runCli([...args, '--cleanup', '-y', '--no-config', '--now', NOW], {
    stdin: process.stdin,
    stdout: out as unknown as NodeJS.WriteStream,
    stderr: err as unknown as NodeJS.WriteStream,
    env: { ...process.env, XDG_STATE_HOME: state },
    signal: new AbortController().signal,
    commandLine: 'camera-archiver (trash test)',
  });
  return { code, stderr };
}

function camera(): { root: string; state: string } {
  const root = tempDir('cam-trash-');
  const state = tempDir('cam-trash-state-');
  dirs.push(root, state);
  putSized(root, '2025/01/10/REO_a_20250110120000.mp4', 10 * KiB);
  return { root, state };
}

describe('the trash deletes only what the tool put there', () => {
  it('refuses a mistyped --trash-root full of photos and notes, naming them; nothing removed', async () => {
    const { root, state } = camera();
    const photos = tempDir('cam-photos-');
    dirs.push(photos);
    putSized(photos, '2024/05/01/IMG_1234.jpg', 5 * KiB);
    putSized(photos, 'input/2024/05/02/holiday.txt', 1 * KiB);
    writeFileSync(path.join(photos, 'notes.txt'), 'mine');
    const before = snapshot(photos);
    const r = await cleanup(
      [root, '--trash-root', photos, '--trash-days', '1', '--age', '0'],
      state,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/holds 3 file\(s\) camera-archiver did not put there/);
    expect(r.stderr).toContain(path.join(photos, 'input/2024/05/02/holiday.txt'));
    expect(r.stderr).toContain(`${path.join(photos, '2024/05/01')}/ (not under input/ or output/)`);
    expect(snapshot(photos)).toEqual(before);
    expect(existsSync(path.join(photos, TRASH_MARKER_FILE))).toBe(false);
  });

  it('one foreign file among trashed clips refuses the whole cleanup', async () => {
    const { root, state } = camera();
    putSized(root, '.deleted/input/2025/01/09/REO_a_20250109120000.mp4', 10 * KiB);
    putSized(root, '.deleted/input/2025/01/09/readme.txt', 1 * KiB);
    const footage = (): string[] =>
      Object.entries(snapshot(root))
        .filter(([p]) => /\.(mp4|txt)$/.test(p))
        .map(([p, v]) => `${p} ${v}`);
    const before = footage();
    const r = await cleanup([root, '--trash-days', '1', '--age', '1'], state);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(path.join(root, '.deleted/input/2025/01/09/readme.txt'));
    expect(footage()).toEqual(before);
  });

  it('adopts a trash without the marker whose files all match the layout, then purges it by age', async () => {
    const { root, state } = camera();
    putSized(root, '.deleted/input/2025/01/09/REO_a_20250109120000.mp4', 10 * KiB);
    putSized(root, '.deleted/input/2025/01/09/REO_a_20250109120000.1.mp4', 10 * KiB); // a clash
    putSized(root, '.deleted/output/2024/12/01/archived-20241201120000.mp4', 10 * KiB); // Python's
    const r = await cleanup([root, '--trash-days', '30', '--age', '0'], state);
    expect(r.stderr).toMatch(/has no marker yet .* every file in it is in the layout: adopting it/);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(path.join(root, '.deleted', TRASH_MARKER_FILE))).toBe(true);
    expect(existsSync(path.join(root, '.deleted/input/2025/01/09'))).toBe(false);
    expect(existsSync(path.join(root, '.deleted/output/2024/12/01'))).toBe(false);
    // The marker is not foreign to the next run.
    expect((await cleanup([root, '--trash-days', '30', '--age', '0'], state)).code).toBe(0);
  });
});

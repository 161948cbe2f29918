/**
 * The command line as a Python-archiver user types it: `-- DIR`, options given twice, and every
 * bad value refused with exit 2 and a message that repeats what was typed, before anything is
 * touched.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FAST, runCli } from '../helpers/cli.js';
import { makeTree } from '../helpers/media.js';
import { listTree, removeDir, snapshot, tempDir } from '../helpers/tree.js';

const NOW = ['--now', '2025-03-01T00:00:00Z'];
const CLIP = '2025/01/15/REO_front_20250115120000.mp4';

describe('the command line (e2e)', () => {
  let root: string;
  beforeEach(() => {
    root = tempDir();
    makeTree(root, [{ stamp: '20250115120000' }]);
  });
  afterEach(() => removeDir(root));

  it('`[options] -- DIR` runs on DIR, not on /camera', async () => {
    const r = await runCli(['-y', ...NOW, ...FAST, '--', root]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(listTree(root)).toContain(`archived/${CLIP}`);
    const stats = await runCli(['stats', '--json', ...NOW, '--', root]);
    expect(stats.exitCode, stats.stderr).toBe(0);
    expect((JSON.parse(stats.stdout) as { root: string }).root).toBe(root);
    const record = await runCli(['record', '--status', '--', root]);
    expect(record.stdout + record.stderr).toContain(`no recorder status under ${root}`);
  });

  it('two directories (one before --, one after) are a usage error', async () => {
    const other = tempDir();
    try {
      const r = await runCli([other, '--dry-run', '--', root]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain(`directory given twice: ${other} and ${root}`);
    } finally {
      removeDir(other);
    }
  });

  it('an option given twice takes its last value, as with the Python archiver', async () => {
    // --age 100 alone keeps the clip (recorded 45 days before --now); the later --age 14 wins.
    const r = await runCli([root, '--dry-run', '--json', '--age', '100', '--age', '14', ...NOW]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { counts: { transcode: number } }).counts.transcode).toBe(1);
    const kept = await runCli([root, '--dry-run', '--json', '--age', '14', '--age', '100', ...NOW]);
    expect(kept.exitCode, kept.stderr).toBe(0);
    expect((JSON.parse(kept.stdout) as { counts: { keep: number } }).counts.keep).toBe(1);
    // Flags and choices too; -y twice is still yes.
    const twice = await runCli([
      root,
      '-y',
      '-y',
      '--encoder',
      'qsv',
      ...NOW,
      ...FAST,
      '--output',
      path.join(root, 'first'),
      '-o',
      path.join(root, 'second'),
    ]);
    expect(twice.exitCode, twice.stderr).toBe(0);
    expect(listTree(root)).toContain(`second/${CLIP}`);
    expect(existsSync(path.join(root, 'first'))).toBe(false);
  });

  it('--stall-timeout 0 means no watchdog: the transcode runs to the end', async () => {
    const r = await runCli([root, '-y', ...NOW, ...FAST, '--stall-timeout', '0']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(listTree(root)).toContain(`archived/${CLIP}`);
  });

  it('-v lists folders that look like date folders but are not YYYY/MM/DD, with the reason', async () => {
    makeTree(root, [
      { stamp: '20230105120000', dir: '2023/1/5' },
      { stamp: '20230228120000', dir: '2023/02/31' },
    ]);
    for (const args of [['--dry-run'], ['--cleanup', '--dry-run', '--age', '0']]) {
      const r = await runCli([root, '-v', ...args, ...NOW]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stderr).toContain(
        `ignored ${root}/2023/1/5: not a date folder: month and day need two digits (YYYY/MM/DD, e.g. 2023/01/05)`,
      );
      expect(r.stderr).toContain(
        `ignored ${root}/2023/02/31: not a date folder: 2023-02-31 is not a real date`,
      );
    }
  });

  // Each bad value: [what is typed, what the message must say]. The message repeats the value.
  const BAD: [string[], RegExp][] = [
    [['--age', 'abc'], /--age must be a number of days from 0 to 36500, got 'abc'/],
    [['--age', '-1'], /--age must be .*, got '-1'/],
    [['--age', '1000000000'], /--age must be .* to 36500, got '1000000000'/],
    [['--age', ''], /--age must be .*, got ''/],
    [['--quality', '300'], /--quality must be a whole number from 0 to 255, got '300'/],
    [['--quality', 'best'], /--quality must be .*, got 'best'/],
    [['--nice', '50'], /--nice must be a whole number from 0 to 19, got '50'/],
    [['--nice', '-5'], /--nice must be .*, got '-5'/],
    [['--jobs', '0'], /--jobs must be a whole number from 1 to 64, got '0'/],
    [['--jobs', '1000'], /--jobs must be .* to 64, got '1000'/],
    [['--jobs', '2.5'], /--jobs must be a whole number .*, got '2.5'/],
    [['-j', 'many'], /--jobs must be .*, got 'many'/],
    [['--max-height', '8'], /--max-height must be .* from 16 to 8640, got '8'/],
    [['--max-size', '500'], /invalid --max-size '500': 500 what\? write 500GB or 500MB/],
    [['--max-size', '5XB'], /invalid --max-size '5XB'/],
    [['--min-free', '50'], /invalid --min-free '50': 50 what\?/],
    [['--max-delete', 'lots'], /invalid --max-delete 'lots'/],
    [['--trash-days', 'abc'], /--trash-days must be .*, got 'abc'/],
    [['--settle-time', 'soon'], /invalid --settle-time 'soon'/],
    [['--stall-timeout', '-1'], /invalid --stall-timeout '-1'/],
    [['--protect', 'forever'], /invalid --protect 'forever'/],
    [['--until', '25:00'], /invalid --until '25:00'/],
    [['--preset', 'turbo'], /--preset must be an encoder preset .*, got 'turbo'/],
    [['--encoder', 'gpu'], /Invalid values:[\s\S]*encoder, Given: "gpu"/],
    [['--codec', 'vp9'], /Invalid values:[\s\S]*codec, Given: "vp9"/],
    [['--frobnicate'], /Unknown argument: frobnicate/],
  ];
  it.each(BAD)('bad value %j: exit 2, says what was typed, touches nothing', async (args, msg) => {
    const before = snapshot(root);
    // A real run (-y), not a dry run: the value is refused before anything is written.
    const r = await runCli([root, '-y', ...NOW, ...FAST, ...args]);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toMatch(msg);
    expect(r.stderr).not.toMatch(/NaN|\n\s+at /);
    expect(snapshot(root)).toEqual(before);
  });

  it('a bad value from the environment is repeated too', async () => {
    const r = await runCli([root, '--dry-run'], { env: { CAMERA_ARCHIVER_AGE: 'fortnight' } });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/CAMERA_ARCHIVER_AGE=fortnight: --age must be a number/);
  });

  it.each([
    [['--age', 'abc'], /--age must be .*, got 'abc'/],
    [['--days', 'x'], /--days must be .*, got 'x'/],
    [['--max-size', '500'], /500 what\?/],
  ])('stats: bad value %j exits 2 and repeats it', async (args, msg) => {
    const r = await runCli(['stats', root, ...args]);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toMatch(msg);
  });
});

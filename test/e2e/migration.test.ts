/**
 * The Python archiver's crontab lines, word for word, on a tree in its conventions: what the
 * README's migration section says happens is what happens.
 *   30 2 * * 1-6  archiver.py /camera -y
 *   0  3 * * 0    archiver.py /camera --cleanup --clean-output --age 14 --max-size 500GB -y
 */
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { clipTemplate, makeTree, stampDate } from '../helpers/media.js';
import { listTree, removeDir, tempDir } from '../helpers/tree.js';

const ARCHIVE_LINE = ['-y'];
const CLEANUP_LINE = ['--cleanup', '--clean-output', '--age', '14', '--max-size', '500GB', '-y'];
const PYTHON_LOG = '2025-02-28 02:30:01,001 - INFO - Found 2 files to process\n';

describe('migrating from the Python archiver (e2e)', () => {
  let root: string;
  let state: string;
  beforeEach(() => {
    root = tempDir('camera-');
    state = tempDir('cam-state-');
  });
  afterEach(() => {
    removeDir(root);
    removeDir(state);
  });
  // The clock is the test's (--now); the encoder comes from the environment, as a config would
  // give it, so the crontab words stay the Python archiver's.
  const run = (line: string[], ...extra: string[]): ReturnType<typeof runCli> =>
    runCli([root, ...line, ...extra, '--now', '2025-03-01T00:00:00Z'], {
      env: {
        XDG_STATE_HOME: state,
        CAMERA_ARCHIVER_ENCODER: 'software',
        CAMERA_ARCHIVER_PRESET: 'ultrafast',
      },
    });

  /** The Python archiver's tree: clips, its `archived-<stamp>.mp4` archives, its trash, its log. */
  function pythonTree(): void {
    makeTree(root, [
      { camera: 'REO_front', stamp: '20250110120000', thumbnail: true }, // 50 days, archived
      { camera: 'REO_back', stamp: '20250120120000' }, // 40 days, not archived yet
      { camera: 'REO_front', stamp: '20250210120000' }, // 19 days
      { camera: 'REO_front', stamp: '20250220120000', thumbnail: true }, // 9 days
    ]);
    const legacy = (stamp: string): void => {
      const dir = path.join(
        root,
        'archived',
        stamp.slice(0, 4),
        stamp.slice(4, 6),
        stamp.slice(6, 8),
      );
      mkdirSync(dir, { recursive: true });
      const file = path.join(dir, `archived-${stamp}.mp4`);
      copyFileSync(clipTemplate(), file);
      const t = new Date(stampDate(stamp).getTime() + 3600_000);
      utimesSync(file, t, t);
    };
    legacy('20250110120000'); // its clip is still in the tree
    legacy('20241201120000'); // its clip went to the trash long ago
    makeTree(root, [{ stamp: '20241201120000', dir: '.deleted/input/2024/12/01' }]);
    makeTree(root, [{ stamp: '20241105120000', dir: '.deleted/input' }]); // outside date folders
    writeFileSync(path.join(root, 'archiver.log'), PYTHON_LOG);
  }

  it('the nightly line archives, recognising its archives; the weekly line is guarded, then cleans', async () => {
    pythonTree();

    // Nightly: clips older than 30 days. The Python archive of 2025-01-10 is verified and
    // counts (no second transcode); the clip of 2025-01-20 is transcoded.
    const nightly = await run(ARCHIVE_LINE);
    expect(nightly.exitCode, nightly.stderr).toBe(0);
    let tree = listTree(root);
    expect(tree).toContain('archived/2025/01/10/archived-20250110120000.mp4');
    expect(tree).not.toContain('archived/2025/01/10/REO_front_20250110120000.mp4');
    expect(tree).toContain('.deleted/input/2025/01/10/REO_front_20250110120000.mp4');
    expect(tree).toContain('.deleted/input/2025/01/10/REO_front_20250110120000.jpg');
    expect(tree).toContain('archived/2025/01/20/REO_back_20250120120000.mp4');
    expect(tree).toContain('.deleted/input/2025/01/20/REO_back_20250120120000.mp4');
    expect(tree).toContain('2025/02/10/REO_front_20250210120000.mp4');
    expect(tree).toContain('2025/02/20/REO_front_20250220120000.mp4');
    // The trash is never input: its clips are not archived.
    expect(tree).toContain('.deleted/input/2024/12/01/REO_front_20241201120000.mp4');
    expect(tree.filter((p) => p.includes('20241201') && p.startsWith('archived/'))).toEqual([
      'archived/2024/12/01/archived-20241201120000.mp4',
    ]);
    // Its log is moved aside once; archiver.log is now the rotating log's link.
    expect(lstatSync(path.join(root, 'archiver.log')).isSymbolicLink()).toBe(true);
    const oldLog = readdirSync(root).find((n) => n.startsWith('archiver-old-'));
    expect(readFileSync(path.join(root, oldLog ?? 'missing'), 'utf8')).toBe(PYTHON_LOG);

    // The same line again: nothing left to do.
    const again = await run(ARCHIVE_LINE);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toContain('nothing to do');

    // Weekly: the first cleanup of a tree never cleaned before removes most of its footage, and
    // the --max-delete guard refuses it as a whole, saying exactly how to go on.
    // A file in the trash outside the layout the tools write (input|output/YYYY/MM/DD/) was put
    // there by neither: the cleanup refuses to purge such a trash, naming the file.
    const stray = '.deleted/input/REO_front_20241105120000.mp4';
    const foreign = await run(CLEANUP_LINE);
    expect(foreign.exitCode).toBe(1);
    expect(foreign.stderr).toContain(`${path.join(root, stray)} (outside the date folders)`);
    expect(foreign.stderr).toContain('move those files out of the trash');
    expect(listTree(root)).toContain(stray);
    // As it says: moved out of the trash, the cleanup goes on.
    renameSync(path.join(root, stray), path.join(root, 'stray-REO_front_20241105120000.mp4'));

    const before = listTree(root);
    const weekly = await run(CLEANUP_LINE);
    expect(weekly.exitCode).toBe(1);
    expect(weekly.stderr).toMatch(
      /more than --max-delete 75%: nothing was removed\. If that is intended, run the same command again with --max-delete \d+% \(or --max-delete none: no limit\)/,
    );
    expect(listTree(root).filter((p) => !/archiver/.test(p))).toEqual(
      before.filter((p) => !/archiver/.test(p)),
    );
    const suggested = /--max-delete (\d+%)/.exec(weekly.stderr.split('again with')[1] ?? '')?.[1];
    expect(suggested).toBeDefined();

    // As the message says: the same line with the suggested value goes through.
    const guarded = await run(CLEANUP_LINE, '--max-delete', suggested ?? 'none');
    expect(guarded.exitCode, guarded.stderr).toBe(0);
    tree = listTree(root);
    // --age 14: the 19-day clip to the trash, the 9-day clip stays; --clean-output: archives
    // older than 14 days to the trash's output side.
    expect(tree).toContain('.deleted/input/2025/02/10/REO_front_20250210120000.mp4');
    expect(tree).toContain('2025/02/20/REO_front_20250220120000.mp4');
    expect(tree).toContain('2025/02/20/REO_front_20250220120000.jpg');
    expect(tree).toContain('.deleted/output/2025/01/20/REO_back_20250120120000.mp4');
    expect(tree).toContain('.deleted/output/2024/12/01/archived-20241201120000.mp4');
    expect(tree).toContain('.deleted/output/2025/01/10/archived-20250110120000.mp4');
    expect(tree.filter((p) => p.startsWith('archived/') && !p.endsWith('/'))).toEqual([]);
    // The file moved out of the trash is the user's again: untouched.
    expect(tree).toContain('stray-REO_front_20241105120000.mp4');

    // --age 0 means "age rule off" here (the Python archiver: "everything").
    const ageZero = await run(['--cleanup', '--age', '0', '-y']);
    expect(ageZero.exitCode, ageZero.stderr).toBe(0);
    expect(listTree(root)).toContain('2025/02/20/REO_front_20250220120000.mp4');
  });

  it('a size without a unit is refused, as by the Python archiver', async () => {
    pythonTree();
    const r = await run(['--cleanup', '--clean-output', '--age', '14', '--max-size', '500', '-y']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("invalid --max-size '500': 500 what? write 500GB or 500MB");
    expect(existsSync(path.join(root, '2025/01/10/REO_front_20250110120000.mp4'))).toBe(true);
  });
});

/**
 * The log file a migrated tree already has: the Python archiver's `archiver.log` (a regular file
 * it never rotated) is taken over once, then rotation works as documented; the rotation's
 * bookkeeping stays out of the camera tree; a run never lists its own log link as ignored.
 */
import {
  appendFileSync,
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { makeTree } from '../helpers/media.js';
import { removeDir, tempDir } from '../helpers/tree.js';

const NOW = ['--now', '2025-03-01T00:00:00Z'];
const PYTHON_LOG = '2025-02-23 03:00:01,123 - INFO - Processing 3 files\n';

describe('the log file (e2e)', () => {
  let root: string;
  let state: string;
  beforeEach(() => {
    root = tempDir();
    state = tempDir('cam-state-');
  });
  afterEach(() => {
    removeDir(root);
    removeDir(state);
  });
  const run = (...args: string[]): ReturnType<typeof runCli> =>
    runCli([root, '-y', ...NOW, ...args], { env: { XDG_STATE_HOME: state } });
  const logNames = (): string[] => readdirSync(root).filter((n) => n.includes('archiver'));

  it("takes over the Python archiver's archiver.log once, then appends and rotates", async () => {
    writeFileSync(path.join(root, 'archiver.log'), PYTHON_LOG);
    makeTree(root, [{ stamp: '20250225100000' }]); // kept: nothing to do

    const first = await run('-v');
    expect(first.exitCode, first.stderr).toBe(0);
    const old = logNames().find((n) => /^archiver-old-\d{4}-\d{2}-\d{2}\.log$/.test(n));
    expect(old, logNames().join(' ')).toBeDefined();
    expect(readFileSync(path.join(root, old ?? ''), 'utf8')).toBe(PYTHON_LOG);
    const link = path.join(root, 'archiver.log');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    const current = readlinkSync(link);
    expect(current).toMatch(/^archiver-\d{4}-\d{2}-\d{2}\.log$/);
    expect(first.stderr).toContain(
      `moved it aside to ${old}; archiver.log now links to the current log`,
    );
    expect(readFileSync(link, 'utf8')).toContain(`moved it aside to ${old}`);
    // Its own link is not "ignored" footage; no bookkeeping file in the camera tree.
    expect(first.stderr).not.toMatch(/ignored .*archiver\.log/);
    expect(readdirSync(root).filter((n) => n.startsWith('.'))).toEqual([]);
    expect(readdirSync(path.join(state, 'camera-archiver', 'logs'))).toEqual([
      expect.stringMatching(/archiver\.log-[0-9a-f]{8}\.audit\.json$/),
    ]);

    // The next run appends to the same file and moves nothing.
    const second = await run('-v');
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.stderr).not.toContain('moved it aside');
    expect(logNames().filter((n) => n.startsWith('archiver-old-'))).toEqual([old]);
    expect(readlinkSync(link)).toBe(current);
    expect(readFileSync(link, 'utf8').match(/nothing to do/g)).toHaveLength(2);

    // Over 4 MiB: the next run starts a new file and the link follows it (README: rotated at 4 MiB).
    appendFileSync(path.join(root, current), 'x'.repeat(4.5 * 1024 * 1024));
    const third = await run();
    expect(third.exitCode, third.stderr).toBe(0);
    expect(readlinkSync(link)).not.toBe(current);
    expect(readFileSync(link, 'utf8')).toContain('nothing to do');
    expect(readFileSync(link, 'utf8').length).toBeLessThan(10_000);
  });

  it('an older .archiver-audit.json beside the log moves into the state directory', async () => {
    makeTree(root, [{ stamp: '20250225100000' }]);
    const first = await run();
    expect(first.exitCode, first.stderr).toBe(0);
    const logs = path.join(state, 'camera-archiver', 'logs');
    const [audit] = readdirSync(logs);
    const beside = path.join(root, '.archiver-audit.json');
    writeFileSync(beside, readFileSync(path.join(logs, audit ?? '')));
    removeDir(logs);
    const again = await run();
    expect(again.exitCode, again.stderr).toBe(0);
    expect(existsSync(beside)).toBe(false);
    expect(readdirSync(logs)).toEqual([audit]);
  });
});

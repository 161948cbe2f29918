/**
 * Progress bars in a real pseudo-terminal (util-linux `script`), 50 columns wide: the lines
 * printed above the bars wrap instead of being cut, the last one before the bars stop appears,
 * and the overall bar shows speed and ETA.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN, TEST_STATE_HOME } from '../helpers/cli.js';
import { makeTree } from '../helpers/media.js';
import { removeDir, tempDir } from '../helpers/tree.js';

const hasScript = (() => {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const COLUMNS = 50;

function inPty(args: readonly string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const cmd = [process.execPath, BIN, ...args].map((a) => `'${a}'`).join(' ');
    const child = spawn('script', ['-qec', `stty cols ${COLUMNS} rows 40; ${cmd}`, '/dev/null'], {
      env: { ...process.env, TZ: 'UTC', XDG_STATE_HOME: TEST_STATE_HOME },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** The terminal's lines, without escape sequences. */
function screenLines(out: string): string[] {
  // eslint-disable-next-line no-control-regex
  const plain = out.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, '');
  return plain.split(/\r?\n|\r/);
}

describe('progress bars in a terminal (e2e)', () => {
  let root: string;
  beforeEach(() => {
    root = tempDir();
  });
  afterEach(() => removeDir(root));

  // CI installs util-linux: there a missing `script` fails instead of skipping.
  it.runIf(process.env.CI)('util-linux script is installed (CI)', () => {
    expect(hasScript).toBe(true);
  });

  it.skipIf(!hasScript)(
    'log lines wrap at the width, the last one appears, the overall bar has speed and ETA',
    async () => {
      const camera = 'REO_front_door_with_a_long_name';
      makeTree(root, [
        { camera, stamp: '20250115120000', thumbnail: true },
        { camera, stamp: '20250115130000', thumbnail: true },
      ]);
      const r = await inPty([
        root,
        '-y',
        '--now',
        '2025-03-01T00:00:00Z',
        '--encoder',
        'software',
        '--preset',
        'ultrafast',
        '--progress',
        'bars',
      ]);
      expect(r.code, r.out).toBe(0);
      const lines = screenLines(r.out);
      // Each clip's result line, as the log file has it in full, is on the terminal: wrapped
      // into pieces no wider than the terminal, nothing cut. The second clip's is the last line
      // logged before the bars stop.
      const logged = readFileSync(path.join(root, 'archiver.log'), 'utf8')
        .split('\n')
        .filter((l) => / - INFO - archived /.test(l))
        .map((l) => l.replace(/^.* - INFO - /, ''));
      expect(logged).toHaveLength(2);
      const squeeze = (s: string): string => s.replace(/\s+/g, '');
      const screen = squeeze(lines.join(''));
      for (const line of logged) {
        expect(line).toMatch(/KiB → .*KiB.*moved .* to \.deleted\/input/);
        expect(screen).toContain(squeeze(line));
      }
      const start = lines.findIndex((l) => l.startsWith('archived 2025/01/15'));
      const pieces = lines.slice(
        start,
        lines.findIndex((l, i) => i > start && l.includes('%')),
      );
      expect(pieces.length).toBeGreaterThan(1);
      for (const piece of pieces) expect(piece.length).toBeLessThanOrEqual(COLUMNS);
      // The overall bar, once a clip has made progress: bytes, speed and ETA.
      expect(lines.join('\n')).toMatch(
        /\| all \| \d\/2 files, .* of .*, [\d.]+ [KM]i?B\/s, ETA \S+/,
      );
    },
  );
});

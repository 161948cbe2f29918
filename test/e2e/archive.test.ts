import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FAST, runCli } from '../helpers/cli.js';
import { makeTree, playsCleanly, probe } from '../helpers/media.js';
import { listTree, removeDir, snapshot, tempDir } from '../helpers/tree.js';

const NOW = ['--now', '2025-03-01T00:00:00Z'];

describe('camera-archiver archive (e2e)', () => {
  let root: string;
  beforeEach(() => {
    root = tempDir();
  });
  afterEach(() => removeDir(root));

  it('archives two cameras recorded in the same second to two archives, trashes sources and thumbnails', async () => {
    makeTree(root, [
      { camera: 'REO_front', stamp: '20250115120000', thumbnail: true },
      { camera: 'REO_back', stamp: '20250115120000' },
    ]);
    const r = await runCli([root, '-y', ...NOW, ...FAST]);
    expect(r.exitCode, r.stderr).toBe(0);
    const tree = listTree(root);
    expect(tree).toContain('archived/2025/01/15/REO_front_20250115120000.mp4');
    expect(tree).toContain('archived/2025/01/15/REO_back_20250115120000.mp4');
    expect(tree).toContain('.deleted/input/2025/01/15/REO_front_20250115120000.mp4');
    expect(tree).toContain('.deleted/input/2025/01/15/REO_front_20250115120000.jpg');
    expect(tree).toContain('.deleted/input/2025/01/15/REO_back_20250115120000.mp4');
    expect(existsSync(path.join(root, '2025'))).toBe(false);
    for (const cam of ['front', 'back']) {
      const archive = path.join(root, `archived/2025/01/15/REO_${cam}_20250115120000.mp4`);
      expect(probe(archive).videoCodec).toBe('hevc');
      expect(probe(archive).hasAudio).toBe(true);
      expect(Math.abs(probe(archive).duration - 1)).toBeLessThan(0.2);
      expect(playsCleanly(archive)).toBe(true);
    }
  });

  it('dry run changes nothing and prints the exact ffmpeg command', async () => {
    makeTree(root, [{ stamp: '20250115120000', thumbnail: true }]);
    const before = snapshot(root);
    const r = await runCli([root, '--dry-run', ...NOW, ...FAST]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(snapshot(root)).toEqual(before);
    expect(r.stdout).toContain('transcode 2025/01/15/REO_front_20250115120000.mp4 → archived/2025/01/15/REO_front_20250115120000.mp4');
    expect(r.stdout).toMatch(/run: \S*ffmpeg .*-c:v libx265 -preset ultrafast/);
  });
});

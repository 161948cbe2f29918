/** `npm run demo -- DIR` replaces only a folder it made itself. */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { removeDir, tempDir } from '../helpers/tree.js';

const DEMO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../scripts/demo.mjs');

describe('scripts/demo.mjs (e2e)', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('cam-demo-');
  });
  afterEach(() => removeDir(dir));

  it('refuses a folder it did not make: exit 2, every file still there', () => {
    const target = path.join(dir, 'photos');
    mkdirSync(path.join(target, 'holiday'), { recursive: true });
    writeFileSync(path.join(target, 'holiday', 'beach.jpg'), 'precious');
    const r = spawnSync(process.execPath, [DEMO, target], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toContain('exists and was not made by the demo: nothing was changed');
    expect(readdirSync(target)).toEqual(['holiday']);
    expect(readFileSync(path.join(target, 'holiday', 'beach.jpg'), 'utf8')).toBe('precious');
  });

  it('a folder holding its marker is replaced (the next demo run)', () => {
    const target = path.join(dir, 'demo');
    mkdirSync(target);
    writeFileSync(path.join(target, '.camera-archiver-demo'), '');
    writeFileSync(path.join(target, 'old-demo-file'), '');
    // Only the start matters here: an ffmpeg that fails ends the demo right after it has
    // replaced the folder, before any clip is made.
    spawnSync(process.execPath, [DEMO, target], {
      env: { ...process.env, FFMPEG_PATH: '/bin/false' },
    });
    expect(readdirSync(target)).toEqual(['.camera-archiver-demo', '.demo-templates']);
  });
});

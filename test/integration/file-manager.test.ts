import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  dispose,
  ensureDirInside,
  moveNoClobber,
  placeArchive,
  pruneFolders,
} from '../../src/file-manager.js';
import { removeDir, tempDir } from '../helpers/tree.js';

/** /dev/shm: another filesystem for cross-device moves; CI has it, so there its absence fails. */
const hasShm = (() => {
  try {
    rmSync(mkdtempSync('/dev/shm/cam-'), { recursive: true });
    return true;
  } catch {
    return false;
  }
})();

describe('file manager on real filesystems', () => {
  let root: string;
  beforeEach(() => {
    root = tempDir();
  });
  afterEach(() => removeDir(root));

  const write = (rel: string, content: string): string => {
    const file = path.join(root, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
    return file;
  };

  it('moves into the trash without ever overwriting: a clash gets a numbered, recognisable name', async () => {
    const trash = path.join(root, '.deleted');
    write('.deleted/input/2025/01/15/REO_front_20250115120000.mp4', 'older');
    const src = write('2025/01/15/REO_front_20250115120000.mp4', 'newer');
    const landed = await moveNoClobber(
      src,
      path.join(trash, 'input/2025/01/15/REO_front_20250115120000.mp4'),
      trash,
    );
    expect(path.basename(landed)).toBe('REO_front_20250115120000.1.mp4');
    expect(readFileSync(landed, 'utf8')).toBe('newer');
    expect(
      readFileSync(path.join(trash, 'input/2025/01/15/REO_front_20250115120000.mp4'), 'utf8'),
    ).toBe('older');
    expect(existsSync(src)).toBe(false);
  });

  it.runIf(process.env.CI && !hasShm)('/dev/shm is available (CI)', () => {
    expect(hasShm).toBe(true);
  });

  it.skipIf(!hasShm)(
    'moves across filesystems by copy + fsync + link, leaving no temporary behind',
    async () => {
      const shm = mkdtempSync('/dev/shm/cam-');
      try {
        const src = write('2025/01/15/REO_front_20250115120000.mp4', 'payload');
        const landed = await moveNoClobber(
          src,
          path.join(shm, 'input/REO_front_20250115120000.mp4'),
          shm,
        );
        expect(readFileSync(landed, 'utf8')).toBe('payload');
        expect(existsSync(src)).toBe(false);
        expect(readdirSync(path.join(shm, 'input'))).toEqual(['REO_front_20250115120000.mp4']);
      } finally {
        removeDir(shm);
      }
    },
  );

  it('refuses to write through a symlink that leaves its root', async () => {
    const outside = tempDir();
    try {
      mkdirSync(path.join(root, 'archived'));
      symlinkSync(outside, path.join(root, 'archived/2025'));
      await expect(
        ensureDirInside(path.join(root, 'archived'), path.join(root, 'archived/2025/01/15')),
      ).rejects.toThrow(/outside/);
      await expect(ensureDirInside(path.join(root, 'archived'), '/etc/x')).rejects.toThrow(
        /outside/,
      );
    } finally {
      removeDir(outside);
    }
  });

  it('places an archive only where no file is, unless replacing', async () => {
    const partial = write('archived/.a.mp4.partial', 'new');
    const final = write('archived/a.mp4', 'old');
    await expect(placeArchive(partial, final, false)).rejects.toThrow(/appeared/);
    expect(readFileSync(final, 'utf8')).toBe('old');
    await placeArchive(partial, final, true);
    expect(readFileSync(final, 'utf8')).toBe('new');
    expect(existsSync(partial)).toBe(false);
  });

  it('dispose deletes clip and thumbnail; a missing thumbnail is fine, a missing clip is not', async () => {
    const clip = write('2025/01/15/a_20250115120000.mp4', 'c');
    await dispose(
      { mode: 'delete', files: [clip, path.join(root, 'gone.jpg')] },
      { trashRoot: root },
    );
    expect(existsSync(clip)).toBe(false);
    await expect(dispose({ mode: 'delete', files: [clip] }, { trashRoot: root })).rejects.toThrow(
      /ENOENT/,
    );
  });

  it('prunes only empty folders', async () => {
    write('2025/01/16/keep.txt', 'x');
    mkdirSync(path.join(root, '2025/01/15'), { recursive: true });
    const removed = await pruneFolders([
      path.join(root, '2025/01/15'),
      path.join(root, '2025/01/16'),
      path.join(root, '2025/01'),
    ]);
    expect(removed).toEqual([path.join(root, '2025/01/15')]);
    expect(existsSync(path.join(root, '2025/01/16/keep.txt'))).toBe(true);
  });
});

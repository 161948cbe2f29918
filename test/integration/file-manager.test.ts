import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  dispose,
  ensureDirInside,
  folderModeFor,
  moveNoClobber,
  placeArchive,
  pruneFolders,
} from '../../src/tree/file-manager.js';
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

  it.runIf(process.env.CI)('/dev/shm is available (CI)', () => {
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

  it.skipIf(!hasShm)(
    'a cross-filesystem move killed between placing its copy and unlinking the source finishes without a second copy',
    async () => {
      const shm = mkdtempSync('/dev/shm/cam-');
      try {
        const target = path.join(shm, 'input/2025/01/15/REO_front_20250115120000.mp4');
        // Another file under the name (same size, other bytes) is not taken for our copy.
        mkdirSync(path.dirname(target), { recursive: true });
        writeFileSync(target, 'PAYLOAD');
        const src = write('2025/01/15/REO_front_20250115120000.mp4', 'payload');
        const killed = moveNoClobber(src, target, shm, (step) => {
          if (step === 'linked-to-trash') throw new Error('killed');
        });
        await expect(killed).rejects.toThrow('killed');
        expect(existsSync(src)).toBe(true);
        const copy = path.join(path.dirname(target), 'REO_front_20250115120000.1.mp4');
        expect(readFileSync(copy, 'utf8')).toBe('payload');
        // The next run: the same bytes are already there, only the unlink is left.
        expect(await moveNoClobber(src, target, shm)).toBe(copy);
        expect(existsSync(src)).toBe(false);
        expect(readdirSync(path.dirname(target)).sort()).toEqual([
          'REO_front_20250115120000.1.mp4',
          'REO_front_20250115120000.mp4',
        ]);
        expect(readFileSync(target, 'utf8')).toBe('PAYLOAD');
      } finally {
        removeDir(shm);
      }
    },
  );

  it('refuses to write through a symlink that leaves its root, before creating anything out there', async () => {
    const outside = tempDir();
    try {
      mkdirSync(path.join(root, 'archived'));
      symlinkSync(outside, path.join(root, 'archived/2025'));
      await expect(
        ensureDirInside(path.join(root, 'archived'), path.join(root, 'archived/2025/01/15')),
      ).rejects.toThrow(/outside.*symbolic link/);
      expect(readdirSync(outside)).toEqual([]); // checked before mkdir, not after
      await expect(ensureDirInside(path.join(root, 'archived'), '/etc/x')).rejects.toThrow(
        /outside/,
      );
      // A link that stays inside the root is followed.
      mkdirSync(path.join(root, 'archived/real'));
      symlinkSync('real', path.join(root, 'archived/alias'));
      await ensureDirInside(path.join(root, 'archived'), path.join(root, 'archived/alias/01'));
      expect(statSync(path.join(root, 'archived/real/01')).isDirectory()).toBe(true);
      // A file in the way is named.
      write('archived/file', 'x');
      await expect(
        ensureDirInside(path.join(root, 'archived'), path.join(root, 'archived/file/01')),
      ).rejects.toThrow(/archived\/file is not a folder/);
    } finally {
      removeDir(outside);
    }
  });

  it('folders and archives follow the footage’s mode: 0600 clips give 0700 folders and 0600 archives', async () => {
    expect(folderModeFor(0o100600).toString(8)).toBe('700');
    expect(folderModeFor(0o100640).toString(8)).toBe('750');
    expect(folderModeFor(0o100644).toString(8)).toBe('755');
    const old = process.umask(0o022);
    try {
      const src = write('2025/01/15/REO_front_20250115120000.mp4', 'clip');
      chmodSync(src, 0o600);
      const trash = path.join(root, '.deleted');
      const landed = await moveNoClobber(
        src,
        path.join(trash, 'input/2025/01/15/REO_front_20250115120000.mp4'),
        trash,
      );
      expect(statSync(landed).mode & 0o777).toBe(0o600);
      for (const dir of ['.deleted', '.deleted/input/2025', '.deleted/input/2025/01/15'])
        expect((statSync(path.join(root, dir)).mode & 0o777).toString(8), dir).toBe('700');
      const partial = write('archived/.a.mp4.partial', 'new');
      await placeArchive(partial, path.join(root, 'archived/a.mp4'), false, 0o100600);
      expect(statSync(path.join(root, 'archived/a.mp4')).mode & 0o777).toBe(0o600);
    } finally {
      process.umask(old);
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

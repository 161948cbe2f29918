import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  discoverDays,
  findDayFolders,
  type DayInventory,
  type DiscoveryOptions,
} from '../../src/archive/discovery.js';
import { removeDir, tempDir } from '../helpers/tree.js';

function touch(root: string, rel: string, content = 'x'): string {
  const file = path.join(root, rel);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
  return file;
}

async function collect(options: DiscoveryOptions): Promise<DayInventory[]> {
  const days: DayInventory[] = [];
  for await (const d of discoverDays(options)) days.push(d);
  return days;
}

describe('discovery on a real tree', () => {
  let root: string;
  let outside: string;
  let options: DiscoveryOptions;
  beforeEach(() => {
    root = tempDir();
    outside = tempDir();
    options = {
      root,
      excluded: [path.join(root, 'archived'), path.join(root, '.deleted')],
      outputRoot: path.join(root, 'archived'),
      statClipsNewerThan: new Date(8.64e15),
    };
  });
  afterEach(() => {
    removeDir(root);
    removeDir(outside);
  });

  it('finds clips in YYYY/MM/DD folders at any depth, in date order, pairing thumbnails per camera', async () => {
    touch(root, '2025/01/16/REO_front_20250116080000.mp4');
    touch(root, '2025/01/15/REO_front_20250115120000.mp4');
    touch(root, '2025/01/15/REO_front_20250115120000.jpg');
    touch(root, '2025/01/15/REO_back_20250115120000.mp4');
    touch(root, '2025/01/15/REO_back_20250115120001.jpg');
    touch(root, 'garage/2025/01/15/Cam_20250115090000.MP4');
    const days = await collect(options);
    expect(days.map((d) => d.folder.relDir)).toEqual([
      '2025/01/15',
      'garage/2025/01/15',
      '2025/01/16',
    ]);
    const first = days[0];
    expect(first?.clips.map((c) => [c.name, c.thumbnail?.name])).toEqual([
      ['REO_back_20250115120000.mp4', undefined],
      ['REO_front_20250115120000.mp4', 'REO_front_20250115120000.jpg'],
    ]);
    expect(first?.orphanThumbnails.map((t) => t.name)).toEqual(['REO_back_20250115120001.jpg']);
    expect(days[1]?.folder.prefix).toBe('garage');
  });

  it('never scans the output tree or the trash, and ignores odd names with a reason', async () => {
    touch(root, 'archived/2025/01/15/REO_front_20250115120000.mp4');
    touch(root, '.deleted/input/2025/01/15/REO_front_20250115120000.mp4');
    touch(root, '2025/01/15/notes.txt');
    touch(root, '2025/01/15/REO_front_20251315120000.mp4');
    const days = await collect(options);
    expect(days).toHaveLength(1);
    expect(days[0]?.clips).toHaveLength(0);
    expect(days[0]?.ignored.map((i) => path.basename(i.path)).sort()).toEqual([
      'REO_front_20251315120000.mp4',
      'notes.txt',
    ]);
  });

  it('never follows symbolic links to folders; reads day folders by name', async () => {
    touch(outside, '2025/01/15/REO_x_20250115120000.mp4');
    mkdirSync(path.join(root, '2025/01'), { recursive: true });
    symlinkSync(path.join(outside, '2025/01/15'), path.join(root, '2025/01/15'));
    touch(root, '2025/01/16/REO_front_20250116120000.mp4');
    symlinkSync(
      path.join(outside, '2025/01/15/REO_x_20250115120000.mp4'),
      path.join(root, '2025/01/16/REO_y_20250116120000.mp4'),
    );
    symlinkSync(root, path.join(root, 'loop'));
    const sk = await findDayFolders(options);
    expect(sk.days.map((d) => d.relDir)).toEqual(['2025/01/16']);
    expect(sk.ignored.map((i) => [path.relative(root, i.path), i.reason]).sort()).toEqual([
      ['2025/01/15', 'symbolic link (never followed)'],
      ['loop', 'symbolic link (never followed)'],
    ]);
    // A link named like a clip is planned by its name; the executor's lstat leaves it alone
    // (test/reliability/hostile.test.ts).
    const days = await collect(options);
    expect(days[0]?.clips.map((c) => c.name)).toEqual([
      'REO_front_20250116120000.mp4',
      'REO_y_20250116120000.mp4',
    ]);
  });

  it('lists existing archives, legacy archives and stale partials of the day', async () => {
    touch(root, '2025/01/15/REO_front_20250115120000.mp4');
    touch(root, 'archived/2025/01/15/REO_front_20250115120000.mp4');
    touch(root, 'archived/2025/01/15/archived-20250115130000.mp4');
    touch(root, 'archived/2025/01/15/.REO_back_20250115120000.mp4.partial');
    const [day] = await collect(options);
    const out = day?.outputs.get('2025/01/15');
    expect(out?.entries.has('REO_front_20250115120000.mp4')).toBe(true);
    expect(out?.legacyByStamp.get('20250115130000')).toBe('archived-20250115130000.mp4');
    expect(out?.partials).toEqual(['.REO_back_20250115120000.mp4.partial']);
  });

  it('stats only recently named clips (for the settle check)', async () => {
    touch(root, '2025/01/15/REO_front_20250115120000.mp4');
    touch(root, '2025/03/01/REO_front_20250301020000.mp4');
    const days = await collect({ ...options, statClipsNewerThan: new Date(2025, 1, 28) });
    expect(days[0]?.clips[0]?.mtimeMs).toBeUndefined();
    expect(days[1]?.clips[0]?.mtimeMs).toBeGreaterThan(0);
  });

  it('a missing root is an error, an unreadable subfolder is reported and skipped', async () => {
    await expect(findDayFolders({ ...options, root: path.join(root, 'missing') })).rejects.toThrow(
      /ENOENT/,
    );
  });

  it.skipIf(process.getuid?.() !== 0)(
    'leaves the archive tree out by identity: a bind mount of it under another name is not input',
    async () => {
      const store = path.join(outside, 'store');
      touch(outside, 'store/2025/01/15/REO_front_20250115120000.mp4');
      touch(root, '2025/01/16/REO_front_20250116080000.mp4');
      mkdirSync(path.join(root, 'mirror'));
      execFileSync('mount', ['--bind', store, path.join(root, 'mirror')]);
      try {
        const sk = await findDayFolders({ ...options, excluded: [store], outputRoot: store });
        expect(sk.days.map((d) => d.relDir)).toEqual(['2025/01/16']);
        // Named only by path (the old comparison), the mirror was walked as clips.
        expect(sk.otherEntriesByFolder.get('')).toBe(1);
      } finally {
        execFileSync('umount', [path.join(root, 'mirror')]);
      }
    },
  );
});

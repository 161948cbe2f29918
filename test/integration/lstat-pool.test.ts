/**
 * The lstat workers against the main thread's own lstat: the same facts for every kind of entry
 * (file, hard link, symbolic link, folder, gone, a path through a file), the same listings, and a
 * pool that survives a lost worker and lets its workers go when idle.
 */
import {
  closeSync,
  linkSync,
  mkdirSync,
  openSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ABSENT,
  FIELDS,
  InlineLstatter,
  LstatPool,
  OTHER,
  REGULAR_FILE,
} from '../../src/tree/lstat-pool.js';
import { dateBatches, scanSkeletons } from '../../src/retention/inventory.js';
import type { DateBatch } from '../../src/retention/plan.js';
import { sparseTree } from '../helpers/sized-tree.js';
import { removeDir, tempDir } from '../helpers/tree.js';
import { waitFor } from '../helpers/wait.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

function fixture(): { dir: string; names: string[] } {
  const dir = tempDir('cam-lstat-');
  dirs.push(dir);
  writeFileSync(path.join(dir, 'REO_a_20250115120000.mp4'), 'x'.repeat(1234));
  linkSync(path.join(dir, 'REO_a_20250115120000.mp4'), path.join(dir, 'hard.mp4'));
  symlinkSync('REO_a_20250115120000.mp4', path.join(dir, 'link.mp4'));
  mkdirSync(path.join(dir, 'folder.mp4'));
  truncateSync(path.join(dir, 'hard.mp4'), 99);
  // Odd but legal names: spaces, newline, non-ASCII.
  writeFileSync(path.join(dir, 'odd name\nwith é.jpg'), '');
  const names = [
    'REO_a_20250115120000.mp4',
    'hard.mp4',
    'link.mp4',
    'folder.mp4',
    'gone.mp4',
    'odd name\nwith é.jpg',
  ];
  return { dir, names };
}

describe('lstat on worker threads', () => {
  const pool = new LstatPool(2, 200);
  afterAll(() => pool.close());

  it('gives the facts the main thread would, for every kind of entry', async () => {
    const { dir, names } = fixture();
    const inline = await new InlineLstatter().lstatMany([dir, ...names]);
    const workers = await pool.lstatMany([dir, ...names]);
    expect(workers.error).toBeUndefined();
    expect(Array.from(workers.facts)).toEqual(Array.from(inline.facts));
    const kind = (i: number): number | undefined => workers.facts[i * FIELDS];
    expect([0, 1, 2, 3, 4, 5].map(kind)).toEqual([
      REGULAR_FILE,
      REGULAR_FILE,
      OTHER,
      OTHER,
      ABSENT,
      REGULAR_FILE,
    ]);
    // Size, and the hard link's shared inode with two links.
    expect(workers.facts[1]).toBe(99);
    expect(workers.facts[FIELDS + 3]).toBe(workers.facts[3]);
    expect(workers.facts[4]).toBe(2);
  });

  it('takes several folders in one batch, each followed by its names', async () => {
    const a = fixture();
    const b = fixture();
    const batch = await pool.lstatMany([a.dir, a.names[0] ?? '', b.dir, 'gone.mp4', 'hard.mp4']);
    expect(batch.facts.length).toBe(3 * FIELDS);
    expect([0, 1, 2].map((i) => batch.facts[i * FIELDS])).toEqual([
      REGULAR_FILE,
      ABSENT,
      REGULAR_FILE,
    ]);
  });

  it('reports a path that cannot be stat’ed (through a file) by its index, like the main thread', async () => {
    const { dir } = fixture();
    const names = ['REO_a_20250115120000.mp4', 'REO_a_20250115120000.mp4/inside'];
    const inline = await new InlineLstatter().lstatMany([dir, ...names]);
    const workers = await pool.lstatMany([dir, ...names]);
    expect(workers.error).toMatchObject({ index: 1, code: 'ENOTDIR' });
    expect(inline.error).toMatchObject({ index: 1, code: 'ENOTDIR' });
    expect(workers.facts[0]).toBe(REGULAR_FILE);
  });

  it('lists folders: the names, [] when gone, an error for a file, and a huge folder in full', async () => {
    const { dir, names } = fixture();
    expect((await pool.list(dir)).sort()).toEqual(names.filter((n) => n !== 'gone.mp4').sort());
    expect(await pool.list(path.join(dir, 'missing'))).toEqual([]);
    await expect(pool.list(path.join(dir, 'hard.mp4'))).rejects.toMatchObject({
      code: 'ENOTDIR',
    });
    const big = tempDir('cam-lstat-big-');
    dirs.push(big);
    for (let i = 0; i < 20_500; i++) closeSync(openSync(path.join(big, `f${i}.mp4`), 'w'));
    const listed = await pool.list(big);
    expect(listed).toHaveLength(20_500);
    expect(new Set(listed).size).toBe(20_500);
  });

  it('keeps the process alive only while a batch is out (a planner may await nothing else)', async () => {
    const { dir, names } = fixture();
    const ports = (): number =>
      process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length;
    const quiet = new LstatPool(2, 60_000);
    const idle = ports();
    const pending = quiet.lstatMany([dir, ...names]);
    expect(ports()).toBe(idle + 1);
    await pending;
    // Both workers still there for the next batch, neither holding the process.
    expect(quiet.alive).toBe(2);
    expect(ports()).toBe(idle);
    await quiet.close();
  });

  it('a lost worker’s batch is done on the main thread; the next batch gets a new worker; idle workers end', async () => {
    const { dir, names } = fixture();
    const lossy = new LstatPool(1, 100);
    const first = await lossy.lstatMany([dir, ...names]);
    expect(lossy.alive).toBe(1);
    const pending = lossy.lstatMany([dir, ...names]);
    const listing = lossy.list(dir);
    await lossy.close(); // as if the worker had died mid-batch
    expect(Array.from((await pending).facts)).toEqual(Array.from(first.facts));
    expect((await listing).length).toBe(names.length - 1);
    const again = await lossy.lstatMany([dir, ...names]);
    expect(again.facts[0]).toBe(REGULAR_FILE);
    expect(lossy.alive).toBe(1);
    expect(await waitFor(() => lossy.alive === 0, 10_000)).toBe(true);
  });

  it('the inventory reads the same batches through the workers as on the main thread alone, and turns the event loop on one core too', async () => {
    const root = tempDir('cam-lstat-tree-');
    dirs.push(root);
    const now = new Date('2025-03-01T03:00:00Z');
    sparseTree(root, { days: 6, clipsPerDay: 300, bytes: 1024, now, thumbnails: true });
    const roots = {
      root,
      outputRoot: path.join(root, 'archived'),
      trashRoot: path.join(root, '.deleted'),
    };
    const skeletons = await scanSkeletons(roots);
    const read = async (lstatter: InlineLstatter | LstatPool): Promise<unknown[]> => {
      const out: unknown[] = [];
      const batches: AsyncIterable<DateBatch> = dateBatches(
        skeletons,
        ['source', 'archive', 'trash'],
        undefined,
        undefined,
        undefined,
        lstatter,
      );
      for await (const b of batches)
        out.push({
          date: b.date,
          entries: [...b.dayEntries],
          units: b.units.map((u) => ({ ...u, recordedAt: u.recordedAt.getTime() })),
        });
      return out;
    };
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    const inline = await read(new InlineLstatter());
    clearInterval(ticker);
    const workers = await read(pool);
    expect(workers).toEqual(inline);
    // 6 days of 300 clips with thumbnails, in batches of about SUB_BATCH units.
    expect(inline.length).toBeGreaterThan(6);
    // Between dates the main thread alone lets timers (and so signals) run.
    expect(turns).toBeGreaterThan(0);
  });
});

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Skeleton } from '../../src/archive/discovery.js';
import {
  collectActions,
  judgeRoot,
  Ledger,
  planRetention,
  type DateBatch,
  type FileFacts,
  type RemovalAction,
  type RetentionAction,
  type RetentionInventory,
  type RetentionPlan,
  type RetentionSettings,
  type RootFacts,
  type RootKind,
  type Unit,
} from '../../src/retention/plan.js';
import { seededRandom } from '../helpers/random.js';

const NOW = new Date(2025, 2, 1, 3, 0, 0); // 2025-03-01 03:00 (TZ=UTC in tests)
const MiB = 1024 * 1024;
const ROOTS = { root: '/cam', outputRoot: '/cam/archived', trashRoot: '/cam/.deleted' };
const BASE: RetentionSettings = {
  ...ROOTS,
  disposal: 'trash',
  ageDays: 30,
  cleanOutput: false,
  trashDays: 0,
  protectSeconds: 24 * 3600,
  settleSeconds: 300,
};
const OK_ROOT: RootFacts = {
  exists: true,
  isDirectory: true,
  entryCount: 3,
  dev: 1,
  marker: { id: 'm1', dev: 1 },
  rememberedId: 'm1',
};

let nextIno = 100;
function file(p: string, bytes: number, at: Date, extra: Partial<FileFacts> = {}): FileFacts {
  return {
    path: p,
    bytes,
    dev: 1,
    ino: nextIno++,
    nlink: 1,
    mtimeMs: at.getTime() + 60_000,
    ctimeMs: at.getTime() + 60_000,
    ...extra,
  };
}

function stampOf(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}${p(d.getHours())}${p(d.getMinutes())}00`;
}

function dayDir(d: Date): string {
  const s = stampOf(d);
  return `${s.slice(0, 4)}/${s.slice(4, 6)}/${s.slice(6, 8)}`;
}

const daysAgo = (n: number, hours = 0): Date =>
  new Date(NOW.getTime() - n * 86_400_000 - hours * 3_600_000);

interface UnitSpec {
  root?: RootKind;
  kind?: Unit['kind'];
  camera?: string;
  bytes?: number;
  thumb?: boolean;
  extra?: Partial<FileFacts>;
}

function unit(at: Date, spec: UnitSpec = {}): Unit {
  const root = spec.root ?? 'source';
  const camera = spec.camera ?? 'REO_front';
  const kind = spec.kind ?? (root === 'archive' ? 'archive' : root === 'trash' ? 'trash' : 'clip');
  const rel = root === 'trash' ? `input/${dayDir(at)}` : dayDir(at);
  const base =
    root === 'source' ? ROOTS.root : root === 'archive' ? ROOTS.outputRoot : ROOTS.trashRoot;
  const name = `${camera}_${stampOf(at)}`;
  const ext = kind === 'orphan-thumbnail' ? 'jpg' : 'mp4';
  const files = [
    file(path.join(base, rel, `${name}.${ext}`), spec.bytes ?? 10 * MiB, at, spec.extra),
  ];
  if (spec.thumb) files.push(file(path.join(base, rel, `${name}.jpg`), 1 * MiB, at, spec.extra));
  return { root, kind, camera, recordedAt: at, relDir: rel, files };
}

function batches(units: Unit[]): DateBatch[] {
  const byDate = new Map<string, Unit[]>();
  for (const u of units) {
    const d = dayDir(u.recordedAt);
    byDate.set(d, [...(byDate.get(d) ?? []), u]);
  }
  return [...byDate.keys()].sort().map((date) => {
    const list = byDate.get(date) ?? [];
    const dayEntries = new Map<string, number>();
    for (const u of list) {
      const key = `${u.root}:${u.relDir}`;
      dayEntries.set(key, (dayEntries.get(key) ?? 0) + u.files.length);
    }
    return { date, units: list, dayEntries };
  });
}

async function* stream(list: DateBatch[]): AsyncGenerator<DateBatch> {
  for (const b of list) yield await Promise.resolve(b);
}

function skeletonOf(units: Unit[], root: RootKind): Skeleton {
  const rels = [...new Set(units.filter((u) => u.root === root).map((u) => u.relDir))].sort();
  const base =
    root === 'source' ? ROOTS.root : root === 'archive' ? ROOTS.outputRoot : ROOTS.trashRoot;
  return {
    days: rels.map((relDir) => ({
      dir: path.join(base, relDir),
      relDir,
      prefix: relDir.split('/').slice(0, -3).join('/'),
      date: relDir.split('/').slice(-3).join('-'),
    })),
    otherEntriesByFolder: new Map(),
    ignored: [],
  };
}

function inventory(units: Unit[]): RetentionInventory & { reads: number } {
  const trash = batches(units.filter((u) => u.root === 'trash'));
  const footage = batches(units.filter((u) => u.root !== 'trash'));
  const inv = {
    reads: 0,
    skeletons: {
      source: skeletonOf(units, 'source'),
      archive: skeletonOf(units, 'archive'),
      trash: skeletonOf(units, 'trash'),
    },
    trash: () => {
      inv.reads++;
      return stream(trash);
    },
    footage: () => stream(footage),
  };
  return inv;
}

/** A plan with its actions replayed into an array. */
type Planned = Omit<RetentionPlan, 'actions'> & { actions: RetentionAction[] };

async function collected(p: RetentionPlan): Promise<Planned> {
  return { ...p, actions: await collectActions(p) };
}

async function plan(
  units: Unit[],
  settings: Partial<RetentionSettings> = {},
  fs?: { dev: number; sizeBytes: number; freeBytes: number },
  root: RootFacts = OK_ROOT,
): Promise<Planned> {
  return collected(await planRetention(inventory(units), { ...BASE, ...settings }, root, fs, NOW));
}

const removals = (p: Planned): RemovalAction[] =>
  p.actions.filter((a): a is RemovalAction => a.kind !== 'prune-folder');

describe('age rule (--cleanup --age)', () => {
  it('moves clips older than --age to the trash with their thumbnails, keeps newer ones', async () => {
    const old = unit(daysAgo(40), { thumb: true });
    const young = unit(daysAgo(10), { thumb: true });
    const p = await plan([old, young]);
    const rs = removals(p);
    expect(rs).toHaveLength(1);
    const [a] = rs;
    expect(a?.kind).toBe('trash');
    expect(a?.permanent).toBe(false);
    expect(a?.freedBytes).toBe(0);
    expect(a?.rule).toBe('age');
    expect(a?.reason).toMatch(/older than --age 30 days/);
    if (a?.kind !== 'trash') throw new Error('expected a trash move');
    expect(a.moves.map((m) => m.to)).toEqual(
      old.files.map((f) => f.path.replace('/cam/', '/cam/.deleted/input/')),
    );
    // Moving into the trash changes where the bytes are, not how many.
    expect(p.after.total).toBe(p.before.total);
    expect(p.after.trash).toBe(11 * MiB);
  });

  it('deletes permanently with --delete', async () => {
    const p = await plan([unit(daysAgo(40), { thumb: true })], { disposal: 'delete' });
    expect(removals(p).map((a) => [a.kind, a.permanent, a.freedBytes])).toEqual([
      ['delete', true, 11 * MiB],
    ]);
    expect(p.after.total).toBe(0);
  });

  it('removes an orphan thumbnail only once it is older than --age and not being written', async () => {
    const oldOrphan = unit(daysAgo(40), { kind: 'orphan-thumbnail', bytes: 1000 });
    const youngOrphan = unit(daysAgo(2), {
      kind: 'orphan-thumbnail',
      bytes: 1000,
      camera: 'REO_b',
    });
    const touched = unit(daysAgo(40, 1), {
      kind: 'orphan-thumbnail',
      bytes: 1000,
      camera: 'REO_c',
      extra: { mtimeMs: NOW.getTime() - 30_000 },
    });
    const p = await plan([oldOrphan, youngOrphan, touched]);
    expect(removals(p).map((a) => a.files[0]?.path)).toEqual([oldOrphan.files[0]?.path]);
    expect(p.counts.protected).toBe(1);
  });

  it('--age 0 turns the age rule off', async () => {
    const p = await plan([unit(daysAgo(400))], { ageDays: 0 });
    expect(p.actions).toEqual([]);
  });

  it('never touches archives without --clean-output; with it, old archives go to <trash>/output', async () => {
    const archive = unit(daysAgo(40), { root: 'archive', bytes: 2 * MiB });
    const without = await plan([archive], { maxSizeBytes: 0 });
    expect(removals(without)).toEqual([]);
    expect(without.before.archive).toBe(2 * MiB);
    const withIt = await plan([archive], { cleanOutput: true });
    const [a] = removals(withIt);
    if (a?.kind !== 'trash') throw new Error('expected a trash move');
    expect(a.moves[0]?.to).toBe(
      `/cam/.deleted/output/${dayDir(daysAgo(40))}/${path.basename(archive.files[0]?.path ?? '')}`,
    );
    expect(a.reason).toMatch(/--clean-output/);
  });

  it('prunes the date folders a removal leaves empty (day, month, year)', async () => {
    const p = await plan([unit(new Date(2024, 0, 5, 12), { thumb: true })]);
    expect(
      p.actions
        .filter((a) => a.kind === 'prune-folder')
        .map((a) => a.kind === 'prune-folder' && a.path),
    ).toEqual(['/cam/2024/01/05', '/cam/2024/01', '/cam/2024']);
  });
});

describe('--max-size', () => {
  it('removes the trash first, oldest first, then footage oldest first, pairs together, permanently', async () => {
    const trashOld = unit(daysAgo(50), { root: 'trash', bytes: 5 * MiB });
    const trashNew = unit(daysAgo(45), { root: 'trash', bytes: 5 * MiB, camera: 'REO_b' });
    const s1 = unit(daysAgo(20), { thumb: true }); // 11 MiB
    const s2 = unit(daysAgo(10), { thumb: true });
    const s3 = unit(daysAgo(5), { thumb: true });
    // 10 trash + 33 sources = 43 MiB; cap 25 → remove 18: both trash (10), then s1 (11).
    const p = await plan([s3, trashNew, s1, trashOld, s2], { ageDays: 0, maxSizeBytes: 25 * MiB });
    expect(removals(p).map((a) => [a.kind, a.rule, a.files.length])).toEqual([
      ['purge-trash', 'max-size', 1],
      ['purge-trash', 'max-size', 1],
      ['delete', 'max-size', 2],
    ]);
    expect(removals(p)[0]?.files[0]?.path).toBe(trashOld.files[0]?.path);
    expect(removals(p)[2]?.files.map((f) => f.path)).toEqual(s1.files.map((f) => f.path));
    expect(removals(p).every((a) => a.permanent)).toBe(true);
    expect(removals(p)[2]?.reason).toMatch(/permanently .*trashing on the same disk frees nothing/);
    expect(p.before.total).toBe(43 * MiB);
    expect(p.after.total).toBe(22 * MiB);
    expect(p.after.total).toBeLessThanOrEqual(25 * MiB);
    expect(p.shortfall).toBe(false);
  });

  it('does nothing when already under the cap, and reads the tree only once', async () => {
    const units = [unit(daysAgo(5)), unit(daysAgo(4))];
    const inv = inventory(units);
    const p = await collected(
      await planRetention(
        inv,
        { ...BASE, ageDays: 0, maxSizeBytes: 100 * MiB },
        OK_ROOT,
        undefined,
        NOW,
      ),
    );
    expect(p.actions).toEqual([]);
    expect(inv.reads).toBe(1);
  });

  it('turns an age-rule trash move into a deletion when the cap needs it', async () => {
    const old = unit(daysAgo(40), { thumb: true });
    const p = await plan([old, unit(daysAgo(5))], { maxSizeBytes: 12 * MiB });
    const [a] = removals(p);
    expect(a?.kind).toBe('delete');
    expect(a?.rule).toBe('max-size');
    expect(a?.reason).toMatch(/instead of trashed/);
    expect(p.after).toEqual({ source: 10 * MiB, archive: 0, trash: 0, total: 10 * MiB });
  });

  it('counts a hard-linked file once, and knows removing one link frees nothing', async () => {
    // An interrupted move left the clip both in the tree and in the trash (one inode, two names).
    const at = daysAgo(40);
    const src = unit(at, { bytes: 10 * MiB, extra: { ino: 7, nlink: 2 } });
    const trashed = unit(at, { root: 'trash', bytes: 10 * MiB, extra: { ino: 7, nlink: 2 } });
    const other = unit(daysAgo(20), { bytes: 10 * MiB });
    const p = await plan([src, trashed, other], { ageDays: 0, maxSizeBytes: 15 * MiB });
    expect(p.before.total).toBe(20 * MiB);
    // Trash link first (frees nothing), then the source link (frees the 10 MiB): under the cap.
    expect(removals(p).map((a) => [a.root, a.freedBytes])).toEqual([
      ['trash', 0],
      ['source', 10 * MiB],
    ]);
    expect(p.after.total).toBe(10 * MiB);
  });

  it('never removes anything inside the protection window; says it fell short', async () => {
    const recent = unit(daysAgo(0, 2)); // two hours ago
    const p = await plan([recent, unit(daysAgo(3))], { ageDays: 0, maxSizeBytes: 0 });
    expect(removals(p).map((a) => a.files[0]?.path)).not.toContain(recent.files[0]?.path);
    expect(removals(p)).toHaveLength(1);
    expect(p.shortfall).toBe(true);
    expect(p.counts.protected).toBe(1);
  });

  it('protects the trash within the window too', async () => {
    const p = await plan([unit(daysAgo(0, 1), { root: 'trash' })], { ageDays: 0, maxSizeBytes: 0 });
    expect(p.actions).toEqual([]);
  });
});

describe('--min-free and record’s bytesToFree', () => {
  it('frees up to the target plus 5% hysteresis, counting only files on the footage disk', async () => {
    const elsewhere = unit(daysAgo(30), { root: 'trash', bytes: 50 * MiB, extra: { dev: 2 } });
    const units = [
      elsewhere,
      unit(daysAgo(20)),
      unit(daysAgo(19)),
      unit(daysAgo(18)),
      unit(daysAgo(17)),
    ];
    const fs = { dev: 1, sizeBytes: 1000 * MiB, freeBytes: 90 * MiB };
    const p = await plan(units, { ageDays: 0, minFree: { percent: 10 } }, fs);
    // Target 100 MiB (+5% = 105): 15 MiB short → two 10 MiB clips; the other disk's trash is no help.
    expect(p.needs.minFree).toBe(15 * MiB);
    expect(removals(p).map((a) => [a.root, a.rule])).toEqual([
      ['source', 'min-free'],
      ['source', 'min-free'],
    ]);
    expect(p.freeAfter).toBe(110 * MiB);
  });

  it('does nothing while free space is above the target', async () => {
    const fs = { dev: 1, sizeBytes: 1000 * MiB, freeBytes: 200 * MiB };
    const p = await plan([unit(daysAgo(20))], { ageDays: 0, minFree: { bytes: 100 * MiB } }, fs);
    expect(p.actions).toEqual([]);
  });

  it('frees an exact byte count for record, archives included, oldest first', async () => {
    const archive = unit(daysAgo(60), { root: 'archive', bytes: 3 * MiB });
    const p = await plan([unit(daysAgo(20)), archive], {
      ageDays: 0,
      cleanOutput: true,
      bytesToFree: 2 * MiB,
    });
    expect(removals(p).map((a) => a.files[0]?.path)).toEqual([archive.files[0]?.path]);
  });
});

describe('trash retention (--trash-days)', () => {
  it('purges files in the trash for longer than N days (by when they were trashed), keeps the rest', async () => {
    const long = unit(daysAgo(60), { root: 'trash', extra: { ctimeMs: daysAgo(40).getTime() } });
    const recentlyTrashed = unit(daysAgo(60, 1), {
      root: 'trash',
      camera: 'REO_b',
      extra: { ctimeMs: daysAgo(3).getTime() },
    });
    const p = await plan([long, recentlyTrashed], { ageDays: 0, trashDays: 30 });
    expect(removals(p).map((a) => [a.kind, a.rule, a.files[0]?.path])).toEqual([
      ['purge-trash', 'trash-days', long.files[0]?.path],
    ]);
    expect(removals(p)[0]?.reason).toMatch(/in the trash for 40 days/);
  });
});

describe('protections', () => {
  it('--max-delete refuses a plan that removes more footage than allowed (files, size, percent)', async () => {
    const units = [unit(daysAgo(40)), unit(daysAgo(39)), unit(daysAgo(2))];
    expect((await plan(units, { maxDelete: { files: 1 } })).refusal).toMatch(
      /2 footage files, more than --max-delete 1/,
    );
    expect((await plan(units, { maxDelete: { bytes: 15 * MiB } })).refusal).toMatch(
      /more than --max-delete 15.0 MiB/,
    );
    expect((await plan(units, { maxDelete: { percent: 50 } })).refusal).toMatch(
      /67% of all footage/,
    );
    expect((await plan(units, { maxDelete: { percent: 75 } })).refusal).toBeUndefined();
  });

  it('--max-delete does not count trash purges: the trash is footage removed already', async () => {
    const trash = [unit(daysAgo(60), { root: 'trash' }), unit(daysAgo(59), { root: 'trash' })];
    const p = await plan([...trash, unit(daysAgo(0, 2))], {
      ageDays: 0,
      maxSizeBytes: 0,
      maxDelete: { files: 0 },
    });
    expect(removals(p).map((a) => a.kind)).toEqual(['purge-trash', 'purge-trash']);
    expect(p.refusal).toBeUndefined();
  });

  it('refuses a missing root, an empty root, and a root that lost or changed its marker', () => {
    expect(judgeRoot('/cam', { ...OK_ROOT, exists: false }).refusal).toMatch(/does not exist/);
    expect(judgeRoot('/cam', { ...OK_ROOT, entryCount: 0 }).refusal).toMatch(/is empty/);
    expect(judgeRoot('/cam', { ...OK_ROOT, marker: undefined }).refusal).toMatch(/lost its marker/);
    expect(judgeRoot('/cam', { ...OK_ROOT, marker: { id: 'other', dev: 9 } }).refusal).toMatch(
      /another tree's marker/,
    );
    expect(judgeRoot('/cam', { ...OK_ROOT, marker: undefined, acceptNew: true })).toEqual({
      writeMarker: true,
    });
    // First run: nothing remembered, no marker → fine, and the marker gets written.
    expect(judgeRoot('/cam', { ...OK_ROOT, marker: undefined, rememberedId: undefined })).toEqual({
      writeMarker: true,
    });
    // A device number that changed (USB re-enumeration, NFS remount) is not a reason to refuse.
    expect(judgeRoot('/cam', { ...OK_ROOT, dev: 42 })).toEqual({ writeMarker: false });
  });

  it('a refused tree gets an empty plan and is not even read', async () => {
    const inv = inventory([unit(daysAgo(40))]);
    const p = await collected(
      await planRetention(
        inv,
        { ...BASE, maxSizeBytes: 0 },
        { ...OK_ROOT, entryCount: 0 },
        undefined,
        NOW,
      ),
    );
    expect(p.actions).toEqual([]);
    expect(p.refusal).toMatch(/empty/);
    expect(inv.reads).toBe(0);
  });
});

describe('Ledger', () => {
  it('counts each inode once and frees it with its last managed link only', () => {
    const l = new Ledger();
    const a = file('/a', 100, NOW, { ino: 1, nlink: 2 });
    const b = file('/b', 100, NOW, { ino: 1, nlink: 2 });
    const outside = file('/c', 50, NOW, { ino: 2, nlink: 2 }); // second link outside our roots
    expect([l.count(a), l.count(b), l.count(outside)]).toEqual([100, 0, 50]);
    expect([l.remove(a), l.remove(b), l.remove(outside)]).toEqual([0, 100, 0]);
  });
});

describe('a retention model that keeps the archive', () => {
  it('--archive-age separates how long archives are kept from when sources are archived', async () => {
    const archive40 = unit(daysAgo(40), { root: 'archive' });
    const archive400 = unit(daysAgo(400), { root: 'archive', camera: 'REO_b' });
    // Python meaning: --clean-output --age 30 ages archives out with the sources.
    const python = await plan([archive40, archive400], { cleanOutput: true });
    expect(removals(python).map((a) => a.files[0]?.path)).toEqual([
      archive400.files[0]?.path,
      archive40.files[0]?.path,
    ]);
    // keep (0): no archive is removed by age.
    expect(
      removals(await plan([archive40, archive400], { cleanOutput: true, archiveAgeDays: 0 })),
    ).toEqual([]);
    const year = await plan([archive40, archive400], { cleanOutput: true, archiveAgeDays: 365 });
    expect(removals(year).map((a) => [a.files[0]?.path, a.reason])).toEqual([
      [archive400.files[0]?.path, expect.stringMatching(/older than --archive-age 365 days/)],
    ]);
  });

  it('--max-size never removes a source newer than --age (not archived yet); old archives go first', async () => {
    const fresh = unit(daysAgo(3)); // 10 MiB, unarchived
    const a40 = unit(daysAgo(40), { root: 'archive' });
    const a60 = unit(daysAgo(60), { root: 'archive', camera: 'REO_b' });
    const p = await plan([fresh, a40, a60], {
      ageDays: 7,
      cleanOutput: true,
      archiveAgeDays: 0,
      maxSizeBytes: 10 * MiB,
    });
    expect(removals(p).map((a) => a.files[0]?.path)).toEqual([
      a60.files[0]?.path,
      a40.files[0]?.path,
    ]);
    expect(p.shortfall).toBe(false);
    // Without --clean-output the archives stay: the cap falls short rather than take the clip.
    const q = await plan([fresh, a40, a60], { ageDays: 7, maxSizeBytes: 10 * MiB });
    expect(removals(q)).toEqual([]);
    expect(q.shortfall).toBe(true);
    expect(q.needs.maxSize).toBe(20 * MiB);
  });

  it('--protect judges a source by the later of its name and its modification time', async () => {
    // A camera whose clock reset names today's footage 2000-01-01.
    const reset = unit(new Date(2000, 0, 1), { extra: { mtimeMs: daysAgo(0, 2).getTime() } });
    const old = unit(daysAgo(20), { camera: 'REO_b' });
    const p = await plan([reset, old], { ageDays: 0, maxSizeBytes: 10 * MiB });
    expect(removals(p).map((a) => a.files[0]?.path)).toEqual([old.files[0]?.path]);
    expect(p.counts.protected).toBe(1);
  });
});

describe('shortcuts (whole dates from the count pass, no archives in a replay that cannot remove them) plan as the plain walks do', () => {
  /** A tree of random units: hard links, a second filesystem, fresh footage, trash, archives. */
  function randomTree(random: () => number): Unit[] {
    const units: Unit[] = [];
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
    const days = 2 + Math.floor(random() * 10);
    for (let d = 0; d < days; d++) {
      const perDay = Math.floor(random() * 6);
      for (let i = 0; i < perDay; i++) {
        const at = daysAgo(days - d + (random() < 0.1 ? -days : 0), random() * 20);
        const root = pick<RootKind>(['source', 'source', 'archive', 'trash']);
        const extra: Partial<FileFacts> = {};
        if (random() < 0.08) Object.assign(extra, { dev: 2 });
        if (random() < 0.08) Object.assign(extra, { nlink: 2, ino: 7 });
        if (random() < 0.1) Object.assign(extra, { mtimeMs: NOW.getTime() - 1000 });
        if (root === 'trash')
          Object.assign(extra, { ctimeMs: at.getTime() - random() * 40 * 86_400_000 });
        units.push(
          unit(at, {
            root,
            camera: pick(['REO_a', 'REO_b']),
            bytes: 1 + Math.floor(random() * 20) * MiB,
            thumb: root === 'source' && random() < 0.5,
            ...(root === 'source' && random() < 0.1 ? { kind: 'orphan-thumbnail' as const } : {}),
            extra,
          }),
        );
      }
    }
    return units;
  }

  /** The inventory honours the planner's ReadDate, and counts the footage dates it reads. */
  function readingInventory(units: Unit[]): RetentionInventory & { datesRead: number } {
    const inv = inventory(units);
    const trash = batches(units.filter((u) => u.root === 'trash'));
    const footage = batches(units.filter((u) => u.root !== 'trash'));
    const counted = { ...inv, datesRead: 0 };
    async function* honour(list: DateBatch[], readDate?: (d: string) => boolean) {
      for (const b of list) {
        if (readDate && !readDate(b.date)) continue;
        counted.datesRead++;
        yield await Promise.resolve(b);
      }
    }
    counted.trash = (_through, readDate) => honour(trash, readDate);
    const sources = batches(units.filter((u) => u.root === 'source'));
    counted.footage = (_through, readDate, sourcesOnly) =>
      honour(sourcesOnly ? sources : footage, readDate);
    return counted;
  }

  /** The plan's RemovalsByDay without the parts that cancelled out (count and bytes both 0). */
  function booksByDay(p: Planned): Record<string, Record<string, [number, number]>> {
    const out: Record<string, Record<string, [number, number]>> = {};
    for (const [key, day] of p.removalsByDay.days()) {
      const parts: Record<string, [number, number]> = {};
      for (const [part, r] of day)
        if (r.count !== 0 || r.bytes !== 0) parts[part] = [r.count, r.bytes];
      // (This file's batches are dated YYYY/MM/DD; the inventory's YYYY-MM-DD.)
      if (Object.keys(parts).length > 0) out[key.replaceAll('/', '-')] = parts;
    }
    return out;
  }

  /** The same, counted from the actions a replay yields. */
  function replayByDay(p: Planned): Record<string, Record<string, [number, number]>> {
    const out: Record<string, Record<string, [number, number]>> = {};
    for (const a of removals(p)) {
      const date = path
        .dirname(a.files[0]?.path ?? '')
        .split('/')
        .slice(-3)
        .join('-');
      const day = (out[`${a.kind === 'purge-trash' ? 0 : 1} ${date}`] ??= {});
      const r = (day[`${a.kind} ${a.unit}`] ??= [0, 0]);
      r[0]++;
      r[1] += a.bytes;
    }
    return out;
  }

  const view = (p: Planned): unknown => ({
    ...p,
    steps: undefined,
    actions: p.actions.map((a) =>
      a.kind === 'prune-folder'
        ? a
        : { ...a, files: a.files.map((f) => f.path), recordedAt: a.recordedAt.getTime() },
    ),
  });

  it('the same plan with and without the shortcuts, on seeded random trees and settings', async () => {
    const seed = Number(process.env.SEED ?? Date.now() % 1_000_000);
    console.log(`seed ${seed} (SEED=${seed} replays it)`);
    let shortcutReads = 0;
    let walkReads = 0;
    for (let round = 0; round < 300; round++) {
      const random = seededRandom(seed + round);
      const units = randomTree(random);
      const total = units.reduce((s, u) => s + u.files.reduce((t, f) => t + f.bytes, 0), 0);
      const settings: RetentionSettings = {
        ...BASE,
        disposal: random() < 0.5 ? 'trash' : 'delete',
        ageDays: random() < 0.4 ? 0 : Math.floor(random() * 10),
        cleanOutput: random() < 0.6,
        archiveAgeDays: random() < 0.3 ? Math.floor(random() * 8) : undefined,
        trashDays: random() < 0.3 ? Math.floor(random() * 30) : 0,
        maxSizeBytes: random() < 0.7 ? Math.floor(total * random()) : undefined,
        minFree: random() < 0.3 ? { bytes: Math.floor(total * random()) } : undefined,
        bytesToFree: random() < 0.15 ? Math.floor(total * random()) : undefined,
      };
      const fs = random() < 0.7 ? { dev: 1, sizeBytes: 4 * total + 1, freeBytes: 0 } : undefined;
      const shortcut = readingInventory(units);
      const walk = readingInventory(units);
      const a = await collected(await planRetention(shortcut, settings, OK_ROOT, fs, NOW));
      const b = await collected(
        await planRetention(walk, settings, OK_ROOT, fs, NOW, { shortcuts: false }),
      );
      expect(view(a), `seed ${seed + round}`).toEqual(view(b));
      // A summarised text plan prints the books' days instead of replaying: they must say what
      // the replay does, day by day and kind by kind.
      expect(booksByDay(a), `seed ${seed + round}`).toEqual(replayByDay(a));
      shortcutReads += shortcut.datesRead;
      walkReads += walk.datesRead;
    }
    // The shortcut was taken: the selection read fewer dates.
    expect(shortcutReads).toBeLessThan(walkReads);
  });
});

import path from 'node:path';
import { collisionTag } from '../../src/tree/naming.js';
import { describe, expect, it } from 'vitest';
import {
  ClipFile,
  type DayInventory,
  type OutputFolder,
  type Skeleton,
} from '../../src/archive/discovery.js';
import { parseClipName, parseStamp, stampToDate } from '../../src/tree/naming.js';
import {
  countDay,
  planDay,
  planPrunes,
  type PlanAction,
  type PlanSettings,
} from '../../src/archive/planner.js';
import { actionToJson } from '../../src/archive/render.js';

const NOW = new Date(2025, 2, 1, 3, 0, 0); // 2025-03-01 03:00 local
const settings: PlanSettings = {
  root: '/cam',
  outputRoot: '/cam/archived',
  trashRoot: '/cam/.deleted',
  disposal: 'trash',
  ageDays: 30,
  settleSeconds: 300,
  redoExisting: false,
};

function clip(
  name: string,
  extra: { thumbnailName?: string; mtimeMs?: number } = {},
  dir = '2025/01/15',
): ClipFile {
  const parsed = parseClipName(name);
  const stamp = parsed && parseStamp(parsed.stamp);
  if (!parsed || !stamp) throw new Error(name);
  const file = new ClipFile(
    { dir: `/cam/${dir}`, relDir: dir },
    name,
    stampToDate(stamp).getTime(),
    extra.thumbnailName,
  );
  file.mtimeMs = extra.mtimeMs;
  return file;
}

function output(entries: string[] = [], dir = '/cam/archived/2025/01/15'): OutputFolder {
  const legacy = new Map<string, string>();
  for (const e of entries) {
    const m = /^archived-(\d{14})\.mp4$/.exec(e);
    if (m?.[1]) legacy.set(m[1], e);
  }
  return {
    dir,
    entries: new Set(entries),
    legacyByStamp: legacy,
    partials: entries.filter((e) => e.endsWith('.partial')),
  };
}

function day(
  clips: ClipFile[],
  out: OutputFolder = output(),
  extra: Partial<DayInventory> = {},
): DayInventory {
  return {
    folder: { dir: '/cam/2025/01/15', relDir: '2025/01/15', prefix: '', date: '2025-01-15' },
    clips,
    orphanThumbnails: [],
    otherEntries: 0,
    ignored: [],
    outputs: new Map([['2025/01/15', out]]),
    ...extra,
  };
}

const kinds = (actions: readonly PlanAction[]): string[] => actions.map((a) => a.kind);

describe('planDay', () => {
  it('transcodes clips older than --age, with thumbnail, into <output>/YYYY/MM/DD/<camera>_<stamp>.mp4', () => {
    const c = clip('REO_front_20250115120000.mp4', {
      thumbnailName: 'REO_front_20250115120000.jpg',
    });
    const plan = planDay(day([c]), settings, NOW);
    expect(plan.actions).toHaveLength(1);
    const a = plan.actions[0];
    if (a?.kind !== 'transcode') throw new Error('expected transcode');
    expect(a.archivePath).toBe('/cam/archived/2025/01/15/REO_front_20250115120000.mp4');
    expect(a.partialPath).toBe('/cam/archived/2025/01/15/.REO_front_20250115120000.mp4.partial');
    expect(a.reason).toContain('older than --age 30 days');
    expect(a.disposal).toEqual({
      mode: 'trash',
      moves: [
        {
          from: '/cam/2025/01/15/REO_front_20250115120000.mp4',
          to: '/cam/.deleted/input/2025/01/15/REO_front_20250115120000.mp4',
        },
        {
          from: '/cam/2025/01/15/REO_front_20250115120000.jpg',
          to: '/cam/.deleted/input/2025/01/15/REO_front_20250115120000.jpg',
        },
      ],
    });
    expect(plan.emptiesFolder).toBe(true);
  });

  it('keeps clips newer than --age and says why', () => {
    const recent = clip('REO_front_20250220120000.mp4', {}, '2025/02/20');
    const plan = planDay(day([recent]), settings, NOW);
    expect(kinds(plan.actions)).toEqual(['keep']);
    expect(plan.actions[0]?.reason).toMatch(/newer than --age 30 days/);
    expect(plan.emptiesFolder).toBe(false);
  });

  it('--age 0 archives everything old enough to have settled', () => {
    const recent = clip(
      'REO_front_20250301025000.mp4',
      { mtimeMs: NOW.getTime() - 60_000 },
      '2025/03/01',
    );
    const settled = clip(
      'REO_front_20250301020000.mp4',
      { mtimeMs: NOW.getTime() - 3_600_000 },
      '2025/03/01',
    );
    const plan = planDay(day([recent, settled]), { ...settings, ageDays: 0 }, NOW);
    expect(kinds(plan.actions)).toEqual(['keep', 'transcode']);
    expect(plan.actions[0]?.reason).toMatch(/may still be uploading/);
  });

  it('settle time 0 disables the upload check', () => {
    const recent = clip(
      'REO_front_20250301025000.mp4',
      { mtimeMs: NOW.getTime() - 1000 },
      '2025/03/01',
    );
    const plan = planDay(day([recent]), { ...settings, ageDays: 0, settleSeconds: 0 }, NOW);
    expect(kinds(plan.actions)).toEqual(['transcode']);
  });

  it('an existing archive means verify-then-dispose; --no-skip transcodes again and replaces it', () => {
    const c = clip('REO_front_20250115120000.mp4');
    const out = output(['REO_front_20250115120000.mp4']);
    expect(kinds(planDay(day([c], out), settings, NOW).actions)).toEqual(['dispose-archived']);
    const redo = planDay(day([c], out), { ...settings, redoExisting: true }, NOW).actions[0];
    expect(redo?.kind).toBe('transcode');
    expect(redo?.kind === 'transcode' && redo.replacesExisting).toBe(true);
  });

  it('recognises the Python archiver’s archive when only one camera recorded that second', () => {
    const c = clip('REO_front_20250115120000.mp4');
    const a = planDay(day([c], output(['archived-20250115120000.mp4'])), settings, NOW).actions[0];
    if (a?.kind !== 'dispose-archived') throw new Error('expected dispose-archived');
    expect(a.legacy).toBe(true);
    expect(a.archivePath).toBe('/cam/archived/2025/01/15/archived-20250115120000.mp4');
    expect(a.ownArchivePath).toBe('/cam/archived/2025/01/15/REO_front_20250115120000.mp4');
  });

  it('an ambiguous legacy archive is a candidate for each camera: its pictures decide, never its name', () => {
    const front = clip('REO_front_20250115120000.mp4');
    const back = clip('REO_back_20250115120000.mp4');
    const plan = planDay(
      day([back, front], output(['archived-20250115120000.mp4'])),
      settings,
      NOW,
    );
    expect(kinds(plan.actions)).toEqual(['dispose-archived', 'dispose-archived']);
    const own = plan.actions.map((a) => (a.kind === 'dispose-archived' ? a.ownArchivePath : ''));
    expect(new Set(own).size).toBe(2);
    expect(plan.actions[0]?.reason).toMatch(/Python archiver's archived-20250115120000.mp4 exists/);
  });

  it('collisions are decided in the plan: misfiled stamps and names differing in case get distinct, stable names', () => {
    const tagOf = (rel: string): string => collisionTag(rel);
    // Misfiled: filed under 01/16, recorded 01/15. Its archive is never the plain name.
    const misfiled = clip('REO_front_20250115120000.mp4', {}, '2025/01/16');
    const inv = {
      ...day([misfiled]),
      folder: { dir: '/cam/2025/01/16', relDir: '2025/01/16', prefix: '', date: '2025-01-16' },
    };
    const m = planDay(inv, settings, NOW).actions[0];
    if (m?.kind !== 'transcode') throw new Error('expected transcode');
    const tag = tagOf('2025/01/16/REO_front_20250115120000.mp4');
    expect(m.archivePath).toBe(`/cam/archived/2025/01/15/REO_front~${tag}_20250115120000.mp4`);
    expect(m.reason).toMatch(/filed under 2025-01-16 but recorded on 2025-01-15/);
    // Two cameras differing in case: the first in name order keeps the plain name.
    const upper = clip('Front_20250115120000.mp4');
    const lower = clip('front_20250115120000.mp4');
    const plan = planDay(day([lower, upper]), settings, NOW).actions;
    const paths = plan.map((a) => (a.kind === 'transcode' ? path.basename(a.archivePath) : ''));
    expect(paths).toEqual([
      `front~${tagOf('2025/01/15/front_20250115120000.mp4')}_20250115120000.mp4`,
      'Front_20250115120000.mp4',
    ]);
    expect(plan[0]?.reason).toMatch(/Front_20250115120000.mp4 maps to the same archive name/);
    // The same inputs give the same names, whatever the order.
    const again = planDay(day([upper, lower]), settings, NOW).actions;
    expect(again.map((a) => (a.kind === 'transcode' ? path.basename(a.archivePath) : ''))).toEqual(
      [...paths].reverse(),
    );
  });

  it('an existing file at the archive name is a candidate, never the target of a new archive', () => {
    const c = clip('REO_front_20250115120000.mp4');
    const a = planDay(day([c], output(['REO_front_20250115120000.mp4'])), settings, NOW).actions[0];
    if (a?.kind !== 'dispose-archived') throw new Error('expected dispose-archived');
    expect(a.candidates).toEqual(['/cam/archived/2025/01/15/REO_front_20250115120000.mp4']);
    const tag = collisionTag('2025/01/15/REO_front_20250115120000.mp4');
    expect(a.ownArchivePath).toBe(`/cam/archived/2025/01/15/REO_front~${tag}_20250115120000.mp4`);
    // A file whose name differs only in case is the same file on a case-insensitive disk.
    const b = planDay(day([c], output(['reo_front_20250115120000.mp4'])), settings, NOW).actions[0];
    if (b?.kind !== 'dispose-archived') throw new Error('expected dispose-archived');
    expect(b.candidates).toEqual(['/cam/archived/2025/01/15/reo_front_20250115120000.mp4']);
    expect(b.ownArchivePath).toBe(`/cam/archived/2025/01/15/REO_front~${tag}_20250115120000.mp4`);
    expect(b.reason).toMatch(/is taken by another file/);
  });

  it('plans removal of stale partial output first', () => {
    const c = clip('REO_front_20250115120000.mp4');
    const plan = planDay(
      day([c], output(['.REO_front_20250115120000.mp4.partial'])),
      settings,
      NOW,
    );
    expect(kinds(plan.actions)).toEqual(['remove-partial', 'transcode']);
  });

  it('--delete plans permanent removal of clip and thumbnail', () => {
    const c = clip('REO_front_20250115120000.mp4', {
      thumbnailName: 'REO_front_20250115120000.jpg',
    });
    const a = planDay(day([c]), { ...settings, disposal: 'delete' }, NOW).actions[0];
    expect(a?.kind === 'transcode' && a.disposal).toEqual({
      mode: 'delete',
      files: [
        '/cam/2025/01/15/REO_front_20250115120000.mp4',
        '/cam/2025/01/15/REO_front_20250115120000.jpg',
      ],
    });
  });

  it('a folder with other files or orphan thumbnails is not emptied', () => {
    const c = clip('REO_front_20250115120000.mp4');
    expect(planDay(day([c], output(), { otherEntries: 1 }), settings, NOW).emptiesFolder).toBe(
      false,
    );
    expect(
      planDay(
        day([c], output(), {
          orphanThumbnails: [{ name: 'x.jpg', path: '/x.jpg', relPath: 'x.jpg' }],
        }),
        settings,
        NOW,
      ).emptiesFolder,
    ).toBe(false);
  });

  it('mirrors a camera prefix folder under the output root', () => {
    const c = clip('REO_cam_20250115120000.mp4', {}, 'front/2025/01/15');
    const inv = day([c], output([], '/cam/archived/front/2025/01/15'), {
      folder: {
        dir: '/cam/front/2025/01/15',
        relDir: 'front/2025/01/15',
        prefix: 'front',
        date: '2025-01-15',
      },
    });
    inv.outputs = new Map([['front/2025/01/15', output([], '/cam/archived/front/2025/01/15')]]);
    const a = planDay(inv, settings, NOW).actions[0];
    expect(a?.kind === 'transcode' && a.archivePath).toBe(
      '/cam/archived/front/2025/01/15/REO_cam_20250115120000.mp4',
    );
  });

  it('countDay counts exactly the actions planDay builds, and agrees on emptying the folder', () => {
    const inventories = [
      day([clip('REO_front_20250115120000.mp4'), clip('REO_back_20250115120000.mp4')]),
      day(
        [
          clip('REO_front_20250115120000.mp4'),
          clip('REO_back_20250115120000.mp4'),
          clip('REO_side_20250115130000.mp4'),
        ],
        output([
          'REO_front_20250115120000.mp4',
          'archived-20250115130000.mp4',
          '.REO_x_20250115120000.mp4.partial',
        ]),
      ),
      day([clip('REO_front_20250220120000.mp4', {}, '2025/02/20')]),
      day(
        [clip('REO_front_20250301025000.mp4', { mtimeMs: NOW.getTime() - 60_000 }, '2025/03/01')],
        output(),
        { otherEntries: 1 },
      ),
    ];
    for (const inv of inventories) {
      for (const s of [
        settings,
        { ...settings, ageDays: 0 },
        { ...settings, redoExisting: true },
      ]) {
        const plan = planDay(inv, s, NOW);
        const counted = { transcode: 0, disposeArchived: 0, keep: 0, removePartial: 0 };
        for (const a of plan.actions) {
          if (a.kind === 'transcode') counted.transcode++;
          else if (a.kind === 'dispose-archived') counted.disposeArchived++;
          else if (a.kind === 'keep') counted.keep++;
          else if (a.kind === 'remove-partial') counted.removePartial++;
        }
        expect(plan.counts).toEqual(counted);
        expect(countDay(inv, s, NOW)).toEqual({
          counts: plan.counts,
          emptiesFolder: plan.emptiesFolder,
        });
      }
    }
  });

  it('is a pure function: same input, same plan', () => {
    const inv = day([clip('REO_front_20250115120000.mp4'), clip('REO_back_20250115120000.mp4')]);
    // Compared in their JSON form: actions derive their fields through getters, which a deep
    // equality of the instances would not look at.
    const asJson = (plan: ReturnType<typeof planDay>): string =>
      JSON.stringify({
        ...plan,
        actions: plan.actions.map((a) => actionToJson(a, { root: '/cam' })),
      });
    const first = asJson(planDay(inv, settings, NOW));
    expect(first).toContain('"archivePath":"/cam/archived/2025/01/15/REO_back_20250115120000.mp4"');
    expect(asJson(planDay(inv, settings, NOW))).toBe(first);
  });
});

describe('planPrunes', () => {
  const skeleton = (days: string[], others: Record<string, number> = {}): Skeleton => ({
    days: days.map((relDir) => ({
      dir: `/cam/${relDir}`,
      relDir,
      prefix: '',
      date: relDir.replace(/\//g, '-'),
    })),
    otherEntriesByFolder: new Map(Object.entries(others)),
    ignored: [],
  });

  it('prunes emptied days, then months and years that hold nothing else', () => {
    const sk = skeleton(['2025/01/15', '2025/01/16', '2025/02/01']);
    const prunes = planPrunes(sk, new Set(['2025/01/15', '2025/01/16']), '/cam');
    expect(prunes.map((p) => p.path)).toEqual([
      '/cam/2025/01/15',
      '/cam/2025/01/16',
      '/cam/2025/01',
    ]);
  });

  it('never prunes a folder that holds other files, nor the root', () => {
    const sk = skeleton(['2025/01/15'], { '2025': 1 });
    const prunes = planPrunes(sk, new Set(['2025/01/15']), '/cam');
    expect(prunes.map((p) => p.path)).toEqual(['/cam/2025/01/15', '/cam/2025/01']);
    expect(prunes.map((p) => p.path)).not.toContain('/cam');
  });
});

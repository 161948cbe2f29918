import { linkSync, mkdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryLog } from '../../src/core/logger.js';
import { reclaimSpace } from '../../src/retention/reclaim.js';
import { executeRetention } from '../../src/retention/execute.js';
import { scanSkeletons, treeInventory } from '../../src/retention/inventory.js';
import {
  collectActions,
  planRetention,
  type RemovalAction,
  type RetentionSettings,
} from '../../src/retention/plan.js';
import { collectStats } from '../../src/retention/stats.js';
import { readRootFacts, writeRootMarker } from '../../src/retention/storage.js';
import { KiB, putSized, retentionSampleTree } from '../helpers/sized-tree.js';
import { listTree, removeDir, tempDir } from '../helpers/tree.js';

const NOW = new Date(Date.UTC(2025, 2, 1, 3, 0, 0));
const dirs: string[] = [];
afterEach(() => {
  while (dirs.length) removeDir(dirs.pop() ?? '');
});

/** The shared sample: February sources, January archives and a trash of January's sources. */
function tree(): string {
  const root = tempDir('cam-ret-');
  dirs.push(root);
  return retentionSampleTree(root);
}

function settingsFor(root: string, extra: Partial<RetentionSettings> = {}): RetentionSettings {
  return {
    root,
    outputRoot: path.join(root, 'archived'),
    trashRoot: path.join(root, '.deleted'),
    disposal: 'trash',
    ageDays: 0,
    cleanOutput: false,
    trashDays: 0,
    protectSeconds: 24 * 3600,
    settleSeconds: 300,
    ...extra,
  };
}

function sumSizes(root: string): number {
  return listTree(root)
    .filter((r) => !r.endsWith('/') && /\.(mp4|jpg)$/.test(r))
    .reduce((s, r) => s + statSync(path.join(root, r)).size, 0);
}

async function planFor(root: string, extra: Partial<RetentionSettings> = {}) {
  const settings = settingsFor(root, extra);
  const skeletons = await scanSkeletons(settings);
  const facts = await readRootFacts(root, undefined);
  return planRetention(treeInventory(settings, skeletons), settings, facts, undefined, NOW);
}

describe('retention on a real tree', () => {
  it('counts every byte once with the archive and trash roots nested inside the input root', async () => {
    const root = tree();
    // An interrupted move: one clip both in the tree and in the trash (same inode).
    mkdirSync(path.join(root, '.deleted/input/2025/02/01'), { recursive: true });
    linkSync(
      path.join(root, '2025/02/01/REO_front_20250201120000.mp4'),
      path.join(root, '.deleted/input/2025/02/01/REO_front_20250201120000.mp4'),
    );
    const p = await planFor(root);
    const allFiles = sumSizes(root);
    expect(p.before.total).toBe(allFiles - 100 * KiB);
    // The shared inode is counted under whichever root was read first (the trash), once.
    expect(p.before.source + p.before.trash).toBe(2 * 56 * 104 * KiB);
    expect(p.before.archive).toBe(56 * 30 * KiB);
    const stats = await collectStats(
      { root, outputRoot: path.join(root, 'archived'), trashRoot: path.join(root, '.deleted') },
      { ageDays: 30 },
      NOW,
    );
    expect(stats.managed.total).toBe(p.before.total);
  });

  it('a real run removes exactly what the plan listed and ends under --max-size', async () => {
    const root = tree();
    const cap = 3000 * KiB;
    const p = await planFor(root, { maxSizeBytes: cap });
    const listed = (await collectActions(p))
      .filter((a): a is RemovalAction => a.kind !== 'prune-folder')
      .flatMap((a) => a.files.map((f) => path.relative(root, f.path)))
      .sort();
    const beforeTree = listTree(root).filter((r) => !r.endsWith('/'));
    const report = await executeRetention(p.actions(), {
      trashRoot: path.join(root, '.deleted'),
      log: memoryLog(),
    });
    expect(report.failed).toBe(0);
    const afterTree = listTree(root).filter((r) => !r.endsWith('/'));
    expect(beforeTree.filter((r) => !afterTree.includes(r)).sort()).toEqual(listed);
    expect(sumSizes(root)).toBeLessThanOrEqual(cap);
    expect(sumSizes(root)).toBe(p.after.total);
    // Trash first: none left; archives untouched without --clean-output; newest day kept.
    expect(afterTree.filter((r) => r.startsWith('.deleted/'))).toEqual([]);
    expect(afterTree.filter((r) => r.startsWith('archived/'))).toHaveLength(56);
    expect(afterTree).toContain('2025/02/28/REO_front_20250228120000.mp4');
    // Pairs together: no clip without its thumbnail or the reverse.
    for (const r of afterTree.filter((x) => /^2025\/.*\.mp4$/.test(x)))
      expect(afterTree).toContain(r.replace(/\.mp4$/, '.jpg'));
    // Emptied date folders are gone; the roots themselves are not.
    expect(listTree(root)).not.toContain('2025/02/01/');
    expect(listTree(root)).toContain('.deleted/');
  });

  it('the age rule trashes old clips with thumbnails and orphan thumbnails, and prunes folders', async () => {
    const root = tempDir('cam-age-');
    dirs.push(root);
    putSized(root, '2025/01/10/REO_a_20250110120000.mp4', 10 * KiB);
    putSized(root, '2025/01/10/REO_a_20250110120000.jpg', 1 * KiB);
    putSized(root, '2025/01/11/REO_b_20250111120000.jpg', 1 * KiB); // orphan, old
    putSized(root, '2025/02/27/REO_b_20250227120000.jpg', 1 * KiB); // orphan, young
    const p = await planFor(root, { ageDays: 30 });
    await executeRetention(p.actions(), {
      trashRoot: path.join(root, '.deleted'),
      log: memoryLog(),
    });
    expect(listTree(root).filter((r) => !r.endsWith('/'))).toEqual([
      '.deleted/input/2025/01/10/REO_a_20250110120000.jpg',
      '.deleted/input/2025/01/10/REO_a_20250110120000.mp4',
      '.deleted/input/2025/01/11/REO_b_20250111120000.jpg',
      '2025/02/27/REO_b_20250227120000.jpg',
    ]);
    expect(listTree(root)).not.toContain('2025/01/');
  });

  it('leaves a file that changed since it was planned', async () => {
    const root = tempDir('cam-chg-');
    dirs.push(root);
    const clip = putSized(root, '2025/01/10/REO_a_20250110120000.mp4', 10 * KiB);
    const p = await planFor(root, { ageDays: 30, disposal: 'delete' });
    writeFileSync(clip, Buffer.alloc(20 * KiB));
    // Still an old clip by its times: only the size tells that it is not the file planned.
    const then = new Date(Date.UTC(2025, 0, 10, 12, 1));
    utimesSync(clip, then, then);
    const report = await executeRetention(p.actions(), {
      trashRoot: path.join(root, '.deleted'),
      log: memoryLog(),
    });
    expect(report.outcomes[0]?.status).toBe('skipped');
    expect(statSync(clip).size).toBe(20 * KiB);
  });

  it('reclaimSpace frees the bytes record asks for: trash first, never the protected newest', async () => {
    const root = tree();
    const before = sumSizes(root);
    const log = memoryLog();
    const report = await reclaimSpace({
      root,
      outputRoot: path.join(root, 'archived'),
      trashRoot: path.join(root, '.deleted'),
      bytesToFree: 6000 * KiB,
      protectNewerThan: new Date(NOW.getTime() - 3 * 86_400_000),
      now: NOW,
      log,
    });
    expect(report.shortfall).toBe(false);
    expect(report.freedBytes).toBeGreaterThanOrEqual(6000 * KiB);
    expect(before - sumSizes(root)).toBe(report.freedBytes);
    expect(report.removed[0]?.path).toContain('.deleted');
    const left = listTree(root);
    expect(left).toContain('2025/02/27/REO_front_20250227120000.mp4');
  });

  it('reclaimSpace refuses a missing root and removes nothing', async () => {
    const report = await reclaimSpace({
      root: '/nonexistent/camera',
      outputRoot: '/nonexistent/camera/archived',
      trashRoot: '/nonexistent/camera/.deleted',
      bytesToFree: 1,
      protectNewerThan: NOW,
      now: NOW,
      log: memoryLog(),
    });
    expect(report.refusal).toMatch(/does not exist/);
    expect(report.removed).toEqual([]);
  });

  it('the marker makes a later cleanup refuse a root that is not the one it cleaned before', async () => {
    const root = tree();
    const state = tempDir('cam-state-');
    dirs.push(state);
    expect((await readRootFacts(root, state)).marker).toBeUndefined();
    const id = await writeRootMarker(root, state);
    const facts = await readRootFacts(root, state);
    expect(facts.marker?.id).toBe(id);
    expect(facts.rememberedId).toBe(id);
    // Another (unmounted, or different) tree at the same path: the remembered marker is missing.
    removeDir(root);
    mkdirSync(path.join(root, '2025/02/01'), { recursive: true });
    putSized(root, '2025/02/01/REO_a_20250201120000.mp4', 10);
    const p = await planRetention(
      treeInventory(settingsFor(root), {}),
      settingsFor(root, { maxSizeBytes: 0 }),
      await readRootFacts(root, state),
      undefined,
      NOW,
    );
    expect(p.refusal).toMatch(/lost its marker/);
    expect(await collectActions(p)).toEqual([]);
  });
});

/**
 * Retention must plan in time linear in the files and memory bounded by a day's worth of them: a
 * million-file tree is a year of ten cameras, and record's storage guard plans on it when the disk
 * fills. Never timed: the planner's work is counted (units visited, unit fields read) and its live
 * heap is sampled after full GCs, each on two tree sizes.
 */
import { closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { memoryLog } from '../../src/core/logger.js';
import { reclaimSpace } from '../../src/retention/reclaim.js';
import {
  planRetention,
  type DateBatch,
  type RetentionInventory,
  type RetentionSettings,
  type Unit,
} from '../../src/retention/plan.js';
import { collectStats } from '../../src/retention/stats.js';
import { sharedLstatter } from '../../src/tree/lstat-pool.js';
import { sparseTree } from '../helpers/sized-tree.js';
import { removeDir, snapshot, tempDir } from '../helpers/tree.js';
import { exposeGc, heapSamplingSignal } from '../helpers/heap.js';

const NOW = new Date(Date.UTC(2025, 5, 1, 3, 0, 0));
const MiB = 1024 * 1024;
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) removeDir(r);
});

/** `days` dates of `perDay` clips (10 MiB each), generated lazily; counts every read of a unit. */
function syntheticInventory(
  days: number,
  perDay: number,
): RetentionInventory & { fieldReads: () => number } {
  let reads = 0;
  const watch = (u: Unit): Unit =>
    new Proxy(u, {
      get(target, prop, receiver) {
        reads++;
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
  async function* footage(): AsyncGenerator<DateBatch> {
    for (let d = 0; d < days; d++) {
      const day = new Date(NOW.getTime() - (days - d + 2) * 86_400_000);
      const rel = day.toISOString().slice(0, 10).replace(/-/g, '/');
      const units: Unit[] = [];
      for (let i = 0; i < perDay; i++) {
        const at = new Date(day.getTime() + i * 60_000);
        const file = `/cam/${rel}/REO_c_${at.getTime()}.mp4`;
        units.push(
          watch({
            root: 'source',
            kind: 'clip',
            camera: 'REO_c',
            recordedAt: at,
            relDir: rel,
            files: [
              {
                path: file,
                bytes: 10 * MiB,
                dev: 1,
                ino: d * perDay + i + 1,
                nlink: 1,
                mtimeMs: at.getTime(),
                ctimeMs: at.getTime(),
              },
            ],
          }),
        );
      }
      yield await Promise.resolve({
        date: rel.replace(/\//g, '-'),
        units,
        dayEntries: new Map([[`source:${rel}`, perDay]]),
      });
    }
  }
  return {
    skeletons: {},
    trash: async function* () {},
    footage,
    fieldReads: () => reads,
  };
}

const SETTINGS: RetentionSettings = {
  root: '/cam',
  outputRoot: '/cam/archived',
  trashRoot: '/cam/.deleted',
  disposal: 'trash',
  ageDays: 0,
  cleanOutput: false,
  trashDays: 0,
  protectSeconds: 24 * 3600,
  settleSeconds: 0,
};
const ROOT_OK = { exists: true, isDirectory: true, entryCount: 1, dev: 1 };

/** The CLI in this process (so its heap and calls can be watched), its output read as a pipe's reader would. */
async function cliInProcess(
  args: string[],
  o: {
    home: string;
    signal?: AbortSignal;
    stdout?: (chunk: Buffer) => void;
    stderr?: (chunk: Buffer) => void;
  },
): Promise<number> {
  const out = new PassThrough();
  const err = new PassThrough();
  if (o.stdout) out.on('data', o.stdout);
  else out.resume();
  if (o.stderr) err.on('data', o.stderr);
  else err.resume();
  return runCli(args, {
    stdin: process.stdin,
    stdout: out as unknown as NodeJS.WriteStream,
    stderr: err as unknown as NodeJS.WriteStream,
    env: { ...process.env, XDG_STATE_HOME: o.home },
    signal: o.signal ?? new AbortController().signal,
    commandLine: 'camera-archiver (retention scale test)',
  });
}

/** Work of a --max-size plan that must remove half the tree, and of replaying its actions. */
async function halfCapWork(
  days: number,
  perDay: number,
): Promise<{ steps: number; reads: number }> {
  const inv = syntheticInventory(days, perDay);
  const total = days * perDay * 10 * MiB;
  const plan = await planRetention(
    inv,
    { ...SETTINGS, maxSizeBytes: total / 2 },
    ROOT_OK,
    undefined,
    NOW,
  );
  let removed = 0;
  for await (const a of plan.actions()) if (a.kind !== 'prune-folder') removed++;
  expect(removed).toBe((days * perDay) / 2);
  expect(plan.after.total).toBe(total / 2);
  return { steps: plan.steps, reads: inv.fieldReads() };
}

describe('retention scales linearly', () => {
  it('twice the files, twice the planner work (steps and unit reads) for --max-size half', async () => {
    const small = await halfCapWork(40, 250); // 10,000 clips
    const large = await halfCapWork(80, 250); // 20,000 clips
    // The quadratic planner this replaced re-totalled every planned removal after each one: 4×.
    expect(large.steps / small.steps).toBeLessThan(2.05);
    expect(large.reads / small.reads).toBeLessThan(2.05);
  });

  it('a --max-size cleanup dry run holds no more live heap on a tree 8× as long', async () => {
    const gc = exposeGc();
    const growth = async (days: number): Promise<number> => {
      const root = tempDir('cam-ret-scale-');
      roots.push(root);
      sparseTree(root, { days, clipsPerDay: 100, bytes: MiB, now: NOW, thumbnails: true });
      // Planning checks its signal once per date batch: the hook to sample the heap mid-run.
      const { signal, samples } = heapSamplingSignal(gc, 10);
      let lines = 0;
      gc();
      const before = process.memoryUsage().heapUsed;
      const half = `${Math.floor((days * 100 * (MiB + MiB / 25)) / 2 / 1024)}K`;
      const code = await cliInProcess(
        [
          root,
          '--cleanup',
          '--dry-run',
          '--age',
          '0',
          '--max-size',
          half,
          '--no-config',
          '--now',
          NOW.toISOString(),
          // Every action in full: a default plan shows one line per day past its first 500.
          '-v',
        ],
        {
          home: root,
          signal,
          stdout: (chunk) => {
            for (const c of chunk) if (c === 10) lines++;
          },
        },
      );
      expect(code).toBe(0);
      // Every removal was printed (two lines each): the plan was streamed, not skipped.
      expect(lines).toBeGreaterThan(days * 100);
      return Math.max(...samples) - before;
    };
    const short = await growth(20);
    const long = await growth(160);
    // Holding the plan would keep 8,000 more removals (and their files) alive: many MB.
    expect(long - short).toBeLessThan(8 * MiB);
  });

  it('a day folder of 130,000 clips: stats and cleanup work (no call-stack depth from file counts)', async () => {
    const root = tempDir('cam-ret-bigday-');
    roots.push(root);
    const dir = path.join(root, '2025/01/15');
    mkdirSync(dir, { recursive: true });
    const n = 130_000;
    for (let i = 0; i < n; i++) {
      const s = String(i % 86_400);
      const hms = [Number(s) / 3600, (Number(s) / 60) % 60, Number(s) % 60]
        .map((x) => String(Math.floor(x)).padStart(2, '0'))
        .join('');
      closeSync(
        openSync(path.join(dir, `REO_cam${Math.floor(i / 86_400)}_20250115${hms}.mp4`), 'w'),
      );
    }
    const stats = await collectStats(
      {
        root,
        outputRoot: path.join(root, 'archived'),
        trashRoot: path.join(root, '.deleted'),
      },
      { ageDays: 0 },
      NOW,
    );
    expect(stats.totals.clips).toBe(n);
    // The files were just written: "now" is a minute later, so the mtime protection lets them go.
    const now = new Date(Date.now() + 60_000);
    const report = await reclaimSpace({
      root,
      outputRoot: path.join(root, 'archived'),
      trashRoot: path.join(root, '.deleted'),
      bytesToFree: 1,
      protectNewerThan: now,
      now,
      log: memoryLog(),
      dryRun: true,
    });
    // Empty files free nothing: the whole day is listed, and the shortfall is reported.
    expect(report.removed).toHaveLength(n);
    expect(report.shortfall).toBe(true);
  }, 300_000);

  it("record's storage guard reads only the oldest days it removes from (seconds on a big tree)", async () => {
    const root = tempDir('cam-ret-guard-');
    roots.push(root);
    sparseTree(root, { days: 60, clipsPerDay: 10, bytes: MiB, now: NOW });
    const dayFolder = /\/\d{4}\/\d{2}\/\d{2}$/;
    const listed: string[] = [];
    // Day folders are listed by the lstatter (src/tree/lstat-pool.ts), the skeleton with fsp.
    const lstatter = sharedLstatter();
    const list = lstatter.list.bind(lstatter);
    const spy = vi.spyOn(lstatter, 'list').mockImplementation((dir: string) => {
      if (dayFolder.test(dir)) listed.push(dir);
      return list(dir);
    });
    try {
      const report = await reclaimSpace({
        root,
        outputRoot: path.join(root, 'archived'),
        trashRoot: path.join(root, '.deleted'),
        bytesToFree: 15 * MiB, // a day and a half of 1 MiB clips
        protectNewerThan: NOW,
        now: NOW,
        log: memoryLog(),
      });
      expect(report.freedBytes).toBe(15 * MiB);
      expect(report.shortfall).toBe(false);
    } finally {
      spy.mockRestore();
    }
    // Two days removed from: each read by the selection pass and by the replay; never all 60.
    expect(new Set(listed).size, listed.join('\n')).toBe(2);
    expect(listed.length).toBeLessThanOrEqual(4);
  });

  it('a signal ends planning promptly: exit 130, nothing removed', async () => {
    const root = tempDir('cam-ret-sig-');
    roots.push(root);
    sparseTree(root, { days: 30, clipsPerDay: 20, bytes: MiB, now: NOW });
    const before = snapshot(root);
    const controller = new AbortController();
    let checks = 0;
    Object.defineProperty(controller.signal, 'aborted', { get: () => ++checks > 5 });
    Object.defineProperty(controller.signal, 'reason', { get: () => 'SIGINT' });
    let stderr = '';
    const code = await cliInProcess(
      [root, '--cleanup', '-y', '--age', '1', '--no-config', '--now', NOW.toISOString()],
      { home: root, signal: controller.signal, stderr: (c) => (stderr += c.toString()) },
    );
    expect(code).toBe(130);
    expect(stderr).toMatch(/interrupted while planning: nothing was removed/);
    const footage = (snap: Record<string, string>): string[] =>
      Object.entries(snap)
        .filter(([p]) => /\.mp4$/.test(p))
        .map(([p, v]) => `${p} ${v}`);
    expect(footage(snapshot(root))).toEqual(footage(before));
  });
});

describe('retention and stats read each file a bounded number of times, and hold one day', () => {
  /** Counts the files the lstatter stats while `run` runs (the one process-wide lstatter). */
  async function lstatsDuring(run: () => Promise<unknown>): Promise<number> {
    const lstatter = sharedLstatter();
    const before = lstatter.count;
    await run();
    return lstatter.count - before;
  }

  const quietCli = (args: string[], home: string): Promise<number> => cliInProcess(args, { home });

  it('--max-size half stats each file about 1.5 times (count once, replay what goes), stats once', async () => {
    const perFile = async (days: number): Promise<{ days: number; cap: number; stats: number }> => {
      const root = tempDir('cam-ret-reads-');
      roots.push(root);
      const files = sparseTree(root, {
        days,
        clipsPerDay: 50,
        bytes: MiB,
        now: NOW,
        thumbnails: true,
      });
      const half = `${Math.floor((days * 50 * (MiB + MiB / 25)) / 2 / 1024)}K`;
      const cap = await lstatsDuring(async () => {
        const code = await quietCli(
          [root, '--cleanup', '--dry-run', '--age', '0', '--max-size', half, '--no-config'],
          root,
        );
        expect(code).toBe(0);
      });
      const stats = await lstatsDuring(() =>
        collectStats(
          { root, outputRoot: path.join(root, 'archived'), trashRoot: path.join(root, '.deleted') },
          { ageDays: 0 },
          NOW,
        ),
      );
      return { days, cap: cap / files, stats: stats / files };
    };
    const small = await perFile(10);
    const large = await perFile(40);
    // Before whole dates were taken from the count pass, the selection read the removed half
    // again: 2 lstats a file. A planner that re-read the tree per removal would be far above.
    // Beyond the half that goes, only about the date where the cap is met is read again.
    for (const r of [small, large]) {
      // (At least once each: the counter sees every read.)
      expect(r.cap, `${r.days} days`).toBeGreaterThanOrEqual(1);
      expect(r.cap, `${r.days} days`).toBeLessThanOrEqual(1.5 + 3 / r.days);
      expect(r.stats, `${r.days} days`).toBeGreaterThanOrEqual(0.99);
      expect(r.stats, `${r.days} days`).toBeLessThanOrEqual(1.01);
    }
    expect(large.cap).toBeLessThanOrEqual(small.cap);
  });

  it('a day folder 4× as big costs its names, not its units: live heap per extra clip stays small', async () => {
    const gc = exposeGc();
    const peak = async (clips: number): Promise<number> => {
      const root = tempDir('cam-ret-day-heap-');
      roots.push(root);
      const dir = path.join(root, '2025/01/15');
      mkdirSync(dir, { recursive: true });
      for (let i = 0; i < clips; i++) {
        const s = i % 86_400;
        const hms = [s / 3600, (s / 60) % 60, s % 60]
          .map((x) => String(Math.floor(x)).padStart(2, '0'))
          .join('');
        closeSync(
          openSync(path.join(dir, `REO_cam${Math.floor(i / 86_400)}_20250115${hms}.mp4`), 'w'),
        );
      }
      // Planning checks its signal per sub-batch of a date: the hook to sample the heap mid-day.
      const { signal, samples } = heapSamplingSignal(gc, 4);
      gc();
      const before = process.memoryUsage().heapUsed;
      const code = await cliInProcess(
        [root, '--cleanup', '--dry-run', '--age', '1', '--no-config', '--now', NOW.toISOString()],
        { home: root, signal },
      );
      expect(code).toBe(0);
      expect(samples.length).toBeGreaterThan(4);
      return Math.max(...samples) - before;
    };
    const small = await peak(10_000);
    const large = await peak(40_000);
    const perClip = (large - small) / 30_000;
    // A name and a ClipFile are about 100 bytes; a whole unit with its facts and action was 600.
    expect(perClip).toBeLessThan(250);
  }, 120_000);
});

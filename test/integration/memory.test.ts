/**
 * Planning must hold one day folder at a time, never the tree (issue 6: a 2 GB box with millions
 * of files). Never timed: one test is structural (how far the listing runs ahead of the consumer),
 * the other compares live heap after full GCs between a short and an 8× longer tree.
 */
import { closeSync, mkdirSync, openSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { discoverDays, READ_AHEAD, type DiscoveryOptions } from '../../src/archive/discovery.js';
import type { ExecutionReport } from '../../src/archive/executor.js';
import type { PlanAction } from '../../src/archive/planner.js';
import { removeDir, tempDir } from '../helpers/tree.js';
import { exposeGc, heapSamplingSignal } from '../helpers/heap.js';

/**
 * The real run's executor, replaced for the streaming guard: it records what each call is handed
 * and the live heap at that moment, and reports every clip as skipped (no ffmpeg per clip).
 */
const executed = vi.hoisted(() => ({
  batches: [] as number[],
  heap: [] as number[],
  gc: undefined as (() => void) | undefined,
}));
vi.mock('../../src/archive/executor.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/archive/executor.js')>();
  return {
    ...original,
    executePlan: (actions: readonly PlanAction[]): Promise<ExecutionReport> => {
      const clips = actions.flatMap((a) =>
        a.kind === 'transcode' || a.kind === 'dispose-archived' ? [a.clip.path] : [],
      );
      executed.batches.push(clips.length);
      executed.gc?.();
      executed.heap.push(process.memoryUsage().heapUsed);
      return Promise.resolve({
        outcomes: clips.map((clip) => ({ status: 'skipped' as const, clip, reason: 'test' })),
        removedPartials: [],
        prunedFolders: [],
        notStarted: [],
        interrupted: false,
        hardwareFallbacks: 0,
      });
    },
  };
});

const FILES_PER_DAY = 200; // 100 clip + thumbnail pairs: 5 cameras × 20 clips

/** `days` day folders of empty clips and thumbnails, ending a year before now (all past --age). */
function makeTree(root: string, days: number): void {
  const first = new Date();
  first.setFullYear(first.getFullYear() - 1);
  for (let d = 0; d < days; d++) {
    const day = new Date(first.getFullYear(), first.getMonth(), first.getDate() - d);
    const ymd = `${day.getFullYear()}${pad(day.getMonth() + 1)}${pad(day.getDate())}`;
    const dir = path.join(root, ymd.slice(0, 4), ymd.slice(4, 6), ymd.slice(6, 8));
    mkdirSync(dir, { recursive: true });
    for (let cam = 0; cam < 5; cam++) {
      for (let i = 0; i < FILES_PER_DAY / 10; i++) {
        const stem = `${dir}/REO_cam${cam}_${ymd}${pad(i)}0000`;
        closeSync(openSync(`${stem}.mp4`, 'w'));
        closeSync(openSync(`${stem}.jpg`, 'w'));
      }
    }
  }
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

const roots: string[] = [];
function tree(days: number): string {
  const root = tempDir('cam-memory-');
  roots.push(root, `${root}-log`);
  makeTree(root, days);
  return root;
}

afterEach(() => {
  vi.restoreAllMocks();
});
afterAll(() => {
  for (const root of roots) removeDir(root);
});

describe('bounded memory while planning', () => {
  it('lists day folders only as the consumer pulls them (at most READ_AHEAD ahead)', async () => {
    const root = tree(60);
    const options: DiscoveryOptions = {
      root,
      excluded: [path.join(root, 'archived'), path.join(root, '.deleted')],
      outputRoot: path.join(root, 'archived'),
      statClipsNewerThan: new Date(8.64e15),
    };
    const dayFolder = /\/\d{4}\/\d{2}\/\d{2}$/;
    const listed: string[] = [];
    const readdir = fsp.readdir.bind(fsp);
    vi.spyOn(fsp, 'readdir').mockImplementation(((dir: string, opts: never) => {
      if (
        dayFolder.test(String(dir)) &&
        String(dir).startsWith(root) &&
        !String(dir).includes('archived')
      )
        listed.push(String(dir));
      return readdir(dir, opts);
    }) as typeof fsp.readdir);

    let consumed = 0;
    for await (const day of discoverDays(options)) {
      consumed++;
      expect(day.clips).toHaveLength(FILES_PER_DAY / 2);
      // A slow consumer (planning a big day) must not let the listing run ahead of it.
      await new Promise((resolve) => setTimeout(resolve, 2));
      expect(listed.length).toBeLessThanOrEqual(consumed + READ_AHEAD);
    }
    expect(consumed).toBe(60);
    expect(listed).toHaveLength(60);
  });

  it('a quiet dry run holds no more live heap on a tree 8× as long', async () => {
    const gc = exposeGc();

    /** Live heap growth (after full GCs) during a quiet dry run, sampled every 20 days. */
    const growth = async (root: string): Promise<number> => {
      // The run checks its abort signal once per day folder: the hook to sample mid-run.
      const { signal, samples } = heapSamplingSignal(gc, 20);
      const out = new PassThrough();
      const err = new PassThrough();
      let stdout = '';
      out.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      err.resume();
      gc();
      const before = process.memoryUsage().heapUsed;
      const code = await runCli([root, '--dry-run', '-q', '--encoder', 'software', '--no-config'], {
        stdin: process.stdin,
        stdout: out as unknown as NodeJS.WriteStream,
        stderr: err as unknown as NodeJS.WriteStream,
        env: { ...process.env },
        signal,
        commandLine: 'camera-archiver (memory test)',
      });
      expect(code).toBe(0);
      expect(stdout).toMatch(/^Dry run, nothing was changed\. Plan: \d+ clip/);
      return Math.max(...samples) - before;
    };

    const short = await growth(tree(30));
    const long = await growth(tree(240));
    // Holding the tree would keep 21,000 more clips and their actions alive (≈ 30 MB); one day
    // at a time, both runs peak alike. The bound is loose on purpose: GC timing is not our test.
    expect(long - short).toBeLessThan(12 * 1024 * 1024);
  });

  it('a real run executes day by day: batches and live heap do not grow with the tree (8× as long)', async () => {
    const gc = exposeGc();
    executed.gc = gc;

    const realRun = async (
      root: string,
    ): Promise<{ growth: number; largestBatch: number; calls: number; clips: number }> => {
      executed.batches = [];
      executed.heap = [];
      const out = new PassThrough();
      const err = new PassThrough();
      out.resume();
      err.resume();
      gc();
      const before = process.memoryUsage().heapUsed;
      const code = await runCli(
        [
          root,
          '-y',
          '-q',
          '--age',
          '0',
          '--settle-time',
          '0',
          '--encoder',
          'software',
          '--log-file',
          `${root}-log/archiver.log`,
          '--no-config',
        ],
        {
          stdin: process.stdin,
          stdout: out as unknown as NodeJS.WriteStream,
          stderr: err as unknown as NodeJS.WriteStream,
          env: { ...process.env },
          signal: new AbortController().signal,
          commandLine: 'camera-archiver (memory test)',
        },
      );
      expect(code).toBe(0);
      return {
        growth: Math.max(...executed.heap) - before,
        largestBatch: Math.max(...executed.batches),
        calls: executed.batches.length,
        clips: executed.batches.reduce((a, b) => a + b, 0),
      };
    };

    const short = await realRun(tree(30));
    const long = await realRun(tree(240));
    console.log(
      `real run: 3,000 clips: ${short.calls} executor calls, largest ${short.largestBatch} clips, live heap +${(short.growth / 2 ** 20).toFixed(1)} MiB; ` +
        `24,000 clips: ${long.calls} calls, largest ${long.largestBatch}, +${(long.growth / 2 ** 20).toFixed(1)} MiB`,
    );
    expect(short.clips).toBe(3_000);
    expect(long.clips).toBe(24_000);
    // Whole day folders of 100 clips, about 256 clips a call, whatever the tree's length.
    expect(long.largestBatch).toBe(short.largestBatch);
    expect(long.largestBatch).toBeLessThanOrEqual(400);
    // Holding the plan kept every action, its clip and its day's output listing alive until the
    // executor was called once with all of them: 21,000 more clips were tens of MB. Day by day,
    // only the per-clip outcomes the summary reports grow (≈ 150 bytes a clip).
    expect(long.growth - short.growth).toBeLessThan(5 * 1024 * 1024);
  });
});

/**
 * `--dry-run --json` streams its plan: the live heap while it runs does not grow with the tree
 * (a million actions once failed as one string, "Invalid string length"). Never timed: live heap
 * after full GCs, a short tree against one 6× as long, as test/integration/memory.test.ts does for
 * the quiet dry run.
 */
import { closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { removeDir, tempDir } from '../helpers/tree.js';
import { exposeGc, heapSamplingSignal } from '../helpers/heap.js';

const CLIPS_PER_DAY = 100;
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

/** `days` day folders of empty clips (a dry run plans from names), all long past --age. */
function tree(days: number): string {
  const root = tempDir('cam-json-stream-');
  dirs.push(root);
  for (let d = 0; d < days; d++) {
    const day = new Date(Date.UTC(2020, 0, 1 + d));
    const ymd = day.toISOString().slice(0, 10).replace(/-/g, '');
    const dir = path.join(root, ymd.slice(0, 4), ymd.slice(4, 6), ymd.slice(6, 8));
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < CLIPS_PER_DAY; i++) {
      const hhmm = `${String(Math.floor(i / 5)).padStart(2, '0')}${String((i % 5) * 10).padStart(2, '0')}`;
      closeSync(openSync(path.join(dir, `REO_cam_${ymd}${hhmm}00.mp4`), 'w'));
    }
  }
  return root;
}

describe('--dry-run --json as a stream', () => {
  it('holds no more live heap on a tree 6× as long, and the document is whole', async () => {
    const gc = exposeGc();

    const growth = async (root: string, days: number): Promise<number> => {
      // The run checks its abort signal once per day folder: the hook to sample mid-run.
      const { signal, samples } = heapSamplingSignal(gc, 10);
      // The reader keeps only what it needs to check the document: its size, head and tail.
      const out = new PassThrough();
      let bytes = 0;
      let head = '';
      let tail = '';
      let transcodes = 0;
      out.on('data', (chunk: Buffer) => {
        const text = chunk.toString();
        bytes += chunk.length;
        if (head.length < 64) head += text.slice(0, 64);
        tail = (tail + text).slice(-4096);
        transcodes += text.split('"kind": "transcode"').length - 1;
      });
      const err = new PassThrough();
      err.resume();
      gc();
      const before = process.memoryUsage().heapUsed;
      const code = await runCli(
        [root, '--dry-run', '--json', '--encoder', 'software', '--no-config', '-q'],
        {
          stdin: process.stdin,
          stdout: out as unknown as NodeJS.WriteStream,
          stderr: err as unknown as NodeJS.WriteStream,
          env: { ...process.env },
          signal,
          commandLine: 'camera-archiver (json stream test)',
        },
      );
      expect(code).toBe(0);
      expect(head).toMatch(/^\{\n {2}"command": "archive",\n {2}"dryRun": true,/);
      expect(tail).toMatch(/\n\}\n$/);
      expect(transcodes).toBe(days * CLIPS_PER_DAY);
      expect(bytes).toBeGreaterThan(days * CLIPS_PER_DAY * 500);
      return Math.max(...samples) - before;
    };

    const short = await growth(tree(20), 20);
    const long = await growth(tree(120), 120);
    // Holding the plan keeps 10,000 more actions (≈ 14 MB more, measured) and then one string of
    // them; a stream peaks alike on both (within 2 MB). GC timing is not what is tested.
    console.log(
      `live heap growth: ${(short / 2 ** 20).toFixed(1)} MiB (20 days), ${(long / 2 ** 20).toFixed(1)} MiB (120 days)`,
    );
    expect(long - short).toBeLessThan(6 * 1024 * 1024);
  });
});

/**
 * The archive run's steps, each on its own (src/archive/run.ts, plan-pass.ts, run-tools.ts): the
 * counting pass on real temp trees, without the executor; the tools it needs, and only those.
 */
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toArchiveOptions } from '../../src/cli/commands/archive.js';
import { findDayFolders } from '../../src/archive/discovery.js';
import { PlanPass, fingerprint } from '../../src/archive/plan-pass.js';
import { startRun, type RunIo } from '../../src/archive/run.js';
import { memoryLog, type AppLogger } from '../../src/core/logger.js';
import { planTree } from '../helpers/plan.js';
import { seededRandom } from '../helpers/random.js';
import { removeDir, tempDir } from '../helpers/tree.js';

const NOW = new Date('2025-03-01T00:00:00Z');

function io(): RunIo & { out: () => string } {
  let out = '';
  const stdout = new PassThrough();
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  return {
    stdin: new PassThrough(),
    stdout,
    stderr: new PassThrough() as unknown as NodeJS.WriteStream,
    env: {},
    signal: new AbortController().signal,
    clock: () => NOW,
    out: () => out,
  };
}

function logger(): AppLogger & ReturnType<typeof memoryLog> {
  return { ...memoryLog(), setConsoleWriter: () => undefined, close: async () => undefined };
}

/** An empty clip named for `stamp` (the planner reads names; a dry run needs no media). */
function clip(root: string, stamp: string, camera = 'REO_front'): string {
  const dir = path.join(root, stamp.slice(0, 4), stamp.slice(4, 6), stamp.slice(6, 8));
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${camera}_${stamp}.mp4`);
  writeFileSync(file, '');
  const old = new Date('2020-01-01T00:00:00Z');
  utimesSync(file, old, old);
  return file;
}

const roots = (root: string) => ({
  root,
  outputRoot: path.join(root, 'archived'),
  trashRoot: path.join(root, '.deleted'),
});

describe('archive steps', () => {
  let root: string;
  beforeEach(() => {
    root = tempDir('steps-');
  });
  afterEach(() => removeDir(root));

  it('counting a real run: the plan counted, each day fingerprinted, no ffmpeg needed when nothing transcodes', async () => {
    clip(root, '20250228120000'); // a day old: kept
    clip(root, '20250227120000');
    const opts = toArchiveOptions(
      { directory: root, ffmpeg: '/nonexistent/ffmpeg', 'settle-time': '0' },
      'test',
    );
    const run = startRun(opts, io(), logger(), roots(root));
    const counted = await new PlanPass(run).count(await findDayFolders(run.discovery));
    expect(counted?.counts).toMatchObject({ days: 2, clips: 2, keep: 2, transcode: 0 });
    expect([...(counted?.dayPrints.keys() ?? [])].sort()).toEqual(['2025/02/27', '2025/02/28']);
    expect(run.tools.toolchain).toBeUndefined();
  });

  it('a clip to transcode with ffmpeg missing fails the count, naming the binary', async () => {
    clip(root, '20250101120000');
    const opts = toArchiveOptions(
      { directory: root, ffmpeg: '/nonexistent/ffmpeg', 'settle-time': '0' },
      'test',
    );
    const run = startRun(opts, io(), logger(), roots(root));
    await expect(new PlanPass(run).count(await findDayFolders(run.discovery))).rejects.toThrow(
      /\/nonexistent\/ffmpeg/,
    );
  });

  it('an aborted walk ends a --json dry run as a whole document marked interrupted', async () => {
    clip(root, '20250228120000');
    const opts = toArchiveOptions({ directory: root, 'dry-run': true, json: true }, 'test');
    const controller = new AbortController();
    const runIo = { ...io(), signal: controller.signal };
    const run = startRun(opts, runIo, logger(), roots(root));
    controller.abort('SIGTERM');
    expect(await new PlanPass(run).count(await findDayFolders(run.discovery))).toBeUndefined();
  });

  it('the counting pass and the planner agree on every day of a random tree (seeded)', async () => {
    const seed = Number(process.env.TEST_SEED ?? Date.now() % 1_000_000);
    console.log(`archive-steps seed=${seed} (TEST_SEED to repeat)`);
    const random = seededRandom(seed);
    for (let i = 0; i < 60; i++) {
      const day = 1 + Math.floor(random() * 28);
      const month = 1 + Math.floor(random() * 2);
      const stamp = `2025${String(month).padStart(2, '0')}${String(day).padStart(2, '0')}${String(Math.floor(random() * 24)).padStart(2, '0')}${String(Math.floor(random() * 60)).padStart(2, '0')}00`;
      clip(root, stamp, random() < 0.5 ? 'REO_front' : 'REO_yard');
    }
    const age = Math.floor(random() * 60);
    const opts = toArchiveOptions(
      { directory: root, age, 'settle-time': '0', ffmpeg: '/nonexistent/ffmpeg' },
      'test',
    );
    const run = startRun(opts, io(), logger(), roots(root));
    const pass = new PlanPass(run);
    const counted = await pass
      .count(await findDayFolders(run.discovery))
      .catch((error: unknown) =>
        String(error).includes('/nonexistent/ffmpeg') ? null : Promise.reject(error),
      );
    const actions = await planTree(root, NOW, { ageDays: age });
    const transcodes = actions.filter((a) => a.kind === 'transcode').length;
    // With clips to transcode the missing ffmpeg fails the count after the walk: the tally is kept.
    expect(pass.counts.transcode, `seed ${seed}`).toBe(transcodes);
    expect(pass.counts.keep, `seed ${seed}`).toBe(actions.filter((a) => a.kind === 'keep').length);
    if (counted) expect(transcodes).toBe(0);
    for (const [day, print] of pass.dayPrints) {
      const own = actions.filter((a) => 'clip' in a && a.clip.path.includes(`/${day}/`));
      expect(print, `${day}, seed ${seed}`).toBe(fingerprint(own));
    }
  });
});

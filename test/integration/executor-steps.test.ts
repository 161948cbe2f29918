/**
 * The executor's steps one at a time, on real trees with real ffmpeg: each step is a function of
 * its own (executor.ts, clip-archive.ts), so what it does and leaves can be checked without a
 * whole run around it. The adversarial cases are those where the footage is at stake: an archive
 * that fails verification, a transcode that fails after writing, a clip rewritten mid-archive.
 */
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { lstat } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  makeArchive,
  prepareJob,
  chooseArchiveName,
  findVerifiedArchive,
  transcodeClip,
  type ClipSource,
} from '../../src/archive/clip-archive.js';
import {
  FAILPOINTS,
  processClip,
  ProbeAhead,
  pruneEmptyFolders,
  recheckClip,
  startRun,
  verifyThenDispose,
  type ExecutionRun,
  type ExecutorContext,
} from '../../src/archive/executor.js';
import type { TranscodeAction } from '../../src/archive/planner.js';
import { TranscodeError } from '../../src/archive/transcoder.js';
import { VerificationError } from '../../src/archive/verification.js';
import { memoryLog } from '../../src/core/logger.js';
import { profileFor } from '../../src/media/encoders.js';
import { formatIdentity, readIdentity } from '../../src/media/identity.js';
import { probeMedia } from '../../src/media/probe.js';
import { resolveToolchain, type Toolchain } from '../../src/media/toolchain.js';
import {
  BAD_ARCHIVES,
  badTranscodeFfmpeg,
  failAfterWritingFfmpeg,
  type BadArchive,
} from '../helpers/fake-ffmpeg.js';
import {
  clipTemplate,
  identityTagOf,
  makeTree,
  playsCleanly,
  probe,
  type ClipSpec,
} from '../helpers/media.js';
import { executorContext } from '../helpers/executor.js';
import { planTree } from '../helpers/plan.js';
import { listTree, removeDir, snapshot, tempDir } from '../helpers/tree.js';

const NOW = new Date(2025, 2, 1);
const STAMP = '20250115120000';
const software = profileFor('software', {
  codec: 'hevc',
  audio: 'aac',
  hwDevice: '/dev/null',
  preset: 'ultrafast',
});

/** Long and large enough that every wrong-but-plausible archive differs from it where checked. */
const VARIED: ClipSpec = { seconds: 6, size: '320x240', rate: 10 };
const WHY: Record<BadArchive, RegExp> = {
  black: /pictures differ from the clip's \(PSNR/,
  frozen: /pictures differ from the clip's \(PSNR/,
  downscaled: /pictures are 160x120, expected 320x240/,
  'other-clip': /pictures differ from the clip's \(PSNR/,
  'half-zeros': /does not decode cleanly|pictures differ|cannot be read|truncated/,
};

describe('executor steps, each on its own', () => {
  let root: string;
  let tools: Toolchain;
  let ctx: ExecutorContext;
  let log: ReturnType<typeof memoryLog>;
  let clipPath: string;
  let thumbPath: string;
  beforeEach(async () => {
    root = tempDir();
    tools = await resolveToolchain({}, process.env, () => {});
    log = memoryLog();
    ctx = executorContext({ root, toolchain: tools, log, now: NOW }, software);
    const written = makeTree(root, [{ stamp: STAMP, thumbnail: true }]);
    clipPath = written[0] ?? '';
    thumbPath = written[1] ?? '';
  });
  afterEach(() => removeDir(root));

  const archivePath = (): string => path.join(root, `archived/2025/01/15/REO_front_${STAMP}.mp4`);

  async function transcodeAction(): Promise<TranscodeAction> {
    const action = (await planTree(root, NOW)).find((a) => a.kind === 'transcode');
    if (action?.kind !== 'transcode') throw new Error('the plan has no transcode');
    return action;
  }

  async function sourceOf(file: string, run: ExecutionRun): Promise<ClipSource> {
    const seen = statSync(file);
    return {
      path: file,
      info: await run.lookahead.take(file, seen),
      identity: await readIdentity(file, path.relative(root, file), seen.mtimeMs),
    };
  }

  function withFfmpeg(file: string): ExecutorContext {
    return { ...ctx, toolchain: { ...tools, ffmpeg: { path: file, origin: 'option' } } };
  }

  it.each(BAD_ARCHIVES)(
    'dispose is never called when verification fails (%s archive): clip and thumbnail stay, nothing is archived',
    async (kind) => {
      const mtime = statSync(clipPath).mtime;
      copyFileSync(clipTemplate(VARIED), clipPath);
      utimesSync(clipPath, mtime, mtime);
      const action = await transcodeAction();
      const before = snapshot(root);
      const run = startRun(withFfmpeg(badTranscodeFfmpeg(path.join(root, '.bin'), kind)));
      const error = await processClip(run, action).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(VerificationError);
      expect((error as VerificationError).reason).toMatch(WHY[kind]);
      const after = snapshot(root);
      // Only the fake's scripts and the (empty) archive folder are new; the sources are untouched.
      for (const [rel, state] of Object.entries(before)) expect(after[rel]).toBe(state);
      expect(existsSync(ctx.trashRoot)).toBe(false);
      expect(existsSync(archivePath())).toBe(false);
      expect(listTree(root).filter((p) => p.includes('.partial'))).toEqual([]);
    },
  );

  it('a partial left by a failing transcode is removed and never linked', async () => {
    const bin = path.join(root, '.bin');
    const run = startRun(withFfmpeg(failAfterWritingFfmpeg(bin, path.join(bin, 'seen'))));
    const clip = await sourceOf(clipPath, run);
    const job = await prepareJob(run, clip, {
      path: archivePath(),
      replace: false,
      fallback: archivePath(),
    });
    const error = await makeArchive(run, job, software).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TranscodeError);
    expect((error as TranscodeError).message).toMatch(/Conversion failed/);
    // ffmpeg did write a whole, playable partial before failing ...
    expect(statSync(path.join(bin, 'seen')).size).toBeGreaterThan(0);
    expect(playsCleanly(path.join(bin, 'seen'))).toBe(true);
    // ... and it is gone, and never took the archive's name.
    expect(existsSync(job.partial)).toBe(false);
    expect(existsSync(job.archivePath)).toBe(false);
    expect(readFileSync(clipPath).equals(readFileSync(clipTemplate()))).toBe(true);
  });

  it('makeArchive places only a verified archive that records its clip, and leaves no partial', async () => {
    const run = startRun(ctx);
    const clip = await sourceOf(clipPath, run);
    const target = { path: archivePath(), replace: false, fallback: archivePath() };
    const job = await prepareJob(run, clip, target);
    const steps: string[] = [];
    const made = await makeArchive({ ...run, failpoint: (n) => steps.push(n) }, job, software);
    expect(steps).toEqual(['transcoded', 'verified', 'archive-placed']);
    expect(made.verified.identity).toBe('recorded');
    expect(identityTagOf(archivePath())).toMatch(/^v1;size=\d+;/);
    expect(probe(archivePath()).videoCodec).toBe('hevc');
    expect(existsSync(job.partial)).toBe(false);
    // A second archive may not take the name now: placement never clobbers.
    const again = await makeArchive(run, job, software).catch((e: unknown) => e);
    expect(String(again)).toMatch(/appeared at this name/);
    expect(existsSync(job.partial)).toBe(false);
  });

  it('verifyThenDispose disposes of clip and thumbnail only after the archive verified', async () => {
    const action = await transcodeAction();
    const run = startRun(ctx);
    const clip = await sourceOf(clipPath, run);
    const outcome = await verifyThenDispose(run, action, clip, statSync(clipPath), Date.now());
    expect(outcome).toMatchObject({ status: 'archived', archive: archivePath() });
    expect(playsCleanly(archivePath())).toBe(true);
    expect(existsSync(clipPath)).toBe(false);
    expect(existsSync(thumbPath)).toBe(false);
    const trashed = listTree(ctx.trashRoot).filter((p) => !p.endsWith('/'));
    expect(trashed).toEqual([
      `input/2025/01/15/REO_front_${STAMP}.jpg`,
      `input/2025/01/15/REO_front_${STAMP}.mp4`,
    ]);
  });

  it('verifyThenDispose keeps a clip rewritten while it was archived, and its placed archive', async () => {
    const action = await transcodeAction();
    const run = startRun(ctx);
    const clip = await sourceOf(clipPath, run);
    const before = statSync(clipPath);
    const outcome = await verifyThenDispose(
      {
        ...run,
        failpoint: (name) => {
          if (name === 'archive-placed') appendFileSync(clipPath, Buffer.alloc(1024));
        },
      },
      action,
      clip,
      before,
      Date.now(),
    );
    expect(outcome).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/changed/) });
    expect(statSync(clipPath).size).toBe(before.size + 1024);
    expect(existsSync(thumbPath)).toBe(true);
    expect(existsSync(ctx.trashRoot)).toBe(false);
    expect(existsSync(archivePath())).toBe(true);
  });

  it('an aborted run disposes of nothing, even with the archive already placed', async () => {
    const action = await transcodeAction();
    const controller = new AbortController();
    const run = startRun({ ...ctx, signal: controller.signal });
    const clip = await sourceOf(clipPath, run);
    const abortOnPlaced = (name: string): void => {
      if (name === 'archive-placed') controller.abort('SIGTERM');
    };
    await expect(
      verifyThenDispose(
        { ...run, failpoint: abortOnPlaced },
        action,
        clip,
        statSync(clipPath),
        Date.now(),
      ),
    ).rejects.toBe('SIGTERM');
    expect(existsSync(clipPath)).toBe(true);
    expect(existsSync(thumbPath)).toBe(true);
    expect(existsSync(ctx.trashRoot)).toBe(false);
  });

  it('findVerifiedArchive skips a link and another clip, and adopts a copy with no identity by its pictures', async () => {
    const run = startRun(ctx);
    const clip = await sourceOf(clipPath, run);
    const dir = path.join(root, 'archived/2025/01/15');
    mkdirSync(dir, { recursive: true });
    const link = path.join(dir, 'a-link.mp4');
    symlinkSync(clipPath, link);
    const other = path.join(dir, 'b-other.mp4');
    copyFileSync(clipTemplate({ startAt: 7 }), other);
    const copy = path.join(dir, `archived-${STAMP}.mp4`);
    copyFileSync(clipTemplate({ audio: false }), copy);
    const otherBytes = readFileSync(other);
    const found = await findVerifiedArchive(run, clip, [link, other, copy]);
    expect(found).toMatchObject({ path: copy, adoptedByContent: true });
    expect(log.lines.map((l) => l.message).filter((m) => /is not an archive of/.test(m))).toEqual([
      expect.stringMatching(/^archived\/2025\/01\/15\/b-other\.mp4 is not an archive of/),
    ]);
    expect(readFileSync(other).equals(otherBytes)).toBe(true);
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    // None of them is: undefined, and the caller transcodes.
    expect(await findVerifiedArchive(run, clip, [link, other])).toBeUndefined();
  });

  it('chooseArchiveName replaces only an archive that records this very clip', async () => {
    const run = startRun(ctx);
    const clip = await sourceOf(clipPath, run);
    const target = { path: archivePath(), replace: false, fallback: archivePath() };
    await transcodeClip(run, clip, target);
    const fallback = path.join(root, 'archived/2025/01/15/fallback.mp4');
    const replacing = { path: archivePath(), replace: true, fallback };
    expect(await chooseArchiveName(run, clip, replacing)).toEqual({
      archivePath: archivePath(),
      replace: true,
    });
    // Another clip of the same camera: the archive there is not its own.
    const [otherPath] = makeTree(root, [{ stamp: '20250115121000', spec: { startAt: 7 } }]);
    const other = await sourceOf(otherPath ?? '', run);
    expect(await chooseArchiveName(run, other, replacing)).toEqual({
      archivePath: fallback,
      replace: false,
    });
    expect(log.lines.some((l) => /does not record .* as its source/.test(l.message))).toBe(true);
  });

  it('recheckClip leaves a vanished clip, a link, a FIFO and a clip still being written', async () => {
    const seen = await recheckClip(ctx, clipPath);
    expect(typeof seen === 'string' ? seen : seen.size).toBe(statSync(clipPath).size);
    expect(await recheckClip(ctx, path.join(root, 'gone.mp4'))).toMatch(/disappeared/);
    const link = path.join(root, 'link.mp4');
    symlinkSync(clipPath, link);
    expect(await recheckClip(ctx, link)).toBe('a symbolic link (never followed)');
    const fifo = path.join(root, 'fifo.mp4');
    execFileSync('mkfifo', [fifo]);
    expect(await recheckClip(ctx, fifo)).toBe('not a regular file');
    const fresh = new Date(NOW.getTime() - 5_000);
    utimesSync(clipPath, fresh, fresh);
    expect(await recheckClip({ ...ctx, settleSeconds: 60 }, clipPath)).toBe(
      'modified 5s ago (settle time 60s): may still be uploading',
    );
  });

  it("the look-ahead probe never opens a FIFO, and gives a rewritten clip's probe as it is now", async () => {
    const ahead = new ProbeAhead(ctx);
    const fifo = path.join(root, 'fifo.mp4');
    execFileSync('mkfifo', [fifo]);
    ahead.start(fifo); // a FIFO blocks its reader: settle() would never return had it opened it
    ahead.start(clipPath);
    writeFileSync(clipPath, readFileSync(clipTemplate({ seconds: 3 })));
    await ahead.settle();
    const info = await ahead.take(clipPath, statSync(clipPath));
    expect(Math.abs(info.duration - 3)).toBeLessThan(0.2);
    expect(info.duration).toBeCloseTo((await probeMedia(tools.ffprobe.path, clipPath)).duration);
  });

  it('pruneEmptyFolders removes empty folders only, after the before-prune step', async () => {
    const empty = path.join(root, '2025/02/01');
    mkdirSync(empty, { recursive: true });
    const steps: string[] = [];
    const pruned = await pruneEmptyFolders({ ...ctx, failpoint: (n) => steps.push(n) }, [
      { kind: 'prune-folder', path: empty, reason: 'empty' },
      { kind: 'prune-folder', path: path.dirname(clipPath), reason: 'planned empty' },
    ]);
    expect(pruned).toEqual([empty]);
    expect(steps).toEqual(['before-prune', 'pruned-one']);
    expect(existsSync(clipPath)).toBe(true);
  });

  it('a dispose-archived clip whose candidate fails and whose own transcode fails keeps everything', async () => {
    const dir = path.join(root, 'archived/2025/01/15');
    mkdirSync(dir, { recursive: true });
    const candidate = path.join(dir, `REO_front_${STAMP}.mp4`);
    copyFileSync(clipTemplate({ startAt: 7 }), candidate);
    const action = (await planTree(root, NOW)).find((a) => a.kind === 'dispose-archived');
    if (action?.kind !== 'dispose-archived') throw new Error('plan');
    const before = snapshot(root);
    const run = startRun(
      withFfmpeg(failAfterWritingFfmpeg(path.join(root, '.bin'), path.join(root, '.seen'))),
    );
    const error = await processClip(run, action).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TranscodeError);
    expect(log.lines.some((l) => /is not an archive of/.test(l.message))).toBe(true);
    expect(log.lines.some((l) => /no existing archive is of/.test(l.message))).toBe(true);
    const after = snapshot(root);
    for (const [rel, state] of Object.entries(before)) expect(after[rel]).toBe(state);
    expect(existsSync(action.ownArchivePath)).toBe(false);
    expect(existsSync(ctx.trashRoot)).toBe(false);
  });
  // Every step boundary of one clip, failing by an error or by an abort: whatever happened, the
  // footage is whole somewhere — the clip in place or in the trash, and never gone unless an
  // archive that records it plays at its final name. Exhaustive: 6 boundaries × 2 ways.
  // The folder prunes come after every clip: a one-clip run has nothing to prune there.
  const BOUNDARIES = FAILPOINTS.filter((at) => at !== 'before-prune' && at !== 'pruned-one');
  it.each(BOUNDARIES.flatMap((at) => [[at, 'error'] as const, [at, 'abort'] as const]))(
    'a failure at %s (%s) leaves the clip, or its verified archive and the clip in the trash',
    async (at, how) => {
      const action = await transcodeAction();
      const controller = new AbortController();
      const identity = formatIdentity(
        await readIdentity(clipPath, path.relative(root, clipPath), statSync(clipPath).mtimeMs),
      );
      const clipBytes = readFileSync(clipPath);
      const run = startRun({
        ...ctx,
        signal: controller.signal,
        failpoint: (name) => {
          if (name !== at) return;
          if (how === 'abort') controller.abort('SIGTERM');
          else throw new Error(`failed at ${name}`);
        },
      });
      const outcome = await processClip(run, action).catch((e: unknown) => e);
      const trashed = (file: string): string =>
        path.join(ctx.trashRoot, 'input', path.relative(root, file));
      const archived = existsSync(archivePath());
      expect(listTree(root).filter((p) => p.includes('.partial'))).toEqual([]);
      if (archived) {
        expect(identityTagOf(archivePath())).toBe(identity);
        expect(playsCleanly(archivePath())).toBe(true);
      } else {
        expect(['transcoded', 'verified']).toContain(at);
      }
      // The clip's bytes are at its name or in the trash (both, if killed between link and unlink).
      const places = [clipPath, trashed(clipPath)].filter((f) => existsSync(f));
      expect(places.length).toBeGreaterThan(0);
      for (const f of places) expect(readFileSync(f).equals(clipBytes)).toBe(true);
      if (!existsSync(clipPath)) expect(archived).toBe(true);
      expect(existsSync(thumbPath) || existsSync(trashed(thumbPath))).toBe(true);
      // Only an abort at the last boundary can still report the clip archived: it was done.
      if (!(outcome instanceof Error) && typeof outcome !== 'string')
        expect(outcome).toMatchObject({ status: 'archived' });
    },
  );
});

import {
  copyFileSync,
  existsSync,
  readFileSync,
  mkdirSync,
  readdirSync,
  statSync,
  truncateSync,
  utimesSync,
} from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { profileFor } from '../../src/media/encoders.js';
import { executePlan, type ExecutorContext } from '../../src/archive/executor.js';
import { memoryLog } from '../../src/core/logger.js';
import { probeMedia } from '../../src/media/probe.js';
import { collisionTag } from '../../src/tree/naming.js';
import { silentProgress } from '../../src/archive/progress.js';
import { resolveToolchain, type Toolchain } from '../../src/media/toolchain.js';
import { runTranscode } from '../../src/archive/transcoder.js';
import { readIdentity } from '../../src/media/identity.js';
import { sampleClip, verifyArchive } from '../../src/archive/verification.js';
import { fakeFfmpeg, HANG_ON_TRANSCODE, QSV_BROKEN } from '../helpers/fake-ffmpeg.js';
import { clipTemplate, ffmpeg, ffprobe, makeTree, playsCleanly, probe } from '../helpers/media.js';
import { listTree, removeDir, tempDir } from '../helpers/tree.js';
import { planTree } from '../helpers/plan.js';
import { executorContext } from '../helpers/executor.js';

const NOW = new Date(2025, 2, 1);
const software = profileFor('software', {
  codec: 'hevc',
  audio: 'aac',
  hwDevice: '/dev/null',
  preset: 'ultrafast',
});

describe('transcode + verification with real ffmpeg', () => {
  let root: string;
  let tools: Toolchain;
  let ctx: ExecutorContext;
  let log: ReturnType<typeof memoryLog>;
  beforeEach(async () => {
    root = tempDir();
    tools = await resolveToolchain({}, process.env, () => {});
    log = memoryLog();
    ctx = executorContext({ root, toolchain: tools, log, now: NOW }, software, { jobs: 2 });
  });
  afterEach(() => removeDir(root));

  it('verification rejects a truncated +faststart archive that ffprobe still reports as full length', async () => {
    const good = path.join(root, 'good.mp4');
    copyFileSync(clipTemplate({ seconds: 2, faststart: true }), good);
    const source = await probeMedia(ffprobe(), good);
    const sampling = await sampleClip(ffmpeg(), good, tools.caps);
    const exp = {
      source,
      requireAudio: true,
      expectedFrames: sampling.frames,
      clipSamples: sampling.samples,
      exactSampleCount: true,
      identity: await readIdentity(good, 'good.mp4', 0),
      requireIdentity: false,
    };
    await expect(
      verifyArchive({ ffmpeg: ffmpeg(), ffprobe: ffprobe() }, good, exp, tools.caps),
    ).resolves.toBeDefined();
    const cut = path.join(root, 'cut.mp4');
    copyFileSync(good, cut);
    truncateSync(cut, Math.floor(statSync(cut).size * 0.7));
    expect((await probeMedia(ffprobe(), cut).catch(() => undefined))?.duration).toBeCloseTo(
      source.duration,
      1,
    );
    await expect(
      verifyArchive({ ffmpeg: ffmpeg(), ffprobe: ffprobe() }, cut, exp, tools.caps),
    ).rejects.toThrow(/truncated|decode/);
  });

  it('the watchdog stops an ffmpeg that hangs without output', async () => {
    const fake = fakeFfmpeg(path.join(root, 'bin'), HANG_ON_TRANSCODE);
    const started = Date.now();
    await expect(
      runTranscode({
        ffmpeg: fake,
        args: ['-progress', 'pipe:1'],
        input: '/in.mp4',
        durationSeconds: 1,
        stallTimeoutMs: 1000,
      }),
    ).rejects.toThrow(/no progress for 1s/);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('archives good clips, names the corrupt one, keeps it, and leaves no partial', async () => {
    makeTree(root, [
      { camera: 'REO_front', stamp: '20250115120000', thumbnail: true },
      { camera: 'REO_front', stamp: '20250115121000', content: 'not a video' },
      { camera: 'REO_back', stamp: '20250115120000', spec: { audio: false } },
    ]);
    const report = await executePlan(await planTree(root, NOW), ctx);
    const byClip = Object.fromEntries(
      report.outcomes.map((o) => [path.basename(o.clip), o.status]),
    );
    expect(byClip).toEqual({
      'REO_front_20250115120000.mp4': 'archived',
      'REO_front_20250115121000.mp4': 'failed',
      'REO_back_20250115120000.mp4': 'archived',
    });
    const failed = report.outcomes.find((o) => o.status === 'failed');
    expect(failed?.status === 'failed' && failed.reason).toMatch(/not a readable video/);
    expect(existsSync(path.join(root, '2025/01/15/REO_front_20250115121000.mp4'))).toBe(true);
    expect(listTree(root).filter((p) => p.endsWith('.partial'))).toEqual([]);
    expect(probe(path.join(root, 'archived/2025/01/15/REO_back_20250115120000.mp4')).hasAudio).toBe(
      false,
    );
  });

  it('a clip rewritten after its look-ahead probe is probed again, so its archive matches the new content', async () => {
    const [first, second] = makeTree(root, [
      { camera: 'REO_a', stamp: '20250115120000' },
      { camera: 'REO_b', stamp: '20250115120000' },
    ]);
    if (!first || !second) throw new Error('tree');
    let rewritten = false;
    const report = await executePlan(await planTree(root, NOW), {
      ...ctx,
      jobs: 1,
      // The second clip's probe started when the first clip started; replace it meanwhile.
      failpoint: (name) => {
        if (name !== 'transcoded' || rewritten) return;
        rewritten = true;
        copyFileSync(clipTemplate({ seconds: 3 }), second);
        const later = new Date(2025, 0, 15, 12, 5);
        utimesSync(second, later, later);
      },
    });
    expect(rewritten).toBe(true);
    expect(report.outcomes.map((o) => [path.basename(o.clip), o.status])).toEqual([
      ['REO_a_20250115120000.mp4', 'archived'],
      ['REO_b_20250115120000.mp4', 'archived'],
    ]);
    const archive = path.join(root, 'archived/2025/01/15/REO_b_20250115120000.mp4');
    expect(Math.abs(probe(archive).duration - 3)).toBeLessThan(0.2);
  });

  it("an existing file that is not the clip's archive is never overwritten: the clip gets its own distinct name", async () => {
    makeTree(root, [{ stamp: '20250115120000' }]);
    const archive = path.join(root, 'archived/2025/01/15/REO_front_20250115120000.mp4');
    mkdirSync(path.dirname(archive), { recursive: true });
    copyFileSync(clipTemplate({ seconds: 3 }), archive);
    const before = readFileSync(archive);
    const actions = await planTree(root, NOW);
    const action = actions.find((a) => a.kind === 'dispose-archived');
    if (action?.kind !== 'dispose-archived') throw new Error('plan');
    const own = path.join(
      root,
      `archived/2025/01/15/REO_front~${collisionTag('2025/01/15/REO_front_20250115120000.mp4')}_20250115120000.mp4`,
    );
    expect(action.ownArchivePath).toBe(own);
    const report = await executePlan(actions, ctx);
    expect(report.outcomes.map((o) => [o.status, 'archive' in o ? o.archive : ''])).toEqual([
      ['archived', own],
    ]);
    expect(log.lines.some((l) => /is not an archive of/.test(l.message))).toBe(true);
    expect(readFileSync(archive).equals(before)).toBe(true);
    expect(probe(own).videoCodec).toBe('hevc');
    expect(playsCleanly(own)).toBe(true);
  });

  it('adopts a Python archiver archive that verifies, without transcoding again', async () => {
    makeTree(root, [{ stamp: '20250115120000' }]);
    const legacy = path.join(root, 'archived/2025/01/15/archived-20250115120000.mp4');
    mkdirSync(path.dirname(legacy), { recursive: true });
    copyFileSync(clipTemplate({ audio: false }), legacy);
    const report = await executePlan(await planTree(root, NOW), ctx);
    expect(report.outcomes.map((o) => o.status)).toEqual(['already-archived']);
    expect(readdirSync(path.dirname(legacy))).toEqual(['archived-20250115120000.mp4']);
    expect(
      existsSync(path.join(root, '.deleted/input/2025/01/15/REO_front_20250115120000.mp4')),
    ).toBe(true);
  });

  it('an auto-selected hardware encoder that fails mid-run falls back to software for that clip', async () => {
    makeTree(root, [{ stamp: '20250115120000' }]);
    const fake = fakeFfmpeg(path.join(root, 'bin'), QSV_BROKEN);
    const report = await executePlan(await planTree(root, NOW), {
      ...ctx,
      toolchain: { ...tools, ffmpeg: { path: fake, origin: 'option' } },
      profile: profileFor('qsv', { codec: 'hevc', audio: 'aac', hwDevice: '/dev/null' }),
      fallbackProfile: software,
    });
    expect(report.outcomes[0]).toMatchObject({ status: 'archived', encoder: 'libx265' });
    expect(report.hardwareFallbacks).toBe(1);
    expect(
      log.lines.some(
        (l) => l.level === 'warn' && /hevc_qsv failed .* retrying with libx265/.test(l.message),
      ),
    ).toBe(true);
  });

  it('an explicitly chosen hardware encoder that fails is a failure, the clip is kept', async () => {
    makeTree(root, [{ stamp: '20250115120000' }]);
    const fake = fakeFfmpeg(path.join(root, 'bin'), QSV_BROKEN);
    const report = await executePlan(await planTree(root, NOW), {
      ...ctx,
      toolchain: { ...tools, ffmpeg: { path: fake, origin: 'option' } },
      profile: profileFor('qsv', { codec: 'hevc', audio: 'aac', hwDevice: '/dev/null' }),
    });
    expect(report.outcomes[0]).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(/MFX session/),
    });
    expect(existsSync(path.join(root, '2025/01/15/REO_front_20250115120000.mp4'))).toBe(true);
  });

  it('an abort mid-transcode stops ffmpeg, removes the partial and keeps every source', async () => {
    makeTree(root, [{ stamp: '20250115120000', spec: { seconds: 20, size: '640x360', rate: 25 } }]);
    const controller = new AbortController();
    const progress = { ...silentProgress, fileProgress: () => controller.abort('SIGINT') };
    const report = await executePlan(await planTree(root, NOW), {
      ...ctx,
      profile: { ...software, preset: 'medium' },
      progress,
      signal: controller.signal,
    });
    expect(report.interrupted).toBe(true);
    expect(report.outcomes).toEqual([]);
    expect(listTree(root).filter((p) => !p.endsWith('/'))).toEqual([
      '2025/01/15/REO_front_20250115120000.mp4',
    ]);
  });
});

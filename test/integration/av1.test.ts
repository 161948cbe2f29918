/**
 * AV1 archives with the real SVT-AV1 of the host's ffmpeg, the stream copy that keeps an archive
 * from being larger than its clip, and the npm static ffmpeg (no AV1) falling back to HEVC.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { profileFor, selectEncoder, type EncodingProfile } from '../../src/media/encoders.js';
import { executePlan, type ExecutorContext, type FileOutcome } from '../../src/archive/executor.js';
import { memoryLog } from '../../src/core/logger.js';
import { runCaptured } from '../../src/media/run-captured.js';
import { resolveToolchain, type Toolchain } from '../../src/media/toolchain.js';
import {
  ffmpeg,
  ffprobe,
  hasSvtAv1,
  makeTree,
  playsCleanly,
  probe,
  STATIC_FFMPEG,
} from '../helpers/media.js';
import { removeDir, tempDir } from '../helpers/tree.js';
import { planTree } from '../helpers/plan.js';
import { executorContext } from '../helpers/executor.js';

const NOW = new Date(2025, 2, 1);
// Missing SVT-AV1 skips locally; in CI it is a failure (the tests run and fail).
const needSvt = !hasSvtAv1 && !process.env.CI;
const staticFfmpeg = STATIC_FFMPEG;
const needStatic = !existsSync(staticFfmpeg) && !process.env.CI;

function streamFacts(file: string): Record<string, string> {
  const out = execFileSync(
    ffprobe(),
    [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-show_entries',
      'stream=codec_name,codec_tag_string,pix_fmt:format_tags=compatible_brands',
      '-of',
      'default=nw=1',
      file,
    ],
    { encoding: 'utf8' },
  );
  return Object.fromEntries(
    out
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')).replace('TAG:', ''), l.slice(l.indexOf('=') + 1)]),
  );
}

/** Offset of a top-level MP4 box (moov, mdat) in the file. */
function boxOffset(file: string, type: string): number {
  const data = readFileSync(file);
  let at = 0;
  while (at + 8 <= data.length) {
    const size = data.readUInt32BE(at);
    if (data.toString('latin1', at + 4, at + 8) === type) return at;
    if (size < 8) break;
    at += size;
  }
  return -1;
}

describe('AV1 and the never-larger archive, with real ffmpeg', () => {
  let root: string;
  let tools: Toolchain;
  let log: ReturnType<typeof memoryLog>;
  const context = (profile: EncodingProfile, extra: Partial<ExecutorContext> = {}) =>
    executorContext({ root, toolchain: tools, log, now: NOW }, profile, extra);
  const archived = (o: FileOutcome | undefined) => {
    if (o?.status !== 'archived') throw new Error(`not archived: ${JSON.stringify(o)}`);
    return o;
  };

  beforeEach(async () => {
    root = tempDir();
    tools = await resolveToolchain({}, process.env, () => {});
    log = memoryLog();
  });
  afterEach(() => removeDir(root));

  it.skipIf(needSvt)(
    'archives with SVT-AV1: verified, codec av1 (av01, 8-bit 4:2:0, index first), plays, source trashed',
    async () => {
      const [clip] = makeTree(root, [{ stamp: '20250115120000', spec: { seconds: 2 } }]);
      const profile = profileFor('software', {
        codec: 'av1',
        audio: 'aac',
        hwDevice: '/dev/null',
        preset: 'ultrafast',
      });
      const report = await executePlan(await planTree(root, NOW), context(profile));
      const o = archived(report.outcomes[0]);
      expect(o.encoder).toBe('libsvtav1');
      expect(o.streamCopy).toBeUndefined();
      const facts = streamFacts(o.archive);
      expect(facts).toMatchObject({
        codec_name: 'av1',
        codec_tag_string: 'av01',
        pix_fmt: 'yuv420p',
      });
      expect(facts.compatible_brands).toContain('av01');
      expect(boxOffset(o.archive, 'moov')).toBeLessThan(boxOffset(o.archive, 'mdat'));
      expect(probe(o.archive).hasAudio).toBe(true);
      expect(playsCleanly(o.archive)).toBe(true);
      expect(existsSync(clip!)).toBe(false);
    },
  );

  it.skipIf(needSvt)('--codec auto on this software-only host picks SVT-AV1', async () => {
    const sel = await selectEncoder(
      'auto',
      { codec: 'auto', audio: 'aac', hwDevice: path.join(root, 'no-render-node') },
      async (args) => runCaptured(tools.ffmpeg.path, args, { timeoutMs: 30_000 }),
      (device) => existsSync(device),
    );
    expect(sel.profile).toMatchObject({ encoder: 'software', codec: 'av1' });
    expect(sel.warnings).toEqual([]);
  });

  it('an archive larger than its clip is replaced by the clip’s own video, verified, and said so', async () => {
    // A clip the camera compressed very hard: x265 at its default quality makes it ≈ 3× larger.
    const dir = path.join(root, '2025', '01', '15');
    mkdirSync(dir, { recursive: true });
    const clip = path.join(dir, 'REO_front_20250115120000.mp4');
    execFileSync(ffmpeg(), [
      ...['-hide_banner', '-nostdin', '-v', 'error', '-f', 'lavfi'],
      ...['-i', 'testsrc2=size=160x120:rate=10', '-t', '2', '-c:v', 'libx264'],
      ...['-preset', 'ultrafast', '-crf', '51', '-pix_fmt', 'yuv420p', '-g', '10', clip],
    ]);
    const clipBytes = statSync(clip).size;
    const hevc = profileFor('software', {
      codec: 'hevc',
      audio: 'none',
      hwDevice: '/dev/null',
      preset: 'ultrafast',
    });
    const report = await executePlan(await planTree(root, NOW), context(hevc));
    const o = archived(report.outcomes[0]);
    expect(o.encoder).toBe('copy');
    expect(o.streamCopy).toMatchObject({ encoder: 'libx265', clipBytes, videoCodec: 'h264' });
    expect(o.streamCopy!.encodedBytes).toBeGreaterThan(clipBytes);
    // The clip's own packets plus the identity record every archive carries (well under 1 KiB).
    expect(o.bytesOut).toBeLessThan(o.streamCopy!.encodedBytes);
    expect(o.bytesOut).toBeLessThanOrEqual(clipBytes + 1024);
    expect(probe(o.archive).videoCodec).toBe('h264');
    expect(playsCleanly(o.archive)).toBe(true);
    expect(existsSync(clip)).toBe(false);
    expect(log.lines.map((l) => l.message).join('\n')).toMatch(
      /kept the clip's own h264 video: libx265 made it \d+% larger than the clip/,
    );
  });

  it('--max-archive-ratio: an archive below the share is kept as encoded', async () => {
    makeTree(root, [{ stamp: '20250115120000', spec: { seconds: 1, audio: false } }]);
    const hevc = profileFor('software', {
      codec: 'hevc',
      audio: 'none',
      hwDevice: '/dev/null',
      preset: 'ultrafast',
    });
    // A generous share keeps the encode; a tiny one turns it into the clip's own video.
    const kept = await executePlan(
      await planTree(root, NOW),
      context(hevc, { maxArchiveRatio: 10 }),
    );
    expect(archived(kept.outcomes[0]).encoder).toBe('libx265');
    makeTree(root, [{ stamp: '20250115130000', spec: { seconds: 1, audio: false } }]);
    const copied = await executePlan(
      await planTree(root, NOW),
      context(hevc, { maxArchiveRatio: 0.001 }),
    );
    const o = archived(copied.outcomes.find((x) => x.clip.includes('130000')));
    expect(o.streamCopy).toBeDefined();
    expect(probe(o.archive).videoCodec).toBe('h264');
  });

  it.skipIf(needStatic)(
    'the npm static ffmpeg (2018, no SVT-AV1) falls back to HEVC with a warning, never fails',
    async () => {
      const sel = await selectEncoder(
        'software',
        { codec: 'auto', audio: 'aac', hwDevice: '/dev/null' },
        async (args) => runCaptured(staticFfmpeg, args, { timeoutMs: 30_000 }),
        () => false,
      );
      expect(sel.profile).toMatchObject({ encoder: 'software', codec: 'hevc' });
      expect(sel.warnings[0]).toMatch(/cannot encode AV1 \(libsvtav1: .*\).*libx265/);
      const explicit = await selectEncoder(
        'auto',
        { codec: 'av1', audio: 'aac', hwDevice: '/dev/null', quality: 40 },
        async (args) => runCaptured(staticFfmpeg, args, { timeoutMs: 30_000 }),
        () => false,
      );
      expect(explicit.profile).toMatchObject({ encoder: 'software', codec: 'hevc', quality: 28 });
      expect(explicit.warnings).toHaveLength(1);
    },
  );
});

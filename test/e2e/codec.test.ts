/**
 * The codec options as shipped: `--codec auto` (the default), `--codec av1`, `--keyframe-interval`,
 * `--max-archive-ratio`, and one real AV1 run through the CLI with its JSON summary.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { ffmpeg, hasSvtAv1, makeTree, probe, STATIC_FFMPEG } from '../helpers/media.js';
import { removeDir, tempDir } from '../helpers/tree.js';

const NOW = ['--now', '2025-03-01T00:00:00Z'];
// Missing SVT-AV1 skips locally; in CI it runs, and fails.
const needSvt = !hasSvtAv1 && !process.env.CI;
const staticFfmpeg = STATIC_FFMPEG;

describe('codec options (e2e)', () => {
  let root: string;
  beforeEach(() => {
    root = tempDir();
    makeTree(root, [{ stamp: '20250115120000', spec: { seconds: 1 } }]);
  });
  afterEach(() => removeDir(root));

  const dryRun = async (args: string[]) => {
    const r = await runCli([
      root,
      '--dry-run',
      '--json',
      '--no-config',
      '--encoder',
      'software',
      ...NOW,
      ...args,
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as {
      encoder: string;
      actions: { kind: string; command?: string[] }[];
    };
    const command = plan.actions.find((a) => a.kind === 'transcode')?.command ?? [];
    const after = (flag: string) => command[command.indexOf(flag) + 1];
    return { plan, command, after, stderr: r.stderr };
  };

  it.skipIf(needSvt)(
    'the default on a host without a GPU is SVT-AV1 with its tuned settings',
    async () => {
      const { plan, after } = await dryRun([]);
      expect(plan.encoder).toBe('libsvtav1');
      expect(after('-c:v')).toBe('libsvtav1');
      expect(after('-preset')).toBe('9');
      expect(after('-crf')).toBe('37');
      expect(after('-g')).toBe('500');
      expect(after('-svtav1-params')).toBe('hierarchical-levels=5');
    },
  );

  it('--keyframe-interval and --preset reach the command; hevc and h264 stay available', async () => {
    const hevc = await dryRun(['--codec', 'hevc', '--keyframe-interval', '120']);
    expect(hevc.after('-c:v')).toBe('libx265');
    expect(hevc.after('-g')).toBe('120');
    const h264 = await dryRun(['--codec', 'h264', '--preset', 'fast']);
    expect(h264.after('-c:v')).toBe('libx264');
    expect(h264.after('-preset')).toBe('fast');
    expect(h264.after('-g')).toBe('250');
  });

  it.skipIf(!existsSync(staticFfmpeg) && !process.env.CI)(
    '--codec av1 with the npm static ffmpeg: HEVC, a warning, exit 0',
    async () => {
      const r = await dryRun(['--codec', 'av1', '--ffmpeg', staticFfmpeg]);
      expect(r.plan.encoder).toBe('libx265');
      expect(r.stderr).toMatch(/WARN.*cannot encode AV1.*archiving as HEVC with libx265/);
    },
  );

  it.each([
    [['--max-archive-ratio', '0'], /--max-archive-ratio must be a number above 0/],
    [['--max-archive-ratio', 'big'], /--max-archive-ratio must be a number above 0/],
    [
      ['--keyframe-interval', '0'],
      /--keyframe-interval must be a whole number from 1 to 100000, got '0'/,
    ],
    [['--codec', 'vp9'], /Invalid values/],
  ])('usage errors exit 2: %j', async (args, message) => {
    const r = await runCli([root, '--dry-run', '--no-config', ...args]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('a clip that re-encoding would enlarge keeps its own video: the log and the summary say so', async () => {
    const dir = path.join(root, '2025', '01', '16');
    mkdirSync(dir, { recursive: true });
    const clip = path.join(dir, 'REO_front_20250116120000.mp4');
    // Compressed far harder than any archive profile: x265 at its default makes it ≈ 3× larger.
    execFileSync(ffmpeg(), [
      ...['-hide_banner', '-nostdin', '-v', 'error', '-f', 'lavfi'],
      ...['-i', 'testsrc2=size=160x120:rate=10', '-t', '2', '-c:v', 'libx264'],
      ...['-preset', 'ultrafast', '-crf', '51', '-pix_fmt', 'yuv420p', clip],
    ]);
    const r = await runCli([
      root,
      '-y',
      '--no-config',
      ...NOW,
      '--settle-time',
      '0',
      ...['--encoder', 'software', '--codec', 'hevc', '--preset', 'ultrafast'],
      ...['--audio', 'none', '--progress', 'none'],
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /archived 2025\/01\/16\/REO_front_20250116120000\.mp4 → .*kept the clip's own h264 video: libx265 made it \d+% larger than the clip/,
    );
    expect(r.stderr).toContain('1 clip(s) kept their own video');
    const archive = path.join(root, 'archived', '2025', '01', '16', 'REO_front_20250116120000.mp4');
    expect(probe(archive).videoCodec).toBe('h264');
    expect(existsSync(clip)).toBe(false);
  });

  it.skipIf(needSvt)(
    'a real run with --codec av1: the archive is AV1, verified, and the summary names libsvtav1',
    async () => {
      const r = await runCli([
        root,
        '-y',
        '--json',
        '--no-config',
        ...NOW,
        '--encoder',
        'software',
        '--codec',
        'av1',
        '--preset',
        'ultrafast',
        '--progress',
        'none',
      ]);
      expect(r.exitCode, r.stderr).toBe(0);
      const summary = JSON.parse(r.stdout) as {
        encoder: string;
        archived: number;
        files: { archive: string }[];
      };
      expect(summary).toMatchObject({ encoder: 'libsvtav1', archived: 1 });
      expect(probe(summary.files[0]!.archive).videoCodec).toBe('av1');
    },
  );
});

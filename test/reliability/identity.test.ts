/**
 * Archive identity and content verification, as a hostile user would try them: real trees, real
 * ffmpeg, the CLI as shipped. A clip leaves its place only for an archive that records it (or,
 * recording nothing, shows its pictures); a file that is not the clip's archive is never
 * overwritten; colliding names get distinct archives; wrong-but-plausible archives never pass.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseIdentity, readIdentity } from '../../src/media/identity.js';
import { FAST, runCli } from '../helpers/cli.js';
import { BAD_ARCHIVES, badTranscodeFfmpeg, mutateScript } from '../helpers/fake-ffmpeg.js';
import {
  clipTemplate,
  ffprobe,
  identityTagOf,
  runFfmpeg,
  type ClipSpec,
} from '../helpers/media.js';
import { listTree, removeDir, tempDir } from '../helpers/tree.js';
import { identityViolations } from './invariants.js';

const NOW = ['--now', '2025-03-01T00:00:00Z', '--settle-time', '0'];
/** Long enough for three sampled pictures, with motion between them. */
const SPEC: ClipSpec = { seconds: 6, size: '320x240', rate: 10 };
const STAMP = '20250115120000';
const DAY = '2025/01/15';

function put(root: string, rel: string, spec: ClipSpec = SPEC): string {
  const file = path.join(root, rel);
  mkdirSync(path.dirname(file), { recursive: true });
  copyFileSync(clipTemplate(spec), file);
  const t = new Date(2025, 0, 15, 12, 1);
  utimesSync(file, t, t);
  return file;
}

function archives(root: string): string[] {
  return listTree(root)
    .filter((p) => p.startsWith('archived/') && p.endsWith('.mp4'))
    .sort();
}

async function identities(root: string, rels: readonly string[]) {
  return Promise.all(
    rels.map(async (rel) => ({ rel, ...(await readIdentity(path.join(root, rel), rel, 0)) })),
  );
}

let root: string;
let bin: string;
beforeEach(() => {
  root = tempDir();
  bin = tempDir();
});
afterEach(() => {
  removeDir(root);
  removeDir(bin);
});

describe('archive identity', () => {
  it('every archive records its clip: relative path, size, mtime and fingerprint', async () => {
    const rel = `${DAY}/REO_front_${STAMP}.mp4`;
    const src = put(root, rel);
    const before = await readIdentity(src, rel, statSync(src).mtimeMs);
    const r = await runCli([root, '-y', ...NOW, ...FAST]);
    expect(r.exitCode, r.stderr).toBe(0);
    const recorded = parseIdentity(
      identityTagOf(path.join(root, 'archived', DAY, `REO_front_${STAMP}.mp4`)),
    );
    expect(recorded).toEqual({ ...before, mtimeMs: Math.floor(before.mtimeMs) });
  });

  it('the same camera and second in two day folders (a misfiled upload): two archives, each of its own clip, shown in the dry run', async () => {
    const rels = [`${DAY}/REO_front_${STAMP}.mp4`, `2025/01/16/REO_front_${STAMP}.mp4`];
    put(root, rels[0] as string);
    put(root, rels[1] as string, { ...SPEC, startAt: 7 });
    const ids = await identities(root, rels);
    const dry = await runCli([root, '--dry-run', ...NOW, ...FAST]);
    expect(dry.stdout).toMatch(
      /filed under 2025-01-16 but recorded on 2025-01-15: its archive is named REO_front~[0-9a-f]{8}_20250115120000\.mp4/,
    );
    const r = await runCli([root, '-y', ...NOW, ...FAST]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(archives(root)).toHaveLength(2);
    expect(identityViolations(root, ids, { trash: true })).toEqual([]);
  });

  it('two cameras whose names differ only in case get distinct archives (one file on a case-insensitive disk)', async () => {
    const rels = [`${DAY}/Front_${STAMP}.mp4`, `${DAY}/front_${STAMP}.mp4`];
    put(root, rels[0] as string);
    put(root, rels[1] as string, { ...SPEC, startAt: 7 });
    const ids = await identities(root, rels);
    const dry = await runCli([root, '--dry-run', ...NOW, ...FAST]);
    expect(dry.stdout).toMatch(/Front_20250115120000\.mp4 maps to the same archive name/);
    const r = await runCli([root, '-y', ...NOW, ...FAST, '--jobs', '2']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(archives(root)).toEqual([
      `archived/${DAY}/Front_${STAMP}.mp4`,
      expect.stringMatching(/^archived\/2025\/01\/15\/front~[0-9a-f]{8}_20250115120000\.mp4$/),
    ]);
    expect(identityViolations(root, ids, { trash: true })).toEqual([]);
  });

  it("X.mp4 beside X.MP4: the second, archived in a later run, is never taken for the first one's archive", async () => {
    const rels = [`${DAY}/REO_front_${STAMP}.MP4`, `${DAY}/REO_front_${STAMP}.mp4`];
    put(root, rels[0] as string);
    put(root, rels[1] as string, { ...SPEC, startAt: 7 });
    const ids = await identities(root, rels);
    for (let run = 0; run < 2; run++) {
      const r = await runCli([root, '-y', ...NOW, ...FAST]);
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    }
    expect(archives(root)).toHaveLength(2);
    expect(identityViolations(root, ids, { trash: true })).toEqual([]);
  });

  it('a Python-era archived-<stamp>.mp4 of another camera is never adopted; one of this clip is, after comparing pictures', async () => {
    put(root, `${DAY}/REO_front_${STAMP}.mp4`);
    put(root, `${DAY}/REO_back_${STAMP}.mp4`, { ...SPEC, startAt: 7 });
    const ids = await identities(root, [
      `${DAY}/REO_front_${STAMP}.mp4`,
      `${DAY}/REO_back_${STAMP}.mp4`,
    ]);
    // The Python archiver's archive of the back camera: no identity, no audio, h264.
    const legacy = put(root, `archived/${DAY}/archived-${STAMP}.mp4`, {
      ...SPEC,
      startAt: 7,
      audio: false,
    });
    const legacyBytes = readFileSync(legacy);
    const r = await runCli([root, '-y', ...NOW, ...FAST]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(
      /archived-20250115120000\.mp4 is not an archive of 2025\/01\/15\/REO_front_20250115120000\.mp4 \(archive pictures differ/,
    );
    expect(r.stdout + r.stderr).toMatch(
      /already archived 2025\/01\/15\/REO_back_20250115120000\.mp4: archived\/2025\/01\/15\/archived-20250115120000\.mp4 verified \(it records no source/,
    );
    expect(readFileSync(legacy).equals(legacyBytes)).toBe(true);
    expect(
      identityViolations(root, ids, {
        trash: true,
        adopted: { [`${DAY}/REO_back_${STAMP}.mp4`]: `archived/${DAY}/archived-${STAMP}.mp4` },
      }),
    ).toEqual([]);
  });

  it("an archive at the clip's name that records another clip is never overwritten, even with --no-skip", async () => {
    const rel = `${DAY}/REO_front_${STAMP}.mp4`;
    // Another tree's clip with the same name, archived there, copied here by hand.
    const other = tempDir();
    try {
      put(other, rel, { ...SPEC, startAt: 7 });
      expect((await runCli([other, '-y', ...NOW, ...FAST])).exitCode).toBe(0);
      put(root, rel);
      const ids = await identities(root, [rel]);
      const foreign = path.join(root, 'archived', DAY, `REO_front_${STAMP}.mp4`);
      mkdirSync(path.dirname(foreign), { recursive: true });
      copyFileSync(path.join(other, 'archived', DAY, `REO_front_${STAMP}.mp4`), foreign);
      const bytes = readFileSync(foreign);
      const r = await runCli([root, '-y', ...NOW, ...FAST, '--no-skip']);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout + r.stderr).toMatch(
        /does not record 2025\/01\/15\/REO_front_20250115120000\.mp4 as its source/,
      );
      expect(readFileSync(foreign).equals(bytes)).toBe(true);
      expect(archives(root)).toHaveLength(2);
      expect(identityViolations(root, ids, { trash: true })).toEqual([]);
    } finally {
      removeDir(other);
    }
  });
});

describe('content verification: wrong-but-plausible archives never pass', () => {
  const expected: Record<(typeof BAD_ARCHIVES)[number], RegExp> = {
    black: /pictures differ from the clip's \(PSNR/,
    frozen: /pictures differ from the clip's \(PSNR/,
    downscaled: /pictures are 160x120, expected 320x240/,
    'other-clip': /pictures differ from the clip's \(PSNR/,
    'half-zeros': /does not decode cleanly|pictures differ|cannot be read|truncated/,
  };

  for (const kind of BAD_ARCHIVES) {
    it(`an ffmpeg that writes a ${kind} archive and exits 0: the clip is kept, nothing at the archive name, exit 1`, async () => {
      const rel = `${DAY}/REO_front_${STAMP}.mp4`;
      const src = put(root, rel);
      const fake = badTranscodeFfmpeg(bin, kind);
      const r = await runCli([root, '-y', ...NOW, ...FAST, '--ffmpeg', fake]);
      expect(r.exitCode, r.stdout + r.stderr).toBe(1);
      expect(r.stdout + r.stderr).toMatch(expected[kind]);
      expect(existsSync(src)).toBe(true);
      expect(archives(root)).toEqual([]);
      expect(listTree(root).filter((p) => p.endsWith('.partial'))).toEqual([]);
    });

    it(`an existing ${kind} file at the archive name is not adopted: the clip gets its own archive and the file stays`, async () => {
      const rel = `${DAY}/REO_front_${STAMP}.mp4`;
      put(root, rel);
      const ids = await identities(root, [rel]);
      const existing = put(root, `archived/${DAY}/REO_front_${STAMP}.mp4`);
      execFileSync(mutateScript(bin), [kind, existing]);
      const bytes = readFileSync(existing);
      const r = await runCli([root, '-y', ...NOW, ...FAST]);
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      expect(r.stdout + r.stderr).toMatch(
        /is not an archive of 2025\/01\/15\/REO_front_20250115120000\.mp4/,
      );
      expect(readFileSync(existing).equals(bytes)).toBe(true);
      expect(identityViolations(root, ids, { trash: true })).toEqual([]);
    });
  }

  it('--no-skip with an ffmpeg that writes black pictures never replaces the good archive', async () => {
    const rel = `${DAY}/REO_front_${STAMP}.mp4`;
    put(root, rel);
    const r1 = await runCli([root, '-y', ...NOW, ...FAST]);
    expect(r1.exitCode).toBe(0);
    // The clip comes back (restored from the trash by hand), and a re-encode is asked for.
    put(root, rel);
    const good = path.join(root, 'archived', DAY, `REO_front_${STAMP}.mp4`);
    const bytes = readFileSync(good);
    const fake = badTranscodeFfmpeg(bin, 'black');
    const r = await runCli([root, '-y', ...NOW, ...FAST, '--no-skip', '--ffmpeg', fake]);
    expect(r.exitCode).toBe(1);
    expect(readFileSync(good).equals(bytes)).toBe(true);
    expect(existsSync(path.join(root, rel))).toBe(true);
  });
});

describe('clips that used to fail forever, or stall the run', () => {
  it('an existing file that fails verification is archived again even when nothing else needs a transcode', async () => {
    const rel = `${DAY}/REO_front_${STAMP}.mp4`;
    put(root, rel);
    const ids = await identities(root, [rel]);
    put(root, `archived/${DAY}/REO_front_${STAMP}.mp4`, { ...SPEC, seconds: 3 });
    const dry = await runCli([root, '--dry-run', ...NOW, ...FAST]);
    expect(dry.stdout).toMatch(/0 to transcode, 1 already archived/);
    const r = await runCli([root, '-y', ...NOW, ...FAST]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toMatch(/no encoder was selected/);
    expect(identityViolations(root, ids, { trash: true })).toEqual([]);
  });

  it('a FIFO named like a clip is never opened: the run goes on and says what it is', async () => {
    put(root, `${DAY}/REO_a_${STAMP}.mp4`);
    const fifo = path.join(root, DAY, `REO_b_${STAMP}.mp4`);
    execFileSync('mkfifo', [fifo]);
    // A FIFO opened for reading blocks until a writer comes: 120 s of ffprobe's time limit.
    const r = await runCli([root, '-y', ...NOW, ...FAST, '--jobs', '1'], { timeoutMs: 90_000 });
    expect(r.exitCode, r.stdout + r.stderr).not.toBeNull();
    expect(r.stdout + r.stderr).toMatch(
      /REO_b_20250115120000\.mp4.*(not a regular file|FIFO|fifo)/,
    );
    expect(archives(root)).toEqual([`archived/${DAY}/REO_a_${STAMP}.mp4`]);
    expect(existsSync(fifo)).toBe(true);
  });

  it('MJPEG video inside .mp4 is video, not cover art', async () => {
    const rel = `${DAY}/REO_front_${STAMP}.mp4`;
    const src = path.join(root, rel);
    mkdirSync(path.dirname(src), { recursive: true });
    runFfmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=320x240:rate=10',
      '-t',
      '5',
      '-c:v',
      'mjpeg',
      '-q:v',
      '5',
      '-f',
      'mp4',
      src,
    ]);
    const t = new Date(2025, 0, 15, 12, 1);
    utimesSync(src, t, t);
    const ids = await identities(root, [rel]);
    const r = await runCli([root, '-y', ...NOW, ...FAST]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(identityViolations(root, ids, { trash: true })).toEqual([]);
  });

  it('a clip with an MP4 edit list archives: frames are counted as presented, not as stored', async () => {
    const rel = `${DAY}/REO_front_${STAMP}.mp4`;
    put(root, rel, { ...SPEC, editListSkip: 1.5 });
    const probe = execFileSync(ffprobe(), [
      '-v',
      'error',
      '-count_packets',
      '-count_frames',
      '-select_streams',
      'v:0',
      '-show_entries',
      'stream=nb_read_packets,nb_read_frames',
      '-of',
      'csv=p=0',
      path.join(root, rel),
    ])
      .toString()
      .trim()
      .split(',')
      .map(Number);
    // The premise: more packets stored than frames shown.
    expect(probe[0]).toBeLessThan(probe[1] ?? 0);
    const ids = await identities(root, [rel]);
    const r = await runCli([root, '-y', ...NOW, ...FAST]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(identityViolations(root, ids, { trash: true })).toEqual([]);
  });

  it('a name near NAME_MAX archives (the temporary name is short)', async () => {
    const camera = `REO_${'x'.repeat(255 - 4 - 19)}`;
    const rel = `${DAY}/${camera}_${STAMP}.mp4`;
    expect(Buffer.byteLength(path.basename(rel))).toBe(255);
    put(root, rel);
    const ids = await identities(root, [rel]);
    const r = await runCli([root, '-y', ...NOW, ...FAST]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(archives(root)).toEqual([`archived/${DAY}/${camera}_${STAMP}.mp4`]);
    expect(identityViolations(root, ids, { trash: true })).toEqual([]);
  });
});

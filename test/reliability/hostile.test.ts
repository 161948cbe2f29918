/**
 * Hostile input: every bad clip gets a clear error naming it, nothing is lost, the exit code is
 * documented, and the rest of the run is unaffected.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FAST, runCli } from '../helpers/cli.js';
import { fakeFfmpeg, HANG_ON_TRANSCODE } from '../helpers/fake-ffmpeg.js';
import { clipTemplate, ffmpeg, ffprobe, makeTree, thumbnailTemplate } from '../helpers/media.js';
import { listTree, removeDir, snapshot, tempDir } from '../helpers/tree.js';
import { archiveIsGood } from './invariants.js';

/** /dev/shm: another filesystem for cross-device moves; CI has it, so there its absence fails. */
const hasShm = (() => {
  try {
    rmSync(mkdtempSync('/dev/shm/cam-'), { recursive: true });
    return true;
  } catch {
    return false;
  }
})();

const NOW = ['--now', '2025-03-01T00:00:00Z', '--settle-time', '0'];
const DAY = '2025/01/15';
const isRoot = process.getuid?.() === 0;

/**
 * The unprivileged run needs ffmpeg and ffprobe it may execute: the npm-packaged ffprobe ships as
 * rwxr--r--, so when the tools found are not executable by others, hand it 0755 copies.
 */
function toolsForUnprivileged(dir: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, file, variable] of [
    ['ffmpeg', ffmpeg(), 'FFMPEG_PATH'],
    ['ffprobe', ffprobe(), 'FFPROBE_PATH'],
  ] as const) {
    if ((statSync(file).mode & 0o001) !== 0) continue;
    const copy = path.join(dir, name);
    copyFileSync(file, copy);
    chmodSync(copy, 0o755);
    env[variable] = copy;
  }
  return env;
}

/** Runs the CLI as an unprivileged user when we are root, so file permissions mean something. */
function unprivileged(args: string[]): string[] {
  return isRoot
    ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, ...args]
    : [process.execPath, ...args];
}

describe('hostile input', () => {
  let root: string;
  beforeEach(() => {
    root = tempDir();
  });
  afterEach(() => {
    try {
      execFileSync('chmod', ['-R', 'u+rwX', root]);
    } catch {
      // best effort
    }
    removeDir(root);
  });

  it('corrupt, zero-byte, truncated, audio-only and image clips fail by name; odd names and other containers archive; links and folders named like clips are left alone', async () => {
    const outside = tempDir('cam-outside-');
    try {
      writeFileSync(path.join(outside, 'precious.txt'), 'do not touch');
      const good = [
        'REO_good_20250115100000.mp4',
        'REO_it\'s a "cam" $(touch pwned)_20250115100001.mp4',
        '-rf_20250115100002.mp4',
        '--help_20250115100003.mp4',
        'Café ü 日本_20250115100004.mp4',
      ];
      makeTree(
        root,
        good.map((name, i) => ({ stamp: `2025011510000${i}`, name })),
      );
      const dir = path.join(root, DAY);
      const put = (name: string, from: string, cut?: number): void => {
        copyFileSync(from, path.join(dir, name));
        if (cut !== undefined)
          truncateSync(path.join(dir, name), Math.floor(statSync(from).size * cut));
      };
      writeFileSync(path.join(dir, 'REO_zero_20250115110000.mp4'), '');
      writeFileSync(path.join(dir, 'REO_junk_20250115110001.mp4'), 'GARBAGE'.repeat(1000));
      put('REO_cutmoov_20250115110002.mp4', clipTemplate({ seconds: 2 }), 0.7);
      put('REO_cutfast_20250115110003.mp4', clipTemplate({ seconds: 2, faststart: true }), 0.7);
      put('REO_audio_20250115110004.mp4', clipTemplate({ audioOnly: true }));
      put('REO_image_20250115110005.mp4', thumbnailTemplate()); // a JPEG named .mp4
      const mkv = path.join(root, 'x.mkv');
      execFileSync(ffmpeg(), [
        '-v',
        'error',
        '-f',
        'lavfi',
        '-i',
        'testsrc2=size=160x120:rate=10',
        '-t',
        '1',
        '-c:v',
        'libx264',
        '-preset',
        'ultrafast',
        mkv,
      ]);
      put('REO_mkv_20250115110006.mp4', mkv);
      symlinkSync(outside, path.join(root, '2025/01/outside'));
      symlinkSync(
        path.join(outside, 'precious.txt'),
        path.join(dir, 'REO_link_20250115110007.mp4'),
      );
      // Day folders are read by name: the executor's lstat is what leaves these alone.
      symlinkSync(path.join(outside, 'precious.txt'), path.join(dir, 'REO_mkv_20250115110006.jpg'));
      mkdirSync(path.join(dir, 'REO_dir_20250115110008.mp4'));
      writeFileSync(path.join(dir, 'REO_dir_20250115110008.mp4', 'keep.txt'), 'kept');
      mkdirSync(path.join(root, '2025/01/16'), { recursive: true });
      symlinkSync(path.join(root, '2025'), path.join(root, '2025/01/16/loop'));

      const r = await runCli([root, '-y', '-v', ...NOW, ...FAST]);
      expect(r.exitCode).toBe(1);
      const failures: Record<string, RegExp> = {
        REO_zero_20250115110000: /not a readable video|no duration/,
        REO_junk_20250115110001: /not a readable video/,
        REO_cutmoov_20250115110002: /not a readable video: moov atom not found/,
        REO_cutfast_20250115110003: /lasts|truncated|demux|ffmpeg failed/,
        REO_audio_20250115110004: /no video stream/,
        REO_image_20250115110005: /no video stream/,
      };
      for (const [stem, why] of Object.entries(failures)) {
        const line = r.stderr.split('\n').find((l) => l.includes(`failed ${DAY}/${stem}.mp4`));
        expect(line, stem).toBeDefined();
        expect(line).toMatch(why);
        expect(existsSync(path.join(dir, `${stem}.mp4`)), stem).toBe(true);
      }
      for (const name of [...good, 'REO_mkv_20250115110006.mp4']) {
        expect(archiveIsGood(path.join(root, 'archived', DAY, name), 1), name).toBe(true);
      }
      expect(r.stderr).toMatch(
        /skipped .*REO_link_20250115110007.mp4: a symbolic link \(never followed\)/,
      );
      expect(r.stderr).toMatch(/skipped .*REO_dir_20250115110008.mp4: not a regular file/);
      expect(r.stderr).toMatch(
        /left .*REO_mkv_20250115110006.jpg in place: a symbolic link \(never followed\)/,
      );
      for (const name of ['REO_link_20250115110007.mp4', 'REO_mkv_20250115110006.jpg'])
        expect(lstatSync(path.join(dir, name)).isSymbolicLink(), name).toBe(true);
      expect(readFileSync(path.join(dir, 'REO_dir_20250115110008.mp4', 'keep.txt'), 'utf8')).toBe(
        'kept',
      );
      expect(listTree(root).filter((p) => p.split('/').pop() === 'pwned')).toEqual([]);
      expect(existsSync(path.join(process.cwd(), 'pwned'))).toBe(false);
      expect(readdirSync(outside)).toEqual(['precious.txt']);
      expect(listTree(root).filter((p) => p.endsWith('.partial'))).toEqual([]);
    } finally {
      removeDir(outside);
    }
  });

  it('an unreadable clip and an unreadable folder are errors naming them; the rest is archived', async () => {
    makeTree(root, [
      { stamp: '20250115100000' },
      { stamp: '20250115100001', camera: 'REO_locked' },
      { stamp: '20250116100000' },
    ]);
    if (isRoot) execFileSync('chown', ['-R', '65534:65534', root]);
    chmodSync(path.join(root, DAY, 'REO_locked_20250115100001.mp4'), 0o000);
    chmodSync(path.join(root, '2025/01/16'), 0o000);
    const res = runUnprivileged([root, '-y', ...NOW, ...FAST]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(
      /failed 2025\/01\/15\/REO_locked_20250115100001.mp4: .*(Permission denied|not a readable)/,
    );
    expect(res.stderr).toMatch(/cannot read folder .*2025\/01\/16.*EACCES/);
    expect(existsSync(path.join(root, 'archived', DAY, 'REO_front_20250115100000.mp4'))).toBe(true);
  });

  it('a read-only output folder: a clear error naming it, every clip kept, exit 1', async () => {
    makeTree(root, [{ stamp: '20250115100000' }]);
    mkdirSync(path.join(root, 'archived'));
    if (isRoot) execFileSync('chown', ['-R', '65534:65534', root]);
    chmodSync(path.join(root, 'archived'), 0o555);
    const before = Object.keys(snapshot(root));
    const res = runUnprivileged([root, '-y', ...NOW, ...FAST]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(
      /failed 2025\/01\/15\/REO_front_20250115100000.mp4: .*(EACCES|permission denied)/i,
    );
    expect(res.stderr).toContain('archived');
    expect(Object.keys(snapshot(root)).filter((k) => !/archiver/.test(k))).toEqual(before);
  });

  it.runIf(process.env.CI)('/dev/shm is available (CI)', () => {
    expect(hasShm).toBe(true);
  });

  it.skipIf(!hasShm)(
    'output and trash on another filesystem: archive placed, sources copied + fsynced + linked across',
    async () => {
      const shm = mkdtempSync('/dev/shm/cam-');
      try {
        makeTree(root, [{ stamp: '20250115100000', thumbnail: true }]);
        const r = await runCli([
          root,
          '-y',
          '-o',
          path.join(shm, 'archive'),
          '--trash-root',
          path.join(shm, 'trash'),
          ...NOW,
          ...FAST,
        ]);
        expect(r.exitCode, r.stderr).toBe(0);
        expect(listTree(shm)).toEqual([
          'archive/',
          'archive/2025/',
          'archive/2025/01/',
          'archive/2025/01/15/',
          'archive/2025/01/15/REO_front_20250115100000.mp4',
          'trash/',
          'trash/input/',
          'trash/input/2025/',
          'trash/input/2025/01/',
          'trash/input/2025/01/15/',
          'trash/input/2025/01/15/REO_front_20250115100000.jpg',
          'trash/input/2025/01/15/REO_front_20250115100000.mp4',
        ]);
        expect(
          statSync(path.join(shm, 'trash/input', DAY, 'REO_front_20250115100000.mp4')).size,
        ).toBe(statSync(clipTemplate()).size);
      } finally {
        removeDir(shm);
      }
    },
  );

  it('a disk that fills up mid-transcode: error naming the clip, no partial, source kept, other clips fine', async () => {
    const mnt = path.join(root, 'small-disk');
    mkdirSync(mnt);
    let mounted = false;
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt], { stdio: 'ignore' });
      mounted = true;
    } catch {
      // Not permitted here: fall back to a file-size limit (prlimit), which fails the write the same way.
    }
    try {
      const input = path.join(root, 'in');
      makeTree(input, [
        { stamp: '20250115100000', spec: { seconds: 6, size: '640x360', rate: 25 } },
        { stamp: '20250115100001', camera: 'REO_small' },
      ]);
      const args = [
        path.resolve('bin/camera-archiver'),
        input,
        '-y',
        '-o',
        mounted ? mnt : path.join(root, 'out'),
        '--log-file',
        path.join(root, 'log', 'a.log'),
        ...NOW,
        ...FAST,
      ];
      mkdirSync(path.join(root, 'log'));
      const res = execRun(
        mounted
          ? [process.execPath, ...args]
          : ['prlimit', '--fsize=150000', process.execPath, ...args],
      );
      console.log(
        `disk-full test used ${mounted ? 'a 256 KiB tmpfs (ENOSPC)' : 'prlimit --fsize (EFBIG/SIGXFSZ)'}`,
      );
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(
        /failed 2025\/01\/15\/REO_front_20250115100000.mp4: .*(No space left|File too large|SIGXFSZ|ffmpeg failed)/,
      );
      expect(existsSync(path.join(input, DAY, 'REO_front_20250115100000.mp4'))).toBe(true);
      expect(existsSync(path.join(input, DAY, 'REO_small_20250115100001.mp4'))).toBe(false);
      const out = mounted ? mnt : path.join(root, 'out');
      expect(
        listTree(out).filter((p) => p.includes('.partial') || p.includes('REO_front')),
      ).toEqual([]);
    } finally {
      if (mounted) execFileSync('umount', [mnt]);
    }
  });

  it('an ffmpeg that hangs without output is stopped by the watchdog; the clip is kept', async () => {
    makeTree(root, [{ stamp: '20250115100000' }]);
    const fake = fakeFfmpeg(path.join(root, '..', `${path.basename(root)}-bin`), HANG_ON_TRANSCODE);
    try {
      const r = await runCli([
        root,
        '-y',
        ...NOW,
        ...FAST,
        '--ffmpeg',
        fake,
        '--stall-timeout',
        '2s',
      ]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(
        /failed 2025\/01\/15\/REO_front_20250115100000.mp4: ffmpeg made no progress for 2s and was stopped/,
      );
      expect(existsSync(path.join(root, DAY, 'REO_front_20250115100000.mp4'))).toBe(true);
      expect(listTree(root).filter((p) => p.endsWith('.mp4') || p.endsWith('.partial'))).toEqual([
        `${DAY}/REO_front_20250115100000.mp4`,
      ]);
    } finally {
      removeDir(path.dirname(fake));
    }
  });

  it('an ffmpeg that exits 0 but writes a short file is caught by verification', async () => {
    makeTree(root, [{ stamp: '20250115100000', spec: { seconds: 3 } }]);
    const dir = path.join(root, '..', `${path.basename(root)}-bin`);
    // Run the real transcode, then cut its output in half and claim success.
    const fake = fakeFfmpeg(dir, '');
    writeFileSync(
      fake,
      `#!/usr/bin/env bash\n${JSON.stringify(ffmpeg())} "$@"; rc=$?\nout=""; p1=""; p2=""; for a in "$@"; do if [ "$p2" = "-f" ] && [ "$p1" = "mp4" ]; then out="$a"; fi; p2="$p1"; p1="$a"; done\nif [ -f "$out" ] && [[ "$out" == *.partial ]]; then truncate -s $(( $(stat -c %s "$out") / 2 )) "$out"; fi\nexit $rc\n`,
    );
    try {
      const r = await runCli([root, '-y', ...NOW, ...FAST, '--ffmpeg', fake]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(
        /failed 2025\/01\/15\/REO_front_20250115100000.mp4: .*(truncated|lasts|demux|cannot be read)/,
      );
      expect(listTree(root).filter((p) => p.endsWith('.mp4') || p.endsWith('.partial'))).toEqual([
        `${DAY}/REO_front_20250115100000.mp4`,
      ]);
    } finally {
      removeDir(dir);
    }
  });
});

/** The CLI as an unprivileged user (when root), with tools that user may execute. */
function runUnprivileged(args: string[]): { code: number; stderr: string } {
  const tools = tempDir('cam-tools-');
  try {
    chmodSync(tools, 0o755);
    const env = isRoot ? toolsForUnprivileged(tools) : {};
    return execRun(unprivileged([path.resolve('bin/camera-archiver'), ...args]), env);
  } finally {
    removeDir(tools);
  }
}

function execRun(
  argv: string[],
  extraEnv: Record<string, string> = {},
): { code: number; stderr: string } {
  try {
    execFileSync(argv[0] ?? '', argv.slice(1), {
      env: { ...process.env, TZ: 'UTC', ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
    });
    return { code: 0, stderr: '' };
  } catch (error) {
    const e = error as { status?: number; stderr?: string };
    return { code: e.status ?? -1, stderr: e.stderr ?? '' };
  }
}

/** A small tmpfs at `dir` (root only): a real full or read-only footage filesystem. */
function mountTmpfs(dir: string, size: string): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
}

/** Fills the filesystem of `dir` to the last block. */
function fill(dir: string): void {
  try {
    execFileSync('dd', ['if=/dev/zero', `of=${path.join(dir, 'filler')}`, 'bs=4k'], {
      stdio: 'ignore',
    });
  } catch {
    // dd ends with ENOSPC: that is the point
  }
}

/** A webhook on loopback that keeps what it is sent. */
async function webhook(): Promise<{ url: string; bodies: string[]; close: () => void }> {
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      bodies.push(body);
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, bodies, close: () => server.close() };
}

describe('hostile filesystems and flags', () => {
  let root: string;
  beforeEach(() => {
    root = tempDir();
  });
  afterEach(() => removeDir(root));

  it.skipIf(!isRoot)(
    'a full footage disk: the lock error names the file, no lock is left behind, the next run is not blocked',
    async () => {
      const disk = path.join(root, 'disk');
      mountTmpfs(disk, '1m');
      try {
        makeTree(disk, [{ stamp: '20250115100000' }]);
        fill(disk);
        const full = await runCli([disk, '-y', ...NOW, ...FAST]);
        expect(full.exitCode, full.stderr).toBe(1);
        expect(full.stderr).toContain(`cannot write the lock file ${disk}/.camera-archiver.lock`);
        expect(full.stderr).toMatch(/ENOSPC/);
        expect(full.stderr).not.toMatch(/Unhandled|node:events/);
        expect(readdirSync(disk).filter((n) => n.includes('lock'))).toEqual([]);
        expect(existsSync(path.join(disk, DAY, 'REO_front_20250115100000.mp4'))).toBe(true);
        // Space again: the next run archives at once, not 10 minutes later.
        rmSync(path.join(disk, 'filler'));
        const next = await runCli([disk, '-y', ...NOW, ...FAST]);
        expect(next.exitCode, next.stderr).toBe(0);
        expect(existsSync(path.join(disk, 'archived', DAY, 'REO_front_20250115100000.mp4'))).toBe(
          true,
        );
      } finally {
        execFileSync('umount', [disk]);
      }
    },
  );

  it.skipIf(!isRoot)(
    'a read-only footage filesystem: an error naming the log file, exit 1, metrics and notification still sent',
    async () => {
      const disk = path.join(root, 'disk');
      mountTmpfs(disk, '4m');
      const hook = await webhook();
      try {
        makeTree(disk, [{ stamp: '20250115100000' }]);
        execFileSync('mount', ['-o', 'remount,ro', disk]);
        const metrics = path.join(root, 'metrics.prom');
        const r = await runCli([
          disk,
          '-y',
          '--metrics-file',
          metrics,
          '--notify-url',
          hook.url,
          ...NOW,
          ...FAST,
        ]);
        expect(r.exitCode, r.stderr).toBe(1);
        expect(r.stderr).toContain(`cannot write the log file ${disk}/archiver.log`);
        expect(r.stderr).toMatch(/EROFS/);
        expect(r.stderr).not.toMatch(/Unhandled|node:events/);
        expect(readFileSync(metrics, 'utf8')).toMatch(
          /camera_archiver_last_run_success\{[^}]*\} 0/,
        );
        expect(hook.bodies.length).toBeGreaterThan(0);
        expect(hook.bodies[0]).toContain('archiver.log');
      } finally {
        hook.close();
        execFileSync('umount', [disk]);
      }
    },
  );

  it('a log file that cannot be opened (its folder is a file): an error naming it, exit 1, nothing changed', async () => {
    makeTree(root, [{ stamp: '20250115100000' }]);
    writeFileSync(path.join(root, 'not-a-folder'), 'x');
    const before = snapshot(root);
    const log = path.join(root, 'not-a-folder', 'archiver.log');
    const r = await runCli([root, '-y', '--log-file', log, ...NOW, ...FAST]);
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stderr).toContain(`cannot write the log file ${log}`);
    expect(r.stderr).not.toMatch(/Unhandled|node:events/);
    expect(snapshot(root)).toEqual(before);
  });

  it('archives, trash and the folders made for them follow the footage’s mode (0600 clips)', async () => {
    makeTree(root, [{ stamp: '20250115100000', thumbnail: true }]);
    for (const n of ['REO_front_20250115100000.mp4', 'REO_front_20250115100000.jpg'])
      chmodSync(path.join(root, DAY, n), 0o600);
    const r = await runCli([root, '-y', ...NOW, ...FAST]);
    expect(r.exitCode, r.stderr).toBe(0);
    const mode = (rel: string): string => (statSync(path.join(root, rel)).mode & 0o777).toString(8);
    expect(mode(`archived/${DAY}/REO_front_20250115100000.mp4`)).toBe('600');
    for (const dir of [
      'archived',
      'archived/2025',
      `archived/${DAY}`,
      '.deleted',
      `.deleted/input/${DAY}`,
    ])
      expect(mode(dir), dir).toBe('700');
    expect(mode(`.deleted/input/${DAY}/REO_front_20250115100000.mp4`)).toBe('600');
  });

  it('--jobs has bounds: 0 and 1000 are refused with exit 2 before anything is read', async () => {
    makeTree(root, [{ stamp: '20250115100000' }]);
    const before = snapshot(root);
    for (const jobs of ['0', '1000']) {
      const r = await runCli([root, '-y', '--jobs', jobs, ...NOW, ...FAST]);
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/--jobs must be a whole number/);
    }
    expect(snapshot(root)).toEqual(before);
  });
});

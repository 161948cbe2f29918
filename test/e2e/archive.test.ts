import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN, FAST, runCli } from '../helpers/cli.js';
import { formatCommand } from '../../src/media/encoders.js';
import { ffmpeg, makeTree, playsCleanly, probe } from '../helpers/media.js';
import { listTree, removeDir, snapshot, tempDir } from '../helpers/tree.js';

const NOW = ['--now', '2025-03-01T00:00:00Z'];
const hasScript = (() => {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** The "Done when" tree: two cameras, thumbnails on some, one recent clip, one corrupt clip. */
function userTree(root: string): void {
  makeTree(root, [
    { camera: 'REO_front', stamp: '20250115120000', thumbnail: true },
    { camera: 'REO_back', stamp: '20250115120000', thumbnail: true },
    { camera: 'REO_front', stamp: '20250115121500' },
    { camera: 'REO_back', stamp: '20250116080000', spec: { audio: false } },
    { camera: 'REO_front', stamp: '20250116090000', content: 'this is not a video\n' },
    { camera: 'REO_front', stamp: '20250225100000', thumbnail: true },
  ]);
}

describe('camera-archiver archive (e2e)', () => {
  let root: string;
  beforeEach(() => {
    root = tempDir();
  });
  afterEach(() => removeDir(root));

  it('the user scenario: dry run previews exactly what the real run does; corrupt clip named, exit 1; second run changes nothing', async () => {
    userTree(root);
    const before = snapshot(root);
    const dry = await runCli([root, '--dry-run', '--json', ...NOW, ...FAST]);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(snapshot(root)).toEqual(before);
    const plan = JSON.parse(dry.stdout) as {
      counts: Record<string, number>;
      actions: { kind: string; clip?: { path: string }; path?: string }[];
    };
    // A quiet dry run counts the plan without building its actions: the same totals.
    const quiet = await runCli([root, '--dry-run', '-q', ...NOW, ...FAST]);
    const c = plan.counts;
    expect(quiet.stdout.trim()).toBe(
      `Dry run, nothing was changed. Plan: ${c.clips} clip(s) in ${c.days} day folder(s), ${c.transcode} to transcode, ${c.disposeArchived} already archived, ${c.keep} kept, ${c.pruneFolder} folder(s) to prune.`,
    );
    const planned = plan.actions
      .filter((a) => a.kind === 'transcode')
      .map((a) => path.basename(a.clip?.path ?? ''))
      .sort();
    expect(planned).toEqual([
      'REO_back_20250115120000.mp4',
      'REO_back_20250116080000.mp4',
      'REO_front_20250115120000.mp4',
      'REO_front_20250115121500.mp4',
      'REO_front_20250116090000.mp4',
    ]);
    expect(
      plan.actions.filter((a) => a.kind === 'keep').map((a) => path.basename(a.path ?? '')),
    ).toEqual(['REO_front_20250225100000.mp4']);

    const real = await runCli([root, '-y', '--json', ...NOW, ...FAST]);
    expect(real.exitCode).toBe(1);
    // Not a terminal: plain lines, never a carriage return or a progress bar.
    expect(real.stderr).not.toMatch(/\r/);
    expect(real.stderr).toContain(
      'failed 2025/01/16/REO_front_20250116090000.mp4: not a readable video',
    );
    const summary = JSON.parse(real.stdout) as {
      archived: number;
      failed: number;
      files: { clip: string; status: string }[];
    };
    expect(summary).toMatchObject({ archived: 4, failed: 1 });
    expect(summary.files.map((f) => path.basename(f.clip)).sort()).toEqual(planned);

    const tree = listTree(root);
    for (const name of planned.filter((n) => !n.includes('20250116090000'))) {
      const archive = path.join(
        root,
        'archived',
        name.includes('20250116') ? '2025/01/16' : '2025/01/15',
        name,
      );
      expect(existsSync(archive), archive).toBe(true);
      expect(playsCleanly(archive)).toBe(true);
      expect(Math.abs(probe(archive).duration - 1)).toBeLessThan(0.2);
    }
    expect(tree).toContain('.deleted/input/2025/01/15/REO_front_20250115120000.jpg');
    expect(tree).toContain('.deleted/input/2025/01/15/REO_back_20250115120000.jpg');
    expect(tree).toContain('2025/01/16/REO_front_20250116090000.mp4');
    expect(tree).toContain('2025/02/25/REO_front_20250225100000.mp4');
    expect(tree).toContain('2025/02/25/REO_front_20250225100000.jpg');
    expect(tree).not.toContain('2025/01/15/');
    expect(tree.filter((p) => p.includes('.partial'))).toEqual([]);
    expect(readFileSync(path.join(root, 'archiver.log'), 'utf8')).toMatch(
      / - ERROR - failed 2025\/01\/16\/REO_front_20250116090000.mp4/,
    );

    const after = snapshot(root);
    const again = await runCli([root, '-y', ...NOW, ...FAST]);
    expect(again.exitCode).toBe(1);
    const unchanged = (s: Record<string, string>): Record<string, string> =>
      Object.fromEntries(Object.entries(s).filter(([k]) => !/archiver|\.lock/.test(k)));
    expect(unchanged(snapshot(root))).toEqual(unchanged(after));
  });

  it('prints the exact ffmpeg command in a dry run, and sources go nowhere', async () => {
    makeTree(root, [{ stamp: '20250115120000', thumbnail: true }]);
    const r = await runCli([root, '--dry-run', ...NOW, ...FAST]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      'transcode 2025/01/15/REO_front_20250115120000.mp4 → archived/2025/01/15/REO_front_20250115120000.mp4',
    );
    expect(r.stdout).toMatch(
      /run( \(nice 10\))?: (\S*ionice -c3 -t )?\S*ffmpeg .*-c:v libx265 -preset ultrafast .*-f mp4 \S*\/\.REO_front_20250115120000\.mp4\.partial/,
    );
    expect(r.stdout).toContain(
      'then trash 2025/01/15/REO_front_20250115120000.mp4 → .deleted/input/2025/01/15/REO_front_20250115120000.mp4',
    );
    expect(r.stdout).toContain('remove folder 2025/01/15: date folder left empty');
    expect(existsSync(path.join(root, 'archiver.log'))).toBe(false);
  });

  it('the command the dry run prints is exactly the one the real run starts (ionice wrapper included)', async () => {
    makeTree(root, [{ stamp: '20250115120000', thumbnail: true }]);
    // An ionice first on PATH that records its own argv (NUL-separated), then runs the rest as
    // util-linux ionice would: the transcode is the only command the run starts through it.
    const tools = tempDir('cam-ionice-');
    const argvLog = path.join(tools, 'argv');
    const ionice = path.join(tools, 'ionice');
    writeFileSync(
      ionice,
      [
        '#!/bin/sh',
        `for a in "$0" "$@"; do printf '%s\\0' "$a"; done >> '${argvLog}'`,
        '[ "$1" = -c3 ] && [ "$2" = -t ] || exit 99',
        'shift 2',
        'exec "$@"',
        '',
      ].join('\n'),
    );
    chmodSync(ionice, 0o755);
    const env = { PATH: `${tools}:${process.env.PATH ?? ''}` };
    try {
      const dry = await runCli([root, '--dry-run', '--json', ...NOW, ...FAST], { env });
      expect(dry.exitCode, dry.stderr).toBe(0);
      const planned = (
        JSON.parse(dry.stdout) as { actions: { kind: string; command?: string[] }[] }
      ).actions.find((a) => a.kind === 'transcode')?.command;
      const text = await runCli([root, '--dry-run', ...NOW, ...FAST], { env });
      expect(existsSync(argvLog)).toBe(false); // a dry run starts no transcode

      const clipSize = statSync(path.join(root, '2025/01/15/REO_front_20250115120000.mp4')).size;
      const real = await runCli([root, '-y', ...NOW, ...FAST], { env });
      expect(real.exitCode, real.stderr).toBe(0);
      const started = readFileSync(argvLog, 'utf8').split('\0').slice(0, -1);
      expect(started[0]).toBe(ionice);
      // Only the identity tag's value differs: the dry run has not read the clip, so it shows
      // placeholders; the real run records the clip's size and fingerprint there.
      const tag = (args: readonly string[] | undefined): number =>
        (args ?? []).findIndex((a) => a.startsWith('camera_archiver_source='));
      expect(planned?.[tag(planned)]).toMatch(/size=<size>;mtime=<mtime>/);
      expect(started[tag(started)]).toMatch(
        new RegExp(`size=${clipSize};mtime=\\d+;sha256=[0-9a-f]{64};path=`),
      );
      const withoutTag = (args: readonly string[]): string[] =>
        args.filter((_, i) => i !== tag(args));
      expect(withoutTag(planned ?? [])).toEqual(withoutTag(started));
      // The text plan prints the same command as the JSON plan, placeholders and all.
      expect(text.stdout).toContain(
        `    run (nice 10): ${formatCommand(planned?.[0] ?? '', planned?.slice(1) ?? [])}\n`,
      );
    } finally {
      removeDir(tools);
    }
  });

  it('accepts the Python archiver flags: -o, --trash-root, --delete, --no-confirm, --no-skip, --log-file', async () => {
    const out = tempDir();
    try {
      makeTree(root, [{ stamp: '20250115120000', thumbnail: true }]);
      const log = path.join(out, 'logs', 'cam.log');
      mkdirSync(path.dirname(log));
      const r = await runCli([
        root,
        '-o',
        path.join(out, 'arch'),
        '--delete',
        '--no-confirm',
        '--log-file',
        log,
        ...NOW,
        ...FAST,
      ]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(listTree(out)).toContain('arch/2025/01/15/REO_front_20250115120000.mp4');
      expect(listTree(root)).toEqual([]);
      expect(readFileSync(log, 'utf8')).toMatch(
        /deleted REO_front_20250115120000.mp4 \+ REO_front_20250115120000.jpg/,
      );

      makeTree(root, [{ stamp: '20250115120000' }]);
      const redo = await runCli([
        root,
        '-o',
        path.join(out, 'arch'),
        '--trash-root',
        path.join(out, 'bin'),
        '--no-skip',
        '-y',
        ...NOW,
        ...FAST,
      ]);
      expect(redo.exitCode, redo.stderr).toBe(0);
      expect(redo.stderr).toMatch(/archived 2025\/01\/15\/REO_front_20250115120000.mp4/);
      expect(listTree(out)).toContain('bin/input/2025/01/15/REO_front_20250115120000.mp4');
    } finally {
      removeDir(out);
    }
  });

  it('a missing input directory is an error naming it, and nothing is created', async () => {
    const missing = path.join(root, 'nope');
    const r = await runCli([missing, '-y', ...NOW]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`input directory ${missing} does not exist`);
    expect(readdirSync(root)).toEqual([]);
  });

  it('no ffmpeg: a clear error, exit 1, nothing touched', async () => {
    makeTree(root, [{ stamp: '20250115120000' }]);
    const before = snapshot(root);
    const r = await runCli([root, '-y', ...NOW, '--ffmpeg', '/nonexistent/ffmpeg']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('ffmpeg not found or not executable: /nonexistent/ffmpeg');
    const same = (s: Record<string, string>): Record<string, string> =>
      Object.fromEntries(Object.entries(s).filter(([k]) => !/archiver/.test(k)));
    expect(same(snapshot(root))).toEqual(same(before));
  });

  it.each([
    [['--age', '-1'], /--age must be/],
    [['--max-size', '5XB'], /invalid --max-size '5XB'/],
    [['--jobs', '0'], /--jobs must be a whole number from 1 to 64, got '0'/],
    [['--encoder', 'gpu'], /Invalid values/],
    [['--frobnicate'], /Unknown argument/],
    [['--settle-time', 'soon'], /invalid --settle-time/],
  ])('usage errors exit 2: %j', async (args, message) => {
    const r = await runCli([root, '--dry-run', ...args]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  describe('without a terminal and without -y', () => {
    const withoutLog = (s: Record<string, string>): string[] =>
      Object.keys(s).filter((k) => !/archiver|\.lock/.test(k));

    it('nothing to do: exit 0, no question asked', async () => {
      makeTree(root, [{ stamp: '20250225100000' }]); // recorded within --age: kept
      const r = await runCli([root, ...NOW, ...FAST]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stderr).toContain('nothing to do');
      expect(r.stderr).not.toContain('Proceed?');
    });

    it('an answer from a pipe: y proceeds', async () => {
      makeTree(root, [{ stamp: '20250115120000' }]);
      const r = await runCli([root, ...NOW, ...FAST], { input: 'y\n' });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stderr).toContain('Proceed? [y/N]');
      expect(listTree(root)).toContain('archived/2025/01/15/REO_front_20250115120000.mp4');
    });

    it('an answer from a pipe: n cancels, exit 0, nothing changed', async () => {
      makeTree(root, [{ stamp: '20250115120000' }]);
      const before = withoutLog(snapshot(root));
      const r = await runCli([root, ...NOW, ...FAST], { input: 'n\n' });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stderr).toContain('cancelled at the prompt');
      expect(withoutLog(snapshot(root))).toEqual(before);
    });

    it.each([
      ['an empty pipe', { input: '' }],
      ['/dev/null', {}],
    ])(
      'standard input at its end (%s): the documented refusal, exit 2, nothing changed',
      async (_name, how) => {
        makeTree(root, [{ stamp: '20250115120000' }]);
        const before = snapshot(root);
        const r = await runCli([root, ...NOW, ...FAST], how);
        expect(r.exitCode).toBe(2);
        expect(r.stderr).toMatch(
          /standard input is not a terminal and gave no answer: add -y \(--no-confirm\) to proceed, or --dry-run to preview/,
        );
        expect(withoutLog(snapshot(root))).toEqual(withoutLog(before));
      },
    );

    it('--cleanup too: a piped y proceeds, an empty pipe is refused', async () => {
      makeTree(root, [{ stamp: '20250115120000' }, { stamp: '20250116120000' }]);
      const state = tempDir('cam-state-');
      try {
        const args = [root, '--cleanup', '--age', '14', '--max-delete', 'none', ...NOW];
        const refused = await runCli([...args, '--state-dir', state], { input: '' });
        expect(refused.exitCode, refused.stderr).toBe(2);
        expect(listTree(root)).toContain('2025/01/15/REO_front_20250115120000.mp4');
        const yes = await runCli([...args, '--state-dir', state], { input: 'yes\n' });
        expect(yes.exitCode, yes.stderr).toBe(0);
        expect(listTree(root)).not.toContain('2025/01/15/REO_front_20250115120000.mp4');
      } finally {
        removeDir(state);
      }
    });
  });

  it('--clean-output without --cleanup never touches an archive', async () => {
    makeTree(root, [
      { stamp: '20250115120000' },
      { stamp: '20250115120000', dir: 'archived/2025/01/14', camera: 'REO_old' },
    ]);
    const r = await runCli([root, '--clean-output', '-y', ...NOW, ...FAST]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/--clean-output only has an effect with --cleanup/);
    expect(listTree(root)).toContain('archived/2025/01/14/REO_old_20250115120000.mp4');
  });

  it.skipIf(!existsSync('/proc/self/task'))(
    "a dry run lowers its helper threads' and its ffmpeg probes' CPU priority, not the main thread's; a real run lowers none",
    async () => {
      makeTree(root, [{ stamp: '20250115120000' }]);
      // Each ffmpeg the run starts records the nice value of each thread of the run's process
      // (field 19 of /proc/<pid>/task/<tid>/stat, the 17th after the command name), and its
      // own once ffmpeg is done (set by the run right after starting it).
      const tools = tempDir('cam-nice-');
      const log = path.join(tools, 'threads.log');
      const wrapper = path.join(tools, 'ffmpeg');
      writeFileSync(
        wrapper,
        [
          '#!/bin/sh',
          `for t in /proc/$PPID/task/*; do echo "thread $PPID \${t##*/} $(sed 's/.*) //' "$t/stat" | cut -d' ' -f17)"; done >> '${log}'`,
          `'${ffmpeg()}' "$@"`,
          'code=$?',
          `echo "ffmpeg $(nice)" >> '${log}'`,
          'exit $code',
          '',
        ].join('\n'),
      );
      chmodSync(wrapper, 0o755);
      const priorities = (): { main: number[]; helpers: number[]; ffmpeg: number[] } => {
        const rows = readFileSync(log, 'utf8')
          .trim()
          .split('\n')
          .map((l) => l.split(' '));
        rmSync(log);
        const threads = rows.filter((r) => r[0] === 'thread').map((r) => r.slice(1).map(Number));
        return {
          main: threads.filter(([pid, tid]) => pid === tid).map((r) => r[2] ?? NaN),
          helpers: threads.filter(([pid, tid]) => pid !== tid).map((r) => r[2] ?? NaN),
          ffmpeg: rows.filter((r) => r[0] === 'ffmpeg').map((r) => Number(r[1])),
        };
      };
      try {
        const ownNice = os.getPriority();
        const dry = await runCli([root, '--dry-run', '-q', ...NOW, ...FAST, '--ffmpeg', wrapper]);
        expect(dry.exitCode, dry.stderr).toBe(0);
        const inDry = priorities();
        expect(inDry.main.length).toBeGreaterThan(0);
        expect(new Set(inDry.main)).toEqual(new Set([ownNice]));
        expect(inDry.helpers.length).toBeGreaterThan(0);
        expect(new Set(inDry.helpers)).toEqual(new Set([19]));
        expect(inDry.ffmpeg).toEqual([19]); // the encoder probe; a quiet dry run reads no version

        // --nice 0: the transcode itself otherwise runs at --nice 10, as asked.
        const real = await runCli([
          root,
          '-y',
          ...NOW,
          ...FAST,
          '--nice',
          '0',
          '--ffmpeg',
          wrapper,
        ]);
        expect(real.exitCode, real.stderr).toBe(0);
        const inReal = priorities();
        expect(new Set([...inReal.main, ...inReal.helpers])).toEqual(new Set([ownNice]));
        expect(inReal.ffmpeg.length).toBeGreaterThanOrEqual(3); // version, probe, transcode, …
        expect(new Set(inReal.ffmpeg)).toEqual(new Set([ownNice]));
      } finally {
        removeDir(tools);
      }
    },
  );

  // CI installs util-linux: there a missing `script` fails instead of skipping the prompt tests.
  it.runIf(process.env.CI)('util-linux script is installed (CI)', () => {
    expect(hasScript).toBe(true);
  });

  describe.skipIf(!hasScript)('the prompt, in a real terminal (util-linux script)', () => {
    // The keys go in once the prompt has appeared on the terminal, never after a guessed delay.
    const inPty = (args: string[], keys: string): Promise<{ code: number | null; out: string }> =>
      new Promise((resolve) => {
        const cmd = [process.execPath, BIN, ...args].map((a) => `'${a}'`).join(' ');
        const child = spawn('script', ['-qec', cmd, '/dev/null'], {
          env: { ...process.env, TZ: 'UTC' },
        });
        let out = '';
        let answered = false;
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (!answered && out.includes('Proceed? [y/N]')) {
            answered = true;
            child.stdin.write(keys);
          }
        });
        child.on('close', (code) => resolve({ code, out }));
      });

    it('asks Proceed? [y/N]; y proceeds', async () => {
      makeTree(root, [{ stamp: '20250115120000' }]);
      const r = await inPty([root, ...NOW, ...FAST], 'y\r');
      expect(r.out).toContain('Proceed? [y/N]');
      expect(r.code).toBe(0);
      expect(listTree(root)).toContain('archived/2025/01/15/REO_front_20250115120000.mp4');
    });

    it.each([
      ['Enter', '\r', 0],
      ['n', 'n\r', 0],
      ['EOF (Ctrl+D)', '\u0004', 0],
      ['Ctrl+C', '\u0003', 130],
    ])('%s cancels and changes nothing', async (_name, keys, code) => {
      makeTree(root, [{ stamp: '20250115120000' }]);
      const before = Object.keys(snapshot(root)).filter((k) => !/archiver/.test(k));
      const r = await inPty([root, ...NOW, ...FAST], keys);
      expect(r.code).toBe(code);
      expect(Object.keys(snapshot(root)).filter((k) => !/archiver/.test(k))).toEqual(before);
    });
  });
});

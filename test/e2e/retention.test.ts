import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { KiB, putSized, retentionSampleTree, sparseTree } from '../helpers/sized-tree.js';
import { listTree, removeDir, snapshot, tempDir } from '../helpers/tree.js';

const NOW = '2025-03-01T03:00:00Z';
const dirs: string[] = [];
let state = '';
beforeAll(() => {
  state = tempDir('cam-state-');
  dirs.push(state);
});
afterEach(() => {
  while (dirs.length > 1) removeDir(dirs.pop() ?? '');
});

/** February sources (two cameras, thumbnails); January archives and its sources in a full trash. */
function sampleTree(): string {
  const root = tempDir('cam-e2e-ret-');
  dirs.push(root);
  return retentionSampleTree(root);
}

function footageBytes(root: string): number {
  return listTree(root)
    .filter((r) => /\.(mp4|jpg)$/.test(r))
    .reduce((s, r) => s + statSync(path.join(root, r)).size, 0);
}

const env = (): Record<string, string> => ({ XDG_STATE_HOME: state });

/** Removals per date, kind of unit and verb, from `-v` action lines (`trash  2025/02/17/…`). */
function tallyListed(lines: readonly string[]): Map<string, number> {
  const tally = new Map<string, number>();
  const verbs: Record<string, string> = {
    trash: 'to the trash',
    delete: 'to delete',
    purge: 'to purge',
  };
  for (const line of lines) {
    const m = /^(trash|delete|purge) +(\S+)/.exec(line);
    if (!m) continue;
    const file = m[2] ?? '';
    const date = /(\d{4}\/\d{2}\/\d{2})\//.exec(file)?.[1] ?? '?';
    const unit = file.startsWith('archived/')
      ? 'archive'
      : file.startsWith('.deleted/')
        ? 'trashed item'
        : file.endsWith('.jpg')
          ? 'thumbnail'
          : 'clip';
    const key = `${date} ${unit} ${verbs[m[1] ?? '']}`;
    tally.set(key, (tally.get(key) ?? 0) + 1);
  }
  return tally;
}

/** The same from a summarised plan: its listed actions plus its one-line days. */
function tallySummarised(lines: readonly string[]): Map<string, number> {
  const tally = tallyListed(lines);
  for (const line of lines) {
    const day = /^(\d{4}\/\d{2}\/\d{2})(, the rest)?: (.*)$/.exec(line);
    if (!day) continue;
    for (const part of (day[3] ?? '').matchAll(
      /(\d+) (clip|thumbnail|archive|trashed item)\(s\) (to the trash|to delete|to purge)/g,
    )) {
      const key = `${day[1]} ${part[2]} ${part[3]}`;
      tally.set(key, (tally.get(key) ?? 0) + Number(part[1]));
    }
  }
  return tally;
}

describe('camera-archiver --cleanup', () => {
  it('a big plan shows 500 removals, then a line per day that adds up to what -v lists, with the same totals', async () => {
    const root = tempDir('cam-e2e-ret-big-');
    dirs.push(root);
    // 12 days of 90 clips with thumbnails, and archives of three of the oldest days: the 500th
    // removal falls within a day.
    sparseTree(root, {
      days: 12,
      clipsPerDay: 90,
      bytes: 1024 * KiB,
      now: new Date(NOW),
      thumbnails: true,
    });
    for (const dd of ['17', '18', '19'])
      for (let i = 0; i < 10; i++)
        putSized(root, `archived/2025/02/${dd}/REO_cam${i}_202502${dd}0${i}0000.mp4`, 300 * KiB);
    // The age rule trashes the old days; the cap deletes the oldest of them instead (a date
    // taken whole turns moves into deletions) and stops within a date.
    const args = [
      root,
      '--cleanup',
      '--clean-output',
      '--age',
      '4',
      '--max-size',
      '400MB',
      '--max-delete',
      'none',
      '--now',
      NOW,
      '--dry-run',
    ];
    const summary = await runCli(args, { env: env() });
    const full = await runCli([...args, '-v'], { env: env() });
    expect(summary.exitCode).toBe(0);
    expect(full.exitCode).toBe(0);
    const short = summary.stdout.split('\n');
    const all = full.stdout.split('\n');
    const isAction = (l: string): boolean => /^(trash|delete|purge) /.test(l);
    const isDay = (l: string): boolean => /^\d{4}\/\d{2}\/\d{2}(, the rest)?: /.test(l);
    // The first 500 removals are listed exactly as -v lists them, reasons included.
    const cut = short.findIndex(isDay);
    expect(cut).toBeGreaterThan(0);
    expect(short.slice(0, cut)).toEqual(all.slice(0, cut));
    expect(short.slice(0, cut).filter(isAction)).toHaveLength(500);
    expect(all.filter(isAction).length).toBeGreaterThan(800);
    // Both kinds of removal reach the summarised days, and everything adds up, date by date.
    const dayLines = short.filter(isDay);
    expect(dayLines[0]).toMatch(/^\d{4}\/\d{2}\/\d{2}, the rest: /);
    expect(dayLines.some((l) => l.includes('to delete'))).toBe(true);
    expect(dayLines.some((l) => l.includes('to the trash'))).toBe(true);
    expect(tallySummarised(short)).toEqual(tallyListed(all));
    const note =
      /^\(the first 500 actions in full, then \d+ day\(s\) one line each: -v lists every action\)$/;
    expect(short.some((l) => note.test(l))).toBe(true);
    // The totals are the same plan's.
    const totals = (lines: string[]): string[] =>
      lines.slice(lines.findIndex((l) => l.startsWith('Managed footage before')));
    expect(totals(short)).toEqual(totals(all));
  });

  it('ends under --max-size after one run: trash first, oldest first, pairs together, as the dry run listed', async () => {
    const root = sampleTree();
    // --age 0: every source counts as archived already, so the size cap may take the oldest.
    const args = [root, '--cleanup', '--age', '0', '--max-size', '6000K', '--now', NOW];
    const text = await runCli([...args, '--dry-run'], { env: env() });
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toMatch(/PERMANENT/);
    expect(text.stdout).toMatch(/Removals made to meet --max-size\/--min-free are PERMANENT/);
    expect(text.stdout).toMatch(/Managed footage before: 13\.0 MiB/);

    const before = snapshot(root);
    const dry = await runCli([...args, '--dry-run', '--json'], { env: env() });
    expect(dry.exitCode).toBe(0);
    expect(snapshot(root)).toEqual(before);
    const plan = JSON.parse(dry.stdout) as {
      actions: {
        kind: string;
        paths?: string[];
        bytes: number;
        reason: string;
        permanent: boolean;
      }[];
      after: { total: number };
    };
    const removals = plan.actions.filter((a) => a.kind !== 'prune-folder');
    const listed = removals.flatMap((a) => a.paths ?? []).map((p) => path.relative(root, p));
    expect(removals.every((a) => a.permanent && a.bytes > 0 && a.reason.length > 0)).toBe(true);
    // Trash first (all of it), then the oldest sources; never an archive without --clean-output.
    const firstSource = listed.findIndex((p) => !p.startsWith('.deleted/'));
    expect(listed.slice(firstSource).every((p) => p.startsWith('2025/02/'))).toBe(true);
    expect(listed.slice(0, firstSource)).toHaveLength(112);
    expect(listed).toContain('2025/02/01/REO_front_20250201120000.jpg');

    const real = await runCli([...args, '-y'], { env: env() });
    expect(real.exitCode).toBe(0);
    const gone = Object.keys(before).filter((p) => !p.endsWith('/') && !listTree(root).includes(p));
    expect(gone.filter((p) => /\.(mp4|jpg)$/.test(p)).sort()).toEqual([...listed].sort());
    expect(footageBytes(root)).toBeLessThanOrEqual(6000 * KiB);
    expect(footageBytes(root)).toBe(plan.after.total);
    // Nothing younger than the protection window (24h) was touched.
    expect(listTree(root)).toContain('2025/02/28/REO_front_20250228120000.mp4');
    expect(listTree(root)).toContain('.camera-archiver-root.json');

    const again = await runCli([...args, '-y', '--json'], { env: env() });
    expect(again.exitCode).toBe(0);
    expect((JSON.parse(again.stdout) as { actions: unknown[] }).actions).toEqual([]);
  });

  it('--max-size never removes a source not archived yet (newer than --age): says by how much it falls short, exit 1', async () => {
    const root = sampleTree();
    const before = snapshot(root);
    const r = await runCli(
      [root, '--cleanup', '--age', '30', '--max-size', '6000K', '--now', NOW, '-y'],
      {
        env: env(),
      },
    );
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/still 7\.3 MiB, 1\.\d MiB over --max-size 5\.9 MiB/);
    expect(r.stderr).toMatch(/sources not archived yet \(recorded within --age 30 days\)/);
    // The trash went (permanently); every February source is still there.
    const now = listTree(root);
    for (const p of Object.keys(before).filter((x) => /^2025\/02\/.*\.(mp4|jpg)$/.test(x)))
      expect(now).toContain(p);
    expect(now.filter((p) => p.startsWith('.deleted/') && /\.(mp4|jpg)$/.test(p))).toEqual([]);
  });

  it('--max-delete aborts a cleanup about to remove far more than expected; nothing changes', async () => {
    const root = sampleTree();
    const before = snapshot(root);
    const r = await runCli(
      [root, '--cleanup', '--age', '7', '-y', '--max-delete', '10', '--now', NOW],
      {
        env: env(),
      },
    );
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/more than --max-delete 10/);
    // Only the log file recording the refusal is new.
    const footage = (snap: Record<string, string>): string[] =>
      Object.entries(snap)
        .filter(([p]) => !p.includes('archiver'))
        .map(([p, v]) => `${p} ${v}`);
    expect(footage(snapshot(root))).toEqual(footage(before));
  });

  it('refuses a missing or empty root (exit 1) and creates nothing', async () => {
    const parent = tempDir('cam-e2e-miss-');
    dirs.push(parent);
    const missing = await runCli([path.join(parent, 'camera'), '--cleanup', '-y'], { env: env() });
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/does not exist/);
    mkdirSync(path.join(parent, 'empty'));
    const empty = await runCli(
      [path.join(parent, 'empty'), '--cleanup', '-y', '--max-size', '1K'],
      {
        env: env(),
      },
    );
    expect(empty.exitCode).toBe(1);
    expect(empty.stderr).toMatch(/is empty/);
    expect(listTree(parent)).toEqual(['empty/']);
  });

  it('bad retention values are usage errors (exit 2)', async () => {
    const root = sampleTree();
    for (const bad of [
      ['--min-free', '150%'],
      ['--max-delete', 'lots'],
      ['--protect', 'soon'],
    ]) {
      const r = await runCli([root, '--cleanup', '--dry-run', ...bad], { env: env() });
      expect(r.exitCode).toBe(2);
    }
  });
});

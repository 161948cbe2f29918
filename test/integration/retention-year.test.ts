/**
 * The shipped weekly cleanup unit, run for a simulated year against a tree that a simulated nightly
 * archive run feeds: archives must be kept for as long as the size cap allows — not trashed at the
 * first cleanup (the Python tool's `--clean-output --age N`, which kept footage for about 60 days).
 */
import {
  closeSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  utimesSync,
} from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { listTree, removeDir, tempDir } from '../helpers/tree.js';

const MiB = 1024 * 1024;
const AGE = 30; // the nightly run's --age
const CLIPS_PER_DAY = 4;
const CLIP = 10 * MiB;
const ARCHIVE = 3 * MiB;
const CAP_MIB = 3000;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) removeDir(d);
});

/** The cleanup unit's ExecStart, as arguments after `camera-archiver archive`. */
function unitArgs(): string[] {
  const unit = readFileSync(
    path.resolve('contrib/systemd/camera-archiver-cleanup.service'),
    'utf8',
  );
  const line = unit.split('\n').find((l) => l.startsWith('ExecStart='));
  const argv = (line ?? '').slice('ExecStart='.length).trim().split(/\s+/);
  expect(argv.slice(0, 2)).toEqual(['camera-archiver', 'archive']);
  return argv.slice(2);
}

function ymd(d: Date): string {
  return d.toISOString().slice(0, 10).replace(/-/g, '/');
}

function sized(file: string, bytes: number, at: Date): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const fd = openSync(file, 'w');
  ftruncateSync(fd, bytes);
  closeSync(fd);
  utimesSync(file, at, at);
}

function bytesUnder(dir: string): number {
  let total = 0;
  const walk = (d: string): void => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.mp4$/.test(e.name)) total += statSync(p).size;
    }
  };
  walk(dir);
  return total;
}

describe('the shipped cleanup unit, weekly for a simulated year', () => {
  it('keeps archives for as long as the size cap allows', async () => {
    const root = tempDir('cam-year-');
    const state = tempDir('cam-year-state-');
    dirs.push(root, state);
    const args = unitArgs();
    const start = new Date(Date.UTC(2024, 0, 1));
    const oldestArchiveAt: { day: number; ageDays: number }[] = [];
    for (let day = 0; day < 365; day++) {
      const today = new Date(start.getTime() + day * 86_400_000);
      // The cameras upload the day's clips.
      for (let i = 0; i < CLIPS_PER_DAY; i++) {
        const at = new Date(today.getTime() + i * 6 * 3_600_000);
        const stamp = at.toISOString().replace(/\D/g, '').slice(0, 14);
        sized(path.join(root, ymd(at), `REO_cam${i % 2}_${stamp}.mp4`), CLIP, at);
      }
      // The nightly run archives the day that just passed --age and trashes its sources.
      const due = new Date(today.getTime() - AGE * 86_400_000);
      const dueDir = path.join(root, ymd(due));
      for (const name of (() => {
        try {
          return readdirSync(dueDir);
        } catch {
          return [];
        }
      })()) {
        sized(path.join(root, 'archived', ymd(due), name), ARCHIVE, today);
        const trashed = path.join(root, '.deleted/input', ymd(due), name);
        mkdirSync(path.dirname(trashed), { recursive: true });
        renameSync(path.join(dueDir, name), trashed);
      }
      // Sundays: the shipped unit, with the size cap from the config file.
      if (today.getUTCDay() !== 0) continue;
      const now = new Date(today.getTime() + 7 * 3_600_000);
      const out = new PassThrough();
      const err = new PassThrough();
      let stderr = '';
      out.resume();
      err.on('data', (c: Buffer) => (stderr += c.toString()));
      const code = await runCli(
        [
          ...args,
          root,
          '--age',
          String(AGE),
          '--max-size',
          `${CAP_MIB}M`,
          '--no-config',
          '--now',
          now.toISOString(),
        ],
        {
          stdin: process.stdin,
          stdout: out as unknown as NodeJS.WriteStream,
          stderr: err as unknown as NodeJS.WriteStream,
          env: { ...process.env, XDG_STATE_HOME: state },
          signal: new AbortController().signal,
          commandLine: 'camera-archiver (year test)',
        },
      );
      expect(code, stderr).toBe(0);
      expect(bytesUnder(root)).toBeLessThanOrEqual(CAP_MIB * MiB);
      mkdirSync(path.join(root, 'archived'), { recursive: true });
      const archives = listTree(path.join(root, 'archived')).filter((p) => p.endsWith('.mp4'));
      // Never an empty archive tree once the first archive exists.
      if (day > AGE) expect(archives.length).toBeGreaterThan(0);
      const oldest = archives[0];
      if (oldest) {
        const at = Date.UTC(+oldest.slice(0, 4), +oldest.slice(5, 7) - 1, +oldest.slice(8, 10));
        oldestArchiveAt.push({ day, ageDays: Math.round((today.getTime() - at) / 86_400_000) });
      }
    }
    // What the cap allows: AGE days raw, the rest as archives (the trash goes first).
    const allowed = AGE + (CAP_MIB * MiB - AGE * CLIPS_PER_DAY * CLIP) / (CLIPS_PER_DAY * ARCHIVE);
    const last = oldestArchiveAt[oldestArchiveAt.length - 1];
    expect(last?.ageDays).toBeGreaterThan(allowed - 14);
    expect(last?.ageDays).toBeLessThanOrEqual(allowed + 7);
    // Until the cap is reached, every archive ever made is still there.
    // (The first archive is of the first day's clips.)
    for (const { day, ageDays } of oldestArchiveAt)
      if (day < allowed - 7) expect(ageDays).toBe(day);
    // The Python tool's weekly `--clean-output --age 30` kept footage about 60 days.
    expect(Math.max(...oldestArchiveAt.map((o) => o.ageDays))).toBeGreaterThan(150);
  }, 600_000);
});

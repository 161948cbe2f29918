/** Two runs never work on one tree: overlapping runs, stale locks after SIGKILL, PID reuse, other hosts. */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli as runInProcess } from '../../src/cli/main.js';
import { LOCK_FILE_NAME, linuxProcessProbe } from '../../src/tree/lock.js';
import { BIN, FAST, runCli, SLOW } from '../helpers/cli.js';
import { makeTree } from '../helpers/media.js';
import { removeDir, tempDir } from '../helpers/tree.js';
import { checkInvariants } from './invariants.js';
import { waitFor } from '../helpers/wait.js';

const ARGS = ['-y', '--now', '2025-03-01T00:00:00Z', '--settle-time', '0', ...FAST];
const SLOW_ARGS = ['-y', '--now', '2025-03-01T00:00:00Z', '--settle-time', '0', ...SLOW];

function writeLock(root: string, owner: Record<string, unknown>, ageMs = 0): void {
  const file = path.join(root, LOCK_FILE_NAME);
  writeFileSync(
    file,
    JSON.stringify({
      pid: 1,
      host: os.hostname(),
      bootId: linuxProcessProbe.bootId(),
      processStart: '1',
      startedAt: 'then',
      nonce: 'old',
      command: 'x',
      ...owner,
    }),
  );
  const t = new Date(Date.now() - ageMs);
  utimesSync(file, t, t);
}

describe('concurrency', () => {
  let root: string;
  beforeEach(() => {
    root = tempDir();
  });
  afterEach(() => removeDir(root));

  it('a second run while the first holds the tree says who holds it and exits 1 at once; the first finishes', async () => {
    makeTree(root, [{ stamp: '20250115100000', spec: { seconds: 10, size: '640x360', rate: 25 } }]);
    const first = spawn(process.execPath, [BIN, root, ...SLOW_ARGS], {
      stdio: 'ignore',
      env: { ...process.env, TZ: 'UTC' },
    });
    const firstDone = new Promise<number | null>((resolve) => first.on('exit', resolve));
    expect(await waitFor(() => existsSync(path.join(root, LOCK_FILE_NAME)), 20_000)).toBe(true);
    const started = Date.now();
    const second = await runCli([root, ...ARGS]);
    expect(second.exitCode).toBe(1);
    expect(second.stderr).toMatch(
      new RegExp(`another camera-archiver run holds .* \\(pid ${first.pid} on `),
    );
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(await firstDone).toBe(0);
    expect(existsSync(path.join(root, LOCK_FILE_NAME))).toBe(false);
  });

  it('five runs started together: exactly one works, the others refuse; the tree ends correct', async () => {
    // The first clip takes seconds to transcode (x265 medium), so all five runs surely overlap.
    makeTree(root, [
      {
        stamp: '20250115100000',
        thumbnail: true,
        spec: { seconds: 10, size: '640x360', rate: 25 },
      },
      { stamp: '20250115100001', camera: 'REO_back' },
    ]);
    const results = await Promise.all(
      Array.from({ length: 5 }, () => runCli([root, ...SLOW_ARGS])),
    );
    expect(results.filter((r) => r.exitCode === 0)).toHaveLength(1);
    const refused = results.filter((r) => r.exitCode !== 0);
    expect(refused).toHaveLength(4);
    for (const r of refused) {
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/another camera-archiver run holds/);
    }
    expect(
      checkInvariants(root, [
        { rel: '2025/01/15/REO_front_20250115100000.mp4', thumbnail: true, duration: 10 },
        { rel: '2025/01/15/REO_back_20250115100001.mp4', thumbnail: false, duration: 1 },
      ]),
    ).toEqual([]);
    const final = await runCli([root, ...ARGS]);
    expect(final.exitCode).toBe(0);
    expect(existsSync(path.join(root, 'archived/2025/01/15/REO_back_20250115100001.mp4'))).toBe(
      true,
    );
  });

  it('a lock left by a SIGKILLed run is detected as stale and taken over', async () => {
    makeTree(root, [{ stamp: '20250115100000', spec: { seconds: 10, size: '640x360', rate: 25 } }]);
    const victim = spawn(process.execPath, [BIN, root, ...ARGS], {
      detached: true,
      stdio: 'ignore',
      env: { ...process.env, TZ: 'UTC' },
    });
    const gone = new Promise((resolve) => victim.on('exit', resolve));
    expect(await waitFor(() => existsSync(path.join(root, LOCK_FILE_NAME)), 20_000)).toBe(true);
    process.kill(-(victim.pid ?? 0), 'SIGKILL');
    await gone;
    expect(JSON.parse(readFileSync(path.join(root, LOCK_FILE_NAME), 'utf8')).pid).toBe(victim.pid);
    const next = await runCli([root, ...ARGS]);
    expect(next.exitCode, next.stderr).toBe(0);
    expect(next.stderr).toMatch(
      new RegExp(`took over a stale lock \\(pid ${victim.pid} .*that process no longer exists\\)`),
    );
  });

  it('PID reuse: a live PID that started at another time does not hold the lock', async () => {
    writeLock(root, { pid: process.pid, processStart: 'not-our-start-time' });
    const r = await runCli([root, ...ARGS]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/that PID now belongs to another process/);
  });

  it('a lock from before a reboot is stale', async () => {
    writeLock(root, { pid: process.pid, bootId: 'another-boot' });
    const r = await runCli([root, ...ARGS]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/the machine rebooted since/);
  });

  it('another host’s lock (a shared NAS) holds while its heartbeat is fresh, and is taken over once it is not', async () => {
    writeLock(root, { host: 'other-nvr', pid: 77 });
    const held = await runCli([root, ...ARGS]);
    expect(held.exitCode).toBe(1);
    expect(held.stderr).toMatch(/pid 77 on other-nvr/);
    writeLock(root, { host: 'other-nvr', pid: 77 }, 11 * 60_000);
    const taken = await runCli([root, ...ARGS]);
    expect(taken.exitCode, taken.stderr).toBe(0);
    expect(taken.stderr).toMatch(/no heartbeat for 11 min/);
  });

  it('a day folder that changes while the prompt waits is left for the next run; the others are archived as shown', async () => {
    makeTree(root, [
      { stamp: '20250115100000' },
      { stamp: '20250115110000', camera: 'REO_back' },
      { stamp: '20250116100000' },
    ]);
    // A terminal as the run sees one: the prompt is asked, the answer typed after the tree changed.
    const stdin = Object.assign(new PassThrough(), { isTTY: true });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (d: Buffer) => (out += d.toString()));
    stderr.on('data', (d: Buffer) => (err += d.toString()));
    const running = runInProcess(
      [root, '--now', '2025-03-01T00:00:00Z', '--settle-time', '0', '--no-config', ...FAST],
      {
        stdin: stdin as unknown as NodeJS.ReadStream,
        stdout: stdout as unknown as NodeJS.WriteStream,
        stderr: stderr as unknown as NodeJS.WriteStream,
        env: { ...process.env },
        signal: new AbortController().signal,
        commandLine: 'camera-archiver (prompt test)',
      },
    );
    await waitFor(() => err.includes('Proceed?'), 60_000);
    expect(out).toContain('Plan: 3 clip(s) in 2 day folder(s), 3 to transcode');
    // Uploaded late, with its old mtime kept (rsync -t): not in the plan that was shown.
    makeTree(root, [{ stamp: '20250116120000', camera: 'REO_late' }]);
    stdin.write('y\n');
    expect(await running).toBe(0);
    expect(err).toMatch(/2025\/01\/16 changed after the plan was made: left as it is/);
    const day = (d: string): string[] => readdirSync(path.join(root, '2025/01', d)).sort();
    expect(existsSync(path.join(root, '2025/01/15'))).toBe(false); // archived, then pruned
    expect(day('16')).toEqual(['REO_front_20250116100000.mp4', 'REO_late_20250116120000.mp4']);
    expect(readdirSync(path.join(root, 'archived/2025/01/15')).sort()).toEqual([
      'REO_back_20250115110000.mp4',
      'REO_front_20250115100000.mp4',
    ]);
  });
});

/**
 * The recorder's periodic paths with an injected world: every path keeps firing, a failing one is
 * logged and retried (never fatal), intervals come from the config, and the clock watch knows the
 * real time of segments named before the clock was set.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryLog } from '../../src/core/logger.js';
import { buildRecordConfig, DEFAULT_INTERVALS, parseIntervals } from '../../src/record/config.js';
import { Periodic, type TaskCounters } from '../../src/record/periodic.js';
import { Recorder, type RecorderIo } from '../../src/record/recorder.js';
import type { RecorderStatus } from '../../src/record/status.js';
import type { ExitInfo, Spawner } from '../../src/record/supervisor.js';
import { removeDir, tempDir } from '../helpers/tree.js';

const caps = {
  version: 'ffmpeg 5.1',
  lavfMajor: 59,
  lavfMinor: 27,
  hasFpsMode: true,
  hasStatsPeriod: true,
};
const noDevices = { deviceExists: () => false };

/** An "ffmpeg" that runs until asked to stop and writes nothing. */
const idleSpawner: Spawner = () => {
  let stop: (e: ExitInfo) => void = () => undefined;
  const exited = new Promise<ExitInfo>((r) => (stop = r));
  return {
    pid: 4242,
    exited,
    requestStop: () => stop({ code: 0, signal: null }),
    kill: () => stop({ code: null, signal: 'SIGKILL' }),
  };
};

describe('config intervals', () => {
  it('defaults suit months of running; the file shortens any of them; bad keys name themselves', () => {
    expect(parseIntervals(undefined, 'f')).toEqual(DEFAULT_INTERVALS);
    const short = parseIntervals(
      { status: 0.5, storage: '1s', 'restart-backoff': 0.2, restartBackoffMax: '0.5', poll: 0.05 },
      'f',
    );
    expect(short).toMatchObject({
      statusMs: 500,
      storageMs: 1000,
      restartBackoffMs: 200,
      restartBackoffMaxMs: 500,
      pollMs: 50,
    });
    expect(() => parseIntervals({ storag: 1 }, '/etc/c.yaml')).toThrow(
      /\/etc\/c.yaml intervals: unknown option 'storag'/,
    );
    expect(() => parseIntervals({ status: 0 }, 'f')).toThrow(/intervals.status: must be between/);
    expect(() => parseIntervals({ restartBackoff: 5, restartBackoffMax: 1 }, 'f')).toThrow(
      /restartBackoffMax/,
    );
    const { config } = buildRecordConfig(
      {
        path: '/c.json',
        data: { cameras: [{ name: 'a', source: 'lavfi:x' }], intervals: { storage: 2 } },
      },
      { cameras: [] },
      noDevices,
    );
    expect(config.intervals.storageMs).toBe(2000);
  });
});

describe('Periodic', () => {
  it('a failing run is logged, counted and tried again; runs never overlap', async () => {
    const log = memoryLog();
    const counters: TaskCounters = {};
    let n = 0;
    let active = 0;
    let overlapped = false;
    const task = new Periodic(
      'flaky',
      5,
      async () => {
        active++;
        if (active > 1) overlapped = true;
        await new Promise((r) => setTimeout(r, 8));
        active--;
        if (++n % 2 === 0) throw new Error(`boom ${n}`);
      },
      log,
      counters,
    );
    task.start();
    while ((counters.flaky?.runs ?? 0) < 12) await new Promise((r) => setTimeout(r, 5));
    await task.stop();
    expect(overlapped).toBe(false);
    expect(counters.flaky?.failures).toBeGreaterThanOrEqual(5);
    expect(
      log.lines.filter(
        (l) => l.level === 'error' && /flaky: boom \d+ \(tried again/.test(l.message),
      ).length,
    ).toBe(counters.flaky?.failures);
  });
});

describe('Recorder periodic paths (injected world)', () => {
  let root: string;
  beforeEach(() => {
    root = tempDir('rec-periodic-');
  });
  afterEach(() => removeDir(root));

  /** One RTSP camera (never reached) with the held-segment retry, status and poll shortened. */
  function oneCameraConfig(): ReturnType<typeof buildRecordConfig> {
    return buildRecordConfig(
      {
        path: '/c.json',
        data: {
          cameras: [{ name: 'cam', source: 'rtsp://127.0.0.1:1/x' }],
          intervals: { heldRetry: 0.01, status: 0.01, poll: 0.01 },
        },
      },
      { root, cameras: [] },
      noDevices,
    );
  }

  /** That camera's staging folder, made. */
  function oneCameraStaging(): string {
    const staging = path.join(root, '.incoming/cam');
    mkdirSync(staging, { recursive: true });
    return staging;
  }

  function io(
    overrides: Partial<RecorderIo> = {},
  ): RecorderIo & { log: ReturnType<typeof memoryLog> } {
    const log = memoryLog();
    return {
      ffmpegPath: 'ffmpeg',
      caps,
      spawn: idleSpawner,
      tools: {
        ffmpeg: async () => ({ exitCode: 0, stderr: '' }),
        probe: async () => ({ kind: 'video', duration: 2 }),
      },
      probeEncoder: async () => ({ exitCode: 0, stderr: '' }),
      hasDevice: () => false,
      statfs: async () => ({ bsize: 4096, blocks: 1000, bfree: 500, bavail: 500 }),
      reclaim: async () => ({ removed: [], freedBytes: 0, shortfall: 0 }) as never,
      lockCamera: async () => ({ release: async () => undefined }),
      clock: () => new Date(),
      log,
      ...overrides,
    } as RecorderIo & { log: ReturnType<typeof memoryLog> };
  }

  it('keeps checking storage far past the old crash point; statfs and status failures are retried, never fatal', async () => {
    const { config } = buildRecordConfig(
      {
        path: '/c.json',
        data: {
          cameras: [{ name: 'gate', source: 'rtsp://admin:pw1234@127.0.0.1:1/x' }],
          intervals: {
            storage: 0.01,
            status: 0.01,
            statusFlush: 0.01,
            poll: 0.01,
            heldRetry: 0.01,
          },
        },
      },
      { root, cameras: [] },
      noDevices,
    );
    let calls = 0;
    const world = io({
      statfs: async () => {
        if (++calls % 3 === 0) throw new Error('EIO: statfs failed');
        return { bsize: 4096, blocks: 1000, bfree: 500, bavail: 500 };
      },
    });
    const stop = new AbortController();
    const recorder = new Recorder(config, world);
    const done = recorder.run({ stop: stop.signal });
    const statusFile = path.join(root, '.record-status.json');
    const read = (): RecorderStatus | undefined => {
      try {
        return JSON.parse(readFileSync(statusFile, 'utf8')) as RecorderStatus;
      } catch {
        return undefined;
      }
    };
    // Before the fix, the first scheduled check recursed until the stack overflowed.
    const want = ['storage', 'status', 'statusFlush', 'poll', 'watchdog', 'heldRetry'];
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const p = read()?.periodic ?? {};
      if (want.every((k) => (p[k]?.runs ?? 0) >= 10) && calls >= 12) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    // A status write that fails (the root made unwritable for a moment) is retried too.
    // Held until the failure is logged, not for a guessed time: a loaded host may be slow.
    // The writer's own temporary may exist for a moment: take the name once it is free.
    for (;;) {
      try {
        mkdirSync(`${statusFile}.${process.pid}.tmp`);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        await new Promise((r) => setTimeout(r, 2));
      }
    }
    writeFileSync(path.join(`${statusFile}.${process.pid}.tmp`, 'x'), '');
    const failed = (): boolean =>
      world.log.lines.some((l) => l.message.includes('cannot write the status file'));
    while (!failed() && Date.now() < deadline + 20_000) await new Promise((r) => setTimeout(r, 20));
    removeDir(`${statusFile}.${process.pid}.tmp`);
    // …and until a later write succeeds again.
    const runsAfter = read()?.periodic?.['status']?.runs ?? 0;
    while ((read()?.periodic?.['status']?.runs ?? 0) <= runsAfter && Date.now() < deadline + 40_000)
      await new Promise((r) => setTimeout(r, 20));
    stop.abort();
    await done;
    const status = read();
    for (const k of want) expect(status?.periodic?.[k]?.runs, k).toBeGreaterThanOrEqual(10);
    expect(world.log.lines.some((l) => l.message.includes('EIO: statfs failed'))).toBe(true);
    expect(world.log.lines.some((l) => l.message.includes('cannot write the status file'))).toBe(
      true,
    );
    expect(status?.state).toBe('stopped');
    expect((statSync(statusFile).mode & 0o777).toString(8)).toBe('600');
  });

  it('a clock before 2000: segments are held, then renamed to their real time once the clock is set', async () => {
    let wall = Date.UTC(1970, 0, 1, 0, 0, 30);
    let mono = 1000;
    const staging = oneCameraStaging();
    const { config } = oneCameraConfig();
    const world = io({ clock: () => new Date(wall), monotonic: () => mono });
    const stop = new AbortController();
    const done = new Recorder(config, world).run({ stop: stop.signal });
    await new Promise((r) => setTimeout(r, 50));
    // A segment ffmpeg named at 00:00:20 by the unset clock; it is "finished" (listed) later.
    writeFileSync(path.join(staging, 'cam_19700101000020.mp4'), 'video');
    const statusFile = path.join(root, '.record-status.json');
    await new Promise((r) => setTimeout(r, 50));
    expect(world.log.lines.some((l) => /clock reads 1970-01-01.*not set/.test(l.message))).toBe(
      true,
    );
    // NTP steps the clock to 2025-03-01 12:00:00 while monotonic time goes on by 5 s.
    mono += 5000;
    wall = Date.UTC(2025, 2, 1, 12, 0, 0);
    await new Promise((r) => setTimeout(r, 50));
    stop.abort();
    await done;
    const status = JSON.parse(readFileSync(statusFile, 'utf8')) as RecorderStatus;
    expect(status.clock).toBe('ok');
    // Recovered at ffmpeg's exit and named by its real time: 10 s before the unset clock's
    // 00:00:30, which monotonic time puts 15 s before the set clock's 12:00:00.
    expect(existsSync(path.join(root, '2025/03/01/cam_20250301115945.mp4'))).toBe(true);
    expect(readdirSync(staging).filter((n) => n.endsWith('.mp4'))).toEqual([]);
    expect(world.log.lines.some((l) => /staging is empty/.test(l.message))).toBe(true);
    expect(
      world.log.lines.some((l) => /clock is set now \(it stepped \d+ s\)/.test(l.message)),
    ).toBe(true);
  });

  it('a clock never set: the segment stays in staging, and the status and the last log line say so', async () => {
    const staging = oneCameraStaging();
    const { config } = oneCameraConfig();
    writeFileSync(path.join(staging, 'cam_19700101000020.mp4'), 'video');
    const world = io({ clock: () => new Date(Date.UTC(1970, 0, 1, 0, 1)) });
    const stop = new AbortController();
    const done = new Recorder(config, world).run({ stop: stop.signal });
    const statusFile = path.join(root, '.record-status.json');
    let status: RecorderStatus | undefined;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      try {
        status = JSON.parse(readFileSync(statusFile, 'utf8')) as RecorderStatus;
      } catch {
        status = undefined;
      }
      if (status?.held?.length) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(status?.clock).toBe('unset');
    expect(status?.held?.[0]?.reason).toMatch(/clock that is not set/);
    stop.abort();
    await done;
    expect(readdirSync(staging)).toContain('cam_19700101000020.mp4');
    const last = world.log.lines.at(-1);
    expect(last?.level).toBe('error');
    expect(last?.message).toMatch(
      /1 segment kept in staging .*cam_19700101000020\.mp4 \(named 19700101 by a clock that is not set/,
    );
    expect(world.log.lines.some((l) => /staging is empty/.test(l.message))).toBe(false);
  });
});

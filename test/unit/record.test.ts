import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, UsageError } from '../../src/core/errors.js';
import { memoryLog } from '../../src/core/logger.js';
import type { ReclaimRequest } from '../../src/retention/reclaim.js';
import {
  buildRecordConfig,
  parseCameraFlag,
  parseSource,
  recordSettings,
  redactUrl,
} from '../../src/record/config.js';
import {
  buildRecordArgs,
  buildSnapshotArgs,
  progressParser,
  segmentPattern,
} from '../../src/record/ffmpeg-args.js';
import { continuityGaps, ListTail, parseSegmentLine } from '../../src/record/segment-list.js';
import { formatStatus, type RecorderStatus } from '../../src/record/status.js';
import {
  bytesToReach,
  diskUsage,
  StorageGuard,
  type DiskStats,
} from '../../src/record/storage-guard.js';
import {
  backoffSeconds,
  CameraSupervisor,
  describeExit,
  type ExitInfo,
  type SegmentSink,
  type Spawner,
} from '../../src/record/supervisor.js';
import { removeDir, tempDir } from '../helpers/tree.js';

const noDevices = { deviceExists: () => false };
const caps = { lavfMajor: 59, hasFpsMode: true, hasStatsPeriod: true };

describe('record config', () => {
  it('parses the three source kinds and hides RTSP passwords', () => {
    expect(parseSource('lavfi:testsrc2=size=320x240', 'x')).toEqual({
      kind: 'lavfi',
      input: 'testsrc2=size=320x240',
    });
    expect(parseSource('rtsp://u:secret@10.0.0.2:554/s1', 'x').kind).toBe('rtsp');
    expect(parseSource('/dev/v4l/by-id/usb-cam-video-index0', 'x').kind).toBe('v4l2');
    expect(redactUrl('rtsp://admin:secret@cam/s1')).toBe('rtsp://admin:***@cam/s1');
    expect(() => parseSource('http://cam/mjpeg', 'x')).toThrow(/unsupported source/);
    expect(() => parseSource('rtsp://', 'x')).toThrow(UsageError);
    expect(() => parseSource('front', 'x')).toThrow(/unknown source/);
  });

  it('checks NAME=SOURCE and camera names (they become file-name prefixes)', () => {
    expect(parseCameraFlag('front=rtsp://cam/s').name).toBe('front');
    expect(() => parseCameraFlag('rtsp://cam/s')).toThrow(/NAME=SOURCE/);
    expect(() => parseCameraFlag('a/b=lavfi:testsrc')).toThrow(/camera name/);
    expect(() => parseCameraFlag('cam_20240101120000=lavfi:testsrc')).toThrow(/camera name/);
  });

  it('defaults: copy for RTSP, encode for lavfi, 30-min segments, 80/90 %', () => {
    const { config } = buildRecordConfig(
      undefined,
      { root: '/r', cameras: ['a=rtsp://cam/s', 'b=lavfi:testsrc2'] },
      noDevices,
    );
    expect(config.cameras.map((c) => [c.name, c.mode, c.segmentSeconds, c.audio])).toEqual([
      ['a', 'copy', 1800, 'aac'],
      ['b', 'encode', 1800, 'none'],
    ]);
    expect(config.storage).toEqual({ warnPercent: 80, blockPercent: 90 });
    expect(config.outputRoot).toBe('/r/archived');
    expect(config.trashRoot).toBe('/r/.deleted');
  });

  it('reads a YAML-shaped config with per-camera options; a camera segmentTime beats the flag', () => {
    const data = {
      root: 'cams',
      segmentTime: '10m',
      storage: { warnPercent: 70, blockPercent: 85 },
      cameras: [
        { name: 'front', source: 'rtsp://u:p@cam/s', 'rtsp-transport': 'udp', rtspTimeout: '5s' },
        {
          name: 'desk',
          source: 'lavfi:testsrc2',
          segmentTime: '1m',
          encoder: 'software',
          codec: 'hevc',
          quality: 30,
        },
      ],
    };
    const { config } = buildRecordConfig(
      { path: '/etc/x/rec.yaml', data },
      { cameras: [], segmentTime: '5m' },
      noDevices,
    );
    expect(config.root).toBe('/etc/x/cams');
    expect(config.storage).toEqual({ warnPercent: 70, blockPercent: 85 });
    expect(config.cameras[0]).toMatchObject({
      rtspTransport: 'udp',
      rtspTimeoutSeconds: 5,
      segmentSeconds: 300,
    });
    expect(config.cameras[1]).toMatchObject({ segmentSeconds: 60, codec: 'hevc', quality: 30 });
  });

  it('reads record settings from a `record:` section of the shared config, ignoring other commands’ keys', () => {
    const data = {
      age: 30,
      'notify-url': 'x',
      record: { cameras: [{ name: 'a', source: 'lavfi:testsrc' }], 'segment-time': '2m' },
    };
    expect(recordSettings(data)).toEqual({
      cameras: [{ name: 'a', source: 'lavfi:testsrc' }],
      segmentTime: '2m',
    });
    const { config } = buildRecordConfig(
      { path: '/c.yaml', data },
      { root: '/r', cameras: [] },
      noDevices,
    );
    expect(config.cameras[0]?.segmentSeconds).toBe(120);
  });

  it.each([
    [{ cameras: ['a=lavfi:x', 'a=lavfi:y'] }, /used twice/],
    [{ cameras: ['a=/dev/video7'] }, /does not exist.*detect/],
    [
      { cameras: ['a=lavfi:x'], warnPercent: 90, blockPercent: 90 },
      /warnPercent \(90\) must be below blockPercent \(90\)/,
    ],
    [{ cameras: ['a=lavfi:x'], blockPercent: 120 }, /percentage/],
    [{ cameras: ['a=lavfi:x'], segmentTime: '1s' }, /between 2s and 24h/],
    [{ cameras: [] }, /no cameras/],
  ])('refuses bad settings up front: %j', (flags, message) => {
    expect(() => buildRecordConfig(undefined, { root: '/r', ...flags }, noDevices)).toThrow(
      message,
    );
  });

  it('names the file, the camera and the key of a bad config entry', () => {
    const bad =
      (camera: Record<string, unknown>): (() => unknown) =>
      () =>
        buildRecordConfig(
          { path: 'c.yaml', data: { cameras: [camera] } },
          { root: '/r', cameras: [] },
          noDevices,
        );
    expect(bad({ name: 'a', source: 'lavfi:x', colour: 'red' })).toThrow(
      /c.yaml: cameras\[0\]: unknown option 'colour'/,
    );
    expect(bad({ name: 'a', source: 'lavfi:x', mode: 'copy' })).toThrow(
      /lavfi source .* cannot be recorded with mode copy/,
    );
    expect(bad({ name: 'a', source: 'rtsp://cam/s', size: '640x480' })).toThrow(
      /only apply to V4L2/,
    );
    expect(bad({ name: 'a', source: 'rtsp://cam/s', mode: 'fast' })).toThrow(ConfigError);
    expect(bad({ source: 'rtsp://cam/s' })).toThrow(/needs a name/);
    expect(() =>
      buildRecordConfig(
        undefined,
        { root: '/r', cameras: ['a=/dev/video0', 'b=/dev/video0'] },
        { deviceExists: () => true },
      ),
    ).toThrow(/both use \/dev\/video0/);
  });
});

describe('record ffmpeg arguments', () => {
  const target = {
    stagingDir: '/r/.incoming/front',
    listFile: '/r/.incoming/front/.segments-1.csv',
  };

  it('RTSP copy: tcp, socket timeout in µs, fMP4 segments on the clock, CSV list', () => {
    const { config } = buildRecordConfig(
      undefined,
      { root: '/r', cameras: ['front=rtsp://u:p@cam/s'], segmentTime: '10m' },
      noDevices,
    );
    const camera = config.cameras[0];
    if (!camera) throw new Error('no camera');
    const args = buildRecordArgs(camera, undefined, target, caps).join(' ');
    expect(args).toContain(
      '-rtsp_transport tcp -timeout 10000000 -i rtsp://u:p@cam/s -map 0:v:0 -c:v copy',
    );
    expect(args).toContain(
      '-f segment -segment_time 600 -segment_atclocktime 1 -reset_timestamps 1 -strftime 1',
    );
    expect(args).toContain('movflags=+frag_keyframe+empty_moov+default_base_moof');
    expect(args).toContain(
      '-segment_list /r/.incoming/front/.segments-1.csv -segment_list_type csv /r/.incoming/front/front_%Y%m%d%H%M%S.mp4',
    );
    expect(args).not.toContain('-nostdin');
    expect(buildRecordArgs(camera, undefined, target, { ...caps, lavfMajor: 58 })).toContain(
      '-stimeout',
    );
  });

  it('encode forces keyframes on a grid and lavfi is paced with -re', () => {
    const { config } = buildRecordConfig(
      undefined,
      { root: '/r', cameras: ['front=lavfi:testsrc2'] },
      noDevices,
    );
    const camera = config.cameras[0];
    if (!camera) throw new Error('no camera');
    const profile = {
      encoder: 'software' as const,
      codec: 'h264' as const,
      quality: 23,
      preset: 'veryfast',
      audio: 'none' as const,
      hwDevice: '',
    };
    const args = buildRecordArgs(camera, profile, target, caps);
    expect(args.join(' ')).toContain(
      '-re -f lavfi -i testsrc2 -map 0:v:0 -c:v libx264 -preset veryfast',
    );
    expect(args).toContain('expr:gte(t,n_forced*2)');
    expect(args).toContain('-an');
    expect(buildSnapshotArgs(camera, '/tmp/o.jpg', caps).join(' ')).toMatch(
      /^-hide_banner .*-f lavfi -i testsrc2 .*-frames:v 1 .*\/tmp\/o.jpg$/,
    );
  });

  it('doubles % in the staging path (strftime would expand it)', () => {
    expect(segmentPattern('/data/100%/.incoming/a', 'a')).toBe(
      '/data/100%%/.incoming/a/a_%Y%m%d%H%M%S.mp4',
    );
  });

  it('parses -progress blocks, N/A values and padded numbers', () => {
    const feed = progressParser();
    expect(feed('frame=  250')).toBeUndefined();
    feed('out_time_us=10005333');
    feed('total_size=N/A');
    feed('speed= 1.01x');
    expect(feed('progress=continue')).toEqual({
      frame: 250,
      outTimeUs: 10005333,
      speed: '1.01x',
      end: false,
    });
    feed('out_time_us=N/A');
    expect(feed('progress=end')).toEqual({
      frame: undefined,
      outTimeUs: undefined,
      speed: undefined,
      end: true,
    });
  });
});

describe('segment list', () => {
  it('parses CSV lines, quoted names and rejects garbage', () => {
    expect(parseSegmentLine('cam1_20240101235956.mp4,1.000000,3.000000')).toEqual({
      name: 'cam1_20240101235956.mp4',
      start: 1,
      end: 3,
    });
    expect(parseSegmentLine('"a,""b"".mp4",0.5,1.5')).toEqual({
      name: 'a,"b".mp4',
      start: 0.5,
      end: 1.5,
    });
    expect(parseSegmentLine('')).toBeUndefined();
    expect(parseSegmentLine('x.mp4,abc,1')).toBeUndefined();
    expect(parseSegmentLine('x.mp4,2,1')).toBeUndefined();
  });

  it('finds gaps between consecutive entries of one run', () => {
    const e = (
      name: string,
      start: number,
      end: number,
    ): { name: string; start: number; end: number } => ({ name, start, end });
    expect(continuityGaps([e('a', 0, 3.021406), e('b', 3.021406, 5), e('c', 5, 7)])).toEqual([]);
    expect(continuityGaps([e('a', 0, 2), e('b', 4, 6)])).toEqual([{ after: 'a', gap: 2 }]);
  });

  it('tails a growing file line by line and starts over when ffmpeg truncates it', async () => {
    const dir = tempDir('rec-tail-');
    try {
      const file = path.join(dir, 'l.csv');
      const tail = new ListTail(file);
      expect(await tail.read()).toEqual([]);
      writeFileSync(file, 'a.mp4,0,2\nb.mp4,2');
      expect(await tail.read()).toEqual(['a.mp4,0,2']);
      appendFileSync(file, ',4\n');
      expect(await tail.read()).toEqual(['b.mp4,2,4']);
      writeFileSync(file, 'c.mp4,0,1\n');
      expect(await tail.read()).toEqual(['c.mp4,0,1']);
    } finally {
      removeDir(dir);
    }
  });
});

describe('storage guard', () => {
  const stats = (usedPercent: number): DiskStats => ({
    bsize: 1024,
    blocks: 1000,
    bfree: 1000 - usedPercent * 10,
    bavail: 1000 - usedPercent * 10,
  });
  const thresholds = { warnPercent: 80, blockPercent: 90 };

  it('computes usage like df and the bytes to free', () => {
    expect(diskUsage({ bsize: 4096, blocks: 100, bfree: 30, bavail: 25 }).usedPercent).toBe(74);
    expect(bytesToReach(diskUsage(stats(95)), 85)).toBe(100 * 1024);
    expect(bytesToReach(diskUsage(stats(50)), 85)).toBe(0);
  });

  it('warns at 80 %, not repeating within the interval', async () => {
    const log = memoryLog();
    const guard = new StorageGuard({
      root: '/r',
      outputRoot: '/r/archived',
      trashRoot: '/r/.deleted',
      thresholds,
      statfs: async () => stats(82),
      reclaim: async () => {
        throw new Error('must not reclaim');
      },
      log,
      clock: () => new Date('2025-01-01T00:00:00Z'),
      protectSeconds: 3600,
    });
    expect((await guard.check()).state).toBe('warn');
    expect((await guard.check()).state).toBe('warn');
    expect(log.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
  });

  it('at 90 % asks the retention engine to free down to 85 %, protecting the newest hour', async () => {
    const log = memoryLog();
    let used = 93;
    const requests: ReclaimRequest[] = [];
    const guard = new StorageGuard({
      root: '/r',
      outputRoot: '/r/archived',
      trashRoot: '/r/.deleted',
      thresholds,
      statfs: async () => stats(used),
      reclaim: async (r) => {
        requests.push(r);
        used = 84;
        return {
          freedBytes: 90 * 1024,
          removed: [{ path: '/r/.deleted/old.mp4', bytes: 90 * 1024, reason: 'oldest trash' }],
          shortfall: false,
        };
      },
      log,
      clock: () => new Date('2025-01-01T12:00:00Z'),
      protectSeconds: 3600,
    });
    const status = await guard.check();
    expect(status).toMatchObject({ state: 'reclaimed', usedPercent: 84 });
    expect(requests[0]).toMatchObject({
      bytesToFree: 80 * 1024,
      root: '/r',
      outputRoot: '/r/archived',
      trashRoot: '/r/.deleted',
    });
    expect(requests[0]?.protectNewerThan.toISOString()).toBe('2025-01-01T11:00:00.000Z');
    expect(log.lines.some((l) => l.message.includes('removed /r/.deleted/old.mp4'))).toBe(true);
  });

  it('says so loudly when space cannot be made, and keeps going', async () => {
    const log = memoryLog();
    const guard = new StorageGuard({
      root: '/r',
      outputRoot: '/r/a',
      trashRoot: '/r/t',
      thresholds,
      statfs: async () => stats(97),
      reclaim: async () => ({ freedBytes: 0, removed: [], shortfall: true }),
      log,
      clock: () => new Date(),
      protectSeconds: 3600,
    });
    expect((await guard.check()).state).toBe('full');
    expect((await guard.check()).state).toBe('full');
    expect(
      log.lines.filter((l) => l.level === 'error' && l.message.includes('recording continues')),
    ).toHaveLength(2);
  });
});

describe('status text', () => {
  const doc: RecorderStatus = {
    pid: 42,
    host: 'h',
    startedAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:10:00.000Z',
    root: '/r',
    state: 'running',
    nameTimeZone: 'UTC',
    cameras: [
      {
        name: 'front',
        source: 'rtsp://u:***@cam/s',
        state: 'recording',
        currentFile: 'front_20250101000900.mp4',
        currentSince: '2025-01-01T00:09:00.000Z',
        recordingSince: '2025-01-01T00:00:00.000Z',
        segmentsWritten: 3,
        restarts: 1,
        lastError: 'ffmpeg exited with code 0',
      },
    ],
  };
  it('shows what each camera does, or that the recorder is gone', () => {
    const now = new Date('2025-01-01T00:10:30Z');
    const text = formatStatus(doc, now, true);
    expect(text).toContain(
      'camera front: recording, writing front_20250101000900.mp4 (1m30s), ffmpeg up 10m30s, 3 segments, 1 restart',
    );
    expect(text).toContain('last error: ffmpeg exited with code 0');
    expect(formatStatus(doc, now, false)).toContain('recorder is NOT running');
  });
});

describe('supervisor', () => {
  it('backs off about 1, 5, 10 s up to a minute', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 50].map(backoffSeconds)).toEqual([1, 5, 10, 20, 30, 60, 60, 60]);
  });

  it('names the cause of an exit, exit 0 included', () => {
    expect(describeExit({ code: 0, signal: null }, undefined)).toMatch(
      /code 0 \(camera disconnected/,
    );
    expect(describeExit({ code: 1, signal: null }, 'Connection refused')).toBe(
      'ffmpeg exited with code 1: Connection refused',
    );
    expect(describeExit({ code: null, signal: 'SIGKILL' }, undefined)).toMatch(/killed by SIGKILL/);
  });

  let dir: string;
  beforeEach(() => {
    dir = tempDir('rec-sup-');
  });
  afterEach(() => removeDir(dir));

  /** A fake ffmpeg: writes `segments` files + list lines, then exits with `exit` (or hangs). */
  function fakeFfmpeg(plan: { segments: string[]; exit?: ExitInfo }[]): {
    spawn: Spawner;
    stops: string[];
  } {
    const stops: string[] = [];
    let run = 0;
    const spawn: Spawner = (args) => {
      const step = plan[Math.min(run++, plan.length - 1)] ?? { segments: [] };
      const listFile = args[args.indexOf('-segment_list') + 1] ?? '';
      let resolveExit: (e: ExitInfo) => void = () => undefined;
      const exited = new Promise<ExitInfo>((r) => (resolveExit = r));
      setTimeout(() => {
        let t = 0;
        for (const name of step.segments) {
          writeFileSync(path.join(dir, name), 'data');
          appendFileSync(listFile, `${name},${t},${t + 2}\n`);
          t += 2;
        }
        if (step.exit) resolveExit(step.exit);
      }, 20);
      return {
        pid: 1000 + run,
        exited,
        requestStop: () => {
          stops.push('q');
          resolveExit({ code: 255, signal: null });
        },
        kill: (s) => {
          stops.push(s);
          resolveExit({ code: null, signal: s });
        },
      };
    };
    return { spawn, stops };
  }

  function sink(moved: string[]): SegmentSink {
    return {
      finish: async (staged) => {
        moved.push(path.basename(staged));
        return { file: path.join('/tree', path.basename(staged)), bytes: 4 };
      },
      recoverAll: async () => [],
    };
  }

  it('restarts after any exit (0 included), logs the cause, and backs off', async () => {
    mkdirSync(dir, { recursive: true });
    const log = memoryLog();
    const moved: string[] = [];
    const delays: number[] = [];
    const { spawn } = fakeFfmpeg([
      { segments: ['cam_20250101000000.mp4'], exit: { code: 0, signal: null } },
      { segments: [], exit: { code: 1, signal: null } },
      { segments: ['cam_20250101000100.mp4'] },
    ]);
    const stop = new AbortController();
    const sup = new CameraSupervisor({
      name: 'cam',
      source: 'lavfi:x',
      stagingDir: dir,
      buildArgs: (listFile) => ['-segment_list', listFile, 'out'],
      spawn,
      sink: sink(moved),
      log,
      clock: Date.now,
      sleep: async (ms) => {
        delays.push(ms);
        if (delays.length === 2) setTimeout(() => stop.abort('SIGINT'), 200);
      },
      stallMs: 60_000,
      pollMs: 10,
    });
    await sup.run(stop.signal);
    expect(delays).toEqual([1000, 5000]);
    expect(moved).toEqual(['cam_20250101000000.mp4', 'cam_20250101000100.mp4']);
    expect(sup.status).toMatchObject({ restarts: 2, segmentsWritten: 2, state: 'stopped' });
    const restarts = log.lines.filter((l) => l.message.includes('restart #'));
    expect(restarts[0]?.message).toMatch(/exited with code 0 .*restart #1 in 1 s/);
    expect(restarts[1]?.message).toMatch(/exited with code 1.*restart #2 in 5 s/);
    expect(
      log.lines.some((l) =>
        l.message.includes('about 58 s not recorded before cam_20250101000100.mp4'),
      ),
    ).toBe(true);
  });

  it('the watchdog stops an ffmpeg whose output stopped growing, then restarts it', async () => {
    const log = memoryLog();
    const { spawn, stops } = fakeFfmpeg([{ segments: [] }]);
    const stop = new AbortController();
    const sup = new CameraSupervisor({
      name: 'cam',
      source: 'rtsp://cam',
      stagingDir: dir,
      buildArgs: (listFile) => ['-segment_list', listFile],
      spawn,
      sink: sink([]),
      log,
      clock: Date.now,
      sleep: async () => stop.abort('SIGTERM'),
      stallMs: 150,
      pollMs: 10,
    });
    await sup.run(stop.signal);
    expect(stops[0]).toBe('q');
    expect(sup.status.lastRestartCause).toMatch(/watchdog: no progress and no output growth/);
  });
});

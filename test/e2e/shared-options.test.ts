/**
 * The options every command shares mean the same thing in each (README, "Options every command
 * shares"): every command runs with one config file and one environment file, as the systemd units
 * do, both setting --metrics-file, --notify-url (a real HTTP server on loopback), --notify-secret,
 * --json, -v and a log file; each command honours what applies to it and ignores the rest, and
 * the same options typed on the command line of a command they do not apply to are usage errors.
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseMetricsText } from '../../src/core/metrics.js';
import { FAST, runCli, startCli } from '../helpers/cli.js';
import { makeTree } from '../helpers/media.js';
import { metricValue } from '../helpers/metrics.js';
import { listTree, removeDir, tempDir } from '../helpers/tree.js';

const NOW = ['--now', '2025-03-01T00:00:00Z'];
const SECRET = 'shared-secret';
const CAMERA = 'demo=lavfi:testsrc2=size=64x48:rate=5';

interface Delivery {
  event: string;
  body: string;
  signature: string | undefined;
  timestamp: string | undefined;
}

interface Hook {
  url: string;
  deliveries: Delivery[];
  close(): Promise<void>;
}

async function startHook(): Promise<Hook> {
  const deliveries: Delivery[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const header = (name: string): string | undefined => {
        const v = req.headers[name];
        return Array.isArray(v) ? v[0] : v;
      };
      deliveries.push({
        event: (JSON.parse(body) as { event: string }).event,
        body,
        signature: header('x-camera-archiver-signature'),
        timestamp: header('x-camera-archiver-timestamp'),
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    deliveries,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Reads KEY=VALUE lines the way systemd's EnvironmentFile= does (comments and blanks skipped). */
function readEnvironmentFile(file: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m?.[1]) env[m[1]] = m[2] ?? '';
  }
  return env;
}

function signedBy(secret: string, d: Delivery): boolean {
  const expected = createHmac('sha256', secret).update(`${d.timestamp ?? ''}.${d.body}`);
  return d.signature === `sha256=${expected.digest('hex')}`;
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

async function waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('options every command shares (e2e)', () => {
  let dir: string;
  let hook: Hook;
  beforeEach(async () => {
    dir = tempDir('shared-');
    hook = await startHook();
  });
  afterEach(async () => {
    await hook.close();
    removeDir(dir);
  });

  it('one config file and one environment file: each command honours what applies to it and ignores the rest', async () => {
    const tree = path.join(dir, 'cam');
    const recordings = path.join(dir, 'rec');
    const metrics = path.join(dir, 'metrics', 'camera-archiver.prom');
    const cleanupMetrics = path.join(dir, 'metrics', 'camera-archiver-cleanup.prom');
    const recorderLog = path.join(dir, 'recorder.log');
    makeTree(tree, [{ stamp: '20250215120000' }]); // 14 days old: archived with age 7
    const gatePort = await closedPort(); // a camera that never answers: record's offline event
    const config = path.join(dir, 'config.yaml');
    writeFileSync(
      config,
      [
        'age: 7',
        `metrics-file: ${metrics}`,
        'notify-url:',
        `  - ${hook.url}`,
        'record:',
        `  log-file: ${recorderLog}`,
        '  cameras:',
        '    - name: demo',
        '      source: lavfi:testsrc2=size=64x48:rate=5',
        '    - name: gate',
        `      source: rtsp://127.0.0.1:${gatePort}/stream`,
        '',
      ].join('\n'),
    );
    const environmentFile = path.join(dir, 'environment');
    writeFileSync(
      environmentFile,
      [
        '# /etc/camera-archiver/environment, read by every unit',
        `CAMERA_ARCHIVER_CONFIG=${config}`,
        `CAMERA_ARCHIVER_NOTIFY_SECRET=${SECRET}`,
        'CAMERA_ARCHIVER_JSON=true',
        'CAMERA_ARCHIVER_VERBOSE=1',
        'CAMERA_ARCHIVER_SEGMENT_TIME=2s',
        'CAMERA_ARCHIVER_TIMEOUT=20',
        '',
      ].join('\n'),
    );
    const env = readEnvironmentFile(environmentFile);
    const run = (args: string[]) => runCli(args, { env });
    const events = (): string[] => hook.deliveries.map((d) => d.event);
    mkdirSync(path.dirname(metrics));

    // archive, dry run: the plan as JSON; a dry run writes no metrics and sends nothing.
    const plan = await run([tree, '--dry-run', ...NOW, ...FAST]);
    expect(plan.exitCode, plan.stderr).toBe(0);
    expect(JSON.parse(plan.stdout)).toMatchObject({ dryRun: true, counts: { transcode: 1 } });
    expect(existsSync(metrics)).toBe(false);
    expect(events()).toEqual([]);

    // archive, real run: JSON summary, metrics, one signed event; -v from the environment.
    const real = await run([tree, '-y', ...NOW, ...FAST]);
    expect(real.exitCode, real.stderr).toBe(0);
    expect(JSON.parse(real.stdout)).toMatchObject({ command: 'archive', archived: 1 });
    expect(real.stderr).toContain(`metrics written to ${metrics}`); // a verbose line
    const archiveMetrics = readFileSync(metrics, 'utf8');
    expect(() => parseMetricsText(archiveMetrics)).not.toThrow();
    expect(metricValue(archiveMetrics, 'camera_archiver_last_run_success', { root: tree })).toBe(1);
    await waitFor('archive event', () => events().length === 1, 10_000);
    expect(events()).toEqual(['archive.finished']);

    // --cleanup, dry run then real run: its own metrics file and event, JSON on stdout.
    const cleanupPlan = await run([tree, '--cleanup', '--dry-run', ...NOW]);
    expect(cleanupPlan.exitCode, cleanupPlan.stderr).toBe(0);
    expect(JSON.parse(cleanupPlan.stdout)).toMatchObject({ command: 'cleanup', dryRun: true });
    expect(existsSync(cleanupMetrics)).toBe(false);
    const cleanup = await run([tree, '--cleanup', '-y', ...NOW]);
    expect(cleanup.exitCode, cleanup.stderr).toBe(0);
    expect(JSON.parse(cleanup.stdout)).toMatchObject({ command: 'cleanup', dryRun: false });
    const cleanupText = readFileSync(cleanupMetrics, 'utf8');
    expect(
      metricValue(cleanupText, 'camera_archiver_cleanup_last_run_exit_code', { root: tree }),
    ).toBe(0);
    await waitFor('cleanup event', () => events().length === 2, 10_000);
    expect(events()).toEqual(['archive.finished', 'cleanup.finished']);
    expect(hook.deliveries.every((d) => signedBy(SECRET, d))).toBe(true);

    // Reading and probing commands ignore the report options of the file and the environment.
    const written = statSync(metrics).mtimeMs;
    const stats = await run(['stats', tree, ...NOW]);
    expect(stats.exitCode, stats.stderr).toBe(0);
    expect(JSON.parse(stats.stdout)).toHaveProperty('cameras'); // --json from the environment
    const snapshotFile = path.join(dir, 'front.jpg');
    const snapshot = await run(['snapshot', '--camera', CAMERA, snapshotFile]);
    expect(snapshot.exitCode, snapshot.stderr).toBe(0);
    expect(snapshot.stdout.trim()).toBe(snapshotFile);
    expect(statSync(snapshotFile).size).toBeGreaterThan(0);
    const detect = await run(['detect']);
    expect([0, 1], detect.stderr).toContain(detect.exitCode); // no V4L2 camera here: exit 1
    for (const r of [stats, snapshot, detect])
      expect(r.stderr).not.toMatch(/Unknown argument|does not apply|invalid|must be/);

    // record: the cameras and log file of its section, the segment time of the environment,
    // --json for --status, the shared notify-url and secret for its camera events; it writes
    // no metrics file (it has no --metrics-file).
    const recorder = startCli(['record', recordings], { env });
    await waitFor(
      'a recorded segment and the gate camera offline',
      () =>
        existsSync(recordings) &&
        listTree(recordings).some((f) => /\/demo_\d{14}\.mp4$/.test(f)) &&
        events().includes('record.camera-offline'),
      40_000,
    );
    const status = await run(['record', recordings, '--status']);
    expect(status.exitCode, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ alive: true });
    recorder.kill('SIGINT');
    const stopped = await recorder;
    expect(stopped.exitCode, String(stopped.stderr)).toBe(0);
    expect(readFileSync(recorderLog, 'utf8')).toContain('demo');
    expect(existsSync(path.join(recordings, 'recorder.log'))).toBe(false);

    // Nothing else reported: the same metrics files; the two runs' events, then record's own.
    expect(statSync(metrics).mtimeMs).toBe(written);
    expect(listTree(path.dirname(metrics))).toEqual([
      'camera-archiver-cleanup.prom',
      'camera-archiver.prom',
    ]);
    expect(events().slice(0, 2)).toEqual(['archive.finished', 'cleanup.finished']);
    const recordEvents = hook.deliveries.slice(2);
    expect(recordEvents.map((d) => d.event)).toContain('record.camera-offline');
    expect(recordEvents.every((d) => d.event.startsWith('record.'))).toBe(true);
    expect(recordEvents.find((d) => d.event === 'record.camera-offline')?.body).toContain('gate');
    expect(hook.deliveries.every((d) => signedBy(SECRET, d))).toBe(true);
  });

  it('a shared option typed for a command it does not apply to is a usage error (exit 2) naming it', async () => {
    const tree = path.join(dir, 'cam');
    makeTree(tree, [{ stamp: '20250215120000' }]);
    const cases: [string[], string][] = [
      [
        ['stats', tree, '--metrics-file', path.join(dir, 'm.prom')],
        '--metrics-file does not apply to stats',
      ],
      [['stats', tree, '--notify-url', hook.url], '--notify-url does not apply to stats'],
      [['stats', tree, '-v'], '--verbose does not apply to stats'],
      [
        ['record', tree, '--status', '--metrics-file', 'm.prom'],
        '--metrics-file does not apply to record',
      ],
      [
        ['snapshot', '--camera', CAMERA, path.join(dir, 'a.jpg'), '--json'],
        '--json does not apply to snapshot',
      ],
      [['detect', '-q'], '--quiet does not apply to detect'],
      [
        ['record', path.join(dir, 'rec'), '--camera', CAMERA, '--json'],
        '--json applies to record only with --status',
      ],
      [['detect', '--log-file', path.join(dir, 'd.log')], '--log-file does not apply to detect'],
    ];
    for (const [args, message] of cases) {
      const r = await runCli([...args, '--no-config']);
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(message);
    }
    expect(existsSync(path.join(dir, 'm.prom'))).toBe(false);
    expect(existsSync(path.join(dir, 'a.jpg'))).toBe(false);
    expect(hook.deliveries).toEqual([]);
  });

  it('a run that fails before it starts is reported by archive and --cleanup alike', async () => {
    const tree = path.join(dir, 'cam');
    makeTree(tree, [{ stamp: '20250215120000' }]);
    const metrics = path.join(dir, 'm.prom');
    // The archive root is the input root: refused before anything is read (exit 2).
    const overlap = ['--output', tree, '--metrics-file', metrics, '--notify-url', hook.url];
    const archive = await runCli([tree, '-y', ...overlap, '--no-config', ...NOW]);
    const cleanup = await runCli([tree, '--cleanup', '-y', ...overlap, '--no-config', ...NOW]);
    for (const r of [archive, cleanup]) expect(r.exitCode, r.stderr).toBe(2);
    const archiveText = readFileSync(metrics, 'utf8');
    expect(metricValue(archiveText, 'camera_archiver_last_run_exit_code', { root: tree })).toBe(2);
    const cleanupText = readFileSync(path.join(dir, 'm-cleanup.prom'), 'utf8');
    expect(
      metricValue(cleanupText, 'camera_archiver_cleanup_last_run_exit_code', { root: tree }),
    ).toBe(2);
    await waitFor('two events', () => hook.deliveries.length === 2, 10_000);
    expect(hook.deliveries.map((d) => d.event)).toEqual(['archive.failed', 'cleanup.failed']);
  });

  it('--no-config reads no file in every command, record included, even when CAMERA_ARCHIVER_CONFIG names one', async () => {
    const config = path.join(dir, 'config.yaml');
    writeFileSync(config, `record:\n  cameras:\n    - name: demo\n      source: lavfi:testsrc2\n`);
    const r = await runCli(['record', path.join(dir, 'rec'), '--no-config'], {
      env: { CAMERA_ARCHIVER_CONFIG: config },
      timeoutMs: 20_000,
    });
    expect(r.exitCode, r.stderr).toBe(2); // no camera: the file's camera was not read
    expect(r.stderr).toMatch(/camera/);
    expect(existsSync(path.join(dir, 'rec'))).toBe(false);
  });

  it('record re-reads, on SIGHUP, the config file the runtime loaded for it (named by the environment)', async () => {
    const recordings = path.join(dir, 'rec');
    const config = path.join(dir, 'config.yaml');
    const camera = (name: string): string[] => [
      `    - name: ${name}`,
      '      source: lavfi:testsrc2=size=64x48:rate=5',
    ];
    const write = (names: string[]): void =>
      writeFileSync(
        config,
        ['record:', '  segment-time: 2s', '  cameras:', ...names.flatMap(camera), ''].join('\n'),
      );
    write(['front']);
    const recorder = startCli(['record', recordings], {
      env: { CAMERA_ARCHIVER_CONFIG: config },
    });
    const recorded = (name: string) => (): boolean =>
      existsSync(recordings) &&
      listTree(recordings).some((f) => new RegExp(`/${name}_\\d{14}\\.mp4$`).test(f));
    await waitFor('a segment of front', recorded('front'), 40_000);
    write(['front', 'yard']);
    recorder.kill('SIGHUP');
    await waitFor('a segment of yard, added by the reload', recorded('yard'), 40_000);
    recorder.kill('SIGINT');
    const stopped = await recorder;
    expect(stopped.exitCode, String(stopped.stderr)).toBe(0);
    expect(String(stopped.stderr)).toMatch(/reload: 0 camera\(s\) stopped, 1 started, 2 recording/);
  });
});

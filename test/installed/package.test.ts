/**
 * The product as shipped: the tarball `npm pack` makes, installed with `npm install -g` into a
 * temporary prefix (global-setup.ts), driven by its `camera-archiver` launcher the way a new
 * user and the systemd units drive it: a clean environment with only PATH, HOME and the variables
 * of one shared environment file (read like systemd's EnvironmentFile=), one YAML config file for
 * every command, the bundled build (not the TypeScript sources, not the repository's bin/).
 */
import { execa } from 'execa';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FAST } from '../helpers/cli.js';
import { makeTree, probe } from '../helpers/media.js';
import { listTree, removeDir, snapshot, tempDir } from '../helpers/tree.js';
import { waitFor } from '../helpers/wait.js';

const BIN = inject('installedBin');
const INSTALL_ERROR = inject('installError');
/** Under CI a failed install fails the tier; elsewhere (offline, no npm cache) it is skipped. */
const unavailable = BIN === '' && !process.env.CI;
const NOW = ['--now', '2025-03-01T03:00:00Z'];

/** Reads an environment file the way systemd's EnvironmentFile= does (the subset we write). */
export function readEnvironmentFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const value = line.slice(eq + 1).trim();
    env[line.slice(0, eq).trim()] = /^(["']).*\1$/.test(value) ? value.slice(1, -1) : value;
  }
  return env;
}

let work = '';
let root = '';
let config = '';
let shared: Record<string, string> = {};

interface Result {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** The environment a unit gives the command: PATH with the install's bin, HOME, the env file. */
function unitEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: `${path.dirname(BIN)}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: work,
    TZ: 'UTC',
    ...shared,
    ...extra,
  };
}

async function cli(args: string[], extra: Record<string, string> = {}): Promise<Result> {
  const r = await execa('camera-archiver', args, {
    reject: false,
    extendEnv: false,
    env: unitEnv(extra),
    stdin: 'ignore',
    cwd: work,
    timeout: 120_000,
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

beforeAll(() => {
  work = tempDir('cam-installed-');
  root = path.join(work, 'camera');
  mkdirSync(root);
  config = path.join(work, 'config.yaml');
  writeFileSync(
    config,
    [
      '# the one config file of every command',
      'age: 7',
      'jobs: 1',
      `directory: ${root}`,
      'record:',
      `  root: ${path.join(work, 'recorded')}`,
      '  segment-time: 5s',
      '  cameras:',
      '    - name: demo',
      '      source: lavfi:testsrc2=size=160x120:rate=10',
      '',
    ].join('\n'),
  );
  const envFile = path.join(work, 'environment');
  writeFileSync(
    envFile,
    [
      '# /etc/camera-archiver/environment: read by the archive, cleanup and recorder units',
      `CAMERA_ARCHIVER_CONFIG=${config}`,
      'CAMERA_ARCHIVER_AGE=14',
      'CAMERA_ARCHIVER_SEGMENT_TIME=2s',
      'CAMERA_ARCHIVER_NOTIFY_SECRET=x',
      'CAMERA_ARCHIVER_MAX_SIZE="500GB"',
      `CAMERA_ARCHIVER_STATE_DIR=${path.join(work, 'state')}`,
      '',
    ].join('\n'),
  );
  shared = readEnvironmentFile(readFileSync(envFile, 'utf8'));
});
afterAll(() => removeDir(work));

describe.skipIf(unavailable)('the installed package (npm pack, npm install -g)', () => {
  it('installs from the packed tarball and runs from its prefix', async () => {
    expect(INSTALL_ERROR).toBe('');
    expect(BIN).not.toBe('');
    const pkg = JSON.parse(readFileSync(path.resolve('package.json'), 'utf8')) as {
      version: string;
    };
    const version = await cli(['--version']);
    expect(version.exitCode).toBe(0);
    expect(version.stdout.trim()).toBe(pkg.version);
    const help = await cli(['--help']);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain('camera-archiver record [root]');
  });

  it('archive: the dry run plans what the real run then does, with the shared environment', async () => {
    // 20 days old: archived; 10 days old: kept (the environment's age 14 beats the file's 7).
    const clips = makeTree(root, [{ stamp: '20250209120000' }, { stamp: '20250219120000' }]);
    const before = snapshot(root);
    const dry = await cli(['--dry-run', '--json', ...NOW, ...FAST]);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(snapshot(root)).toEqual(before);
    const plan = JSON.parse(dry.stdout) as { counts: { transcode: number; keep: number } };
    expect(plan.counts).toMatchObject({ transcode: 1, keep: 1 });

    const real = await cli(['--yes', '--json', ...NOW, ...FAST]);
    expect(real.exitCode, real.stderr).toBe(0);
    const summary = JSON.parse(real.stdout) as {
      archived: number;
      files: { status: string; archive?: string }[];
    };
    expect(summary.archived).toBe(1);
    const archive = summary.files.find((f) => f.status === 'archived')?.archive ?? '';
    expect(existsSync(archive)).toBe(true);
    expect(probe(archive).videoCodec).toBeTruthy();
    expect(existsSync(clips[0] ?? '')).toBe(false); // the source left only after verification
    expect(existsSync(clips[1] ?? '')).toBe(true);
  });

  it('--cleanup and stats --json read the same file and environment', async () => {
    const dry = await cli(['--cleanup', '--dry-run', '--json', '--age', '0', ...NOW]);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toHaveProperty('actions');
    const clean = await cli(['--cleanup', '--yes', '--json', ...NOW]);
    expect(clean.exitCode, clean.stderr).toBe(0);
    expect(existsSync(path.join(work, 'state'))).toBe(true); // CAMERA_ARCHIVER_STATE_DIR

    const stats = await cli(['stats', root, '--json', ...NOW]);
    expect(stats.exitCode, stats.stderr).toBe(0);
    const report = JSON.parse(stats.stdout) as Record<string, unknown>;
    expect(report.root).toBe(root);
  });

  it('record: the YAML config file and the shared environment file, as the recorder unit runs it', async () => {
    const recorded = path.join(work, 'recorded');
    // ExecStart=camera-archiver record; root, cameras from the file; 2-s segments from the env.
    const recorder = execa('camera-archiver', ['record'], {
      reject: false,
      extendEnv: false,
      env: unitEnv(),
      stdin: 'ignore',
      cwd: work,
      timeout: 120_000,
    });
    const segments = (): string[] =>
      existsSync(recorded)
        ? listTree(recorded).filter((f) => /^\d{4}\/\d{2}\/\d{2}\/demo_\d{14}\.mp4$/.test(f))
        : [];
    const enough = await waitFor(() => segments().length >= 2, 60_000, 200);
    const status = await cli(['record', '--status', '--json']);
    recorder.kill('SIGTERM'); // systemctl stop
    const r = await recorder;
    expect(enough, String(r.stderr)).toBe(true);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(String(r.stderr)).not.toMatch(/Unknown argument|not valid YAML|parse is not/);
    expect(status.exitCode, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ alive: true });
    const first = segments()[0] ?? '';
    // The environment's 2 s beat the file's 5 s (a segment is at most one GOP longer).
    expect(probe(path.join(recorded, first)).duration).toBeLessThan(4.5);
  });

  it('snapshot writes a JPEG of the camera', async () => {
    const out = path.join(work, 'snap.jpg');
    const r = await cli(['snapshot', '--camera', 'demo=lavfi:testsrc2=size=160x120:rate=10', out]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(out);
    expect(readFileSync(out).subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
  });

  it('config --print says where each value came from, without the secret', async () => {
    const r = await cli(['config', '--print', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const { configFile, options } = JSON.parse(r.stdout) as {
      configFile: string;
      options: Record<string, { value: unknown; source: string; from?: string }>;
    };
    expect(configFile).toBe(config);
    expect(options.age).toEqual({ value: 14, source: 'environment', from: 'CAMERA_ARCHIVER_AGE' });
    expect(options.jobs).toEqual({ value: 1, source: 'config file', from: config });
    expect(options['notify-secret']?.value).toBe('(set, hidden)');
    const text = await cli(['config']);
    expect(text.exitCode).toBe(0);
    expect(text.stdout).not.toContain('CAMERA_ARCHIVER_NOTIFY_SECRET=x');
  });
});

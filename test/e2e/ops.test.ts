/**
 * Issue 7's "done when", as a user would try it: a real run reporting through --json, a metrics
 * file and a webhook on 127.0.0.1; a config file and an environment variable changing a setting;
 * `config --print` saying where each value came from; --until leaving work for the next night.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseMetricsText } from '../../src/core/metrics.js';
import { execa } from 'execa';
import { BIN, FAST, runCli } from '../helpers/cli.js';
import { makeTree } from '../helpers/media.js';
import { metricValue } from '../helpers/metrics.js';
import { listTree, removeDir, snapshot, tempDir } from '../helpers/tree.js';

const NOW = ['--now', '2025-03-01T00:00:00Z'];

interface Hook {
  url: string;
  bodies: string[];
  close(): Promise<void>;
}

async function startHook(): Promise<Hook> {
  const bodies: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      bodies.push(body);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    bodies,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** `days` day folders (2025-01-01 on) of 100 empty clips each: a dry run plans from names. */
function emptyClips(root: string, days: number): void {
  const old = new Date('2025-01-20T12:00:00Z');
  for (let day = 1; day <= days; day++) {
    const dir = path.join(root, `2025/01/${String(day).padStart(2, '0')}`);
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < 100; i++) {
      const stamp = `202501${String(day).padStart(2, '0')}${String(Math.floor(i / 6)).padStart(2, '0')}${String((i % 6) * 10).padStart(2, '0')}00`;
      const file = path.join(dir, `REO_front_${stamp}.mp4`);
      writeFileSync(file, '');
      utimesSync(file, old, old);
    }
  }
}

describe('operations (e2e)', () => {
  let root: string;
  let hook: Hook | undefined;
  beforeEach(() => {
    root = tempDir('ops-');
  });
  afterEach(async () => {
    await hook?.close();
    hook = undefined;
    removeDir(root);
  });

  it('--json --metrics-file --notify-url: a summary, valid Prometheus text and one event', async () => {
    const tree = path.join(root, 'cam');
    makeTree(tree, [{ camera: 'REO_front', stamp: '20250115120000', thumbnail: true }]);
    hook = await startHook();
    const metrics = path.join(root, 'm.prom');
    const r = await runCli([
      tree,
      '-y',
      '--no-config',
      '--json',
      '--metrics-file',
      metrics,
      '--notify-url',
      hook.url,
      ...NOW,
      ...FAST,
    ]);
    expect(r.exitCode, r.stderr).toBe(0);

    const summary = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({
      command: 'archive',
      archived: 1,
      failed: 0,
      encoder: 'libx265',
      stoppedByUntil: false,
    });

    const text = readFileSync(metrics, 'utf8');
    expect(() => parseMetricsText(text)).not.toThrow();
    expect(metricValue(text, 'camera_archiver_last_run_success', { root: tree })).toBe(1);
    expect(metricValue(text, 'camera_archiver_last_run_clips', { result: 'archived' })).toBe(1);
    expect(metricValue(text, 'camera_archiver_last_success_timestamp_seconds')).toBeGreaterThan(0);
    expect(listTree(root).filter((f) => f.includes('.tmp'))).toEqual([]);

    expect(hook.bodies).toHaveLength(1);
    const event = JSON.parse(hook.bodies[0] ?? '') as Record<string, unknown>;
    expect(event).toMatchObject({
      event: 'archive.finished',
      status: 'ok',
      exitCode: 0,
      root: tree,
    });
    expect(event.summary).toMatchObject({ archived: 1, bytesIn: summary.bytesIn });
  });

  it('a config file and an environment variable each change a setting; config --print says where from', async () => {
    // 9 days old: archived with age 7, kept with the default 30 or with 14.
    makeTree(root, [{ stamp: '20250220120000' }]);
    const config = path.join(root, 'config.yaml');
    writeFileSync(config, 'age: 7\ncodec: h264\n');
    const plan = async (args: string[], env: Record<string, string> = {}): Promise<number> => {
      const r = await runCli([root, '--dry-run', '--json', ...args, ...NOW, ...FAST], { env });
      expect(r.exitCode, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { counts: { transcode: number } }).counts.transcode;
    };
    expect(await plan(['--no-config'])).toBe(0); // default age 30
    expect(await plan(['--config', config])).toBe(1); // file: age 7
    expect(await plan([], { CAMERA_ARCHIVER_CONFIG: config })).toBe(1); // file named by the environment
    expect(await plan(['--config', config], { CAMERA_ARCHIVER_AGE: '14' })).toBe(0); // env beats file
    expect(await plan(['--config', config, '--age', '3'], { CAMERA_ARCHIVER_AGE: '14' })).toBe(1); // flag beats env

    const shown = await runCli(['config', '--print', '--json', '--config', config, '--jobs', '2'], {
      env: { CAMERA_ARCHIVER_AGE: '14' },
    });
    expect(shown.exitCode, shown.stderr).toBe(0);
    const options = (
      JSON.parse(shown.stdout) as {
        options: Record<string, { value: unknown; source: string; from?: string }>;
      }
    ).options;
    expect(options.age).toEqual({ value: 14, source: 'environment', from: 'CAMERA_ARCHIVER_AGE' });
    expect(options.codec).toEqual({ value: 'h264', source: 'config file', from: config });
    expect(options.jobs).toEqual({ value: 2, source: 'command line' });
    expect(options.encoder).toEqual({ value: 'auto', source: 'default' });

    const text = await runCli(['config', '--config', config], {
      env: { CAMERA_ARCHIVER_AGE: '14' },
    });
    expect(text.stdout).toMatch(/^ {2}age +14 +environment CAMERA_ARCHIVER_AGE$/m);
    expect(text.stdout).toMatch(
      new RegExp(
        `^ {2}codec +h264 +config file ${config.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`,
        'm',
      ),
    );
  });

  it('an invalid config file stops the run with exit 2, naming the keys and the reasons', async () => {
    makeTree(root, [{ stamp: '20250115120000' }]);
    const config = path.join(root, 'bad.json');
    writeFileSync(config, JSON.stringify({ agee: 7, jobs: 'two' }));
    const before = snapshot(root);
    const r = await runCli([root, '-y', '--config', config, ...NOW, ...FAST]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(
      `config file ${config}, key agee: not an option (did you mean 'age'?)`,
    );
    expect(r.stderr).toContain(
      `config file ${config}, key jobs: must be a number, got string "two"`,
    );
    expect(snapshot(root)).toEqual(before);
  });

  it('one config file and one environment file serve every command; each ignores the others’ options', async () => {
    makeTree(root, [{ stamp: '20250220120000' }]);
    const config = path.join(root, 'config.yaml');
    writeFileSync(
      config,
      [
        'age: 7',
        'jobs: 1',
        'record:',
        '  segment-time: 10s',
        '  warn-percent: 99',
        '  cameras:',
        '    - name: demo',
        '      source: lavfi:testsrc2=size=64x48:rate=5',
        '',
      ].join('\n'),
    );
    // What /etc/camera-archiver/environment holds for all three units.
    const shared = {
      CAMERA_ARCHIVER_CONFIG: config,
      CAMERA_ARCHIVER_AGE: '14',
      CAMERA_ARCHIVER_MAX_SIZE: '500GB',
      CAMERA_ARCHIVER_SEGMENT_TIME: '10s',
      CAMERA_ARCHIVER_NOTIFY_SECRET: 'x',
      CAMERA_ARCHIVER_STALL_TIMEOUT: '90s',
      CAMERA_ARCHIVER_TIMEOUT: '5',
      CAMERA_ARCHIVER_JSON: 'false',
    };
    const runs: [string, string[]][] = [
      ['archive', [root, '--dry-run', ...NOW]],
      ['cleanup', [root, '--cleanup', '--dry-run', ...NOW]],
      ['stats', ['stats', root, ...NOW]],
      ['record --status', ['record', root, '--status']],
      ['config', ['config', '--print']],
      [
        'snapshot',
        ['snapshot', '--camera', 'demo=lavfi:testsrc2=size=64x48:rate=5', path.join(root, 's.jpg')],
      ],
      ['detect', ['detect']], // no V4L2 camera here: exit 1, but never a usage error
    ];
    for (const [name, args] of runs) {
      const r = await runCli(args, { env: shared });
      expect(r.stderr, name).not.toMatch(/Unknown argument|invalid|must be/);
      expect([0, 1], `${name}: ${r.stderr}`).toContain(r.exitCode);
    }
    // A bad value names its variable, in every command that has the option, and only there.
    const bad = { ...shared, CAMERA_ARCHIVER_AGE: 'abc' };
    for (const args of [[root, '--dry-run'], ['stats', root], ['config']]) {
      const r = await runCli(args, { env: bad });
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr).toContain('CAMERA_ARCHIVER_AGE=abc: --age must be a number');
    }
    const status = await runCli(['record', root, '--status'], { env: bad });
    expect(status.stderr).not.toContain('CAMERA_ARCHIVER_AGE');
    expect(status.exitCode).toBe(1); // no recorder ran here: not a usage error
    // A value the command rejects after parsing is traced to its variable or key too.
    const negative = await runCli(['stats', root], { env: { CAMERA_ARCHIVER_AGE: '-1' } });
    expect(negative.exitCode).toBe(2);
    expect(negative.stderr).toContain('CAMERA_ARCHIVER_AGE=-1: --age must be a number of days');
    writeFileSync(config, 'record:\n  warn-percent: high\n');
    const badKey = await runCli(['record', root, '--status'], {
      env: { CAMERA_ARCHIVER_CONFIG: config },
    });
    expect(badKey.exitCode).toBe(2);
    expect(badKey.stderr).toContain(
      `config file ${config}, key record.warn-percent: must be a number`,
    );
    // The secret never appears, even in an error about its neighbour.
    const url = await runCli([root, '--dry-run'], {
      env: { CAMERA_ARCHIVER_NOTIFY_URL: 'ftp://hooks.example.com/T0/secret-token' },
    });
    expect(url.exitCode).toBe(2);
    expect(url.stderr).toContain('CAMERA_ARCHIVER_NOTIFY_URL=ftp://hooks.example.com/…');
    expect(url.stderr).not.toContain('secret-token');
  });

  it('--until in the past: nothing starts, the clip is reported as not done, exit 0', async () => {
    const [clip] = makeTree(root, [{ stamp: '20250115120000' }]);
    const metrics = path.join(root, 'm.prom');
    const r = await runCli([
      root,
      '-y',
      '--no-config',
      '--json',
      '--until',
      '2000-01-01T00:00:00Z',
      '--metrics-file',
      metrics,
      ...NOW,
      ...FAST,
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as {
      stoppedByUntil: boolean;
      notDone: string[];
      archived: number;
    };
    expect(summary).toMatchObject({ stoppedByUntil: true, archived: 0, notDone: [clip] });
    expect(existsSync(clip ?? '')).toBe(true);
    expect(r.stderr).toMatch(/stop-by time .* reached: .*1 clip\(s\) not done/);
    const text = readFileSync(metrics, 'utf8');
    expect(metricValue(text, 'camera_archiver_last_run_stopped_by_until')).toBe(1);
    expect(metricValue(text, 'camera_archiver_last_run_clips', { result: 'not_done' })).toBe(1);
  });

  it('output through a pipe is complete with a slow reader; a reader that leaves early ends it quietly', async () => {
    // 600 clips (empty files: a dry run plans from names and times) make a plan of about 1 MB,
    // far more than a pipe holds: the CLI must not exit before the reader has taken it all.
    emptyClips(root, 6);
    // Reads 4 KiB at a time with a pause after each: the pipe stays full while the CLI finishes.
    const slowReader = [
      "const fs = require('fs');",
      'const b = Buffer.alloc(4096), parts = [], nap = new Int32Array(new SharedArrayBuffer(4));',
      'for (let n; (n = fs.readSync(0, b, 0, b.length, null)) > 0; Atomics.wait(nap, 0, 0, 1))',
      '  parts.push(Buffer.from(b.subarray(0, n)));',
      'process.stdout.write(Buffer.concat(parts));',
    ].join('\n');
    const cli = [process.execPath, BIN, root, '--dry-run', '--no-config', ...NOW, ...FAST]
      .map((a) => `'${a}'`)
      .join(' ');
    const piped = async (
      command: string,
    ): Promise<{ stdout: string; stderr: string; status: number }> => {
      const r = await execa('bash', ['-c', `${command}; echo "exit=\${PIPESTATUS[0]}" >&2`], {
        reject: false,
        env: { TZ: 'UTC' },
        maxBuffer: 64 * 1024 * 1024,
      });
      const status = Number(/exit=(\d+)\s*$/.exec(String(r.stderr))?.[1] ?? -1);
      return { stdout: String(r.stdout), stderr: String(r.stderr), status };
    };
    const json = await piped(`${cli} --json | node -e "${slowReader.replace(/"/g, '\\"')}"`);
    expect(json.status, json.stderr).toBe(0);
    expect(json.stdout.length).toBeGreaterThan(512 * 1024);
    const plan = JSON.parse(json.stdout) as {
      counts: { transcode: number };
      actions: { kind: string }[];
    };
    expect(plan.counts.transcode).toBe(600);
    expect(plan.actions.filter((a) => a.kind === 'transcode')).toHaveLength(600);

    // `| head -1`: the first line, no stack trace, the run's own exit status (README).
    const head = await piped(`${cli} | head -1`);
    expect(head.stdout).toMatch(/^transcode 2025\/01\/01\/REO_front_20250101000000\.mp4 → /);
    expect(head.stdout.trim().split('\n')).toHaveLength(1);
    expect(head.stderr).not.toMatch(/EPIPE|Error|^\s+at /m);
    expect(head.status).toBe(0);
  });

  it('a default dry run of a big tree lists 500 actions, then one line per day; -v lists all', async () => {
    emptyClips(root, 7);
    const args = [root, '--dry-run', '--no-config', ...NOW, ...FAST];
    const plan = await runCli(args);
    expect(plan.exitCode, plan.stderr).toBe(0);
    const lines = plan.stdout.trimEnd().split('\n');
    expect(lines.filter((l) => l.startsWith('transcode '))).toHaveLength(500);
    expect(lines).toContain('2025/01/06: 100 to transcode');
    expect(lines).toContain('2025/01/07: 100 to transcode');
    expect(lines.at(-2)).toMatch(
      /^\(the first 500 actions in full, then 2 day folder\(s\) one line each: -v lists every action\)$/,
    );
    expect(lines.at(-1)).toMatch(/Plan: 700 clip\(s\) in 7 day folder\(s\), 700 to transcode/);
    const full = await runCli([...args, '-v']);
    expect(full.stdout.split('\n').filter((l) => l.startsWith('transcode '))).toHaveLength(700);
    expect(full.stdout).not.toContain('one line each');
    expect(full.stdout.trimEnd().split('\n').at(-1)).toBe(lines.at(-1));
  });

  it('shell completion and per-command help with examples', async () => {
    const completion = await runCli(['completion']);
    expect(completion.exitCode).toBe(0);
    expect(completion.stdout).toContain('camera-archiver --get-yargs-completions');
    const help = await runCli(['config', '--help']);
    expect(help.stdout).toContain('Examples:');
    expect(help.stdout).toContain('camera-archiver config --print --json');
    // Lines break between words (the bundle's cliui), within the 100 columns of a pipe.
    const main = await runCli(['--help']);
    expect(main.exitCode).toBe(0);
    expect(main.stdout).toContain(
      'Archive old security-camera clips: transcode, verify, then trash',
    );
    expect(main.stdout).toMatch(/value came\s+from/);
    expect(Math.max(...main.stdout.split('\n').map((l) => l.length))).toBeLessThanOrEqual(100);
  });
});

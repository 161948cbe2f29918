/**
 * No camera password or notification secret leaves the recorder: an RTSP camera with a password
 * on a closed loopback port fails over and over (ffmpeg repeats its input URL in every error),
 * and the password appears in none of the log file, stderr, the status file, `record --status`
 * (text and JSON), the webhook requests a real HTTP server on 127.0.0.1 receives, the lock file,
 * or `snapshot`'s error.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, startCli } from '../helpers/cli.js';
import { removeDir, tempDir } from '../helpers/tree.js';

const PASSWORD = 'Pa55:w0rd#x';
const ENCODED = encodeURIComponent(PASSWORD);
const SECRET = 'hook-signing-secret-42';

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

function allFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...allFiles(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

describe('record: passwords never leave the process (e2e)', () => {
  let work: string;
  beforeEach(() => {
    work = tempDir('rec-redact-');
  });
  afterEach(() => removeDir(work));

  it('an RTSP camera with a password that keeps failing: log, stderr, status, --status, webhooks, lock and snapshot are clean', async () => {
    const port = await closedPort();
    const url = `rtsp://admin:${ENCODED}@127.0.0.1:${port}/cam`;
    const root = path.join(work, 'cams');
    mkdirSync(root, { recursive: true });
    // A status file left world-readable by an older version.
    const statusFile = path.join(root, '.record-status.json');
    writeFileSync(statusFile, '{}\n');
    chmodSync(statusFile, 0o644);

    const bodies: { body: string; headers: IncomingHttpHeaders }[] = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        bodies.push({ body, headers: req.headers });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
    const config = path.join(work, 'record.json');
    writeFileSync(
      config,
      JSON.stringify({
        intervals: { status: 0.2, restartBackoff: 0.2, restartBackoffMax: 0.5 },
      }),
    );
    const rec = startCli([
      'record',
      root,
      '--config',
      config,
      '--camera',
      `gate=${url}`,
      '--segment-time',
      '2s',
      '--notify-url',
      hookUrl,
      '--notify-secret',
      SECRET,
      '-vv',
    ]);
    const deadline = Date.now() + 60_000;
    const status = (): string => {
      try {
        return readFileSync(statusFile, 'utf8');
      } catch {
        return '';
      }
    };
    while (
      Date.now() < deadline &&
      !(
        bodies.some((b) => b.body.includes('record.camera-offline')) &&
        /"restarts": ([3-9]|\d\d)/.test(status())
      )
    )
      await new Promise((r) => setTimeout(r, 200));
    const text = await runCli(['record', root, '--status']);
    const json = await runCli(['record', root, '--status', '--json']);
    const lockDir = path.join(root, '.incoming/gate');
    const lockFiles = allFiles(lockDir).map((f) => readFileSync(f, 'utf8'));
    const snapshot = await runCli([
      'snapshot',
      '--camera',
      `gate=${url}`,
      path.join(work, 'x.jpg'),
    ]);
    rec.kill('SIGTERM');
    const result = await rec;
    hook.close();

    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect((statSync(statusFile).mode & 0o777).toString(8)).toBe('600');
    expect(snapshot.exitCode).not.toBe(0);
    // The URL was there to leak: its redacted form is what shows.
    expect(String(result.stderr)).toContain(`rtsp://admin:***@127.0.0.1:${port}/cam`);
    expect(status()).toContain('rtsp://admin:***@127.0.0.1');
    expect(text.stdout).toMatch(/camera gate: (waiting|starting)/);
    const offline = bodies.find((b) => b.body.includes('record.camera-offline'));
    expect(offline?.body).toMatch(/Connection refused/);

    const places: [string, string][] = [
      ['stderr', String(result.stderr)],
      ['stdout', String(result.stdout)],
      ['record --status', text.stdout + text.stderr],
      ['record --status --json', json.stdout + json.stderr],
      ['snapshot', snapshot.stdout + snapshot.stderr],
      ...lockFiles.map((t, i): [string, string] => [`lock file ${i}`, t]),
      ...bodies.map((b, i): [string, string] => [
        `webhook ${i}`,
        b.body + JSON.stringify(b.headers),
      ]),
      ...allFiles(work)
        .filter((f) => f !== config)
        .map((f): [string, string] => [path.relative(work, f), readFileSync(f, 'utf8')]),
    ];
    expect(places.length).toBeGreaterThan(6);
    for (const [where, content] of places) {
      for (const secret of [PASSWORD, ENCODED, SECRET]) {
        expect(
          content.includes(secret),
          `${where} contains ${secret}:\n${content.slice(0, 2000)}`,
        ).toBe(false);
      }
    }
  });
});

/**
 * Notifications against a real HTTP server on 127.0.0.1 (never any other address): delivery,
 * signature verification as a receiver would do it, retries, timeouts, and the end-of-run report.
 * Delays are shortened through options; nothing asserts on how fast anything was.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EnvironmentError } from '../../src/core/errors.js';
import { memoryLog } from '../../src/core/logger.js';
import { parseMetricsText } from '../../src/core/metrics.js';
import {
  createNotifier,
  verifySignature,
  DELIVERY_HEADER,
  EVENT_HEADER,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
} from '../../src/core/notify.js';
import { RunReport } from '../../src/archive/report.js';
import { removeDir, tempDir } from '../helpers/tree.js';

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}

interface TestServer {
  url: string;
  requests: Received[];
  close(): Promise<void>;
}

/** Answers each request with `respond(n)` (1-based): a status, or 'hang' to never answer. */
async function startServer(respond: (n: number) => number | 'hang'): Promise<TestServer> {
  const requests: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      requests.push({ headers: req.headers, body });
      const answer = respond(requests.length);
      if (answer === 'hang') return;
      res.writeHead(answer, answer === 429 ? { 'retry-after': '0' } : {}).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port with nothing listening: bind one, note it, close it. */
async function deadUrl(): Promise<string> {
  const s = await startServer(() => 200);
  await s.close();
  return s.url;
}

const FAST = { backoffMs: 10, maxBackoffMs: 50, timeoutMs: 2_000, totalTimeoutMs: 20_000 };

describe('notifications over HTTP on 127.0.0.1', () => {
  const servers: TestServer[] = [];
  const serve = async (respond: (n: number) => number | 'hang'): Promise<TestServer> => {
    const s = await startServer(respond);
    servers.push(s);
    return s;
  };
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it('delivers a signed JSON event that the receiver can verify', async () => {
    const server = await serve(() => 200);
    const log = memoryLog();
    const results = await createNotifier([server.url], 'shared-secret', log, FAST).notify({
      event: 'archive.finished',
      text: 'done',
      archived: 3,
    });
    expect(results).toEqual([{ url: server.url, ok: true, attempts: 1, status: 200 }]);
    expect(server.requests).toHaveLength(1);
    const [req] = server.requests;
    const headers = req?.headers ?? {};
    expect(headers['content-type']).toBe('application/json');
    expect(headers[EVENT_HEADER]).toBe('archive.finished');
    expect(JSON.parse(req?.body ?? '')).toMatchObject({
      event: 'archive.finished',
      archived: 3,
      source: 'camera-archiver',
    });
    const ok = verifySignature(
      'shared-secret',
      String(headers[TIMESTAMP_HEADER]),
      req?.body ?? '',
      String(headers[SIGNATURE_HEADER]),
      new Date(),
    );
    expect(ok).toBe(true);
    expect(
      verifySignature(
        'other-secret',
        String(headers[TIMESTAMP_HEADER]),
        req?.body ?? '',
        String(headers[SIGNATURE_HEADER]),
        new Date(),
      ),
    ).toBe(false);
  });

  it('retries 500 and 429 until the server accepts, with one delivery id', async () => {
    const server = await serve((n) => (n === 1 ? 500 : n === 2 ? 429 : 200));
    const [r] = await createNotifier([server.url], undefined, memoryLog(), FAST).notify({
      event: 'e',
    });
    expect(r).toMatchObject({ ok: true, attempts: 3, status: 200 });
    expect(server.requests).toHaveLength(3);
    expect(new Set(server.requests.map((q) => q.headers[DELIVERY_HEADER])).size).toBe(1);
  });

  it('times out an attempt that gets no answer and tries again', async () => {
    const server = await serve((n) => (n === 1 ? 'hang' : 200));
    const log = memoryLog();
    const [r] = await createNotifier([server.url], undefined, log, {
      ...FAST,
      timeoutMs: 300,
    }).notify({ event: 'e' });
    expect(r).toMatchObject({ ok: true, attempts: 2 });
  });

  it('does not retry a 4xx, and gives up on a dead address without throwing', async () => {
    const server = await serve(() => 404);
    const dead = await deadUrl();
    const log = memoryLog();
    const results = await createNotifier([server.url, dead], undefined, log, {
      ...FAST,
      attempts: 3,
    }).notify({ event: 'e' });
    expect(results[0]).toMatchObject({ ok: false, attempts: 1, status: 404 });
    expect(results[1]).toMatchObject({ ok: false, attempts: 3 });
    expect(results[1]?.error).toMatch(/ECONNREFUSED|refused/i);
    expect(server.requests).toHaveLength(1);
    expect(log.lines.filter((l) => l.level === 'warn')).toHaveLength(2);
  });
});

describe('RunReport.finish (end of an archive run)', () => {
  let dir: string | undefined;
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    if (dir) removeDir(dir);
  });

  it('on a run that threw: metrics say failed and one archive.failed event is delivered', async () => {
    dir = tempDir('report-');
    server = await startServer(() => 200);
    const metricsFile = path.join(dir, 'm.prom');
    const report = new RunReport({
      root: '/camera',
      dryRun: false,
      metricsFile,
      notifyUrls: [server.url],
      notifier: FAST,
    });
    report.fail(new EnvironmentError('input directory /camera does not exist'));
    await report.finish(memoryLog());
    await report.finish(memoryLog()); // idempotent: still one event

    const samples = parseMetricsText(readFileSync(metricsFile, 'utf8')).samples;
    expect(samples.find((s) => s.name === 'camera_archiver_last_run_exit_code')?.value).toBe(1);
    expect(samples.find((s) => s.name === 'camera_archiver_last_run_success')?.value).toBe(0);
    expect(server.requests).toHaveLength(1);
    const event = JSON.parse(server.requests[0]?.body ?? '') as Record<string, unknown>;
    expect(event).toMatchObject({
      event: 'archive.failed',
      status: 'error',
      exitCode: 1,
      root: '/camera',
    });
    expect(String(event.text)).toContain('does not exist');
  });

  it('an unreachable webhook and an unwritable metrics path only log warnings', async () => {
    const report = new RunReport({
      root: '/camera',
      dryRun: false,
      metricsFile: '/nonexistent-dir/m.prom',
      notifyUrls: [await deadUrl()],
      notifier: { ...FAST, attempts: 2 },
    });
    report.settle({ status: 'ok' });
    const log = memoryLog();
    await expect(report.finish(log)).resolves.toBeUndefined();
    const warnings = log.lines.filter((l) => l.level === 'warn').map((l) => l.message);
    expect(
      warnings.some((w) => w.startsWith('cannot write metrics file /nonexistent-dir/m.prom')),
    ).toBe(true);
    expect(
      warnings.some((w) => w.startsWith('notification archive.finished to http://127.0.0.1:')),
    ).toBe(true);
  });

  it('dry runs report nothing', async () => {
    server = await startServer(() => 200);
    const report = new RunReport({ root: '/camera', dryRun: true, notifyUrls: [server.url] });
    report.settle({ status: 'ok' });
    await report.finish(memoryLog());
    expect(server.requests).toHaveLength(0);
  });
});

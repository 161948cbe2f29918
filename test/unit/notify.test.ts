import { describe, expect, it } from 'vitest';
import { memoryLog } from '../../src/core/logger.js';
import {
  backoffDelay,
  createNotifier,
  isRetryableStatus,
  parseNotifyUrls,
  parseRetryAfter,
  redactUrl,
  signPayload,
  verifySignature,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
} from '../../src/core/notify.js';

const NOW = new Date('2025-03-01T05:00:00Z');

describe('signatures', () => {
  it('signs <timestamp>.<body> with HMAC-SHA256 and verifies it', () => {
    const sig = signPayload('s3cret', '1740805200', '{"a":1}');
    expect(sig).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifySignature('s3cret', '1740805200', '{"a":1}', sig, NOW)).toBe(true);
    expect(verifySignature('wrong', '1740805200', '{"a":1}', sig, NOW)).toBe(false);
    expect(verifySignature('s3cret', '1740805200', '{"a":2}', sig, NOW)).toBe(false);
    expect(verifySignature('s3cret', undefined, '{"a":1}', sig, NOW)).toBe(false);
    expect(verifySignature('s3cret', '1740805200', '{"a":1}', 'sha256=00', NOW)).toBe(false);
  });

  it('rejects a replayed request outside the tolerance window', () => {
    const old = String(Math.floor(NOW.getTime() / 1000) - 3600);
    const sig = signPayload('s', old, 'x');
    expect(verifySignature('s', old, 'x', sig, NOW)).toBe(false);
    expect(verifySignature('s', old, 'x', sig, NOW, 7200)).toBe(true);
  });
});

describe('helpers', () => {
  it('redacts webhook URLs to their origin', () => {
    expect(redactUrl('https://hooks.slack.com/services/T0/B0/XYZ')).toBe(
      'https://hooks.slack.com/…',
    );
    expect(redactUrl('https://user:pw@ntfy.sh/topic?x=1')).toBe('https://ntfy.sh/…');
    expect(redactUrl('http://127.0.0.1:8080/')).toBe('http://127.0.0.1:8080/');
    expect(redactUrl('not a url')).toBe('<invalid URL>');
  });

  it('accepts http(s) URLs only, without echoing their secrets', () => {
    expect(parseNotifyUrls(['http://127.0.0.1:1/x', 'https://a.example/'])).toHaveLength(2);
    expect(() => parseNotifyUrls(['ftp://a.example/secret'])).toThrow(/only http/);
    expect(() => parseNotifyUrls(['example.com/hook'])).toThrow(
      /--notify-url .*not an absolute URL/,
    );
    expect(() => parseNotifyUrls(['ftp://a.example/secret'])).not.toThrow(/secret/);
  });

  it('retries 408/425/429/5xx only', () => {
    expect([408, 425, 429, 500, 502, 503].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 403, 404, 410, 422].some(isRetryableStatus)).toBe(false);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('7', NOW)).toBe(7000);
    expect(parseRetryAfter(new Date(NOW.getTime() + 3000).toUTCString(), NOW)).toBe(3000);
    expect(parseRetryAfter(null, NOW)).toBeUndefined();
    expect(parseRetryAfter('soon', NOW)).toBeUndefined();
  });

  it('backs off exponentially with ±25% jitter, capped', () => {
    expect(backoffDelay(1, 1000, 30_000, () => 0.5)).toBe(1000);
    expect(backoffDelay(3, 1000, 30_000, () => 0.5)).toBe(4000);
    expect(backoffDelay(3, 1000, 30_000, () => 0)).toBe(3000);
    expect(backoffDelay(3, 1000, 30_000, () => 1)).toBe(5000);
    expect(backoffDelay(10, 1000, 30_000, () => 0.5)).toBe(30_000);
  });
});

/** A scripted fetch and a fake clock: retry logic without sockets or real waiting. */
function harness(script: ((call: number) => Response | Error)[]) {
  let clock = 0;
  const calls: { url: string; init: RequestInit }[] = [];
  const sleeps: number[] = [];
  const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
    const step = script[calls.length] ?? script[script.length - 1];
    calls.push({ url: String(input), init: init ?? {} });
    const result = step?.(calls.length);
    if (result instanceof Error) throw result;
    return result as Response;
  }) as typeof fetch;
  return {
    calls,
    sleeps,
    options: {
      fetch: fetchImpl,
      sleep: async (ms: number) => {
        sleeps.push(ms);
        clock += ms;
      },
      monotonic: () => clock,
      clock: () => NOW,
      random: () => 0.5,
      backoffMs: 1000,
    },
  };
}

describe('createNotifier (scripted fetch)', () => {
  it('posts the event with common fields, signature headers and a delivery id', async () => {
    const h = harness([() => new Response('ok', { status: 200 })]);
    const log = memoryLog();
    const results = await createNotifier(
      ['http://127.0.0.1:9/hook'],
      's3cret',
      log,
      h.options,
    ).notify({
      event: 'archive.finished',
      text: 'done',
    });
    expect(results).toEqual([
      { url: 'http://127.0.0.1:9/hook', ok: true, attempts: 1, status: 200 },
    ]);
    const [call] = h.calls;
    const headers = call?.init.headers as Record<string, string>;
    const body = String(call?.init.body);
    expect(JSON.parse(body)).toMatchObject({
      event: 'archive.finished',
      text: 'done',
      source: 'camera-archiver',
      time: NOW.toISOString(),
    });
    expect(headers['content-type']).toBe('application/json');
    expect(
      verifySignature('s3cret', headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER], NOW),
    ).toBe(true);
  });

  it('retries 5xx and network errors with backoff, keeping one delivery id', async () => {
    const h = harness([
      () => new Response('', { status: 503 }),
      () => new TypeError('fetch failed', { cause: new Error('ECONNRESET') }),
      () => new Response(null, { status: 204 }),
    ]);
    const [r] = await createNotifier(
      ['http://127.0.0.1:9/'],
      undefined,
      memoryLog(),
      h.options,
    ).notify({ event: 'e' });
    expect(r).toMatchObject({ ok: true, attempts: 3 });
    expect(h.sleeps).toEqual([1000, 2000]);
    const ids = h.calls.map(
      (c) => (c.init.headers as Record<string, string>)['x-camera-archiver-delivery'],
    );
    expect(new Set(ids).size).toBe(1);
  });

  it('honours Retry-After and does not retry a permanent 4xx', async () => {
    const h = harness([
      () => new Response('', { status: 429, headers: { 'retry-after': '5' } }),
      () => new Response('', { status: 404 }),
    ]);
    const log = memoryLog();
    const [r] = await createNotifier(['http://127.0.0.1:9/'], undefined, log, h.options).notify({
      event: 'e',
    });
    expect(r).toMatchObject({ ok: false, attempts: 2, status: 404, error: 'HTTP 404' });
    expect(h.sleeps).toEqual([5000]);
    expect(
      log.lines.some((l) => l.level === 'warn' && /failed after 2 attempt/.test(l.message)),
    ).toBe(true);
  });

  it('gives up at the attempt limit and within the total deadline, never rejecting', async () => {
    const failing = harness([() => new Response('', { status: 500 })]);
    const [a] = await createNotifier(['http://127.0.0.1:9/'], undefined, memoryLog(), {
      ...failing.options,
      attempts: 3,
    }).notify({ event: 'e' });
    expect(a).toMatchObject({ ok: false, attempts: 3 });

    const slow = harness([() => new Response('', { status: 500 })]);
    const [b] = await createNotifier(['http://127.0.0.1:9/'], undefined, memoryLog(), {
      ...slow.options,
      attempts: 10,
      totalTimeoutMs: 5000,
    }).notify({ event: 'e' });
    // 1 s + 2 s fit in 5 s; the next 4 s wait would not.
    expect(b).toMatchObject({ ok: false, attempts: 3 });
    expect(slow.sleeps).toEqual([1000, 2000]);
  });

  it('sends URL credentials as Basic auth (fetch refuses them in the URL) and does not log them', async () => {
    const h = harness([
      () => new Response('', { status: 500 }),
      () => new Response('', { status: 200 }),
    ]);
    const log = memoryLog();
    log.debug = (m) => log.lines.push({ level: 'debug', message: m });
    await createNotifier(
      ['http://bob:pa%20ss@127.0.0.1:9/topic'],
      undefined,
      log,
      h.options,
    ).notify({ event: 'e' });
    expect(h.calls[0]?.url).toBe('http://127.0.0.1:9/topic');
    const auth = (h.calls[0]?.init.headers as Record<string, string>).authorization;
    expect(Buffer.from(String(auth).replace('Basic ', ''), 'base64').toString()).toBe('bob:pa ss');
    expect(log.lines.map((l) => l.message).join('\n')).not.toMatch(/bob|pa ss|topic/);
  });

  it('a redirect is a permanent failure that says where to', async () => {
    const h = harness([
      () => new Response('', { status: 301, headers: { location: 'https://new.example/x' } }),
    ]);
    const [r] = await createNotifier(
      ['http://127.0.0.1:9/'],
      undefined,
      memoryLog(),
      h.options,
    ).notify({ event: 'e' });
    expect(r).toMatchObject({ ok: false, attempts: 1 });
    expect(r?.error).toMatch(/redirect to https:\/\/new.example\/…/);
  });

  it('no URLs: nothing to do', async () => {
    expect(await createNotifier([], 'x', memoryLog()).notify({ event: 'e' })).toEqual([]);
  });
});

describe('redaction of what is sent', () => {
  it('the body never carries a URL password, a camera password or the signing secret', async () => {
    const { clearSecrets, registerUrlSecret } = await import('../../src/core/redact.js');
    registerUrlSecret('rtsp://admin:cam-pass-99@10.0.0.2/s');
    const sent: string[] = [];
    const notifier = createNotifier(
      ['http://hook:hook-pass@127.0.0.1:1/x'],
      'sign-secret-1',
      memoryLog(),
      {
        fetch: (async (_url: unknown, init?: { body?: unknown }) => {
          sent.push(String(init?.body));
          return new Response('ok');
        }) as unknown as typeof fetch,
        clock: () => NOW,
      },
    );
    await notifier.notify({
      event: 'record.camera-offline',
      cause: 'rtsp://admin:cam-pass-99@10.0.0.2/s: 401; echo cam-pass-99 sign-secret-1 hook-pass',
      text: 'camera front is offline: rtsp://u:other-pw@h/x',
    });
    clearSecrets();
    expect(sent).toHaveLength(1);
    for (const secret of ['cam-pass-99', 'sign-secret-1', 'hook-pass', 'other-pw'])
      expect(sent[0], secret).not.toContain(secret);
    expect(sent[0]).toContain('rtsp://admin:***@10.0.0.2/s');
  });
});

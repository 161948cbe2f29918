/** The one redaction pass: URL passwords anywhere in text, and registered secrets in any form. */
import { afterEach, describe, expect, it } from 'vitest';
import {
  clearSecrets,
  redact,
  redactDeep,
  registerSecret,
  registerUrlSecret,
} from '../../src/core/redact.js';
import { seededRandom } from '../helpers/random.js';

afterEach(() => clearSecrets());

describe('redact', () => {
  it.each([
    ['rtsp://admin:hunter22@10.0.0.5:554/stream1', 'rtsp://admin:***@10.0.0.5:554/stream1'],
    [
      '[rtsp @ 0x55d] method DESCRIBE failed: rtsp://u:p4ss@cam/x: 401 Unauthorized',
      '[rtsp @ 0x55d] method DESCRIBE failed: rtsp://u:***@cam/x: 401 Unauthorized',
    ],
    ['"rtsps://a:b%40c@h/p" and http://x:y@h2', '"rtsps://a:***@h/p" and http://x:***@h2'],
    ['rtsp://cam.local:554/stream (no userinfo)', 'rtsp://cam.local:554/stream (no userinfo)'],
    ['rtsp://onlyuser@cam/stream', 'rtsp://onlyuser@cam/stream'],
    ['http://host:8080/path and later a@b.c', 'http://host:8080/path and later a@b.c'],
  ])('hides the password of any URL with userinfo: %s', (input, expected) => {
    expect(redact(input)).toBe(expected);
  });

  it('replaces registered secrets raw, percent-encoded and decoded, wherever they appear', () => {
    registerUrlSecret('rtsp://admin:p@ss/w0rd#1@192.168.1.20/stream');
    registerSecret('notify-secret-xyz');
    const text =
      'ffmpeg: Could not open p@ss/w0rd#1 via rtsp://admin:p%40ss%2Fw0rd%231@h; sig notify-secret-xyz';
    const out = redact(text);
    expect(out).not.toContain('p@ss/w0rd#1');
    expect(out).not.toContain('p%40ss%2Fw0rd%231');
    expect(out).not.toContain('notify-secret-xyz');
    expect(out).toContain('rtsp://admin:***@h');
  });

  it('does not replace secrets shorter than 4 characters in free text (they stay hidden in URLs)', () => {
    registerSecret('12');
    expect(redact('segment 12 of 120, rtsp://a:12@h/x')).toBe(
      'segment 12 of 120, rtsp://a:***@h/x',
    );
  });

  it('redacts every string of a JSON value, keys included', () => {
    registerSecret('s3cret-value');
    const doc = {
      cameras: [{ lastError: 'rtsp://a:s3cret-value@h: refused', restarts: 3 }],
      's3cret-value': true,
      n: null,
    };
    expect(redactDeep(doc)).toEqual({
      cameras: [{ lastError: 'rtsp://a:***@h: refused', restarts: 3 }],
      '***': true,
      n: null,
    });
  });

  it('randomized: no registered password survives in any form, inside or outside URLs', () => {
    const seed = Number(process.env.REDACT_SEED ?? Date.now() % 1_000_000);
    const random = seededRandom(seed);
    const alphabet = 'abcXYZ0189!#$%&()*+,;=:@/?[]~-._ ';
    const pick = (n: number): string =>
      Array.from({ length: n }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
    for (let i = 0; i < 300; i++) {
      clearSecrets();
      const password = `${pick(4 + Math.floor(random() * 12))}`.replace(/\s/g, 'q');
      const url = `rtsp://user${i}:${encodeURIComponent(password)}@10.0.${i % 255}.1:554/s`;
      registerUrlSecret(url);
      const text = [
        `Input #0, rtsp, from '${url}':`,
        `${url}: Connection refused`,
        `password is ${password} (raw)`,
        `decoded ${decodeURIComponent(encodeURIComponent(password))}`,
      ].join('\n');
      const out = redact(text);
      const forms = [password, encodeURIComponent(password)].filter((f) => f.length >= 4);
      for (const f of forms)
        expect(out, `seed ${seed}, case ${i}: ${JSON.stringify(password)}`).not.toContain(f);
    }
  });
});

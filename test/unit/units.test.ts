import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.js';
import { formatBytes, parseDuration, parseSize } from '../../src/core/units.js';

describe('parseSize (1024-based, as the Python archiver)', () => {
  it.each([
    ['500GB', 500 * 1024 ** 3],
    ['1.5T', 1.5 * 1024 ** 4],
    ['800M', 800 * 1024 ** 2],
    ['800mb', 800 * 1024 ** 2],
    ['10K', 10240],
    ['123B', 123],
    ['0', 0],
    ['2 GiB', 2 * 1024 ** 3],
  ])('%s', (text, bytes) => expect(parseSize(text)).toBe(bytes));

  it.each(['', 'GB', '5XB', '-5GB', '1,5G', '500'])('rejects %j as a usage error', (text) => {
    expect(() => parseSize(text, '--max-size')).toThrow(UsageError);
  });

  it('a size without a unit says what was probably meant', () => {
    expect(() => parseSize('500', '--max-size')).toThrow(
      "invalid --max-size '500': 500 what? write 500GB or 500MB",
    );
  });
});

describe('parseDuration', () => {
  it.each([
    ['0', 0],
    ['90', 90],
    ['30s', 30],
    ['5m', 300],
    ['1h30m', 5400],
    ['2d', 172800],
  ])('%s', (text, seconds) => expect(parseDuration(text)).toBe(seconds));

  it.each(['', 'soon', '5 minutes', '1h30x'])('rejects %j', (text) => {
    expect(() => parseDuration(text)).toThrow(UsageError);
  });
});

describe('formatBytes', () => {
  it('uses binary units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(5 * 1024 ** 3)).toBe('5.0 GiB');
  });
});

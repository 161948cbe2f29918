import { describe, expect, it } from 'vitest';
import { wrapWords } from '../../scripts/cliui-word-wrap.mjs';

describe('wrapWords (help text layout in the bundle)', () => {
  it('breaks lines between words, never inside one that fits', () => {
    const text = 'transcode old clips into the archive tree, verify, then trash the sources';
    const wrapped = wrapWords(text, 20);
    expect(wrapped.split('\n')).toEqual([
      'transcode old clips',
      'into the archive',
      'tree, verify, then',
      'trash the sources',
    ]);
    expect(wrapped.replace(/\n/g, ' ')).toBe(text);
  });

  it('keeps line breaks already in the text and cuts only words longer than a line', () => {
    expect(wrapWords('a b\nabcdefghij c', 4).split('\n')).toEqual(['a b', 'abcd', 'efgh', 'ij c']);
    expect(wrapWords('short', 0)).toBe('short');
  });
});

import { describe, expect, it } from 'vitest';
import { commandLineValues, directoryOf } from '../../src/cli/commands/flags.js';
import { UsageError } from '../../src/core/errors.js';

const yargsLike = {
  getOptions: () => ({
    array: ['notify-url'],
    number: ['age', 'jobs'],
    alias: { jobs: ['j'], j: ['jobs'] } as Record<string, string[]>,
  }),
};

describe('commandLineValues (the parsed values say what was typed)', () => {
  it('a repeated option takes its last value; a repeatable one keeps them all', () => {
    const argv: Record<string, unknown> = {
      _: [],
      age: [7, 14],
      output: ['/a', '/b'],
      yes: [true, true],
      'notify-url': ['http://a/', 'http://b/'],
      notifyUrl: ['http://a/', 'http://b/'],
    };
    commandLineValues([], {})(argv, yargsLike);
    expect(argv).toMatchObject({ age: 14, output: '/b', yes: true });
    expect(argv['notify-url']).toEqual(['http://a/', 'http://b/']);
    expect(argv.notifyUrl).toEqual(['http://a/', 'http://b/']);
  });

  it.each<[string[], Record<string, string>, string]>([
    [['--age', 'abc'], {}, 'abc'],
    [['--age=abc'], {}, 'abc'],
    [['--age', ''], {}, ''],
    [['--age', '1', '--age', 'x'], {}, 'x'],
    [[], { CAMERA_ARCHIVER_AGE: 'soon' }, 'soon'],
  ])('a number typed as %j (env %j) keeps its text %j', (raw, env, typed) => {
    // yargs reads '' as 0 and any other text as NaN.
    const argv: Record<string, unknown> = { _: [], age: raw.includes('') ? 0 : NaN };
    commandLineValues(raw, env)(argv, yargsLike);
    expect(argv.age).toBe(typed);
  });

  it('an alias is found too, and a good number is left alone', () => {
    const argv: Record<string, unknown> = { _: [], jobs: NaN, j: NaN, age: 3 };
    commandLineValues(['-j', 'many', '--age', '3'], {})(argv, yargsLike);
    expect(argv).toMatchObject({ jobs: 'many', j: 'many', age: 3 });
  });

  it('words after -- are never read as option values', () => {
    const argv: Record<string, unknown> = { _: [], age: 30 };
    commandLineValues(['--', '--age', 'x'], {})(argv, yargsLike);
    expect(argv.age).toBe(30);
  });
});

describe('directoryOf (`-- DIR`)', () => {
  it('takes the directory after --', () => {
    expect(directoryOf({ directory: '/camera', '--': ['/srv/cam'] })).toBe('/srv/cam');
    expect(directoryOf({ directory: '/srv/cam' })).toBe('/srv/cam');
    expect(directoryOf({ directory: '/srv/cam', '--': ['/srv/cam'] })).toBe('/srv/cam');
  });
  it('refuses two different directories or more than one after --', () => {
    expect(() => directoryOf({ directory: '/a', '--': ['/b'] })).toThrow(UsageError);
    expect(() => directoryOf({ '--': ['/a', '/b'] })).toThrow(UsageError);
  });
});

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import yargs from 'yargs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiveBuilder } from '../../src/cli/commands/archive.js';
import { configJson, configRows, renderConfigText } from '../../src/cli/commands/config.js';
import {
  commandLineKeys,
  configValuesFor,
  environmentKeys,
  loadConfigFile,
  locateConfig,
  optionTable,
  parseConfigText,
  provenanceOf,
  schemaFromTable,
  sharedSettingsFor,
  environmentValuesFor,
  DEFAULT_CONFIG_FILES,
  type OptionSchema,
} from '../../src/core/config-file.js';
import { RECORD_FILE_KEYS } from '../../src/record/config.js';
import { removeDir, tempDir } from '../helpers/tree.js';

/** The archive command's options exactly as yargs registers them inside the command. */
async function archiveSchema(): Promise<OptionSchema> {
  let schema: OptionSchema = new Map();
  await yargs(['archive'])
    .command(
      'archive [directory]',
      'archive',
      (y) => {
        const built = archiveBuilder(y);
        schema = schemaFromTable(optionTable(built));
        return built;
      },
      () => undefined,
    )
    .exitProcess(false)
    .parseAsync();
  return schema;
}

let schema: OptionSchema;
let dir: string;
beforeAll(async () => {
  schema = await archiveSchema();
  dir = tempDir('config-');
});
afterAll(() => removeDir(dir));

describe('locateConfig', () => {
  const none = (): boolean => false;
  it('takes --config FILE, --config=FILE, then CAMERA_ARCHIVER_CONFIG', () => {
    expect(locateConfig(['--config', 'a.yaml'], {}, none)).toEqual({
      path: path.resolve('a.yaml'),
      explicit: true,
    });
    expect(locateConfig(['-y', '--config=b.json'], {}, none)).toEqual({
      path: path.resolve('b.json'),
      explicit: true,
    });
    expect(locateConfig([], { CAMERA_ARCHIVER_CONFIG: '/x/c.yaml' }, none)).toEqual({
      path: '/x/c.yaml',
      explicit: true,
    });
    expect(
      locateConfig(['--config', 'a.yaml'], { CAMERA_ARCHIVER_CONFIG: '/x/c.yaml' }, none)?.path,
    ).toBe(path.resolve('a.yaml'));
  });

  it('uses the first default file that exists, and nothing with --no-config', () => {
    const json = DEFAULT_CONFIG_FILES[2] ?? '';
    expect(locateConfig([], {}, (f) => f === json)).toEqual({ path: json, explicit: false });
    expect(locateConfig([], {}, none)).toBeUndefined();
    expect(locateConfig(['--no-config'], {}, () => true)).toBeUndefined();
    expect(locateConfig(['--', '--config', 'x'], {}, none)).toBeUndefined();
  });
});

describe('parseConfigText', () => {
  it('reads YAML and JSON; an empty file is no settings', () => {
    expect(parseConfigText('age: 14\nnotify-url:\n  - http://a/\n', 'c.yaml')).toEqual({
      age: 14,
      'notify-url': ['http://a/'],
    });
    expect(parseConfigText('{"age": 14}', 'c.json')).toEqual({ age: 14 });
    expect(parseConfigText('', 'c.yaml')).toEqual({});
  });

  it('says where a syntax error is', () => {
    expect(() => parseConfigText('age: [1\n', '/etc/c.yaml')).toThrow(
      /\/etc\/c\.yaml: not valid YAML \(line \d+, column \d+\)/,
    );
    expect(() => parseConfigText('age: 1\nage: 2\n', 'c.yaml')).toThrow(/not valid YAML.*unique/i);
    expect(() => parseConfigText('{"age": }', 'c.json')).toThrow(/c\.json: not valid JSON/);
    expect(() => parseConfigText('- age\n', 'c.yaml')).toThrow(/top level must be a mapping/);
  });

  it('loadConfigFile names a missing file', () => {
    expect(() => loadConfigFile({ path: path.join(dir, 'nope.yaml'), explicit: true })).toThrow(
      /nope\.yaml: not found/,
    );
  });
});

describe('configValuesFor (validation against the archive options)', () => {
  it('accepts kebab- and camelCase keys and normalizes them to the option names', () => {
    const { values, errors } = configValuesFor(
      {
        age: 14,
        maxSize: '500GB',
        'settle-time': 300,
        notifyUrl: 'http://127.0.0.1:1/',
        skip: false,
        verbose: 1,
      },
      'archive',
      schema,
    );
    expect(errors).toEqual([]);
    expect(values).toEqual({
      age: 14,
      'max-size': '500GB',
      'settle-time': '300',
      'notify-url': ['http://127.0.0.1:1/'],
      skip: false,
      verbose: 1,
    });
  });

  it('names each bad key with the reason', () => {
    const { errors } = configValuesFor(
      {
        agee: 3,
        jobs: 'two',
        encoder: 'qsx',
        'settle-time': '5x',
        'max-size': 'lots',
        until: '25:00',
        'notify-url': ['ftp://x/'],
        delete: 'yes',
        help: true,
      },
      'archive',
      schema,
    );
    expect(errors).toEqual([
      "key agee: not an option (did you mean 'age'?)",
      'key jobs: must be a number, got string "two"',
      'key encoder: must be one of auto, qsv, vaapi, nvenc, software, got string "qsx"',
      expect.stringMatching(/^key settle-time: invalid value '5x'/),
      expect.stringMatching(/^key max-size: invalid value 'lots'/),
      expect.stringMatching(/^key until: invalid value '25:00'/),
      expect.stringMatching(/^key notify-url: invalid value 'ftp:\/\/x\/…?': only http/),
      'key delete: must be true or false, got string "yes"',
      'key help: cannot be set in a config file',
    ]);
  });

  it("keeps other commands' sections out of archive, and lets them inherit shared top-level keys", () => {
    const data = {
      age: 14,
      'notify-url': 'http://127.0.0.1:1/',
      record: { cameras: 'front', bogus: 1 },
      archive: { jobs: 2 },
    };
    expect(configValuesFor(data, 'archive', schema)).toMatchObject({
      values: { age: 14, 'notify-url': ['http://127.0.0.1:1/'], jobs: 2 },
      errors: [],
      keys: new Map([
        ['age', 'age'],
        ['notify-url', 'notify-url'],
        ['jobs', 'archive.jobs'],
      ]),
    });
    // A record-like command that knows notify-url but not age: inherits one, ignores the other,
    // and is strict about its own section (here with archive's schema standing in).
    const recordSchema: OptionSchema = new Map(
      [...schema].filter(([k]) => k === 'notify-url' || k === 'jobs'),
    );
    const r = configValuesFor({ ...data, record: { jobs: 3, bogus: 1 } }, 'record', recordSchema);
    expect(r.values).toEqual({ 'notify-url': ['http://127.0.0.1:1/'], jobs: 3 });
    expect(r.errors).toEqual(['key record.bogus: not an option']);
    expect(configValuesFor({ record: 'front' }, 'archive', schema).errors).toEqual([
      'key record: must be a mapping of record options, got string "front"',
    ]);
  });

  it('the shipped contrib/config.example.yaml is valid', () => {
    const text = readFileSync(path.resolve('contrib/config.example.yaml'), 'utf8');
    const result = configValuesFor(parseConfigText(text, 'config.example.yaml'), 'archive', schema);
    expect(result.errors).toEqual([]);
    expect(result.values).toMatchObject({ directory: '/camera', until: '06:00', ionice: true });
  });
});

describe('provenance', () => {
  it('finds command-line keys through aliases, negations, counts and the positional directory', () => {
    const keys = commandLineKeys(
      ['config', '-j', '2', '--no-skip', '-vv', '/cam', '--notify-url', 'http://a/'],
      schema,
      ['config'],
    );
    expect([...keys].sort()).toEqual(['directory', 'jobs', 'notify-url', 'skip', 'verbose']);
    expect([...commandLineKeys(['archive'], schema, ['archive'])]).toEqual([]);
    expect([...commandLineKeys(['/cam', '-y'], schema, ['archive'])].sort()).toEqual([
      'directory',
      'yes',
    ]);
  });

  it('maps CAMERA_ARCHIVER_* variables to options the way yargs does', () => {
    const env = {
      CAMERA_ARCHIVER_MAX_SIZE: '1T',
      CAMERA_ARCHIVER_JOBS: '2',
      CAMERA_ARCHIVER_NOPE: 'x',
      PATH: '/bin',
    };
    expect(environmentKeys(env, schema)).toEqual(
      new Map([
        ['max-size', 'CAMERA_ARCHIVER_MAX_SIZE'],
        ['jobs', 'CAMERA_ARCHIVER_JOBS'],
      ]),
    );
  });

  it('reads the environment per command: typed like the file, other commands’ variables ignored', () => {
    const env = {
      CAMERA_ARCHIVER_AGE: '14',
      CAMERA_ARCHIVER_DRY_RUN: 'yes',
      CAMERA_ARCHIVER_VERBOSE: '2',
      CAMERA_ARCHIVER_NOTIFY_URL: 'http://127.0.0.1:1/',
      CAMERA_ARCHIVER_SEGMENT_TIME: '10s', // record's
      CAMERA_ARCHIVER_TIMEOUT: '5', // snapshot's
      CAMERA_ARCHIVER_CONFIG: '/etc/c.yaml', // read before parsing
      CAMERA_ARCHIVER_JOBS: '', // empty: unset
      CAMERA_ARCHIVER_DIRECTORY: '/elsewhere', // a positional: never from the environment
    };
    const found = environmentValuesFor(env, schema, new Set(['directory']));
    expect(found.errors).toEqual([]);
    expect(found.values).toEqual({
      age: 14,
      'dry-run': true,
      verbose: 2,
      'notify-url': ['http://127.0.0.1:1/'],
    });
    expect(found.variables.get('dry-run')).toBe('CAMERA_ARCHIVER_DRY_RUN');
    const bad = environmentValuesFor(
      {
        CAMERA_ARCHIVER_AGE: 'abc',
        CAMERA_ARCHIVER_DELETE: 'maybe',
        CAMERA_ARCHIVER_ENCODER: 'qsx',
        CAMERA_ARCHIVER_NOTIFY_URL: 'ftp://hooks.example.com/T0/token',
      },
      schema,
    );
    expect(bad.errors).toEqual([
      'CAMERA_ARCHIVER_AGE=abc: --age must be a number',
      'CAMERA_ARCHIVER_DELETE=maybe: --delete must be true or false',
      'CAMERA_ARCHIVER_ENCODER=qsx: --encoder must be one of auto, qsv, vaapi, nvenc, software',
      expect.stringMatching(/^CAMERA_ARCHIVER_NOTIFY_URL=ftp:\/\/hooks\.example\.com\/…: /),
    ]);
    expect(bad.errors.join('\n')).not.toContain('token');
  });

  it('command line > environment > file > default', () => {
    const state = {
      file: { path: '/etc/c.yaml', explicit: false, data: { jobs: 1, age: 3, codec: 'h264' } },
      env: { CAMERA_ARCHIVER_JOBS: '2', CAMERA_ARCHIVER_AGE: '14' },
      argv: ['--jobs', '3'],
    };
    const settings = { command: 'archive', words: ['archive'], positionals: ['directory'] };
    const shared = sharedSettingsFor(state, settings, schema);
    expect(shared.errors).toEqual([]);
    // yargs gets the environment over the file; the command line wins over both inside yargs.
    expect(shared.values).toEqual({ jobs: 2, age: 14, codec: 'h264' });
    const cli = commandLineKeys(state.argv, schema, ['archive']);
    expect(provenanceOf('jobs', cli, shared.sources)).toEqual({ source: 'command line' });
    expect(provenanceOf('age', cli, shared.sources)).toEqual({
      source: 'environment',
      from: 'CAMERA_ARCHIVER_AGE',
    });
    expect(provenanceOf('codec', cli, shared.sources)).toEqual({
      source: 'config file',
      from: '/etc/c.yaml',
      fileKey: 'codec',
    });
    expect(provenanceOf('audio', cli, shared.sources)).toEqual({ source: 'default' });
  });

  it('config rows hide the secret, shorten URLs and skip unset hidden options', () => {
    const file = path.join(dir, 'c.yaml');
    writeFileSync(
      file,
      'age: 14\nnotify-secret: hunter2\nnotify-url: https://hooks.example.com/T0/secret\n',
    );
    const state = {
      file: { ...loadConfigFile({ path: file, explicit: true }) },
      argv: ['config', '--jobs', '3'],
      env: { CAMERA_ARCHIVER_CODEC: 'h264' },
    };
    const argv = {
      age: 14,
      jobs: 3,
      codec: 'h264',
      'notify-secret': 'hunter2',
      'notify-url': ['https://hooks.example.com/T0/secret'],
      directory: '/camera',
    };
    const rows = configRows(argv, schema, state, ['config']);
    const row = (k: string) => rows.find((r) => r.key === k);
    expect(row('age')).toEqual({ key: 'age', value: 14, source: 'config file', from: file });
    expect(row('jobs')).toMatchObject({ value: 3, source: 'command line' });
    expect(row('codec')).toMatchObject({
      value: 'h264',
      source: 'environment',
      from: 'CAMERA_ARCHIVER_CODEC',
    });
    expect(row('notify-secret')?.value).toBe('(set, hidden)');
    expect(row('notify-url')?.value).toEqual(['https://hooks.example.com/…']);
    expect(row('now')).toBeUndefined();
    expect(row('config')).toBeUndefined();
    const text = renderConfigText(rows, state).join('\n');
    expect(text).not.toContain('hunter2');
    expect(text).toMatch(/age +14 +config file /);
    expect(JSON.stringify(configJson(rows, state))).not.toContain('hunter2');
  });
});

describe('one shared file for archive and record', () => {
  it('record’s structured keys (cameras, storage) in the record section are left to the recorder', async () => {
    let schema: OptionSchema = new Map();
    const { recordBuilder } = await import('../../src/cli/commands/record.js');
    await yargs(['record'])
      .command(
        'record [root]',
        'record',
        (y) => {
          const built = recordBuilder(y);
          schema = schemaFromTable(optionTable(built));
          return built;
        },
        () => undefined,
      )
      .exitProcess(false)
      .parseAsync();
    const data = {
      age: 14,
      record: {
        'segment-time': '2s',
        storage: { warnPercent: 80, blockPercent: 90 },
        cameras: [{ name: 'demo', source: 'lavfi:testsrc2' }],
        bogus: 1,
      },
    };
    const { errors } = configValuesFor(data, 'record', schema, RECORD_FILE_KEYS);
    expect(errors).toEqual([expect.stringMatching(/^key record\.bogus: not an option/)]);
  });
});

describe('config --print masks camera passwords', () => {
  it('rtsp://user:PASSWORD@host prints as user:***@host, whatever the password holds (seeded)', async () => {
    const { redact: maskPasswords } = await import('../../src/core/redact.js');
    const seed = Number(process.env.TEST_SEED ?? Date.now() % 1_000_000);
    console.log(`maskPasswords seed=${seed} (TEST_SEED to repeat)`);
    let state = seed || 1;
    const next = (n: number): number => {
      state = (state * 48271) % 2147483647; // Park–Miller: the same seed, the same cases
      return state % n;
    };
    const pick = (chars: string, min: number, max: number): string =>
      Array.from({ length: min + next(max - min + 1) }, () => chars[next(chars.length)]).join('');
    for (let i = 0; i < 500; i++) {
      // Passwords as people type them into camera UIs: '@' and ':' included (URL parsers take
      // the authority's last '@' as the end of the user info).
      const password = pick('ABCXYZ0189@:!$%&*+,;=~_-', 1, 16);
      const user = pick('abcxyz019', 0, 8);
      const host = `${pick('abcdefgh', 1, 8)}.lan${next(2) ? ':554' : ''}`;
      const rest = next(2) ? `/${pick('abcdefgh/', 0, 12)}${next(2) ? '?channel=1' : ''}` : '';
      const url = `${next(2) ? 'rtsp' : 'rtsps'}://${user}:${password}@${host}${rest}`;
      const masked = `${url.slice(0, url.indexOf('://') + 3)}${user}:***@${host}${rest}`;
      const where = `seed ${seed}, case ${i}: ${url}`;
      expect(maskPasswords(url), where).toBe(masked);
      expect(maskPasswords(`front=${url} and ${url}`), where).toBe(`front=${masked} and ${masked}`);
    }
    // No password, no user info, not a URL: unchanged.
    for (const text of [
      'rtsp://cam.lan/s',
      'rtsp://user@cam.lan/s',
      'lavfi:testsrc2',
      '/dev/video0',
    ])
      expect(maskPasswords(text)).toBe(text);
  });
});

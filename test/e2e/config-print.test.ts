/** `config --print`: every effective value with its source, as a run would use it. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { removeDir, tempDir } from '../helpers/tree.js';

type Options = Record<string, { value: unknown; source: string; from?: string }>;

describe('config --print (e2e)', () => {
  let root: string;
  let state: string;
  beforeEach(() => {
    root = tempDir();
    state = tempDir('cam-state-');
  });
  afterEach(() => {
    removeDir(root);
    removeDir(state);
  });
  const print = async (...args: string[]): Promise<Options> => {
    const r = await runCli(['config', '--print', '--json', '--no-config', root, ...args], {
      env: { XDG_STATE_HOME: state },
    });
    expect(r.exitCode, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { options: Options }).options;
  };

  it('options with defaults show the value a run uses, not "(unset)"', async () => {
    const o = await print();
    expect(o.output).toEqual({ value: path.join(root, 'archived'), source: 'default' });
    expect(o['trash-root']).toEqual({ value: path.join(root, '.deleted'), source: 'default' });
    expect(o['log-file']).toEqual({ value: path.join(root, 'archiver.log'), source: 'default' });
    expect(o['trash-days']).toEqual({ value: 30, source: 'default' });
    expect(o.protect).toEqual({ value: '24h', source: 'default' });
    expect(o['max-delete']).toEqual({ value: '75%', source: 'default' });
    expect(o['state-dir']).toEqual({
      value: path.join(state, 'camera-archiver'),
      source: 'default',
    });
    // Settings that stay unset until the run (the encoder's own default) are null in JSON.
    expect(o.quality).toEqual({ value: null, source: 'default' });
  });

  it('values given on the command line, and their consequences', async () => {
    const o = await print('-o', '/srv/archive', '--max-delete', 'none', '--protect', '3d');
    expect(o.output).toEqual({ value: '/srv/archive', source: 'command line' });
    expect(o['max-delete']).toEqual({ value: 'none', source: 'command line' });
    expect(o.protect).toEqual({ value: '3d', source: 'command line' });
  });

  it('--no-confirm is shown as yes: true from the command line, not "yes false (default)"', async () => {
    const o = await print('--no-confirm');
    expect(o.yes).toEqual({ value: true, source: 'command line', from: '--no-confirm' });
    expect(o.confirm).toBeUndefined();
    expect((await print('-y')).yes).toMatchObject({ value: true, source: 'command line' });
    expect((await print()).yes).toEqual({ value: false, source: 'default' });
  });

  it('the text form says what an unset setting means and never prints "(unset)"', async () => {
    const r = await runCli(['config', '--print', '--no-config', root]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('(unset)');
    expect(r.stdout).toMatch(/ trash-days +30 +default/);
    expect(r.stdout).toMatch(/ quality +\(per encoder\) +default/);
  });

  describe('for every command', () => {
    const printJson = async (
      args: string[],
      env: Record<string, string> = {},
    ): Promise<{ stdout: string; options: Options }> => {
      const r = await runCli(['config', '--print', ...args, '--json'], {
        env: { XDG_STATE_HOME: state, ...env },
      });
      expect(r.exitCode, r.stderr).toBe(0);
      return { stdout: r.stdout, options: (JSON.parse(r.stdout) as { options: Options }).options };
    };
    const configFile = (text: string): string => {
      const file = path.join(state, 'config.yaml');
      writeFileSync(file, text);
      return file;
    };

    it('record: cameras and segment time from its section, a variable, a flag; passwords masked', async () => {
      const file = configFile(
        [
          'age: 14', // archive's: not shown for record
          'record:',
          '  segment-time: 10m',
          '  storage:',
          '    warnPercent: 70',
          '  notify-url: https://hooks.example.com/T0/tok3n',
          '  cameras:',
          '    - name: front',
          '      source: rtsp://admin:hunter2@192.168.1.20/stream1',
          '    - name: yard',
          '      source: lavfi:testsrc2',
          '      segment-time: 5m',
          '',
        ].join('\n'),
      );
      const args = [
        'record',
        '--config',
        file,
        root,
        '--block-percent',
        '95',
        '--camera',
        'door=rtsp://viewer:p@ss:w0rd@10.0.0.9/live',
      ];
      const env = { CAMERA_ARCHIVER_STALL_TIMEOUT: '2m' };
      const { stdout, options: o } = await printJson(args, env);
      const fromFile = (key: string) => ({ source: 'config file', from: file, key });
      expect(o.root).toEqual({ value: root, source: 'command line' });
      expect(o['segment-time']).toEqual({ value: '10m', ...fromFile('record.segment-time') });
      expect(o['warn-percent']).toEqual({ value: 70, ...fromFile('record.storage.warnPercent') });
      expect(o['block-percent']).toEqual({ value: 95, source: 'command line' });
      expect(o['stall-timeout']).toEqual({
        value: '2m',
        source: 'environment',
        from: 'CAMERA_ARCHIVER_STALL_TIMEOUT',
      });
      expect(o['notify-url']).toMatchObject(fromFile('record.notify-url'));
      expect(o.output).toEqual({ value: path.join(root, 'archived'), source: 'default' });
      expect(o['log-file']).toEqual({ value: path.join(root, 'recorder.log'), source: 'default' });
      expect(o['camera.front']).toEqual({
        value: {
          source: 'rtsp://admin:***@192.168.1.20/stream1',
          mode: 'copy',
          segmentTime: '10m',
          audio: 'aac',
          rtspTransport: 'tcp',
        },
        ...fromFile('record.cameras[0]'),
      });
      expect(o['camera.yard']).toMatchObject({
        value: { source: 'lavfi:testsrc2', mode: 'encode', segmentTime: '5m' },
        ...fromFile('record.cameras[1]'),
      });
      expect(o['camera.door']).toEqual({
        value: expect.objectContaining({ source: 'rtsp://viewer:***@10.0.0.9/live' }) as unknown,
        source: 'command line',
      });
      expect(o.age).toBeUndefined(); // archive's setting
      expect(o.camera).toBeUndefined(); // shown per camera
      expect(o.status).toBeUndefined(); // an action, not a setting

      // A variable beats the file's key, for the cameras that take the general segment time too.
      const five = await printJson(args, { ...env, CAMERA_ARCHIVER_SEGMENT_TIME: '3m' });
      expect(five.options['segment-time']).toEqual({
        value: '3m',
        source: 'environment',
        from: 'CAMERA_ARCHIVER_SEGMENT_TIME',
      });
      expect(five.options['camera.front']?.value).toMatchObject({ segmentTime: '3m' });

      const text = await runCli(['config', '--print', ...args], {
        env: { XDG_STATE_HOME: state, ...env },
      });
      expect(text.exitCode, text.stderr).toBe(0);
      expect(text.stdout).toContain('Effective configuration of camera-archiver record');
      expect(text.stdout).toMatch(
        /^ {2}camera\.front +rtsp:\/\/admin:\*\*\*@192\.168\.1\.20\/stream1 \(copy, 10m segments, audio aac\) +config file .* \(key record\.cameras\[0\]\)$/m,
      );
      expect(text.stdout).toMatch(
        /^ {2}segment-time +10m +config file .* \(key record\.segment-time\)$/m,
      );
      expect(text.stdout).toMatch(/^ {2}block-percent +95 +command line$/m);
      for (const out of [stdout, five.stdout, text.stdout]) {
        expect(out).not.toContain('hunter2');
        expect(out).not.toContain('w0rd');
        expect(out).not.toContain('p@ss');
        expect(out).not.toContain('tok3n');
      }
    });

    it('record without any camera still shows its settings, and says it would not start', async () => {
      const { options: o } = await printJson(['record', '--no-config', root]);
      expect(o.camera).toEqual({ value: [], source: 'default' });
      expect(o['segment-time']).toEqual({ value: '30m', source: 'default' });
      expect(o['stall-timeout']).toEqual({ value: '1m', source: 'default' });
      expect(o['warn-percent']).toEqual({ value: 80, source: 'default' });
    });

    it('stats: its section, the shared top level, a variable and a flag', async () => {
      const file = configFile('age: 7\nstats:\n  days: 5\n');
      const { options: o } = await printJson(
        ['stats', '--config', file, root, '--archive-age', '90'],
        { CAMERA_ARCHIVER_MAX_SIZE: '500GB', CAMERA_ARCHIVER_JOBS: '3' },
      );
      expect(o.directory).toEqual({ value: root, source: 'command line' });
      expect(o.output).toEqual({ value: path.join(root, 'archived'), source: 'default' });
      expect(o.age).toEqual({ value: 7, source: 'config file', from: file });
      expect(o.days).toEqual({ value: 5, source: 'config file', from: file, key: 'stats.days' });
      expect(o['max-size']).toEqual({
        value: '500GB',
        source: 'environment',
        from: 'CAMERA_ARCHIVER_MAX_SIZE',
      });
      expect(o['archive-age']).toEqual({ value: '90', source: 'command line' });
      expect(o['min-free']).toEqual({ value: null, source: 'default' });
      expect(o.jobs).toBeUndefined(); // archive's variable: not a stats setting
    });

    it('snapshot and detect: shown even before the required camera is given; no password', async () => {
      const bare = await runCli(['config', '--print', 'snapshot', '--no-config'], {
        env: { XDG_STATE_HOME: state },
      });
      expect(bare.exitCode, bare.stderr).toBe(0);
      expect(bare.stdout).toMatch(/^ {2}camera +\(none: snapshot requires it\) +default$/m);
      const { stdout, options: o } = await printJson(
        ['snapshot', '--no-config', '-c', 'front=rtsp://u:s3cr3t@cam.lan/s', 'front.jpg'],
        { CAMERA_ARCHIVER_TIMEOUT: '5' },
      );
      expect(o.camera).toEqual({ value: 'front=rtsp://u:***@cam.lan/s', source: 'command line' });
      expect(o.output).toEqual({ value: 'front.jpg', source: 'command line' });
      expect(o.timeout).toEqual({
        value: 5,
        source: 'environment',
        from: 'CAMERA_ARCHIVER_TIMEOUT',
      });
      expect(stdout).not.toContain('s3cr3t');
      const detect = await runCli(['config', 'detect', '--no-config'], {
        env: { XDG_STATE_HOME: state },
      });
      expect(detect.exitCode, detect.stderr).toBe(0);
      expect(detect.stdout).toContain('Effective configuration of camera-archiver detect');
    });

    it('a bad value is refused as the command itself refuses it (exit 2, naming its origin)', async () => {
      const r = await runCli(['config', '--print', 'stats', '--no-config', root], {
        env: { XDG_STATE_HOME: state, CAMERA_ARCHIVER_AGE: '-1' },
      });
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain('CAMERA_ARCHIVER_AGE=-1');
    });
  });
});

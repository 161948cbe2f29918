/** `config --print`: every effective value with its source, as a run would use it. */
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
});

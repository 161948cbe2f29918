/**
 * The command runtime (src/cli/runtime.ts): the shared options table agrees with what each command
 * declares; a run's lock, log and report are released and sent however it ends; signals abort
 * once and exit on the second.
 */
import { EventEmitter } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import yargs, { type Argv } from 'yargs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { archiveBuilder } from '../../src/cli/commands/archive.js';
import { detectBuilder } from '../../src/cli/commands/detect.js';
import { recordBuilder } from '../../src/cli/commands/record.js';
import { snapshotBuilder } from '../../src/cli/commands/snapshot.js';
import { statsBuilder } from '../../src/cli/commands/stats.js';
import {
  command,
  commandNameOf,
  listenForSignals,
  runCommand,
  SHARED_OPTIONS,
  unknownOptionMessage,
  type CommandName,
  type RunReporter,
} from '../../src/cli/runtime.js';
import { EnvironmentError, type InterruptSignal, type RunOutcome } from '../../src/core/errors.js';
import { optionTable, type ConfigState } from '../../src/core/config-file.js';
import type { CliContext } from '../../src/cli/context.js';
import { LOCK_FILE_NAME } from '../../src/tree/lock.js';
import { removeDir, tempDir } from '../helpers/tree.js';

/** The option names a command's builder declares, as yargs registers them inside the command. */
async function declared(builder: (y: Argv) => Argv<unknown>): Promise<Set<string>> {
  let keys = new Set<string>();
  await yargs(['run'])
    .command(
      'run',
      'run',
      (y) => {
        const built = builder(y);
        keys = new Set(Object.keys(optionTable(built).key));
        return built;
      },
      () => undefined,
    )
    .exitProcess(false)
    .fail(() => undefined) // snapshot's required --camera: only its options are read here
    .parseAsync();
  return keys;
}

const BUILDERS: [CommandName, (y: Argv) => Argv<unknown>][] = [
  ['archive', archiveBuilder],
  ['cleanup', archiveBuilder],
  ['stats', statsBuilder],
  ['record', recordBuilder],
  ['snapshot', snapshotBuilder],
  ['detect', detectBuilder],
];

describe('the options every command shares', () => {
  it('SHARED_OPTIONS (the README table) lists exactly the commands that declare each option', async () => {
    for (const [command, builder] of BUILDERS) {
      const keys = await declared(builder);
      for (const [option, commands] of Object.entries(SHARED_OPTIONS)) {
        if (option === 'config') continue; // global: declared once by main.ts for every command
        expect(keys.has(option), `${command} --${option}`).toBe(commands.includes(command));
      }
    }
    expect(SHARED_OPTIONS.config).toHaveLength(BUILDERS.length);
  });

  it('an option of other commands is named as such; any other unknown word is left to yargs', () => {
    expect(unknownOptionMessage('Unknown arguments: metrics-file, metricsFile', 'stats')).toBe(
      '--metrics-file does not apply to stats (only to archive, --cleanup); set in the config file or the environment, it is ignored there',
    );
    expect(unknownOptionMessage('Unknown argument: v', 'detect')).toMatch(
      /^--verbose does not apply to detect/,
    );
    expect(unknownOptionMessage('Unknown arguments: json, frobnicate', 'detect')).toBeUndefined();
    expect(unknownOptionMessage('Not enough arguments', 'detect')).toBeUndefined();
  });

  it('names the command a command line runs', () => {
    expect(commandNameOf(['/camera', '-y'])).toBe('archive');
    expect(commandNameOf(['archive', '--cleanup'])).toBe('cleanup');
    expect(commandNameOf(['stats', '/camera'])).toBe('stats');
    expect(commandNameOf(['-y', '--', 'record'])).toBe('archive'); // a directory named record
  });
});

/** A reporter that remembers what it was told. */
function recordingReporter(): RunReporter & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    settle<T extends RunOutcome>(outcome: T): T {
      calls.push(`settle ${outcome.status}`);
      return outcome;
    },
    fail(error: unknown) {
      calls.push(`fail ${(error as Error).message}`);
    },
    async finish() {
      calls.push('finish');
    },
  };
}

describe('runCommand', () => {
  let dir: string;
  let stderr: PassThrough & { isTTY?: boolean };
  let written: string;
  beforeEach(() => {
    dir = tempDir('runtime-');
    written = '';
    stderr = new PassThrough();
    stderr.on('data', (c: Buffer) => (written += c.toString()));
  });
  afterEach(() => removeDir(dir));

  const io = () => ({ stderr: stderr as unknown as NodeJS.WriteStream, env: {} });

  it('a run that throws: logged once and marked, the lock released, reported once', async () => {
    const report = recordingReporter();
    const log = path.join(dir, 'run.log');
    const error = new EnvironmentError('the disk went away');
    await expect(
      runCommand({
        io: io(),
        commandLine: 'camera-archiver -y',
        report,
        prepare: async () => dir,
        log: () => ({ verbosity: 0, file: log, stateDir: dir }),
        body: async (tree, { lockTree }) => {
          await lockTree(tree);
          expect(existsSync(path.join(tree, LOCK_FILE_NAME))).toBe(true);
          throw error;
        },
      }),
    ).rejects.toBe(error);
    expect((error as { logged?: boolean }).logged).toBe(true);
    expect(existsSync(path.join(dir, LOCK_FILE_NAME))).toBe(false);
    expect(report.calls).toEqual(['fail the disk went away', 'finish']);
    expect(readFileSync(log, 'utf8')).toContain('the disk went away');
  });

  it('a run that fails before it has a logger is still reported (warnings to stderr)', async () => {
    const report = recordingReporter();
    const error = new EnvironmentError('input directory /camera does not exist');
    await expect(
      runCommand({
        io: io(),
        commandLine: 'camera-archiver',
        report,
        prepare: () => Promise.reject(error),
        log: () => ({ verbosity: 0 }),
        body: async () => ({ status: 'ok' }),
      }),
    ).rejects.toBe(error);
    expect((error as { logged?: boolean }).logged).toBeUndefined(); // main.ts prints it
    expect(report.calls).toEqual(['fail input directory /camera does not exist', 'finish']);
  });

  it('a run that ends: its outcome settled before the report is sent, -q keeps info off stderr', async () => {
    const report = recordingReporter();
    const outcome = await runCommand({
      io: io(),
      commandLine: 'camera-archiver',
      report,
      prepare: async () => undefined,
      log: () => ({ verbosity: -1 }),
      body: async (_p, { log }) => {
        log.info('an info line');
        log.warn('a warning');
        return { status: 'failed', failures: 2 };
      },
    });
    expect(outcome).toEqual({ status: 'failed', failures: 2 });
    expect(report.calls).toEqual(['settle failed', 'finish']);
    expect(written).toContain('a warning');
    expect(written).not.toContain('an info line');
  });
});

describe('listenForSignals', () => {
  it('the first signal aborts with its name; a second exits with the first one’s code', () => {
    const emitter = new EventEmitter();
    const exits: InterruptSignal[] = [];
    const stderr = new PassThrough();
    const listener = listenForSignals(emitter as unknown as NodeJS.Process, stderr, (first) =>
      exits.push(first),
    );
    expect(listener.interrupted()).toBeUndefined();
    emitter.emit('SIGTERM');
    // One message for every command: it names the signal and how to exit at once.
    expect(String(stderr.read())).toMatch(
      /SIGTERM received: stopping — nothing new is started.*\(SIGTERM again: exit at once\)/,
    );
    expect(listener.signal.aborted).toBe(true);
    expect(listener.signal.reason).toBe('SIGTERM');
    expect(exits).toEqual([]);
    emitter.emit('SIGINT');
    expect(exits).toEqual(['SIGTERM']);
    expect(listener.interrupted()).toBe('SIGTERM');
  });

  it('a command that takes the signals gets every one until it gives them back', () => {
    const emitter = new EventEmitter();
    const listener = listenForSignals(emitter as unknown as NodeJS.Process, new PassThrough(), () =>
      expect.unreachable(),
    );
    const taken: InterruptSignal[] = [];
    const giveBack = listener.takeSignals((s) => taken.push(s));
    emitter.emit('SIGHUP');
    emitter.emit('SIGINT');
    expect(taken).toEqual(['SIGHUP', 'SIGINT']);
    expect(listener.signal.aborted).toBe(false);
    giveBack();
    emitter.emit('SIGHUP');
    expect(listener.signal.aborted).toBe(true);
  });
});

describe('command', () => {
  it('maps each outcome to its exit code and hands the handler the loaded file and where values came from', async () => {
    const codes: number[] = [];
    const ctx = { setExitCode: (c: number) => codes.push(c) } as unknown as CliContext;
    const file = { path: '/etc/camera-archiver/config.yaml', explicit: false, data: { age: 7 } };
    const state: ConfigState = {
      argv: [],
      env: {},
      file,
      applied: {
        values: { age: 7 },
        errors: [],
        sources: new Map([['age', { source: 'config file', from: file.path }]]),
      },
    };
    const outcomes: RunOutcome[] = [
      { status: 'ok' },
      { status: 'cancelled' },
      { status: 'failed', failures: 3 },
      { status: 'interrupted', signal: 'SIGTERM' },
      { status: 'interrupted', signal: 'SIGHUP' },
    ];
    for (const outcome of outcomes)
      await command(
        async (_args, c) => {
          expect(c.configFile).toBe(file);
          expect(c.notFromSettings('age')).toBe(false);
          expect(c.notFromSettings('json')).toBe(true);
          return outcome;
        },
        ctx,
        state,
      )({});
    expect(codes).toEqual([0, 0, 1, 143, 129]);
  });
});

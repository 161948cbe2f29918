/** Runs the real bin/camera-archiver in a child process (the e2e tier's only way in). */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

export const BIN = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../bin/camera-archiver',
);

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  input?: string;
  cwd?: string;
  timeoutMs?: number;
}

/**
 * The state directory the runs use unless a test names its own: cleanup's root markers and the
 * log rotation's bookkeeping stay out of the home directory of whoever runs the tests.
 */
export const TEST_STATE_HOME = path.join(
  os.tmpdir(),
  `camera-archiver-test-state-${process.getuid?.() ?? 0}`,
);

/**
 * Quick, deterministic encoding for tests: the real pipeline with the fastest software preset,
 * in HEVC (x265) whatever `--codec auto` picks; AV1 has its own tests (test/integration/av1.test.ts).
 */
export const FAST = [
  '--encoder',
  'software',
  '--codec',
  'hevc',
  '--preset',
  'ultrafast',
  '--progress',
  'lines',
];

/** The same with the default preset: transcodes slow enough for a signal or a rival run to land in. */
export const SLOW = [
  '--encoder',
  'software',
  '--codec',
  'hevc',
  '--preset',
  'medium',
  '--progress',
  'lines',
];

export function startCli(args: readonly string[], options: CliOptions = {}) {
  const stdin =
    options.input !== undefined ? { input: options.input } : { stdin: 'ignore' as const };
  return execa(process.execPath, [BIN, ...args], {
    reject: false,
    env: { TZ: 'UTC', XDG_STATE_HOME: TEST_STATE_HOME, ...options.env },
    ...stdin,
    cwd: options.cwd ?? process.cwd(),
    timeout: options.timeoutMs ?? 120_000,
  });
}

export async function runCli(
  args: readonly string[],
  options: CliOptions = {},
): Promise<CliResult> {
  const r = await startCli(args, options);
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/**
 * The installed-package tier's setup, once per test run: `npm pack` the working tree (as
 * published: the `files` list, the bundle, the launcher) and `npm install -g` the tarball into a
 * temporary prefix, as a new user would. Every test of the tier then drives
 * PREFIX/bin/camera-archiver, whose path goes to the tests as `inject('installedBin')` and as
 * CAMERA_ARCHIVER_BIN. The variable reaches every tier's workers of the same run, so tests that
 * read it (the recorder's long-running proof) drive the installed package under `npm test`, and
 * the repository's bin/ when their tier runs alone.
 *
 * The install reads the npm cache first (`npm ci` filled it) and goes to the registry only for
 * what is missing. Set CAMERA_ARCHIVER_BIN to test an existing installation instead.
 * A failed install does not abort the other tiers: the tier reports it (and fails under CI).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The installed camera-archiver launcher, or '' when the install failed. */
    installedBin: string;
    /** Why the install failed ('' when it did not). */
    installError: string;
  }
}

const run = promisify(execFile);
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** npm's own variables from `npm test` would point the nested npm at this repository. */
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_(package|lifecycle)_|^npm_config_(prefix|global|local_prefix)$/i.test(k)) continue;
    env[k] = v;
  }
  return { ...env, npm_config_update_notifier: 'false', npm_config_fund: 'false' };
}

async function npm(args: string[], cwd: string): Promise<string> {
  const { stdout } = await run('npm', args, {
    cwd,
    env: npmEnv(),
    maxBuffer: 64 * 1024 * 1024,
    timeout: 300_000,
  });
  return stdout;
}

async function packAndInstall(dir: string): Promise<string> {
  if (!existsSync(path.join(REPO, 'dist/bundle/camera-archiver.js')))
    throw new Error('dist/bundle is missing: run `npm run build` first (npm test does)');
  // --ignore-scripts: `prepare` would rebuild what `npm test` has just built.
  const packed = JSON.parse(
    await npm(['pack', '--ignore-scripts', '--json', '--pack-destination', dir], REPO),
  ) as { filename: string }[];
  const tarball = path.join(dir, packed[0]?.filename ?? '');
  const prefix = path.join(dir, 'prefix');
  const install = (cache: string): Promise<string> =>
    npm(['install', '--global', '--prefix', prefix, cache, '--no-audit', tarball], dir);
  try {
    await install('--offline');
  } catch {
    // Not everything is cached (npm ci keeps tarballs, not always the registry's metadata).
    await install('--prefer-offline');
  }
  const bin = path.join(prefix, 'bin', 'camera-archiver');
  if (!existsSync(bin)) throw new Error(`npm install left no ${bin}`);
  return bin;
}

export default async function setup(project: TestProject): Promise<() => void> {
  const given = process.env.CAMERA_ARCHIVER_BIN;
  if (given) {
    project.provide('installedBin', path.resolve(given));
    project.provide('installError', '');
    return () => undefined;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cam-installed-'));
  const started = Date.now();
  try {
    const bin = await packAndInstall(dir);
    const version = (
      JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
    process.stderr.write(
      `installed camera-archiver ${version} from its packed tarball into ${dir} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
    );
    process.env.CAMERA_ARCHIVER_BIN = bin;
    project.provide('installedBin', bin);
    project.provide('installError', '');
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    project.provide('installedBin', '');
    project.provide('installError', message.slice(0, 4000));
  }
  return () => {
    delete process.env.CAMERA_ARCHIVER_BIN;
    rmSync(dir, { recursive: true, force: true });
  };
}

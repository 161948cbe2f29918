/**
 * Finds ffmpeg and ffprobe: --ffmpeg/--ffprobe, then FFMPEG_PATH/FFPROBE_PATH, then PATH, then the
 * static binaries of the optional npm packages @ffmpeg-installer/ffmpeg and @ffprobe-installer/ffprobe
 * (so `npm ci` alone gives a working tool; those builds have no hardware encoders).
 */
import { accessSync, constants, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { EnvironmentError } from '../core/errors.js';
import { runCaptured } from './run-captured.js';

export type ToolOrigin = 'option' | 'environment' | 'PATH' | 'npm package';

export interface ToolLocation {
  path: string;
  origin: ToolOrigin;
}

export interface FfmpegCaps {
  /** First line of `ffmpeg -version`. */
  version: string;
  lavfMajor: number;
  lavfMinor: number;
  /** `-fps_mode` exists from ffmpeg 5.1 (libavformat 59.27); older builds only know `-vsync`. */
  hasFpsMode: boolean;
  /** `-stats_period` exists from ffmpeg 4.4 (libavformat 58.76). */
  hasStatsPeriod: boolean;
}

export interface Toolchain {
  ffmpeg: ToolLocation;
  ffprobe: ToolLocation;
  caps: FfmpegCaps;
}

export interface ToolRequest {
  ffmpeg?: string | undefined;
  ffprobe?: string | undefined;
}

const NPM_PACKAGES = {
  ffmpeg: '@ffmpeg-installer/ffmpeg',
  ffprobe: '@ffprobe-installer/ffprobe',
} as const;
const ENV_NAMES = { ffmpeg: 'FFMPEG_PATH', ffprobe: 'FFPROBE_PATH' } as const;

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function searchPath(name: string, envPath: string | undefined): string | undefined {
  for (const dir of (envPath ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function fromNpmPackage(tool: 'ffmpeg' | 'ffprobe'): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const pkg = require(NPM_PACKAGES[tool]) as { path?: unknown };
    return typeof pkg.path === 'string' && isExecutable(pkg.path) ? pkg.path : undefined;
  } catch {
    return undefined;
  }
}

export function locateTool(
  tool: 'ffmpeg' | 'ffprobe',
  requested: string | undefined,
  env: NodeJS.ProcessEnv,
): ToolLocation {
  if (requested) {
    const resolved = requested.includes('/')
      ? path.resolve(requested)
      : searchPath(requested, env.PATH);
    if (!resolved || !isExecutable(resolved)) {
      throw new EnvironmentError(
        `${tool} not found or not executable: ${requested} (from --${tool})`,
      );
    }
    return { path: resolved, origin: 'option' };
  }
  const fromEnv = env[ENV_NAMES[tool]];
  if (fromEnv) {
    if (!isExecutable(fromEnv)) {
      throw new EnvironmentError(
        `${tool} not found or not executable: ${fromEnv} (from ${ENV_NAMES[tool]})`,
      );
    }
    return { path: fromEnv, origin: 'environment' };
  }
  const onPath = searchPath(tool, env.PATH);
  if (onPath) return { path: onPath, origin: 'PATH' };
  const bundled = fromNpmPackage(tool);
  if (bundled) return { path: bundled, origin: 'npm package' };
  throw new EnvironmentError(
    `${tool} not found: install it (Debian/Ubuntu: apt-get install ffmpeg), put it on PATH, or name it with --${tool} or ${ENV_NAMES[tool]}`,
  );
}

export function parseCaps(versionOutput: string): FfmpegCaps {
  const version = versionOutput.split('\n')[0]?.trim() ?? 'unknown';
  const lavf = /libavformat\s+(\d+)\.\s*(\d+)/.exec(versionOutput);
  const lavfMajor = Number(lavf?.[1] ?? 0);
  const lavfMinor = Number(lavf?.[2] ?? 0);
  const atLeast = (major: number, minor: number): boolean =>
    lavfMajor > major || (lavfMajor === major && lavfMinor >= minor);
  return {
    version,
    lavfMajor,
    lavfMinor,
    hasFpsMode: atLeast(59, 27),
    hasStatsPeriod: atLeast(58, 76),
  };
}

/** Where ffmpeg and ffprobe are, without running either. */
export function locateToolchain(
  request: ToolRequest,
  env: NodeJS.ProcessEnv,
  warn: (message: string) => void,
): Pick<Toolchain, 'ffmpeg' | 'ffprobe'> {
  const ffmpeg = locateTool('ffmpeg', request.ffmpeg, env);
  const ffprobe = locateTool('ffprobe', request.ffprobe, env);
  for (const tool of [ffmpeg, ffprobe]) {
    if (tool.origin === 'npm package') {
      warn(
        `using the static ${path.basename(tool.path)} from npm (${tool.path}): hardware encoding (QSV, VAAPI, NVENC) is unavailable; install ffmpeg from your distribution for it`,
      );
    }
  }
  return { ffmpeg, ffprobe };
}

/** locateToolchain, and the capabilities ffmpeg's version gives (needed to build its commands). */
export async function resolveToolchain(
  request: ToolRequest,
  env: NodeJS.ProcessEnv,
  warn: (message: string) => void,
  /** Nice value for `ffmpeg -version` (a dry run runs its probes at the lowest priority). */
  nice?: number,
): Promise<Toolchain> {
  const { ffmpeg, ffprobe } = locateToolchain(request, env, warn);
  let versionOutput: string;
  try {
    const result = await runCaptured(ffmpeg.path, ['-hide_banner', '-version'], {
      timeoutMs: 20_000,
      nice,
    });
    if (result.exitCode !== 0) throw new Error(result.stderr || `exit code ${result.exitCode}`);
    versionOutput = result.stdout;
  } catch (error) {
    throw new EnvironmentError(`cannot run ${ffmpeg.path}: ${(error as Error).message}`);
  }
  return { ffmpeg, ffprobe, caps: parseCaps(versionOutput) };
}

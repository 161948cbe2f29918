/**
 * The shells of `record`, `snapshot` and `detect`: they meet the world here (toolchain, logger,
 * real adapters) and hand everything else to the pure and injected parts. Loaded on demand by the
 * CLI command modules, so `--help` does not pay for it.
 */
import { existsSync, promises as fsp, readdirSync, realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { EnvironmentError, errorMessage, UsageError } from '../core/errors.js';
import type { AppLogger } from '../core/logger.js';
import { loadConfigFile, type LoadedConfig } from '../core/config-file.js';
import { reclaimSpace } from '../retention/reclaim.js';
import { resolveToolchain, type Toolchain } from '../media/toolchain.js';
import {
  deviceExists,
  lockCamera,
  mediaTools,
  nodeSpawner,
  nodeStatfs,
  processAlive,
  reapOrphans,
  recorderEnv,
} from './adapters.js';
import {
  buildRecordConfig,
  parseCameraFlag,
  toCameraConfig,
  type FlagInput,
  type CameraConfig,
  type RecordConfig,
} from './config.js';
import { buildSnapshotArgs } from './ffmpeg-args.js';
import { Recorder } from './recorder.js';
import { formatStatus, readStatus } from './status.js';
import { detectCameras, renderDetect, type DetectIo } from './v4l2.js';
import { createNotifier, type NotifyEvent } from '../core/notify.js';
import { redact, registerSecret, registerUrlSecret } from '../core/redact.js';

export interface CommandIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  commandLine: string;
}

export interface RecordCommandOptions extends FlagInput {
  logFile?: string | undefined;
  verbosity: number;
  ffmpeg?: string | undefined;
  ffprobe?: string | undefined;
  notifyUrls?: readonly string[];
  notifySecret?: string | undefined;
}

/**
 * The recorder's configuration: the flags over the config file (found and parsed once for every
 * command by the CLI, core/config-file.ts), the cameras checked, their passwords registered as
 * secrets before anything is logged.
 */
export function recordConfigOf(
  options: RecordCommandOptions,
  file: LoadedConfig | undefined,
): { config: RecordConfig; warnings: string[] } {
  const built = buildRecordConfig(file, options, { deviceExists });
  registerConfigSecrets(built.config, options);
  return built;
}

/** Camera passwords and the notification secret: hidden from every log, status and webhook. */
function registerConfigSecrets(config: RecordConfig, options: RecordCommandOptions): void {
  for (const c of config.cameras) if (c.source.kind === 'rtsp') registerUrlSecret(c.source.input);
  for (const flag of options.cameras) registerUrlSecret(flag.slice(flag.indexOf('=') + 1));
  registerSecret(options.notifySecret);
  for (const url of options.notifyUrls ?? []) registerUrlSecret(url);
}

/** `record --status`: prints the status file; true when a recorder is running. */
export async function printStatus(root: string, json: boolean, io: CommandIo): Promise<boolean> {
  const status = await readStatus(root);
  if (!status) {
    io.stdout.write(
      `no recorder status under ${root} (${path.join(root, '.record-status.json')} does not exist): record has not run here\n`,
    );
    return false;
  }
  const alive = status.host === os.hostname() ? processAlive(status.pid) : true;
  // The file is redacted when written; a file from an older version may not be.
  if (json) io.stdout.write(redact(`${JSON.stringify({ ...status, alive }, null, 2)}\n`));
  else io.stdout.write(redact(formatStatus(status, new Date(), alive)));
  return alive && status.state !== 'stopped';
}

export interface RecordSignals {
  stop: AbortSignal;
  /** A second stop request: kill ffmpeg instead of waiting for it to close its segments. */
  hurry?: AbortSignal;
  onReload(listener: () => void): () => void;
}

/** What `record` knows before its logger exists: its configuration and its log file. */
export interface PreparedRecord {
  config: RecordConfig;
  warnings: string[];
  logFile: string;
}

/** Start-up: the configuration built and checked, the recording root created. */
export async function prepareRecord(
  options: RecordCommandOptions,
  file: LoadedConfig | undefined,
): Promise<PreparedRecord> {
  const { config, warnings } = recordConfigOf(options, file);
  await fsp.mkdir(config.root, { recursive: true }).catch((error: unknown) => {
    throw new EnvironmentError(
      `cannot create the recording root ${config.root}: ${errorMessage(error)}`,
    );
  });
  return { config, warnings, logFile: options.logFile ?? path.join(config.root, 'recorder.log') };
}

/** Runs the recorder until `signals.stop`; SIGHUP re-reads the config file the run started with. */
export async function runRecord(
  options: RecordCommandOptions,
  io: CommandIo,
  signals: RecordSignals,
  log: AppLogger,
  prepared: PreparedRecord,
  file: LoadedConfig | undefined,
): Promise<void> {
  for (const w of prepared.warnings) log.warn(w);
  const tools = await resolveToolchain(
    { ffmpeg: options.ffmpeg, ffprobe: options.ffprobe },
    io.env,
    (m) => log.warn(m),
  );
  const recorder = new Recorder(
    prepared.config,
    recorderDeps(options, prepared.config, tools, io, log),
  );
  await recorder.run({
    stop: signals.stop,
    ...(signals.hurry ? { hurry: signals.hurry } : {}),
    onReload: signals.onReload,
    ...(file
      ? {
          reloadConfig: async () => {
            const next = recordConfigOf(options, loadConfigFile(file));
            for (const w of next.warnings) log.warn(w);
            return next.config;
          },
        }
      : {}),
  });
}

/** The real world the recorder runs against: ffmpeg, the filesystem, the webhooks, the clock. */
function recorderDeps(
  options: RecordCommandOptions,
  config: RecordConfig,
  tools: Toolchain,
  io: CommandIo,
  log: AppLogger,
): ConstructorParameters<typeof Recorder>[1] {
  const notifier = options.notifyUrls?.length
    ? createNotifier(options.notifyUrls, options.notifySecret, log, {
        timeoutMs: config.intervals.notifyTimeoutMs,
        backoffMs: config.intervals.notifyRetryMs,
        totalTimeoutMs: config.intervals.notifyDeadlineMs,
      })
    : undefined;
  return {
    ...(notifier ? { notify: (event: NotifyEvent) => void notifier.notify(event) } : {}),
    ffmpegPath: tools.ffmpeg.path,
    caps: tools.caps,
    spawn: nodeSpawner(tools.ffmpeg.path, io.env),
    tools: mediaTools(tools.ffmpeg.path, tools.ffprobe.path, io.env),
    probeEncoder: async (args) => {
      const r = await execa(tools.ffmpeg.path, args, {
        reject: false,
        stdin: 'ignore',
        timeout: 30_000,
      });
      return { exitCode: r.exitCode ?? -1, stderr: String(r.stderr) };
    },
    hasDevice: existsSync,
    statfs: nodeStatfs,
    reclaim: reclaimSpace,
    // The lock file shows the command line to whoever finds the camera busy: no secrets in it.
    lockCamera: (dir, camera) => lockCamera(dir, camera, redact(io.commandLine), log),
    reapOrphans: (dir) => reapOrphans(dir, log),
    clock: () => new Date(),
    log,
  };
}

export interface SnapshotOptions {
  camera: string;
  output: string;
  ffmpeg?: string | undefined;
  timeoutSeconds: number;
}

/** One JPEG from a camera; written under a temporary name first, so OUT is whole or absent. */
export async function runSnapshot(options: SnapshotOptions, io: CommandIo): Promise<string> {
  const camera = snapshotCamera(options.camera);
  const output = path.resolve(options.output);
  if (!/\.jpe?g$/i.test(output))
    throw new UsageError(`snapshot output must end in .jpg, got ${options.output}`);
  const { locateTool, parseCaps } = await import('../media/toolchain.js');
  const ffmpeg = locateTool('ffmpeg', options.ffmpeg, io.env).path;
  const version = await execa(ffmpeg, ['-hide_banner', '-version'], {
    reject: false,
    timeout: 20_000,
  });
  const caps = parseCaps(String(version.stdout));
  const temp = path.join(path.dirname(output), `.${path.basename(output)}.${process.pid}.partial`);
  try {
    await grabFrame(ffmpeg, buildSnapshotArgs(camera, temp, caps), temp, camera.name, options, io);
    await fsp.rename(temp, output);
  } finally {
    await fsp.rm(temp, { force: true });
  }
  return output;
}

/** The `--camera NAME=SOURCE` of a snapshot, as a camera config (copy for RTSP, else encode). */
function snapshotCamera(flag: string): CameraConfig {
  // Registered before anything can fail: every error below may quote the URL.
  registerUrlSecret(flag.slice(flag.indexOf('=') + 1));
  const { name, source } = parseCameraFlag(flag);
  const camera = {
    ...toCameraConfig(
      {
        name,
        source: flag.slice(name.length + 1),
        mode: source.kind === 'rtsp' ? 'copy' : 'encode',
      },
      { segmentSeconds: 60 },
      `--camera ${name}`,
    ),
    source,
  };
  if (source.kind === 'v4l2' && !deviceExists(source.input)) {
    throw new EnvironmentError(
      `device ${source.input} does not exist (run 'camera-archiver detect' to list cameras)`,
    );
  }
  return camera;
}

/** Runs ffmpeg for one frame into `temp`; a timeout, a failure or an empty file is an error. */
async function grabFrame(
  ffmpeg: string,
  args: string[],
  temp: string,
  name: string,
  options: SnapshotOptions,
  io: CommandIo,
): Promise<void> {
  const r = await execa(ffmpeg, args, {
    reject: false,
    stdin: 'ignore',
    env: recorderEnv(io.env),
    timeout: options.timeoutSeconds * 1000,
  });
  const size = await fsp
    .stat(temp)
    .then((s) => s.size)
    .catch(() => 0);
  if (r.timedOut)
    throw new EnvironmentError(`camera ${name}: no frame within ${options.timeoutSeconds} s`);
  if (r.exitCode !== 0 || size === 0) {
    const why =
      String(r.stderr).trim().split('\n').slice(-2).join(' / ') ||
      `ffmpeg exit ${r.exitCode ?? '?'}`;
    // ffmpeg repeats its input URL in its errors: never print the camera's password.
    throw new EnvironmentError(redact(`camera ${name}: no frame: ${why}`));
  }
}

function realDetectIo(env: NodeJS.ProcessEnv): DetectIo {
  return {
    findV4l2Ctl: () => {
      for (const dir of (env.PATH ?? '').split(path.delimiter)) {
        if (dir && existsSync(path.join(dir, 'v4l2-ctl'))) return path.join(dir, 'v4l2-ctl');
      }
      return undefined;
    },
    run: async (binary, args) => {
      const r = await execa(binary, args, { reject: false, stdin: 'ignore', timeout: 20_000 });
      return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
    },
    byIdLinks: async () => {
      const links = new Map<string, string>();
      const dir = '/dev/v4l/by-id';
      try {
        for (const name of readdirSync(dir))
          links.set(path.join(dir, name), realpathSync(path.join(dir, name)));
      } catch {
        // No by-id folder: no cameras with udev links.
      }
      return links;
    },
    videoNodes: async () => {
      try {
        return readdirSync('/dev')
          .filter((n) => /^video\d+$/.test(n))
          .map((n) => `/dev/${n}`)
          .sort();
      } catch {
        return [];
      }
    },
  };
}

/** Prints what `detect` found; returns false when nothing usable was found (exit 1). */
export async function runDetect(
  io: CommandIo,
  detectIo: DetectIo = realDetectIo(io.env),
): Promise<boolean> {
  const result = await detectCameras(detectIo);
  if (result.status === 'ok') {
    io.stdout.write(renderDetect(result.cameras));
    return true;
  }
  io.stderr.write(`camera-archiver detect: ${result.message}\n`);
  io.stderr.write(
    `RTSP cameras are not detected: add them with --camera NAME=rtsp://user:pass@host/path; try one with 'camera-archiver snapshot --camera NAME=SOURCE out.jpg'.\n`,
  );
  return false;
}

/**
 * The recorder's narrow doors to the world: child processes, ffprobe, statfs, device nodes, the
 * per-camera lock. Everything else in src/record takes these as parameters, so tests can pass fakes.
 */
import { spawn } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import { LockHeldError } from '../errors.js';
import { acquireTreeLock } from '../lock.js';
import type { Log } from '../logger.js';
import { probeMedia } from '../media-probe.js';
import type { DiskStats } from './storage-guard.js';
import type { MediaTools } from './segment-mover.js';
import type { ExitInfo, Spawner } from './supervisor.js';

/**
 * ffmpeg names segments with strftime(localtime()) and cuts on local clock time: in UTC, names
 * never repeat at the autumn DST change (the note saw a segment overwritten in Europe/Berlin).
 */
export function recorderEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, TZ: 'UTC' };
}

export function nodeSpawner(ffmpeg: string, env: NodeJS.ProcessEnv): Spawner {
  return (args, handlers) => {
    // Same process group as the recorder: a terminal's Ctrl+C or systemd's stop reaches ffmpeg
    // directly too, and ffmpeg answers one SIGINT/SIGTERM by closing its segment cleanly. We stop
    // it through stdin ('q'), which never adds a second signal to that one.
    const child = spawn(ffmpeg, args, { env: recorderEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.on('error', () => undefined);
    createInterface({ input: child.stdout }).on('line', handlers.stdout);
    createInterface({ input: child.stderr }).on('line', handlers.stderr);
    const exited = new Promise<ExitInfo>((resolve) => {
      child.once('error', (error) => {
        handlers.stderr(`cannot start ${ffmpeg}: ${error.message}`);
        resolve({ code: null, signal: null });
      });
      child.once('close', (code, signal) => resolve({ code, signal }));
    });
    return {
      pid: child.pid,
      exited,
      requestStop: () => {
        if (child.stdin.writable) child.stdin.write('q');
      },
      kill: (signal) => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      },
    };
  };
}

export function mediaTools(ffmpeg: string, ffprobe: string, env: NodeJS.ProcessEnv): MediaTools {
  return {
    async ffmpeg(args) {
      const r = await execa(ffmpeg, args, {
        reject: false,
        stdin: 'ignore',
        env: recorderEnv(env),
        timeout: 120_000,
      });
      return { exitCode: r.exitCode ?? -1, stderr: String(r.stderr) };
    },
    async duration(file) {
      try {
        const info = await probeMedia(ffprobe, file, { timeoutMs: 60_000 });
        return info.video ? info.duration : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

export async function nodeStatfs(dir: string): Promise<DiskStats> {
  const s = await fsp.statfs(dir);
  return { bsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail };
}

export function deviceExists(device: string): boolean {
  return existsSync(device);
}

export interface CameraLock {
  release(): Promise<void>;
}

/**
 * "This camera is being recorded": the tree lock's file (O_EXCL, PID-reuse and reboot aware,
 * heartbeat) placed in the camera's staging folder, so two recorders can share a ROOT with
 * different cameras, and the archiver's own tree lock is not involved.
 */
export async function lockCamera(
  dir: string,
  camera: string,
  command: string,
  log: Log,
): Promise<CameraLock> {
  await fsp.mkdir(dir, { recursive: true });
  try {
    return await acquireTreeLock({
      dir,
      command,
      onTakeover: (why) =>
        log.warn(`camera ${camera}: took over the lock of a recorder that is gone (${why})`),
    });
  } catch (error) {
    if (error instanceof LockHeldError) {
      const holder = /\(([^)]*)\)/.exec(error.message)?.[1];
      throw new LockHeldError(
        `camera '${camera}' is currently recording${holder ? ` (${holder})` : ''}: stop that recorder first, or give this camera another name`,
      );
    }
    throw error;
  }
}

/** True when a process with this PID exists (status of a recorder that was killed). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Stops ffmpeg processes left writing into `stagingDir` by a recorder that died without stopping
 * them (SIGKILL, OOM): they would go on recording beside the new one, and the mover would take a
 * file they still write. We hold the camera's lock, so any process naming that folder is such an
 * orphan. Linux /proc only; elsewhere it finds nothing.
 */
export async function reapOrphans(stagingDir: string, log: Log, graceMs = 10_000): Promise<number> {
  const prefix = `${stagingDir}/`;
  const found: number[] = [];
  let pids: string[];
  try {
    pids = (await fsp.readdir('/proc')).filter((n) => /^\d+$/.test(n));
  } catch {
    return 0;
  }
  for (const pid of pids) {
    if (Number(pid) === process.pid) continue;
    try {
      const argv = (await fsp.readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
      if (argv.some((a) => a.startsWith(prefix))) found.push(Number(pid));
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  for (const pid of found) {
    log.warn(
      `staging ${stagingDir}: stopping ffmpeg pid ${pid} left running by a recorder that is gone`,
    );
    try {
      process.kill(pid, 'SIGINT');
    } catch {
      continue;
    }
    const deadline = Date.now() + graceMs;
    while (processAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (processAlive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
  return found.length;
}

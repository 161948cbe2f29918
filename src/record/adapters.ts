/**
 * The recorder's narrow doors to the world: child processes, ffprobe, statfs, device nodes, the
 * per-camera lock. Everything else in src/record takes these as parameters, so tests can pass fakes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import { LockHeldError } from '../core/errors.js';
import { acquireTreeLock } from '../tree/lock.js';
import type { Log } from '../core/logger.js';
import { buildProbeArgs, parseProbe } from '../media/probe.js';
import type { DiskStats } from './storage-guard.js';
import type { MediaTools, ProbeVerdict } from './segment-mover.js';
import type { ExitInfo, Spawner } from './supervisor.js';

/**
 * ffmpeg names segments with strftime(localtime()) and cuts on local clock time: in UTC, names
 * never repeat at the autumn DST change (the note saw a segment overwritten in Europe/Berlin).
 */
export function recorderEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, TZ: 'UTC' };
}

/** ffmpeg children alive now; see stopChildrenOnExit. */
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Last line of defence: should this process end with ffmpegs still running (an uncaught error, a
 * library calling process.exit), each gets one SIGINT, which makes ffmpeg close its segment and
 * exit, instead of recording on as an orphan that holds the camera. A clean stop never gets here:
 * its children are gone by then. The next start recovers what they wrote.
 */
function stopChildrenOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of liveChildren) {
      try {
        child.kill('SIGINT');
      } catch {
        // Already gone.
      }
    }
  });
}

export function nodeSpawner(ffmpeg: string, env: NodeJS.ProcessEnv): Spawner {
  stopChildrenOnExit();
  return (args, handlers) => {
    // Same process group as the recorder: a terminal's Ctrl+C or systemd's stop reaches ffmpeg
    // directly too, and ffmpeg answers one SIGINT/SIGTERM by closing its segment cleanly. We stop
    // it through stdin ('q'), which never adds a second signal to that one.
    const child = spawn(ffmpeg, args, { env: recorderEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
    liveChildren.add(child);
    child.once('exit', () => liveChildren.delete(child));
    child.once('error', () => liveChildren.delete(child));
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

export function mediaTools(
  ffmpeg: string,
  ffprobe: string,
  env: NodeJS.ProcessEnv,
  probeTimeoutMs = 60_000,
): MediaTools {
  return {
    async ffmpeg(args) {
      const r = await execa(ffmpeg, args, {
        reject: false,
        stdin: 'ignore',
        env: recorderEnv(env),
        timeout: 120_000,
        // Own process group: a terminal's Ctrl+C is a request to stop recording, not to cut the
        // thumbnail or remux of a segment that is being finished.
        detached: true,
      });
      return { exitCode: r.exitCode ?? -1, stderr: String(r.stderr) };
    },
    probe: (file) => probeSegment(ffprobe, file, env, probeTimeoutMs),
  };
}

/**
 * ffprobe's verdict on a segment. Only an answer proves anything: exit 0 with no video stream or
 * no video packet, or ffprobe's own "this is not media" errors, mean no video. A crash, a kill
 * (OOM), a timeout, a missing binary or any other error is 'unknown': the caller keeps the file.
 */
export async function probeSegment(
  ffprobe: string,
  file: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<ProbeVerdict> {
  const r = await execa(ffprobe, buildProbeArgs(file), {
    reject: false,
    stdin: 'ignore',
    env,
    timeout: timeoutMs,
    detached: true, // see mediaTools: Ctrl+C must not kill the probe of a segment being finished
  });
  const tail = String(r.stderr).trim().split('\n').slice(-1)[0] ?? '';
  if (r.timedOut) return { kind: 'unknown', reason: `no answer within ${timeoutMs / 1000} s` };
  if (r.isTerminated || r.signal)
    return { kind: 'unknown', reason: `ffprobe was killed by ${r.signal ?? 'a signal'}` };
  if (r.exitCode === undefined)
    return { kind: 'unknown', reason: `ffprobe could not run: ${r.shortMessage}` };
  if (r.exitCode !== 0) {
    // What ffprobe says of a file it read and could not make sense of (and nothing else).
    if (
      r.exitCode === 1 &&
      /Invalid data found when processing input|moov atom not found/i.test(tail)
    )
      return { kind: 'no-video', reason: tail.replace(/^.*?:\s*(?=[A-Z])/, '') };
    return { kind: 'unknown', reason: `ffprobe exit ${r.exitCode}${tail ? `: ${tail}` : ''}` };
  }
  let info;
  try {
    info = parseProbe(String(r.stdout));
  } catch {
    return { kind: 'unknown', reason: 'ffprobe printed unreadable output' };
  }
  if (!info.video) return { kind: 'no-video', reason: 'no video stream' };
  if (info.video.readPackets === 0) return { kind: 'no-video', reason: 'no video frame' };
  if (!(info.duration > 0) && info.video.readPackets === undefined)
    return { kind: 'no-video', reason: 'no video frame (duration 0)' };
  return { kind: 'video', duration: info.duration > 0 ? info.duration : 0 };
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

/**
 * `record`: one supervisor per camera, a storage guard, a status file, and config reload.
 *
 *   ROOT/.incoming/<camera>/      staging: ffmpeg's segments, its CSV list, the camera lock
 *   ROOT/YYYY/MM/DD/<camera>_<stamp>.mp4 + .jpg   finished segments (UTC names and folders)
 *   ROOT/.record-status.json      status; ROOT/recorder.log  log
 *
 * Stop (SIGINT/SIGTERM) asks every ffmpeg to close its segment, waits until each segment is in the
 * tree, then returns; reload (SIGHUP) re-reads the config and restarts only cameras that changed.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import {
  formatCommand,
  selectEncoder,
  type EncodingProfile,
  type ProbeRunner,
} from '../media/encoders.js';
import { EnvironmentError, errorMessage } from '../core/errors.js';
import type { Log } from '../core/logger.js';
import type { ReclaimReport, ReclaimRequest } from '../retention/reclaim.js';
import type { FfmpegCaps } from '../media/toolchain.js';
import type { CameraLock } from './adapters.js';
import { describeSource, type CameraConfig, type RecordConfig } from './config.js';
import { buildRecordArgs } from './ffmpeg-args.js';
import { Periodic, type TaskCounters } from './periodic.js';
import {
  isStagedSegment,
  QUARANTINE_DIR,
  SegmentMover,
  utcStampMs,
  utcStampOf,
  type MediaTools,
} from './segment-mover.js';
import { writeStatus, type RecorderStatus } from './status.js';
import type { NotifyEvent } from '../core/notify.js';
import { cameraTransition, storageTransition, type CameraMemory } from './events.js';
import { StorageGuard, type DiskStats, type StorageStatus } from './storage-guard.js';
import { abortableSleep, CameraSupervisor, type CameraStatus, type Spawner } from './supervisor.js';

export const STAGING_DIR_NAME = '.incoming';

export interface RecorderIo {
  ffmpegPath: string;
  caps: FfmpegCaps;
  spawn: Spawner;
  tools: MediaTools;
  /** Runs a one-frame encoder probe (encode-mode cameras). */
  probeEncoder: ProbeRunner;
  hasDevice(device: string): boolean;
  statfs(dir: string): Promise<DiskStats>;
  reclaim(request: ReclaimRequest): Promise<ReclaimReport>;
  lockCamera(dir: string, camera: string): Promise<CameraLock>;
  reapOrphans?(stagingDir: string): Promise<number>;
  clock(): Date;
  log: Log;
  /** Sends a notification (camera offline/online, storage thresholds); must never throw. */
  notify?(event: NotifyEvent): void;
  /**
   * Milliseconds since boot (default: os.uptime): tells how far the wall clock stepped, also
   * across a restart of the recorder within one boot.
   */
  monotonic?(): number;
  /** This boot's id (default: /proc/sys/kernel/random/boot_id); undefined where unknown. */
  bootId?(): string | undefined;
}

export interface RecorderControl {
  /** Aborts when the recorder should finish its segments and return. */
  stop: AbortSignal;
  /** Aborts when stopping must not wait for ffmpeg to close its segments. */
  hurry?: AbortSignal;
  /** Subscribes to reload requests (SIGHUP); returns the unsubscribe function. */
  onReload?(listener: () => void): () => void;
  /** Reads and validates the configuration again; undefined when there is no file to re-read. */
  reloadConfig?(): Promise<RecordConfig>;
}

interface Running {
  camera: CameraConfig;
  key: string;
  supervisor: CameraSupervisor;
  controller: AbortController;
  done: Promise<void>;
  lock: CameraLock;
}

export function stagingDirOf(root: string, camera: string): string {
  return path.join(root, STAGING_DIR_NAME, camera);
}

export class Recorder {
  private readonly running = new Map<string, Running>();
  private readonly profiles = new Map<string, EncodingProfile>();
  private readonly guard: StorageGuard;
  private readonly startedAt: string;
  private state: RecorderStatus['state'] = 'running';
  private statusDirty = false;
  private statusWrite: Promise<void> = Promise.resolve();
  private readonly mover: SegmentMover;
  private readonly cameraMemory = new Map<string, CameraMemory>();
  private storageState: StorageStatus['state'] | undefined;
  /** Runs and failures of every periodic path, shown in the status file. */
  private readonly counters: TaskCounters = {};
  /** wall − monotonic while the clock read before 2000; the step to a set clock follows from it. */
  private unsetClockOffset: number | undefined;
  private clockShiftMs: number | undefined;
  private clockUnsetLogged = false;
  /** The reload in progress (or the last one): reloads never overlap, and stop waits for it. */
  private reloading: Promise<void> = Promise.resolve();

  constructor(
    private config: RecordConfig,
    private readonly io: RecorderIo,
  ) {
    this.startedAt = io.clock().toISOString();
    this.mover = new SegmentMover({
      root: config.root,
      stagingRoot: path.join(config.root, STAGING_DIR_NAME),
      tools: io.tools,
      log: io.log,
      counters: this.counters,
      clock: io.clock,
      fixStamp: (stamp) => this.fixStamp(stamp),
    });
    const longestSegment = Math.max(...config.cameras.map((c) => c.segmentSeconds));
    this.guard = new StorageGuard({
      root: config.root,
      outputRoot: config.outputRoot,
      trashRoot: config.trashRoot,
      thresholds: config.storage,
      statfs: io.statfs,
      reclaim: io.reclaim,
      log: io.log,
      clock: io.clock,
      // The segments being written now and the previous ones are never sacrificed for space.
      protectSeconds: Math.max(3600, 2 * longestSegment),
      repeatMs: config.intervals.storageWarnRepeatMs,
    });
  }

  /**
   * The clock of a board without a real-time clock reads 1970 until NTP sets it; ffmpeg names
   * segments by it. Sampling wall − monotonic while it is unset and again once it is set gives the
   * step, and so the real time of every segment named before it. Undefined until both are known.
   */
  private watchClock(): void {
    const wall = this.io.clock().getTime();
    const offset = wall - (this.io.monotonic ?? (() => os.uptime() * 1000))();
    if (new Date(wall).getUTCFullYear() < 2000) {
      this.unsetClockOffset = offset;
      this.clockShiftMs = undefined;
      if (!this.clockUnsetLogged) {
        this.clockUnsetLogged = true;
        this.saveUnsetClock(offset);
        this.io.log.error(
          `the system clock reads ${new Date(wall).toISOString()} (not set: no RTC, NTP not synced yet): segments are kept in staging and moved into the tree under their real time once the clock is set`,
        );
      }
    } else if (this.unsetClockOffset !== undefined && this.clockShiftMs === undefined) {
      this.clockShiftMs = offset - this.unsetClockOffset;
      this.io.log.warn(
        `the system clock is set now (it stepped ${Math.round(this.clockShiftMs / 1000)} s): moving the segments held since then`,
      );
    }
  }

  /**
   * The unset clock's offset, kept in staging with the boot's id: a recorder restarted in the
   * same boot (a crash, a reload of the unit) can still place the segments named before the step.
   */
  private clockFile(): string {
    return path.join(this.config.root, STAGING_DIR_NAME, '.clock-unset.json');
  }

  private bootId(): string | undefined {
    if (this.io.bootId) return this.io.bootId();
    try {
      return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
    } catch {
      return undefined;
    }
  }

  private saveUnsetClock(offsetMs: number): void {
    const bootId = this.bootId();
    if (!bootId) return;
    try {
      writeFileSync(this.clockFile(), `${JSON.stringify({ bootId, offsetMs })}\n`);
    } catch (error) {
      this.io.log.warn(`cannot keep the unset clock's offset: ${errorMessage(error)}`);
    }
  }

  /** At start: an unset clock seen earlier in this boot (by a recorder that is gone). */
  private loadUnsetClock(): void {
    try {
      const saved = JSON.parse(readFileSync(this.clockFile(), 'utf8')) as {
        bootId?: string;
        offsetMs?: number;
      };
      const bootId = this.bootId();
      if (bootId && saved.bootId === bootId && typeof saved.offsetMs === 'number')
        this.unsetClockOffset = saved.offsetMs;
      else rmSync(this.clockFile(), { force: true });
    } catch {
      // None kept: the clock was never seen unset in this boot.
    }
  }

  private fixStamp(stamp: string): string | undefined {
    this.watchClock();
    if (this.clockShiftMs === undefined) return undefined;
    return utcStampOf(utcStampMs(stamp) + this.clockShiftMs);
  }

  /** Encoder profile of an encode-mode camera, probed once per (encoder, codec, quality, preset). */
  private async profileFor(camera: CameraConfig): Promise<EncodingProfile | undefined> {
    if (camera.mode === 'copy') return undefined;
    const key = JSON.stringify([camera.encoder, camera.codec, camera.quality, camera.preset]);
    const known = this.profiles.get(key);
    if (known) return known;
    const base = {
      codec: camera.codec,
      quality: camera.quality,
      // Live input must be encoded in real time: software gets a fast preset unless told otherwise.
      preset: camera.preset ?? (camera.encoder === 'software' ? 'veryfast' : undefined),
      maxHeight: undefined,
      audio: 'none' as const,
      hwDevice: '/dev/dri/renderD128',
    };
    const selected = await selectEncoder(
      camera.encoder,
      base,
      this.io.probeEncoder,
      this.io.hasDevice,
    );
    if (!selected.profile) {
      const tried = selected.attempts.map((a) => `${a.name}: ${a.error ?? 'failed'}`).join('; ');
      throw new EnvironmentError(
        `camera '${camera.name}': no working ${camera.codec} encoder (${tried})`,
      );
    }
    // The selected profile, not one rebuilt from `base`: an AV1 request may be served by HEVC.
    const profile = selected.profile;
    for (const warning of selected.warnings)
      this.io.log.warn(`camera '${camera.name}': ${warning}`);
    this.profiles.set(key, profile);
    return profile;
  }

  /** Starts one camera's supervisor, stopped with `parent` or alone (reload, failed start-up). */
  private async start(
    camera: CameraConfig,
    lock: CameraLock,
    parent: AbortSignal,
    hurry?: AbortSignal,
  ): Promise<void> {
    const profile = await this.profileFor(camera);
    const stagingDir = stagingDirOf(this.config.root, camera.name);
    const controller = new AbortController();
    const onParent = (): void => controller.abort(parent.reason);
    parent.addEventListener('abort', onParent, { once: true });
    const supervisor = this.supervisorFor(camera, profile, stagingDir, hurry);
    const done = supervisor
      .run(controller.signal)
      .catch((error: unknown) =>
        this.io.log.error(`camera ${camera.name}: supervisor failed: ${errorMessage(error)}`),
      )
      .finally(() => parent.removeEventListener('abort', onParent));
    this.running.set(camera.name, {
      camera,
      key: JSON.stringify(camera),
      supervisor,
      controller,
      done,
      lock,
    });
    this.io.log.info(
      `camera ${camera.name}: ${describeSource(camera.source)}, ${camera.mode}${profile ? ` (${profile.encoder} ${profile.codec})` : ''}, ${camera.segmentSeconds} s segments`,
    );
  }

  /** The camera's supervisor, wired to the shared mover, counters, status and notifications. */
  private supervisorFor(
    camera: CameraConfig,
    profile: EncodingProfile | undefined,
    stagingDir: string,
    hurry: AbortSignal | undefined,
  ): CameraSupervisor {
    const { io, config } = this;
    return new CameraSupervisor({
      name: camera.name,
      source: describeSource(camera.source),
      stagingDir,
      buildArgs: (listFile) => recordArgs(io, camera, profile, { stagingDir, listFile }),
      spawn: io.spawn,
      sink: this.mover,
      log: io.log,
      clock: () => io.clock().getTime(),
      sleep: abortableSleep,
      stallMs: config.stallSeconds * 1000,
      pollMs: config.intervals.pollMs,
      healthyMs: config.intervals.healthyRunMs,
      stopGraceMs: config.intervals.stopGraceMs,
      restartBackoffMs: config.intervals.restartBackoffMs,
      restartBackoffMaxMs: config.intervals.restartBackoffMaxMs,
      counters: this.counters,
      onChange: (status) => {
        this.markDirty();
        this.noteCamera(status);
      },
      ...(io.reapOrphans ? { reapOrphans: io.reapOrphans } : {}),
      ...(hurry ? { hurry } : {}),
    });
  }

  private async stopCamera(name: string): Promise<void> {
    const r = this.running.get(name);
    if (!r) return;
    r.controller.abort('reload');
    await r.done;
    await r.lock.release();
    this.running.delete(name);
  }

  private noteCamera(status: CameraStatus): void {
    const { memory, event } = cameraTransition(
      this.cameraMemory.get(status.name) ?? { offline: false },
      status,
      this.io.clock(),
    );
    this.cameraMemory.set(status.name, memory);
    if (event) this.send(event);
  }

  /** Notifications never fail the recorder, whatever the notifier does. */
  private send(event: NotifyEvent): void {
    try {
      this.io.notify?.(event);
    } catch (error) {
      this.io.log.warn(`notification ${event.event} not sent: ${errorMessage(error)}`);
    }
  }

  private async checkStorage(): Promise<void> {
    await this.guard.check();
    const event = storageTransition(this.storageState, this.guard.status);
    this.storageState = this.guard.status.state;
    if (event) this.send(event);
    this.markDirty();
  }

  /** Segments held in staging (no probe answer, clock not set): tried again, moved when possible. */
  private async retryHeld(): Promise<void> {
    this.watchClock();
    if (this.mover.held.size === 0) {
      // Every segment of the unset-clock time is placed: the kept offset has done its job.
      if (this.clockShiftMs !== undefined) rmSync(this.clockFile(), { force: true });
      return;
    }
    const moved = await this.mover.retryHeld();
    for (const m of moved) {
      this.io.log.info(`staging: held segment moved to ${m.file}`);
      const camera = path.basename(m.file).replace(/_\d{14}\.mp4$/, '');
      this.running.get(camera)?.supervisor.noteLateSegment(m);
    }
    this.markDirty();
  }

  /** Staged segment files of every camera now on disk (the truth for the last log line). */
  private async stagedFiles(): Promise<string[]> {
    const found: string[] = [];
    for (const c of this.config.cameras) {
      const dir = stagingDirOf(this.config.root, c.name);
      const names = await fsp.readdir(dir).catch(() => [] as string[]);
      for (const n of names) if (isStagedSegment(n, c.name)) found.push(path.join(dir, n));
    }
    return found;
  }

  private async quarantineCount(): Promise<number> {
    const dir = path.join(this.config.root, STAGING_DIR_NAME, QUARANTINE_DIR);
    return (await fsp.readdir(dir).catch(() => [] as string[])).filter((n) => !n.startsWith('.'))
      .length;
  }

  private markDirty(): void {
    this.statusDirty = true;
  }

  private async snapshot(): Promise<RecorderStatus> {
    const quarantined = await this.quarantineCount();
    return {
      pid: process.pid,
      host: os.hostname(),
      startedAt: this.startedAt,
      updatedAt: this.io.clock().toISOString(),
      root: this.config.root,
      state: this.state,
      nameTimeZone: Intl.DateTimeFormat().resolvedOptions().timeZone || 'local',
      storage: this.guard.status,
      cameras: [...this.running.values()].map((r) => ({ ...r.supervisor.status })),
      clock:
        this.unsetClockOffset !== undefined && this.clockShiftMs === undefined ? 'unset' : 'ok',
      held: [...this.mover.held.values()].map((h) => ({ ...h })),
      quarantine: {
        dir: path.join(this.config.root, STAGING_DIR_NAME, QUARANTINE_DIR),
        files: quarantined,
      },
      periodic: JSON.parse(JSON.stringify(this.counters)) as TaskCounters,
    };
  }

  /** Writes the status file now; a failure is logged and counted, and the next tick tries again. */
  private flushStatus(): Promise<void> {
    this.statusDirty = false;
    this.statusWrite = this.statusWrite
      .then(async () => writeStatus(this.config.root, await this.snapshot()))
      .catch((error: unknown) => {
        const c = this.counters['status'];
        if (c) {
          c.failures++;
          c.lastError = errorMessage(error);
        }
        this.io.log.warn(`cannot write the status file: ${errorMessage(error)}`);
      });
    return this.statusWrite;
  }

  /**
   * Records until `control.stop`: every camera locked and started (all or nothing), the periodic
   * paths running, reloads applied one at a time; then a stop that leaves every segment in the
   * tree or says which are still in staging.
   */
  async run(control: RecorderControl): Promise<void> {
    const { io, config } = this;
    await fsp.mkdir(path.join(config.root, STAGING_DIR_NAME), { recursive: true });
    // Before any camera starts: its start-up recovery may meet segments of an unset clock.
    this.loadUnsetClock();
    await this.startAll(control);
    io.log.info(
      `recording ${config.cameras.length} camera${config.cameras.length === 1 ? '' : 's'} into ${config.root} (segment names and folders in UTC); Ctrl+C or SIGTERM stops after closing the current segments`,
    );
    const tasks = this.periodicTasks();
    this.watchClock();
    // The first storage check and status file before any timer: a full disk is known at once.
    await tasks.storage.runNow();
    await this.flushStatus();
    for (const t of tasks.all) t.start();
    const unsubscribe = control.onReload?.(() => this.queueReload(control));
    await untilAborted(control.stop);
    this.state = 'stopping';
    await this.flushStatus();
    io.log.info('stopping: closing the current segments and moving them into the tree…');
    unsubscribe?.();
    await this.reloading;
    await Promise.all([...this.running.values()].map((r) => r.done));
    await Promise.all(tasks.all.map((t) => t.stop()));
    await this.finishStop();
  }

  /** Locks every camera, then starts them; on any failure stops those started and unlocks all. */
  private async startAll(control: RecorderControl): Promise<void> {
    const { io, config } = this;
    const locks: CameraLock[] = [];
    try {
      for (const camera of config.cameras) {
        locks.push(await io.lockCamera(stagingDirOf(config.root, camera.name), camera.name));
      }
      for (const [i, camera] of config.cameras.entries()) {
        const lock = locks[i];
        if (lock) await this.start(camera, lock, control.stop, control.hurry);
      }
    } catch (error) {
      for (const r of this.running.values()) r.controller.abort('startup failed');
      await Promise.all([...this.running.values()].map((r) => r.done));
      for (const lock of locks) await lock.release();
      throw error;
    }
  }

  /** Every periodic path: one run at a time, a failure logged and retried at the next tick. */
  private periodicTasks(): { storage: Periodic; all: Periodic[] } {
    const { io } = this;
    const every = this.config.intervals;
    const storage = new Periodic(
      'storage',
      every.storageMs,
      () => this.checkStorage(),
      io.log,
      this.counters,
    );
    const all = [
      // Rewritten every few seconds even when idle: updatedAt tells readers the recorder is alive.
      new Periodic('status', every.statusMs, () => this.flushStatus(), io.log, this.counters),
      new Periodic(
        'statusFlush',
        every.statusFlushMs,
        () => (this.statusDirty ? this.flushStatus() : undefined),
        io.log,
        this.counters,
      ),
      storage,
      new Periodic('heldRetry', every.heldRetryMs, () => this.retryHeld(), io.log, this.counters),
    ];
    return { storage, all };
  }

  /**
   * Reloads run one after another. A failed reload (a lock that cannot be released, a start that
   * throws) is logged; it must not become an unhandled rejection that ends the process with the
   * other cameras running.
   */
  private queueReload(control: RecorderControl): void {
    this.reloading = this.reloading
      .then(() => this.reload(control))
      .catch((error: unknown) => this.io.log.error(`reload failed: ${errorMessage(error)}`));
  }

  /** After every camera stopped: a last try for held segments, the final status, the last line. */
  private async finishStop(): Promise<void> {
    const { io } = this;
    // One last try for held segments (a probe that failed once, a clock set meanwhile).
    await this.retryHeld().catch((error: unknown) =>
      io.log.error(`staging: retrying held segments failed: ${errorMessage(error)}`),
    );
    this.state = 'stopped';
    await this.flushStatus();
    for (const r of this.running.values()) await r.lock.release();
    const total = [...this.running.values()].reduce(
      (n, r) => n + r.supervisor.status.segmentsWritten,
      0,
    );
    // Said as it is, from the disk: footage must never sit in hidden staging unmentioned.
    const left = await this.stagedFiles();
    const written = `stopped: ${total} segment${total === 1 ? '' : 's'} written this run`;
    if (left.length === 0) io.log.info(`${written}; staging is empty`);
    else
      io.log.error(
        `${written}; ${left.length} segment${left.length === 1 ? '' : 's'} kept in staging (moved at the next start once possible): ${left
          .map((f) => {
            const why = this.mover.held.get(f)?.reason;
            return `${f}${why ? ` (${why})` : ''}`;
          })
          .join('; ')}`,
      );
  }

  /** SIGHUP: start new cameras, stop removed ones, restart changed ones; keep the rest recording. */
  private async reload(control: RecorderControl): Promise<void> {
    const next = await this.reloadedConfig(control);
    if (!next) return;
    const { stopped, started } = await this.applyCameras(next.cameras, control);
    this.config = { ...next, root: this.config.root };
    this.guard.setThresholds(next.storage);
    this.markDirty();
    this.io.log.info(
      `reload: ${stopped} camera(s) stopped, ${started} started, ${this.running.size} recording`,
    );
  }

  /**
   * The configuration read again, or undefined to keep the running one (no file, or invalid).
   * The root stays: segments, staging and locks live under it, so moving it needs a restart.
   */
  private async reloadedConfig(control: RecorderControl): Promise<RecordConfig | undefined> {
    const { io } = this;
    if (!control.reloadConfig) {
      io.log.warn(
        'reload requested, but cameras came from the command line only: nothing to re-read (use --config for reloadable settings)',
      );
      return undefined;
    }
    let next: RecordConfig;
    try {
      next = await control.reloadConfig();
    } catch (error) {
      io.log.error(
        `reload: the configuration is invalid, keeping the running one: ${errorMessage(error)}`,
      );
      return undefined;
    }
    if (control.stop.aborted) return undefined;
    if (next.root !== this.config.root) {
      io.log.warn(
        `reload: a new root (${next.root}) needs a restart of the recorder; keeping ${this.config.root}`,
      );
      next = { ...next, root: this.config.root };
    }
    return next;
  }

  /**
   * Stops cameras removed or changed, then starts every wanted camera not running; one that
   * cannot start is logged and the others go on.
   */
  private async applyCameras(
    cameras: readonly CameraConfig[],
    control: RecorderControl,
  ): Promise<{ stopped: number; started: number }> {
    const wanted = new Map(cameras.map((c) => [c.name, c]));
    let stopped = 0;
    let started = 0;
    for (const [name, r] of [...this.running]) {
      const c = wanted.get(name);
      if (!c || JSON.stringify(c) !== r.key) {
        await this.stopCamera(name);
        stopped++;
      }
    }
    for (const c of cameras) {
      if (this.running.has(c.name)) continue;
      try {
        const lock = await this.io.lockCamera(stagingDirOf(this.config.root, c.name), c.name);
        await this.start(c, lock, control.stop, control.hurry);
        started++;
      } catch (error) {
        this.io.log.error(`reload: camera ${c.name} not started: ${errorMessage(error)}`);
      }
    }
    return { stopped, started };
  }
}

/** Resolves once `signal` aborts (at once when it already has). */
function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** The ffmpeg arguments of one run, logged as run except an RTSP password (logs end up in bug reports). */
function recordArgs(
  io: RecorderIo,
  camera: CameraConfig,
  profile: EncodingProfile | undefined,
  paths: { stagingDir: string; listFile: string },
): string[] {
  const args = buildRecordArgs(camera, profile, paths, io.caps);
  const shown =
    camera.source.kind === 'rtsp'
      ? args.map((a) => (a === camera.source.input ? describeSource(camera.source) : a))
      : args;
  io.log.verbose(`camera ${camera.name}: ${formatCommand(io.ffmpegPath, shown)}`);
  return args;
}

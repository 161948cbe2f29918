/**
 * One camera's ffmpeg, kept alive. Each run writes segments into the camera's staging folder and
 * a fresh CSV list; closed segments are handed to the mover as their lines appear. A run ends when
 * ffmpeg exits (for any reason: an RTSP camera that drops makes ffmpeg exit 0), when the watchdog
 * sees neither progress nor file growth for `stallMs`, or when we are stopped. After every run the
 * list is drained and leftovers recovered, so nothing stays in staging between runs; then, unless
 * stopping, the next run starts after a backoff. Cameras never share a supervisor, so one camera's
 * trouble cannot stall another.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../core/errors.js';
import type { Log } from '../core/logger.js';
import { parseClipName, parseStamp, utcStampToLocal } from '../tree/naming.js';
import { progressParser } from './ffmpeg-args.js';
import { countRun, type TaskCounters } from './periodic.js';
import type { MovedSegment } from './segment-mover.js';
import { isStagedSegment } from './segment-mover.js';
import { continuityGaps, ListTail, parseSegmentLine, type SegmentEntry } from './segment-list.js';

/** Seconds to wait before restart number n (0-based): about 1, 5, 10 s, up to a minute. */
export const BACKOFF_SECONDS: readonly number[] = [1, 5, 10, 20, 30, 60];

export function backoffSeconds(attempt: number): number {
  return BACKOFF_SECONDS[Math.min(Math.max(0, attempt), BACKOFF_SECONDS.length - 1)] ?? 60;
}

/** The same schedule scaled to a first delay of `firstMs` and capped at `maxMs`. */
export function backoffMs(attempt: number, firstMs = 1000, maxMs = 60_000): number {
  return Math.min(maxMs, backoffSeconds(attempt) * firstMs);
}

export interface ExitInfo {
  code: number | null;
  signal: string | null;
}

export interface SpawnedProcess {
  pid?: number | undefined;
  exited: Promise<ExitInfo>;
  /** Asks ffmpeg to finish (writes 'q' on its stdin): trailers written, list line appended. */
  requestStop(): void;
  kill(signal: NodeJS.Signals): void;
}

/** Starts ffmpeg with these arguments; lines of stdout and stderr go to the handlers. */
export type Spawner = (
  args: string[],
  handlers: { stdout(line: string): void; stderr(line: string): void },
) => SpawnedProcess;

export interface SegmentSink {
  finish(staged: string): Promise<MovedSegment | undefined>;
  recoverAll(stagingDir: string, camera: string): Promise<MovedSegment[]>;
}

/** 'stalled': ffmpeg runs but nothing arrived for a while (the watchdog restarts it at stallMs). */
export type CameraState = 'starting' | 'recording' | 'stalled' | 'waiting' | 'stopped';

export interface CameraStatus {
  name: string;
  source: string;
  state: CameraState;
  pid?: number | undefined;
  /** Segment being written now (staging name), and when it began (from its name, UTC). */
  currentFile?: string | undefined;
  currentSince?: string | undefined;
  /** Start of the current ffmpeg run. */
  recordingSince?: string | undefined;
  segmentsWritten: number;
  restarts: number;
  lastSegment?: string | undefined;
  lastError?: string | undefined;
  lastRestartCause?: string | undefined;
  /** Seconds missing between the last two segments across a restart (outage length). */
  lastGapSeconds?: number | undefined;
}

export interface SupervisorOptions {
  name: string;
  /** Shown in status and logs (RTSP password removed). */
  source: string;
  stagingDir: string;
  /** Builds the ffmpeg arguments of a run writing its list to `listFile`. */
  buildArgs(listFile: string): string[];
  spawn: Spawner;
  sink: SegmentSink;
  log: Log;
  clock: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  stallMs: number;
  pollMs?: number;
  /** A run this long counts as healthy: the next failure starts the backoff from 1 s again. */
  healthyMs?: number;
  /** After SIGINT, how long ffmpeg may take to write its trailers before SIGKILL. */
  stopGraceMs?: number;
  onChange?: (status: CameraStatus) => void;
  /** Stops processes a dead recorder left writing into the staging folder (before recovery). */
  reapOrphans?: (stagingDir: string) => Promise<number>;
  /** When aborted during a stop, ffmpeg is killed at once (the user asked twice). */
  hurry?: AbortSignal;
  /** First restart delay and cap (BACKOFF_SECONDS scaled); default 1 s and 60 s. */
  restartBackoffMs?: number;
  restartBackoffMaxMs?: number;
  /** Runs of the poll, watchdog and backoff paths, shown in the status file. */
  counters?: TaskCounters;
}

/** Resolves after `ms`, or at once when `signal` aborts; never rejects. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function stampMs(fileName: string): number | undefined {
  const clip = parseClipName(fileName);
  const stamp = clip ? parseStamp(clip.stamp) : undefined;
  // Staging names are UTC (ffmpeg runs with TZ=UTC); read them as UTC whatever this process's zone.
  return stamp
    ? Date.UTC(stamp.year, stamp.month - 1, stamp.day, stamp.hour, stamp.minute, stamp.second)
    : undefined;
}

/** Human cause of a run's end, for the restart log line and status. */
export function describeExit(exit: ExitInfo, lastStderr: string | undefined): string {
  const tail = lastStderr ? `: ${lastStderr}` : '';
  if (exit.signal) return `ffmpeg was killed by ${exit.signal}${tail}`;
  if (exit.code === 0)
    return `ffmpeg exited with code 0 (camera disconnected or stream ended)${tail}`;
  return `ffmpeg exited with code ${exit.code ?? '?'}${tail}`;
}

export class CameraSupervisor {
  readonly status: CameraStatus;
  private runCounter = 0;
  private queue: Promise<void> = Promise.resolve();
  private lastSegmentEndMs: number | undefined;
  private readonly pollMs: number;
  private readonly healthyMs: number;
  private readonly stopGraceMs: number;

  private readonly counters: TaskCounters;

  constructor(private readonly o: SupervisorOptions) {
    this.counters = o.counters ?? {};
    this.status = {
      name: o.name,
      source: o.source,
      state: 'starting',
      segmentsWritten: 0,
      restarts: 0,
    };
    this.pollMs = o.pollMs ?? 500;
    this.healthyMs = o.healthyMs ?? 60_000;
    this.stopGraceMs = o.stopGraceMs ?? 15_000;
  }

  private changed(): void {
    try {
      this.o.onChange?.(this.status);
    } catch (error) {
      // A listener's bug (status, notifications) must not end this camera's recording.
      this.o.log.error(`camera ${this.o.name}: status listener failed: ${errorMessage(error)}`);
    }
  }

  /** Records until `stop` aborts; resolves once the last segment is in the tree. */
  async run(stop: AbortSignal): Promise<void> {
    const { log, name } = this.o;
    await this.o.reapOrphans?.(this.o.stagingDir).catch((error: unknown) => {
      log.warn(`camera ${name}: could not check for a left-over ffmpeg: ${errorMessage(error)}`);
    });
    await this.recoverLeftovers('start-up');
    let attempt = 0;
    while (!stop.aborted) {
      const started = this.o.clock();
      let cause: string;
      try {
        cause = await this.runOnce(stop);
      } catch (error) {
        cause = `could not run ffmpeg: ${errorMessage(error)}`;
      }
      if (stop.aborted) break;
      if (this.o.clock() - started >= this.healthyMs) attempt = 0;
      const delayMs = backoffMs(attempt++, this.o.restartBackoffMs, this.o.restartBackoffMaxMs);
      const delay = delayMs / 1000;
      this.status.restarts++;
      this.status.lastRestartCause = cause;
      this.status.lastError = cause;
      this.status.state = 'waiting';
      this.status.pid = undefined;
      this.status.currentFile = undefined;
      this.status.currentSince = undefined;
      this.changed();
      log.warn(`camera ${name}: ${cause}; restart #${this.status.restarts} in ${delay} s`);
      countRun(this.counters, 'backoff');
      await this.o.sleep(delayMs, stop);
    }
    this.status.state = 'stopped';
    this.status.pid = undefined;
    this.status.currentFile = undefined;
    this.status.currentSince = undefined;
    this.changed();
  }

  private async recoverLeftovers(when: string): Promise<void> {
    try {
      const moved = await this.o.sink.recoverAll(this.o.stagingDir, this.o.name);
      for (const m of moved) this.noteSegment(m, undefined);
    } catch (error) {
      this.o.log.error(
        `camera ${this.o.name}: recovering staged files at ${when} failed: ${errorMessage(error)}`,
      );
    }
  }

  /**
   * A listed segment the mover kept in staging (no probe answer, clock not set): it is footage
   * all the same, so the next segment is not reported as following a gap.
   */
  private noteHeld(entry: SegmentEntry): void {
    const clip = parseClipName(entry.name);
    const local = clip ? utcStampToLocal(clip.stamp) : undefined;
    const startMs = local ? stampMs(`${this.o.name}_${local}.mp4`) : undefined;
    if (startMs !== undefined) this.lastSegmentEndMs = startMs + (entry.end - entry.start) * 1000;
  }

  /** A held segment the recorder moved later (retry): counted like any other. */
  noteLateSegment(moved: MovedSegment): void {
    this.status.segmentsWritten++;
    this.status.lastSegment = path.basename(moved.file);
    this.changed();
  }

  private noteSegment(moved: MovedSegment, entry: SegmentEntry | undefined): void {
    const base = path.basename(moved.file);
    const startMs = stampMs(base);
    if (entry && startMs !== undefined) {
      if (this.lastSegmentEndMs !== undefined) {
        const gap = (startMs - this.lastSegmentEndMs) / 1000;
        // Names have 1-s resolution and are taken at the keyframe that opens the file.
        if (gap > 1.5) {
          this.status.lastGapSeconds = Math.round(gap);
          this.o.log.warn(
            `camera ${this.o.name}: about ${Math.round(gap)} s not recorded before ${base}`,
          );
        }
      }
      this.lastSegmentEndMs = startMs + (entry.end - entry.start) * 1000;
    }
    this.status.segmentsWritten++;
    this.status.lastSegment = base;
    this.o.log.info(
      `camera ${this.o.name}: ${base}${entry ? ` (${(entry.end - entry.start).toFixed(1)} s)` : ''} → ${path.dirname(moved.file)}`,
    );
    this.changed();
  }

  private enqueue(entry: SegmentEntry): void {
    this.queue = this.queue.then(async () => {
      try {
        const moved = await this.o.sink.finish(path.join(this.o.stagingDir, entry.name));
        if (moved) this.noteSegment(moved, entry);
        else this.noteHeld(entry);
      } catch (error) {
        this.status.lastError = `moving ${entry.name}: ${errorMessage(error)}`;
        this.o.log.error(
          `camera ${this.o.name}: could not move ${entry.name} into the tree: ${errorMessage(error)} (kept in staging)`,
        );
        this.changed();
      }
    });
  }

  private async drain(tail: ListTail, run: SegmentEntry[]): Promise<void> {
    for (const line of await tail.read()) {
      const entry = parseSegmentLine(line);
      if (!entry) {
        this.o.log.warn(`camera ${this.o.name}: unreadable segment list line '${line}'`);
        continue;
      }
      // Within one run the list's times are one timeline: end[i] == start[i+1] unless packets
      // were lost between files, which stream copy never does. Worth a loud line if it happens.
      const prev = run.at(-1);
      run.push(entry);
      for (const gap of continuityGaps(prev ? [prev, entry] : [entry])) {
        this.o.log.warn(
          `camera ${this.o.name}: ${gap.gap.toFixed(3)} s discontinuity between ${gap.after} and ${entry.name}`,
        );
      }
      this.enqueue(entry);
    }
  }

  /** The newest staged segment of this camera not yet reported finished, with its size. */
  private async current(): Promise<{ name: string; size: number } | undefined> {
    let names: string[];
    try {
      names = (await fsp.readdir(this.o.stagingDir))
        .filter((n) => isStagedSegment(n, this.o.name))
        .sort();
    } catch {
      return undefined;
    }
    const newest = names.at(-1);
    if (!newest) return undefined;
    try {
      return { name: newest, size: (await fsp.stat(path.join(this.o.stagingDir, newest))).size };
    } catch {
      return undefined;
    }
  }

  /**
   * One ffmpeg run; returns why it ended. The steps: prepare a fresh list, start ffmpeg, watch it
   * until it exits (stop requests and the watchdog only ask it to end), then collect what it wrote.
   */
  private async runOnce(stop: AbortSignal): Promise<string> {
    const run = await this.prepareRun();
    const child = this.startFfmpeg(run);
    const onStop = (): void => this.stopChild(run, child, 'stopped');
    stop.addEventListener('abort', onStop, { once: true });
    if (stop.aborted) onStop();
    try {
      while (!run.exit) await this.watchOnce(run, child);
    } finally {
      stop.removeEventListener('abort', onStop);
    }
    return this.finishRun(run, child);
  }

  /** A fresh, empty segment list for the next run (a name no earlier run used). */
  private async prepareRun(): Promise<RunState> {
    // Here, not once before the loop: a staging folder removed by hand (or a failed mount) is
    // created again at the next restart instead of ending this camera's recording for good.
    await fsp.mkdir(this.o.stagingDir, { recursive: true });
    const listFile = path.join(
      this.o.stagingDir,
      `.segments-${process.pid}-${++this.runCounter}.csv`,
    );
    await fsp.rm(listFile, { force: true });
    return new RunState(listFile, this.o.clock());
  }

  /** Spawns ffmpeg: progress lines feed the watchdog, stderr keeps the last lines for the cause. */
  private startFfmpeg(run: RunState): SpawnedProcess {
    const { log, name, clock } = this.o;
    const args = this.o.buildArgs(run.listFile);
    this.status.state = 'starting';
    this.changed();
    const child = this.o.spawn(args, {
      stdout: (line) => run.noteProgress(line, clock()),
      stderr: (line) => {
        const text = run.noteStderr(line);
        if (text) log.verbose(`camera ${name} ffmpeg: ${text}`);
      },
    });
    this.status.pid = child.pid;
    this.status.recordingSince = new Date(clock()).toISOString();
    this.changed();
    void child.exited.then((e) => (run.exit = e));
    return child;
  }

  /**
   * Asks ffmpeg to end (once per run); the first reason asked is the run's cause. 'q' is read
   * between packets: an ffmpeg blocked on a dead socket needs a signal, and one that ignores that
   * too gets SIGKILL (its segment is then recovered from the fMP4 fragments).
   */
  private stopChild(run: RunState, child: SpawnedProcess, why: string): void {
    if (run.stopping) return;
    run.stopping = true;
    run.cause = run.cause ?? why;
    child.requestStop();
    void this.escalateStop(run, child, this.o.clock()).catch((error: unknown) =>
      this.o.log.error(`camera ${this.o.name}: stopping ffmpeg failed: ${errorMessage(error)}`),
    );
  }

  /** SIGINT after a third of the grace period, SIGKILL at its end (at once when hurried). */
  private async escalateStop(run: RunState, child: SpawnedProcess, started: number): Promise<void> {
    const { clock } = this.o;
    let signalled = false;
    while (!run.exit && clock() - started < this.stopGraceMs && !this.o.hurry?.aborted) {
      await new Promise((r) => setTimeout(r, 100));
      if (!run.exit && !signalled && clock() - started >= this.stopGraceMs / 3) {
        signalled = true;
        child.kill('SIGINT');
      }
    }
    if (!run.exit) {
      this.o.log.warn(
        `camera ${this.o.name}: ffmpeg did not stop within ${this.stopGraceMs / 1000} s; killing it`,
      );
      child.kill('SIGKILL');
    }
  }

  /** One poll: wait for exit or the poll interval, hand closed segments on, run the watchdog. */
  private async watchOnce(run: RunState, child: SpawnedProcess): Promise<void> {
    await Promise.race([child.exited, new Promise((r) => setTimeout(r, this.pollMs))]);
    await this.pollList(run);
    const now = this.o.clock();
    await this.trackCurrentFile(run, now);
    countRun(this.counters, 'watchdog');
    this.updateStalled(now - run.lastActivity);
    if (!run.exit && !run.stopping && now - run.lastActivity > this.o.stallMs) {
      this.stopChild(
        run,
        child,
        `watchdog: no progress and no output growth for ${Math.round((now - run.lastActivity) / 1000)} s`,
      );
    }
  }

  /**
   * One failed poll (an unreadable list, a staging folder gone for a moment) is logged and tried
   * again at the next one: leaving the watch loop would lose track of a running ffmpeg.
   */
  private async pollList(run: RunState): Promise<void> {
    try {
      await this.drain(run.tail, run.entries);
      countRun(this.counters, 'poll');
    } catch (error) {
      countRun(this.counters, 'poll', error);
      this.o.log.error(
        `camera ${this.o.name}: reading the segment list failed: ${errorMessage(error)}`,
      );
    }
  }

  /** A growing or new staged file is activity; a new one is the status's current file. */
  private async trackCurrentFile(run: RunState, now: number): Promise<void> {
    const current = await this.current();
    if (!current || (current.name === run.lastFile && current.size === run.lastSize)) return;
    if (current.size !== run.lastSize) run.lastActivity = now;
    if (current.name !== run.lastFile) {
      this.status.currentFile = current.name;
      const since = stampMs(current.name);
      this.status.currentSince = since === undefined ? undefined : new Date(since).toISOString();
      if (this.status.state !== 'recording')
        this.o.log.info(`camera ${this.o.name}: recording (${this.o.source})`);
      this.status.state = 'recording';
      this.changed();
    }
    run.lastFile = current.name;
    run.lastSize = current.size;
  }

  /**
   * The status says so as soon as the camera goes quiet, not only when the watchdog acts: a
   * camera that vanished without closing its connection is not "recording".
   */
  private updateStalled(quietMs: number): void {
    const stalledAfterMs = Math.max(this.o.stallMs / 2, 3000, 4 * this.pollMs);
    if (this.status.state === 'recording' && quietMs > stalledAfterMs) {
      this.status.state = 'stalled';
      this.status.lastError = `no data from the camera for ${Math.round(quietMs / 1000)} s`;
      this.o.log.warn(`camera ${this.o.name}: ${this.status.lastError}`);
      this.changed();
    } else if (this.status.state === 'stalled' && quietMs <= stalledAfterMs) {
      this.status.state = 'recording';
      this.o.log.info(`camera ${this.o.name}: data flows again`);
      this.changed();
    }
  }

  /** After exit: the list's last lines, the moves in flight, then any leftovers; the cause. */
  private async finishRun(run: RunState, child: SpawnedProcess): Promise<string> {
    const exitInfo = await child.exited;
    await this.drain(run.tail, run.entries).catch((error: unknown) =>
      this.o.log.error(
        `camera ${this.o.name}: reading the segment list failed: ${errorMessage(error)}`,
      ),
    );
    await this.queue;
    // Whatever the list never reported (ffmpeg killed, crashed) is a leftover: recover it now, so
    // the next run starts with an empty staging folder and never reuses a name.
    await this.recoverLeftovers('ffmpeg exit');
    await fsp.rm(run.listFile, { force: true }).catch(() => undefined);
    this.status.pid = undefined;
    return run.cause ?? describeExit(exitInfo, run.stderrTail.at(-1));
  }
}

/** What one ffmpeg run has seen so far: read by the watchdog, the stop path and the exit step. */
class RunState {
  readonly tail: ListTail;
  readonly entries: SegmentEntry[] = [];
  /** The last few stderr lines: the last one explains an exit. */
  readonly stderrTail: string[] = [];
  /** Last progress or file growth (clock ms): the watchdog's measure of a live camera. */
  lastActivity: number;
  lastOutTime = -1;
  lastSize = -1;
  lastFile: string | undefined;
  exit: ExitInfo | undefined;
  /** Why we asked ffmpeg to end (stop or watchdog); undefined when it ended by itself. */
  cause: string | undefined;
  /** Set once a stop was requested, so the grace period and escalation run only once. */
  stopping = false;
  private readonly parse = progressParser();

  constructor(
    readonly listFile: string,
    now: number,
  ) {
    this.tail = new ListTail(listFile);
    this.lastActivity = now;
  }

  /** A progress block whose out_time moved on is activity. */
  noteProgress(line: string, now: number): void {
    const block = this.parse(line);
    if (block?.outTimeUs !== undefined && block.outTimeUs > this.lastOutTime) {
      this.lastOutTime = block.outTimeUs;
      this.lastActivity = now;
    }
  }

  /** Keeps the last five meaningful stderr lines; returns the line without its context prefix. */
  noteStderr(line: string): string | undefined {
    const text = line.replace(/^\[[^\]]* @ 0x[0-9a-f]+\]\s*/i, '').trim();
    if (!text) return undefined;
    this.stderrTail.push(text);
    if (this.stderrTail.length > 5) this.stderrTail.shift();
    return text;
  }
}

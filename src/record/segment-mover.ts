/**
 * Moves finished segments from staging into the tree the archiver reads:
 *   ROOT/.incoming/<camera>/<camera>_<stamp>.mp4 → ROOT/YYYY/MM/DD/<camera>_<stamp>.mp4 (+ .jpg)
 * Only whole files ever appear under a real name: the thumbnail is made in staging first, both
 * moves are hard-link-then-unlink (moveNoClobber), and a name already taken (a DST repeat, a
 * clock step back, a restart in the same second) keeps both files instead of overwriting.
 * Empty files are deleted, never moved: a full disk must not fill the tree with 0-byte clips.
 *
 * A segment is never deleted because of a probe. ffprobe's answer is one of three: video (moved),
 * proven not video (ffprobe read the file and found no video frame: moved to the quarantine
 * folder, never deleted), or unknown (ffprobe crashed, was killed, timed out, could not start):
 * the segment stays in staging, is reported in the status file, and is tried again later.
 * Segments named before 2000 (a board without a real-time clock, before NTP) are held the same way
 * until the clock is set and their real time is known (see `fixStamp`).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../core/errors.js';
import { moveNoClobber } from '../tree/file-manager.js';
import type { Log } from '../core/logger.js';
import {
  dayPathOfStamp,
  parseClipName,
  parseStamp,
  PARTIAL_SUFFIX,
  utcStampToLocal,
} from '../tree/naming.js';
import { countRun, type TaskCounters } from './periodic.js';
import { buildRemuxArgs, buildThumbnailArgs } from './ffmpeg-args.js';

/** What ffprobe proved about a segment. */
export type ProbeVerdict =
  | { kind: 'video'; duration: number }
  /** ffprobe read the file and it holds no video frame (headers only, garbage). */
  | { kind: 'no-video'; reason: string }
  /** ffprobe gave no answer (crash, kill, timeout, missing binary): nothing is proven. */
  | { kind: 'unknown'; reason: string };

export interface MediaTools {
  /** Runs ffmpeg with these arguments to completion. */
  ffmpeg(args: string[]): Promise<{ exitCode: number; stderr: string }>;
  /** Probes a segment; must not throw (a throw counts as 'unknown'). */
  probe(file: string): Promise<ProbeVerdict>;
}

/** Why a segment is still in staging, for the status file. */
export interface HeldSegment {
  file: string;
  reason: string;
  since: string;
}

export interface MovedSegment {
  /** Where the clip landed in the tree. */
  file: string;
  thumbnail?: string | undefined;
  bytes: number;
}

export interface MoverOptions {
  root: string;
  /** `ROOT/.incoming`: quarantine for unreadable leftovers lives under it. */
  stagingRoot: string;
  tools: MediaTools;
  log: Log;
  /**
   * The real UTC stamp of a segment named by a clock that was not set (before 2000), or
   * undefined while that is not known yet. Without it such segments are held.
   */
  fixStamp?: (utcStamp: string) => string | undefined;
  /** Counts thumbnail runs for the status file. */
  counters?: TaskCounters;
  clock?: () => Date;
}

export const QUARANTINE_DIR = 'broken';

/** `<camera>_<14 digits>.mp4` as ffmpeg names it in staging, whatever the clock said. */
function stagedParts(fileName: string): { camera: string; stamp: string } | undefined {
  const m = /^(.+)_(\d{14})\.mp4$/.exec(fileName);
  return m ? { camera: m[1] ?? '', stamp: m[2] ?? '' } : undefined;
}

function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

async function sizeOf(file: string): Promise<number | undefined> {
  try {
    return (await fsp.stat(file)).size;
  } catch (error) {
    if (code(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Staged segment names this camera writes; everything else in its folder is not ours to move.
 * Any 14 digits count: a name from a clock before 2000 is still this camera's footage.
 */
export function isStagedSegment(fileName: string, camera: string): boolean {
  return stagedParts(fileName)?.camera === camera;
}

/** A UTC stamp (YYYYMMDDHHMMSS) of epoch milliseconds. */
export function utcStampOf(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/** Epoch milliseconds of a UTC stamp, any year (the clock may have said 1970). */
export function utcStampMs(stamp: string): number {
  const n = (a: number, b: number): number => Number(stamp.slice(a, b));
  return Date.UTC(n(0, 4), n(4, 6) - 1, n(6, 8), n(8, 10), n(10, 12), n(12, 14));
}

function localName(camera: string, utcStamp: string, shift: number): string {
  return `${camera}_${utcStampToLocal(utcStamp, shift) ?? utcStamp}.mp4`;
}

export class SegmentMover {
  /** Segments kept in staging on purpose, by path; retried by retryHeld(). */
  readonly held = new Map<string, HeldSegment>();
  /** Files being handled now: a retry and a recovery never handle one file twice at once. */
  private readonly busy = new Set<string>();
  quarantined = 0;

  constructor(private readonly options: MoverOptions) {}

  private hold(staged: string, reason: string): void {
    if (this.held.get(staged)?.reason === reason) return;
    this.held.set(staged, {
      file: staged,
      reason,
      since: (this.options.clock?.() ?? new Date()).toISOString(),
    });
    this.options.log.error(
      `staging: ${path.basename(staged)} kept in ${path.dirname(staged)}: ${reason}; tried again later`,
    );
  }

  /** Probe that never throws: an exception is an unknown answer, never a verdict. */
  private async probe(file: string): Promise<ProbeVerdict> {
    try {
      return await this.options.tools.probe(file);
    } catch (error) {
      return { kind: 'unknown', reason: errorMessage(error) };
    }
  }

  /** Moves a file proven not to be video aside, for inspection; never deletes it. */
  private async quarantine(staged: string, why: string): Promise<void> {
    const { stagingRoot, log } = this.options;
    const landed = await moveNoClobber(
      staged,
      path.join(stagingRoot, QUARANTINE_DIR, path.basename(staged)),
      stagingRoot,
    );
    this.quarantined++;
    this.held.delete(staged);
    log.error(`staging: ${path.basename(staged)} ${why}; moved to ${landed} for inspection`);
  }

  /**
   * A staged name from a clock before 2000, renamed in staging to its real UTC time once that is
   * known; undefined (and the segment held) while it is not.
   */
  private async realName(staged: string): Promise<string | undefined> {
    const parts = stagedParts(path.basename(staged));
    if (!parts || parseStamp(parts.stamp)) return staged;
    const fixed = this.options.fixStamp?.(parts.stamp);
    if (!fixed || !parseStamp(fixed)) {
      this.hold(
        staged,
        `named ${parts.stamp.slice(0, 8)} by a clock that is not set (before 2000); moved into the tree under its real time once the clock is set`,
      );
      return undefined;
    }
    let ms = utcStampMs(fixed);
    let target = path.join(path.dirname(staged), `${parts.camera}_${utcStampOf(ms)}.mp4`);
    while ((await sizeOf(target)) !== undefined) {
      ms += 1000;
      target = path.join(path.dirname(staged), `${parts.camera}_${utcStampOf(ms)}.mp4`);
    }
    await fsp.rename(staged, target);
    this.held.delete(staged);
    this.options.log.warn(
      `staging: ${path.basename(staged)} was named by a clock that was not set; its real time is ${path.basename(target)}`,
    );
    return target;
  }

  /** Tries every held segment again (probe answers, clock set); returns what was moved. */
  async retryHeld(): Promise<MovedSegment[]> {
    const moved: MovedSegment[] = [];
    for (const file of [...this.held.keys()]) {
      if ((await sizeOf(file)) === undefined) {
        this.held.delete(file);
        continue;
      }
      const result = await this.finish(file);
      if (result) moved.push(result);
    }
    return moved;
  }

  /** A segment the list reported closed: thumbnail, then move both into the tree. */
  async finish(staged: string): Promise<MovedSegment | undefined> {
    if (this.busy.has(staged)) return undefined;
    this.busy.add(staged);
    try {
      const real = await this.realName(staged);
      if (real === undefined) return undefined;
      if (real !== staged) this.busy.add(real);
      try {
        return await this.finishNamed(real);
      } finally {
        this.busy.delete(real);
      }
    } finally {
      this.busy.delete(staged);
    }
  }

  private async finishNamed(staged: string): Promise<MovedSegment | undefined> {
    const { log, root } = this.options;
    const name = path.basename(staged);
    const clip = parseClipName(name);
    if (!clip) {
      log.warn(
        `staging: ${name} is not a <camera>_<YYYYMMDDHHMMSS>.mp4 name; left in ${path.dirname(staged)}`,
      );
      return undefined;
    }
    const bytes = await sizeOf(staged);
    if (bytes === undefined) {
      this.held.delete(staged);
      log.warn(`staging: segment ${name} was listed as finished but is gone`);
      return undefined;
    }
    // A segment opened just before ffmpeg stopped can hold headers and no frame: not footage,
    // but only ffprobe's answer proves that; no answer proves nothing.
    const duration = await this.footageOrSetAside(staged, bytes, {
      empty: `segment ${name} is empty (0 bytes; disk full or camera sent nothing): deleted, not archived`,
      noVideo: (why) => `holds no video (${bytes} bytes: ${why})`,
    });
    if (duration === undefined) return undefined;
    this.held.delete(staged);
    const thumbTemp = path.join(path.dirname(staged), `.${clip.stem}.jpg${PARTIAL_SUFFIX}`);
    const thumbOk = await this.makeThumbnail(staged, thumbTemp);
    const target = await this.freeTarget(clip.camera, clip.stamp);
    const landed = await moveNoClobber(staged, target, root);
    this.held.delete(staged);
    if (path.basename(target) !== localName(clip.camera, clip.stamp, 0)) {
      log.warn(
        `${localName(clip.camera, clip.stamp, 0)} already exists (a repeated hour at the DST change, or a clock step): this segment is ${path.basename(landed)}`,
      );
    }
    let thumbnail: string | undefined;
    if (thumbOk) {
      const thumbTarget = landed.replace(/\.mp4$/i, '.jpg');
      try {
        thumbnail = await moveNoClobber(thumbTemp, thumbTarget, root);
      } catch (error) {
        log.warn(`thumbnail for ${path.basename(landed)} not placed: ${errorMessage(error)}`);
        await fsp.rm(thumbTemp, { force: true });
      }
    }
    return { file: landed, thumbnail, bytes };
  }

  /**
   * A staged segment's duration when it is footage; otherwise it is set aside and undefined
   * returned: empty (0 bytes), deleted; no answer from ffprobe, held for a retry; proven to hold
   * no video, quarantined (never deleted on a probe's word). `words` say which segment it was.
   */
  private async footageOrSetAside(
    staged: string,
    bytes: number,
    words: { empty: string; noVideo: (why: string) => string },
  ): Promise<number | undefined> {
    if (bytes === 0) {
      await fsp.rm(staged, { force: true });
      this.options.log.warn(`staging: ${words.empty}`);
      return undefined;
    }
    const verdict = await this.probe(staged);
    if (verdict.kind === 'unknown') {
      this.hold(staged, `ffprobe gave no answer (${verdict.reason})`);
      return undefined;
    }
    if (verdict.kind === 'no-video') {
      await this.quarantine(staged, words.noVideo(verdict.reason));
      return undefined;
    }
    return verdict.duration;
  }

  /**
   * The tree name of a staged (UTC-named) segment: local time, like camera uploads. When local time
   * repeats (autumn DST) or the clock stepped back, the stamp moves on by a second until the name
   * is free, so it stays a valid `<camera>_<stamp>.mp4` that the archiver picks up.
   */
  private async freeTarget(camera: string, utcStamp: string): Promise<string> {
    let candidate = '';
    for (let shift = 0; shift < 3600; shift++) {
      const local = utcStampToLocal(utcStamp, shift) ?? utcStamp;
      candidate = path.join(this.options.root, dayPathOfStamp(local), `${camera}_${local}.mp4`);
      if ((await sizeOf(candidate)) === undefined) return candidate;
    }
    return candidate;
  }

  private async makeThumbnail(segment: string, output: string): Promise<boolean> {
    const { tools, log } = this.options;
    const counters = this.options.counters ?? {};
    try {
      const result = await tools.ffmpeg(buildThumbnailArgs(segment, output));
      const size = await sizeOf(output);
      if (result.exitCode === 0 && size !== undefined && size > 0) {
        countRun(counters, 'thumbnail');
        return true;
      }
      const why = result.stderr.trim().split('\n').pop() || `ffmpeg exit ${result.exitCode}`;
      countRun(counters, 'thumbnail', why);
      log.warn(`no thumbnail for ${path.basename(segment)}: ${why}`);
    } catch (error) {
      countRun(counters, 'thumbnail', error);
      log.warn(`no thumbnail for ${path.basename(segment)}: ${errorMessage(error)}`);
    }
    await fsp.rm(output, { force: true });
    return false;
  }

  /**
   * A segment no list reported closed: ffmpeg was killed, crashed, or the machine lost power.
   * Readable leftovers are remuxed into a complete MP4 (an fMP4 cut short keeps all but its last
   * fragment) and moved like any segment; unreadable ones go to quarantine, loudly.
   */
  async recover(staged: string): Promise<MovedSegment | undefined> {
    if (this.busy.has(staged)) return undefined;
    this.busy.add(staged);
    try {
      return await this.recoverOne(staged);
    } finally {
      this.busy.delete(staged);
    }
  }

  private async recoverOne(staged: string): Promise<MovedSegment | undefined> {
    const { tools, log } = this.options;
    const name = path.basename(staged);
    const bytes = await sizeOf(staged);
    if (bytes === undefined) return undefined;
    const duration = await this.footageOrSetAside(staged, bytes, {
      empty: `leftover ${name} is empty (0 bytes): deleted`,
      noVideo: (why) => `is not readable video (a leftover: ${why})`,
    });
    if (duration === undefined) return undefined;
    const temp = path.join(path.dirname(staged), `.${name}.remux${PARTIAL_SUFFIX}`);
    try {
      const result = await tools.ffmpeg(buildRemuxArgs(staged, temp));
      const size = await sizeOf(temp);
      if (result.exitCode === 0 && size !== undefined && size > 0) {
        await fsp.rename(temp, staged);
      } else {
        log.warn(
          `staging: could not remux leftover ${name} (${result.stderr.trim().split('\n').pop() ?? ''}); moving it as it is`,
        );
      }
    } finally {
      await fsp.rm(temp, { force: true });
    }
    log.info(
      `staging: recovered ${name} (${duration.toFixed(1)} s) left by an interrupted recording`,
    );
    this.busy.delete(staged);
    return this.finish(staged);
  }

  /** Recovers every staged segment of `camera` (at start-up and after each ffmpeg exit, never while one runs). */
  async recoverAll(stagingDir: string, camera: string): Promise<MovedSegment[]> {
    let names: string[];
    try {
      names = await fsp.readdir(stagingDir);
    } catch (error) {
      if (code(error) === 'ENOENT') return [];
      throw error;
    }
    const moved: MovedSegment[] = [];
    for (const name of names.sort()) {
      if (name.endsWith(PARTIAL_SUFFIX) && name.startsWith('.')) {
        // Our own temporaries from a run that died mid-thumbnail or mid-remux: never complete.
        await fsp.rm(path.join(stagingDir, name), { force: true });
        continue;
      }
      if (/^\.segments-.*\.csv$/.test(name)) continue;
      if (!isStagedSegment(name, camera)) continue;
      // Held for the clock: complete and known; retryHeld() moves it once its time is known.
      if (this.held.get(path.join(stagingDir, name))?.reason.includes('clock')) continue;
      const result = await this.recover(path.join(stagingDir, name));
      if (result) moved.push(result);
    }
    // Recovery only runs while no ffmpeg of this camera runs, so every list here belongs to a
    // run that is over (a dead recorder's included): its segments were moved or recovered above.
    for (const name of names) {
      if (/^\.segments-.*\.csv$/.test(name))
        await fsp.rm(path.join(stagingDir, name), { force: true });
    }
    return moved;
  }
}

/**
 * Moves finished segments from staging into the tree the archiver reads:
 *   ROOT/.incoming/<camera>/<camera>_<stamp>.mp4 → ROOT/YYYY/MM/DD/<camera>_<stamp>.mp4 (+ .jpg)
 * Only whole files ever appear under a real name: the thumbnail is made in staging first, both
 * moves are hard-link-then-unlink (moveNoClobber), and a name already taken (a DST repeat, a
 * clock step back, a restart in the same second) keeps both files instead of overwriting.
 * Empty files are deleted, never moved: a full disk must not fill the tree with 0-byte clips.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../errors.js';
import { moveNoClobber } from '../file-manager.js';
import type { Log } from '../logger.js';
import { dayPathOfStamp, parseClipName, PARTIAL_SUFFIX, utcStampToLocal } from '../naming.js';
import { buildRemuxArgs, buildThumbnailArgs } from './ffmpeg-args.js';

export interface MediaTools {
  /** Runs ffmpeg with these arguments to completion. */
  ffmpeg(args: string[]): Promise<{ exitCode: number; stderr: string }>;
  /** Duration in seconds, or undefined when the file is not readable media. */
  duration(file: string): Promise<number | undefined>;
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
}

export const QUARANTINE_DIR = 'broken';

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

/** Staged segment names this camera writes; everything else in its folder is not ours to move. */
export function isStagedSegment(fileName: string, camera: string): boolean {
  const parsed = parseClipName(fileName);
  return (
    parsed !== undefined &&
    parsed.kind === 'clip' &&
    parsed.camera === camera &&
    fileName.endsWith('.mp4')
  );
}

function localName(camera: string, utcStamp: string, shift: number): string {
  return `${camera}_${utcStampToLocal(utcStamp, shift) ?? utcStamp}.mp4`;
}

export class SegmentMover {
  constructor(private readonly options: MoverOptions) {}

  /** A segment the list reported closed: thumbnail, then move both into the tree. */
  async finish(staged: string): Promise<MovedSegment | undefined> {
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
      log.warn(`staging: segment ${name} was listed as finished but is gone`);
      return undefined;
    }
    if (bytes === 0) {
      await fsp.rm(staged, { force: true });
      log.warn(
        `staging: segment ${name} is empty (0 bytes; disk full or camera sent nothing): deleted, not archived`,
      );
      return undefined;
    }
    // A segment opened just before ffmpeg stopped can hold headers and no frame: not footage.
    const duration = await this.options.tools.duration(staged).catch(() => undefined);
    if (duration === undefined || !(duration > 0)) {
      await fsp.rm(staged, { force: true });
      log.warn(
        `staging: segment ${name} holds no video (${bytes} bytes of headers): deleted, not archived`,
      );
      return undefined;
    }
    const thumbTemp = path.join(path.dirname(staged), `.${clip.stem}.jpg${PARTIAL_SUFFIX}`);
    const thumbOk = await this.makeThumbnail(staged, thumbTemp);
    const target = await this.freeTarget(clip.camera, clip.stamp);
    const landed = await moveNoClobber(staged, target, root);
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
    try {
      const result = await tools.ffmpeg(buildThumbnailArgs(segment, output));
      const size = await sizeOf(output);
      if (result.exitCode === 0 && size !== undefined && size > 0) return true;
      log.warn(
        `no thumbnail for ${path.basename(segment)}: ${result.stderr.trim().split('\n').pop() || `ffmpeg exit ${result.exitCode}`}`,
      );
    } catch (error) {
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
    const { tools, log, stagingRoot } = this.options;
    const name = path.basename(staged);
    const bytes = await sizeOf(staged);
    if (bytes === undefined) return undefined;
    if (bytes === 0) {
      await fsp.rm(staged, { force: true });
      log.warn(`staging: leftover ${name} is empty (0 bytes): deleted`);
      return undefined;
    }
    const duration = await tools.duration(staged).catch(() => undefined);
    if (duration === undefined || !(duration > 0)) {
      const quarantine = path.join(stagingRoot, QUARANTINE_DIR, name);
      const landed = await moveNoClobber(staged, quarantine, stagingRoot);
      log.error(
        `staging: leftover ${name} is not readable video; moved to ${landed} for inspection`,
      );
      return undefined;
    }
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

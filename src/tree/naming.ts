/**
 * File-name conventions shared by discovery, planner, file manager and recorder.
 *
 * A clip or thumbnail is `<anything>_<YYYYMMDDHHMMSS>.mp4|.jpg`; the part before the timestamp
 * identifies the camera (Reolink: `REO_<camera>`). The timestamp is read as local wall-clock time
 * of the host, like the cameras that write it.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';

const LEGACY_ARCHIVE_NAME = /^archived-(\d{14})\.mp4$/i;
const DAY_PARTS = { year: /^\d{4}$/, month: /^\d{2}$/, day: /^\d{2}$/ };

/** Where the archive and the trash go when not named: folders inside the input root. */
export const OUTPUT_DIR_NAME = 'archived';
export const TRASH_DIR_NAME = '.deleted';

/** Suffix of temporary archive output: never ends in .mp4, always hidden, so nothing takes it for an archive. */
export const PARTIAL_SUFFIX = '.partial';

export type MediaKind = 'clip' | 'thumbnail';

export interface ClipName {
  /** File name without extension, e.g. `REO_front_20250115120000`: camera and timestamp, unique per camera. */
  stem: string;
  /** Everything before the timestamp, e.g. `REO_front`. */
  camera: string;
  /** The 14 digits as written. */
  stamp: string;
  kind: MediaKind;
}

export interface Stamp {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** Splits 14 digits into calendar fields; undefined unless it is a real calendar date-time in 2000–2099. */
export function parseStamp(stamp: string): Stamp | undefined {
  if (stamp.length !== 14 || !isStampAt(stamp, 0)) return undefined;
  const n = (from: number): number => digitsAt(stamp, from, from === 0 ? 4 : 2);
  return { year: n(0), month: n(4), day: n(6), hour: n(8), minute: n(10), second: n(12) };
}

/** The number written by `count` ASCII digits at `offset` (the caller has checked they are digits). */
function digitsAt(text: string, offset: number, count: number): number {
  let v = 0;
  for (let i = offset; i < offset + count; i++) v = v * 10 + text.charCodeAt(i) - 48;
  return v;
}

/**
 * Whether `text` holds a real calendar date-time stamp (14 digits, 2000–2099) at `offset`.
 * Digit arithmetic without slices or regex: discovery checks every clip name of the tree
 * (BENCHMARKS.md).
 */
export function isStampAt(text: string, offset: number): boolean {
  if (offset < 0 || offset + 14 > text.length) return false;
  for (let i = offset; i < offset + 14; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  const year = digitsAt(text, offset, 4);
  const month = digitsAt(text, offset + 4, 2);
  const day = digitsAt(text, offset + 6, 2);
  if (year < 2000 || year > 2099 || month < 1 || month > 12 || day < 1) return false;
  return day <= daysInMonth(year, month) && isTimeOfDayAt(text, offset + 8);
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

export function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  // Months outside 1–12 roll over like Date does; only callers' edge cases get there.
  return MONTH_DAYS[month - 1] ?? new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * The instant a local-time stamp denotes on this host. A wall-clock time inside a DST gap does not
 * exist locally; JavaScript moves it forward by the gap, which is the right order for age rules.
 */
export function stampToDate(s: Stamp): Date {
  return new Date(s.year, s.month - 1, s.day, s.hour, s.minute, s.second);
}

export function formatStamp(date: Date): string {
  const p = (v: number, w = 2): string => String(v).padStart(w, '0');
  return (
    p(date.getFullYear(), 4) +
    p(date.getMonth() + 1) +
    p(date.getDate()) +
    p(date.getHours()) +
    p(date.getMinutes()) +
    p(date.getSeconds())
  );
}

/**
 * The host's local wall-clock stamp of an instant written as a UTC stamp, shifted by `offsetSeconds`.
 * The recorder's ffmpeg names segments in UTC (unique, even when local time repeats an hour); the
 * tree uses local time like the cameras' own uploads, which is how the archiver reads stamps.
 */
export function utcStampToLocal(stamp: string, offsetSeconds = 0): string | undefined {
  const s = parseStamp(stamp);
  if (!s) return undefined;
  const utc = Date.UTC(s.year, s.month - 1, s.day, s.hour, s.minute, s.second);
  return formatStamp(new Date(utc + offsetSeconds * 1000));
}

/**
 * `/^(.+)_(\d{14})\.(mp4|jpg)$/i` with a real calendar stamp, checked by hand without allocating:
 * discovery calls this for every file of the tree, and a regex's match array and capture strings
 * were a third of the planning time of a million-file tree (BENCHMARKS.md). Anchored at both
 * ends, the regex fixes the last 19 characters; `.+` is any non-empty camera part without a line
 * terminator.
 */
export function mediaKindOf(fileName: string): MediaKind | undefined {
  const kind = mediaKindByShape(fileName);
  return kind && isStampAt(fileName, fileName.length - 18) ? kind : undefined;
}

/**
 * mediaKindOf for the names of one folder, which also reads the instant each accepted name's
 * stamp denotes, in one pass over its 14 digits. Discovery calls it for every clip and thumbnail
 * of the tree (BENCHMARKS.md), and a folder's names nearly all share one date: a date is checked
 * against the calendar, and its local midnight computed, once. On a day whose UTC offset does not
 * change, local midnight plus the time of day is the instant the local-time Date constructor
 * gives; a day with a DST change (or without a local midnight) takes that constructor per name.
 */
export class MediaNameReader {
  /** For the last name kindOf accepted: its stamp's date as a number, YYYYMMDD. */
  date = 0;
  /** For the last name kindOf accepted: the instant of its stamp, ms since the epoch. */
  timeMs = 0;
  private knownDate = -1;
  /** Local midnight of knownDate; undefined when that day's UTC offset changes. */
  private midnightMs: number | undefined = undefined;

  kindOf(fileName: string): MediaKind | undefined {
    const kind = mediaKindByShape(fileName);
    if (!kind) return undefined;
    const at = fileName.length - 18;
    let date = 0;
    for (let i = at; i < at + 8; i++) {
      const d = fileName.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return undefined;
      date = date * 10 + d;
    }
    const hours = twoDigitsAt(fileName, at + 8);
    const minutes = twoDigitsAt(fileName, at + 10);
    const seconds = twoDigitsAt(fileName, at + 12);
    if (!(hours <= 23 && minutes <= 59 && seconds <= 59)) return undefined;
    if (date !== this.knownDate) {
      if (!isStampAt(fileName, at)) return undefined;
      this.knownDate = date;
      this.midnightMs = fixedOffsetMidnight(
        Math.floor(date / 10000),
        Math.floor(date / 100) % 100,
        date % 100,
      );
    }
    if (this.midnightMs === undefined) {
      const stamp = parseStamp(fileName.slice(at, at + 14));
      if (!stamp) return undefined; // not reached: its digits were checked above
      this.timeMs = stampToDate(stamp).getTime();
    } else {
      this.timeMs = this.midnightMs + (hours * 3600 + minutes * 60 + seconds) * 1000;
    }
    this.date = date;
    return kind;
  }
}

/** The number two ASCII digits at `offset` write; NaN (which fails every comparison) otherwise. */
function twoDigitsAt(text: string, offset: number): number {
  const tens = text.charCodeAt(offset) - 48;
  const ones = text.charCodeAt(offset + 1) - 48;
  return tens >= 0 && tens <= 9 && ones >= 0 && ones <= 9 ? tens * 10 + ones : NaN;
}

/** Local midnight of a day whose UTC offset is the same all day; undefined otherwise. */
function fixedOffsetMidnight(year: number, month: number, day: number): number | undefined {
  const start = new Date(year, month - 1, day);
  const end = new Date(year, month - 1, day, 23, 59, 59);
  return start.getHours() === 0 && start.getTimezoneOffset() === end.getTimezoneOffset()
    ? start.getTime()
    : undefined;
}

/**
 * mediaKindOf's verdict from the 3-character extension alone, for a name whose other characters
 * equal those of a name mediaKindOf accepted (same length, same `<camera>_<stamp>.`).
 */
export function mediaKindOfExtension(fileName: string): MediaKind | undefined {
  const n = fileName.length;
  const e1 = fileName.charCodeAt(n - 3) | 0x20;
  const e2 = fileName.charCodeAt(n - 2) | 0x20;
  const e3 = fileName.charCodeAt(n - 1);
  // `| 0x20` folds case for letters only, so the digit '4' is compared as it is.
  if (e1 === 109 && e2 === 112 && e3 === 52) return 'clip'; // mp4
  if (e1 === 106 && e2 === 112 && (e3 | 0x20) === 103) return 'thumbnail'; // jpg
  return undefined;
}

/** Everything mediaKindOf checks except that the 14 stamp characters are a real date-time. */
function mediaKindByShape(fileName: string): MediaKind | undefined {
  const n = fileName.length;
  if (n < 20 || fileName.charCodeAt(n - 19) !== 95 /* _ */ || fileName.charCodeAt(n - 4) !== 46)
    return undefined;
  const kind = mediaKindOfExtension(fileName);
  if (!kind) return undefined;
  for (let i = 0; i < n - 19; i++) {
    const c = fileName.charCodeAt(i);
    if (c <= 13 ? c === 10 || c === 13 : c === 0x2028 || c === 0x2029) return undefined;
  }
  return kind;
}

/** `HHMMSS` digits of a real time of day at `offset`. */
function isTimeOfDayAt(text: string, offset: number): boolean {
  for (let i = offset; i < offset + 6; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return (
    digitsAt(text, offset, 2) <= 23 &&
    digitsAt(text, offset + 2, 2) <= 59 &&
    digitsAt(text, offset + 4, 2) <= 59
  );
}

/** Camera, stamp and stem of a clip or thumbnail name (see mediaKindOf). */
export function parseClipName(fileName: string): ClipName | undefined {
  const kind = mediaKindOf(fileName);
  if (!kind) return undefined;
  const n = fileName.length;
  return {
    stem: fileName.slice(0, n - 4),
    camera: fileName.slice(0, n - 19),
    stamp: fileName.slice(n - 18, n - 4),
    kind,
  };
}

/** The Python archiver's output name `archived-<stamp>.mp4`; returns the stamp. */
export function parseLegacyArchiveName(fileName: string): string | undefined {
  const m = LEGACY_ARCHIVE_NAME.exec(fileName);
  return m?.[1] !== undefined && parseStamp(m[1]) ? m[1] : undefined;
}

/** `YYYY/MM/DD` of a stamp (or of its first 8 digits), from the digits, not from a Date, so time zones cannot move it. */
export function dayPathOfStamp(stamp: string): string {
  return `${stamp.slice(0, 4)}/${stamp.slice(4, 6)}/${stamp.slice(6, 8)}`;
}

/** Archive file name: keeps camera and timestamp, so two cameras in one second never share one. */
export function archiveFileName(clip: Pick<ClipName, 'stem'>): string {
  return `${clip.stem}.mp4`;
}

export function archivePathFor(outputRoot: string, clip: ClipName): string {
  return path.join(outputRoot, dayPathOfStamp(clip.stamp), archiveFileName(clip));
}

/** The longest file name most filesystems take (NAME_MAX, in bytes). */
export const NAME_MAX = 255;

/**
 * Where ffmpeg writes before verification: hidden, and not ending in .mp4. A name too long to
 * take the prefix and suffix (a clip name near NAME_MAX) gets a short one derived from it, so it
 * stays distinct per archive and the same across runs.
 */
export function partialPathFor(archivePath: string): string {
  return path.join(path.dirname(archivePath), partialNameFor(path.basename(archivePath)));
}

export function partialNameFor(archiveName: string): string {
  const name = `.${archiveName}${PARTIAL_SUFFIX}`;
  if (Buffer.byteLength(name) <= NAME_MAX) return name;
  return `.${createHash('sha256').update(archiveName).digest('hex').slice(0, 32)}${PARTIAL_SUFFIX}`;
}

/**
 * Eight hex digits that tell apart clips whose archives would share a name (the same
 * `<camera>_<stamp>` in two folders, or names differing only in case): from the clip's path
 * relative to the input root, so the same clip always gets the same archive name.
 */
export function collisionTag(relPath: string): string {
  return createHash('sha256').update(relPath).digest('hex').slice(0, 8);
}

/**
 * A distinct archive name for a clip whose plain name is another clip's:
 * `<camera>~<tag>_<stamp>.mp4`, then `<camera>~<tag>-2_<stamp>.mp4`, … . The stamp stays last, so
 * retention and stats still read the name's date. A name over NAME_MAX shortens the camera part.
 */
export function alternateArchiveName(
  clip: Pick<ClipName, 'camera' | 'stamp'>,
  tag: string,
  n = 1,
): string {
  const suffix = `~${tag}${n > 1 ? `-${n}` : ''}_${clip.stamp}.mp4`;
  let camera = clip.camera;
  while (camera.length > 0 && Buffer.byteLength(camera + suffix) > NAME_MAX) {
    camera = [...camera].slice(0, -1).join('');
  }
  return camera + suffix;
}

export function isPartialName(fileName: string): boolean {
  return fileName.startsWith('.') && fileName.endsWith(PARTIAL_SUFFIX);
}

/** True when the last three parts of a relative folder path are a real `YYYY/MM/DD`. */
export function isDayFolder(parts: readonly string[]): boolean {
  const [y, m, d] = parts.slice(-3);
  if (y === undefined || m === undefined || d === undefined) return false;
  if (!DAY_PARTS.year.test(y) || !DAY_PARTS.month.test(m) || !DAY_PARTS.day.test(d)) return false;
  return parseStamp(`${y}${m}${d}000000`) !== undefined;
}

/**
 * Why a folder that looks like a date folder is not one (`2023/1/5`, `2023/02/31`), so that `-v`
 * can say so; undefined when it is one, or does not look like one at all.
 */
export function notDayFolderReason(parts: readonly string[]): string | undefined {
  const [y, m, d] = parts.slice(-3);
  if (y === undefined || m === undefined || d === undefined) return undefined;
  if (!/^\d{4}$/.test(y) || !/^\d{1,2}$/.test(m) || !/^\d{1,2}$/.test(d)) return undefined;
  if (isDayFolder(parts)) return undefined;
  const padded = `${y}/${m.padStart(2, '0')}/${d.padStart(2, '0')}`;
  if (m.length < 2 || d.length < 2)
    return `not a date folder: month and day need two digits (YYYY/MM/DD, e.g. ${padded}); its files are not archived`;
  return `not a date folder: ${y}-${m}-${d} is not a real date; its files are not archived`;
}

/** A name that cannot clash in the trash: `<stem>.<n><ext>`, keeping stem and extension recognisable. */
export function numberedName(fileName: string, n: number): string {
  const ext = path.extname(fileName);
  return `${fileName.slice(0, fileName.length - ext.length)}.${n}${ext}`;
}

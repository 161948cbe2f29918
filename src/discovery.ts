/**
 * FileDiscovery: finds the day folders of a camera tree and lists them one day at a time.
 *
 * Cost model (see DESIGN.md): one readdir per folder, like `find`; no stat per file except for
 * clips whose name says they are recent (they may still be uploading). The walk stops at day
 * folders, so memory holds the folder skeleton plus one day, never the whole tree. Symbolic links
 * are never followed (Dirent types come from lstat semantics).
 */
import { promises as fsp, type Dirent } from 'node:fs';
import path from 'node:path';
import {
  isDayFolder,
  isPartialName,
  parseClipName,
  parseLegacyArchiveName,
  parseStamp,
  stampToDate,
  type ClipName,
} from './naming.js';

export interface MediaFile {
  name: string;
  path: string;
  /** Relative to the input root; also the file's place under `<trash>/input/`. */
  relPath: string;
}

export interface ClipFile extends MediaFile {
  clip: ClipName;
  time: Date;
  thumbnail?: MediaFile;
  /** Only set when discovery had a reason to stat the file (recent name). */
  mtimeMs?: number;
}

export interface IgnoredFile {
  path: string;
  reason: string;
  /** Footage may be hidden here (an unreadable folder): the run reports it as a failure. */
  problem?: boolean;
}

export interface DayFolder {
  /** Absolute path. */
  dir: string;
  /** Relative to the input root, e.g. `2025/01/15` or `front/2025/01/15`. */
  relDir: string;
  /** Path above the date parts (`''` or `front`): mirrored under the output root so nested camera trees never collide. */
  prefix: string;
  /** `YYYY-MM-DD` from the folder names. */
  date: string;
}

export interface OutputFolder {
  dir: string;
  entries: ReadonlySet<string>;
  /** stamp → file name of the Python archiver's `archived-<stamp>.mp4`. */
  legacyByStamp: ReadonlyMap<string, string>;
  partials: readonly string[];
}

export interface DayInventory {
  folder: DayFolder;
  clips: ClipFile[];
  orphanThumbnails: MediaFile[];
  /** Other entries in the day folder that keep it from being empty. */
  otherEntries: number;
  ignored: IgnoredFile[];
  /** Output day folders by `YYYY/MM/DD` of the clips' stamps (usually one: the folder's own day). */
  outputs: ReadonlyMap<string, OutputFolder>;
}

export interface Skeleton {
  days: DayFolder[];
  /** Folders above day folders (relative paths) → entries that are neither day folders nor folders leading to one. */
  otherEntriesByFolder: ReadonlyMap<string, number>;
  ignored: IgnoredFile[];
}

export interface DiscoveryOptions {
  root: string;
  /** Absolute roots never scanned as input (output, trash). */
  excluded: readonly string[];
  outputRoot: string;
  /** Clips named at or after this instant are stat'ed so the planner can apply the settle time. */
  statClipsNewerThan: Date;
  maxDepth?: number;
}

const MAX_DEPTH = 12;
/**
 * Folders listed at once by the skeleton walk. Unbounded, a wide tree (many cameras × years ×
 * months) would open every folder together and queue thousands of readdirs on libuv's 4 threads.
 */
const WALK_CONCURRENCY = 8;
/**
 * Day folders listed ahead of the one being planned: the listing (a thread-pool readdir) overlaps
 * planning on the main thread, which is what brings a walk near `find`'s speed on two cores.
 * Memory stays bounded by the largest day folders (1 + READ_AHEAD of them), never the tree.
 */
export const READ_AHEAD = 2;

/** Walks the folder skeleton down to day folders, in date order. */
export async function findDayFolders(options: DiscoveryOptions): Promise<Skeleton> {
  const days: DayFolder[] = [];
  const ignored: IgnoredFile[] = [];
  const otherEntriesByFolder = new Map<string, number>();
  const excluded = new Set(options.excluded.map((p) => path.resolve(p)));
  const maxDepth = options.maxDepth ?? MAX_DEPTH;
  let open = 0;
  const waiting: (() => void)[] = [];
  const listFolder = async (dir: string): Promise<Dirent[]> => {
    if (open >= WALK_CONCURRENCY) await new Promise<void>((resolve) => waiting.push(resolve));
    else open++;
    try {
      return await fsp.readdir(dir, { withFileTypes: true });
    } finally {
      // Hand the slot straight to the next waiter (open stays counted), or free it.
      const next = waiting.shift();
      if (next) next();
      else open--;
    }
  };

  /** Returns whether the folder leads to at least one day folder. */
  const walk = async (dir: string, parts: string[]): Promise<boolean> => {
    let entries: Dirent[];
    try {
      entries = await listFolder(dir);
    } catch (error) {
      if (parts.length === 0) throw error;
      ignored.push({
        path: dir,
        reason: `cannot read folder: ${(error as NodeJS.ErrnoException).code ?? error}`,
        problem: true,
      });
      return false;
    }
    let others = 0;
    let leadsToDays = false;
    const children: Promise<boolean>[] = [];
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (!entry.isDirectory()) {
        others++;
        if (entry.isSymbolicLink())
          ignored.push({ path: full, reason: 'symbolic link (never followed)' });
        continue;
      }
      if (entry.name.startsWith('.') || excluded.has(full)) {
        others++;
        continue;
      }
      const childParts = [...parts, entry.name];
      if (isDayFolder(childParts)) {
        const [y, m, d] = childParts.slice(-3) as [string, string, string];
        leadsToDays = true;
        days.push({
          dir: full,
          relDir: childParts.join('/'),
          prefix: childParts.slice(0, -3).join('/'),
          date: `${y}-${m}-${d}`,
        });
      } else if (childParts.length < maxDepth) {
        children.push(walk(full, childParts));
      } else {
        others++;
      }
    }
    for (const childLeadsToDays of await Promise.all(children)) {
      if (childLeadsToDays) leadsToDays = true;
      else others++;
    }
    if (others > 0) otherEntriesByFolder.set(parts.join('/'), others);
    return leadsToDays;
  };

  await walk(path.resolve(options.root), []);
  days.sort((a, b) => (a.date === b.date ? compare(a.prefix, b.prefix) : compare(a.date, b.date)));
  return { days, otherEntriesByFolder, ignored };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Lists one day folder and the output folders its clips map to. */
export async function readDay(
  folder: DayFolder,
  options: DiscoveryOptions,
  outputCache: Map<string, OutputFolder> = new Map(),
  /** The folder's listing when the caller started it ahead of time (discoverDays' read-ahead). */
  listing?: Promise<Dirent[]>,
): Promise<DayInventory> {
  const entries = await (listing ?? listDay(folder));
  const clips = new Map<string, ClipFile>();
  const thumbnails = new Map<string, MediaFile>();
  const ignored: IgnoredFile[] = [];
  let otherEntries = 0;
  const toStat: ClipFile[] = [];
  // This loop runs once per file of the tree, so it allocates only what the inventory keeps.
  // Paths are concatenated from per-day prefixes: a readdir name never contains '/', and a day
  // folder is never the file-system root, so this equals path.join without its normalisation.
  const dirPrefix = `${folder.dir}/`;
  const relPrefix = `${folder.relDir}/`;
  const timeOf = clipClock();

  for (const entry of entries) {
    const name = entry.name;
    if (!entry.isFile()) {
      otherEntries++;
      if (entry.isSymbolicLink())
        ignored.push({ path: dirPrefix + name, reason: 'symbolic link (never followed)' });
      continue;
    }
    const parsed = parseClipName(name);
    if (!parsed) {
      otherEntries++;
      ignored.push({
        path: dirPrefix + name,
        reason: 'name is not <camera>_<YYYYMMDDHHMMSS>.mp4|.jpg',
      });
      continue;
    }
    if (parsed.kind === 'thumbnail') {
      if (thumbnails.has(parsed.stem)) {
        otherEntries++;
        ignored.push({ path: dirPrefix + name, reason: `second thumbnail for ${parsed.stem}` });
      } else
        thumbnails.set(parsed.stem, { name, path: dirPrefix + name, relPath: relPrefix + name });
      continue;
    }
    const twin = clips.get(parsed.stem);
    if (twin) {
      otherEntries++;
      ignored.push({
        path: dirPrefix + name,
        reason: `another clip with the same camera and time exists (${twin.name}); left alone`,
      });
      continue;
    }
    const time = timeOf(parsed.stamp);
    if (!time) continue;
    const clip: ClipFile = {
      name,
      path: dirPrefix + name,
      relPath: relPrefix + name,
      clip: parsed,
      time,
    };
    clips.set(parsed.stem, clip);
    if (clip.time >= options.statClipsNewerThan) toStat.push(clip);
  }

  thumbnails.forEach((thumb, stem) => {
    const clip = clips.get(stem);
    if (clip) {
      clip.thumbnail = thumb;
      thumbnails.delete(stem);
    }
  });

  await Promise.all(
    toStat.map(async (clip) => {
      try {
        clip.mtimeMs = (await fsp.stat(clip.path)).mtimeMs;
      } catch {
        // Vanished between readdir and stat: the executor re-checks before acting.
      }
    }),
  );

  const outputs = new Map<string, OutputFolder>();
  // Clips of one folder almost always share their stamp's date: look the output folder up only
  // when the date changes (startsWith allocates nothing; a key string per clip would).
  let lastDate = '';
  for (const clip of clips.values()) {
    const s = clip.clip.stamp;
    if (lastDate !== '' && s.startsWith(lastDate)) continue;
    lastDate = s.slice(0, 8);
    const dayPath = `${s.slice(0, 4)}/${s.slice(4, 6)}/${s.slice(6, 8)}`;
    const key = folder.prefix ? `${folder.prefix}/${dayPath}` : dayPath;
    if (outputs.has(key)) continue;
    let out = outputCache.get(key);
    if (!out) {
      out = await readOutputFolder(path.join(options.outputRoot, key));
      outputCache.set(key, out);
      // Days arrive in date order, so older output listings are not needed again.
      if (outputCache.size > 8) {
        const oldest = outputCache.keys().next().value;
        if (oldest !== undefined) outputCache.delete(oldest);
      }
    }
    outputs.set(key, out);
  }

  // libuv lists a folder sorted by bytes, which for these ASCII names is already our order:
  // check in one pass and sort only when a name says otherwise.
  const sorted = [...clips.values()];
  for (let i = 1; i < sorted.length; i++) {
    if (compare((sorted[i - 1] as ClipFile).name, (sorted[i] as ClipFile).name) > 0) {
      sorted.sort((a, b) => compare(a.name, b.name));
      break;
    }
  }

  return {
    folder,
    clips: sorted,
    orphanThumbnails: [...thumbnails.values()],
    otherEntries,
    ignored,
    outputs,
  };
}

/**
 * `stampToDate(parseStamp(stamp))`, fast for the clips of one folder. A local-time Date
 * constructor costs a time-zone computation per call; on a day whose UTC offset does not change,
 * local midnight plus the time of day is the same instant, and a Date from a number is cheap.
 * Days with a DST change (or no local midnight) take the exact constructor.
 */
function clipClock(): (stamp: string) => Date | undefined {
  let date = '';
  let midnight: number | undefined;
  const two = (s: string, i: number): number =>
    (s.charCodeAt(i) - 48) * 10 + s.charCodeAt(i + 1) - 48;
  return (stamp) => {
    if (date === '' || !stamp.startsWith(date)) {
      const s = parseStamp(stamp);
      if (!s) return undefined;
      date = stamp.slice(0, 8);
      const start = new Date(s.year, s.month - 1, s.day);
      const end = new Date(s.year, s.month - 1, s.day, 23, 59, 59);
      midnight =
        start.getHours() === 0 && start.getTimezoneOffset() === end.getTimezoneOffset()
          ? start.getTime()
          : undefined;
    }
    if (midnight === undefined) {
      const s = parseStamp(stamp);
      return s && stampToDate(s);
    }
    return new Date(
      midnight + (two(stamp, 8) * 3600 + two(stamp, 10) * 60 + two(stamp, 12)) * 1000,
    );
  };
}

function listDay(folder: DayFolder): Promise<Dirent[]> {
  return fsp.readdir(folder.dir, { withFileTypes: true });
}

export async function readOutputFolder(dir: string): Promise<OutputFolder> {
  let names: string[] = [];
  try {
    names = await fsp.readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const legacyByStamp = new Map<string, string>();
  const partials: string[] = [];
  for (const name of names) {
    const stamp = parseLegacyArchiveName(name);
    if (stamp) legacyByStamp.set(stamp, name);
    else if (isPartialName(name)) partials.push(name);
  }
  return { dir, entries: new Set(names), legacyByStamp, partials };
}

/**
 * Streams day inventories in date order. Pull-based: the consumer holds one day, and at most
 * READ_AHEAD later day folders are being listed meanwhile, so memory follows the largest day
 * folder, never the tree (test/integration/memory.test.ts).
 */
export async function* discoverDays(
  options: DiscoveryOptions,
  skeleton?: Skeleton,
): AsyncGenerator<DayInventory> {
  const sk = skeleton ?? (await findDayFolders(options));
  const cache = new Map<string, OutputFolder>();
  const days = sk.days;
  const listings: Promise<Dirent[]>[] = [];
  const startListing = (index: number): void => {
    const folder = days[index];
    if (!folder) return;
    const listing = listDay(folder);
    // Its error is handled when the day is consumed; until then it must not count as unhandled.
    listing.catch(() => undefined);
    listings.push(listing);
  };
  for (let i = 0; i < READ_AHEAD; i++) startListing(i);
  for (const [index, folder] of days.entries()) {
    startListing(index + READ_AHEAD);
    const listing = listings.shift();
    try {
      yield await readDay(folder, options, cache, listing);
    } catch (error) {
      yield {
        folder,
        clips: [],
        orphanThumbnails: [],
        otherEntries: 1,
        ignored: [
          {
            path: folder.dir,
            reason: `cannot read folder: ${(error as NodeJS.ErrnoException).code ?? error}`,
            problem: true,
          },
        ],
        outputs: new Map(),
      };
    }
  }
}

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

/** Walks the folder skeleton down to day folders, in date order. */
export async function findDayFolders(options: DiscoveryOptions): Promise<Skeleton> {
  const days: DayFolder[] = [];
  const ignored: IgnoredFile[] = [];
  const otherEntriesByFolder = new Map<string, number>();
  const excluded = new Set(options.excluded.map((p) => path.resolve(p)));
  const maxDepth = options.maxDepth ?? MAX_DEPTH;

  /** Returns whether the folder leads to at least one day folder. */
  const walk = async (dir: string, parts: string[]): Promise<boolean> => {
    let entries: Dirent[];
    try {
      entries = await fsp.readdir(dir, { withFileTypes: true });
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
): Promise<DayInventory> {
  const entries = await fsp.readdir(folder.dir, { withFileTypes: true });
  const clips = new Map<string, ClipFile>();
  const thumbnails = new Map<string, MediaFile>();
  const ignored: IgnoredFile[] = [];
  let otherEntries = 0;
  const toStat: ClipFile[] = [];

  for (const entry of entries) {
    const full = path.join(folder.dir, entry.name);
    if (!entry.isFile()) {
      otherEntries++;
      if (entry.isSymbolicLink())
        ignored.push({ path: full, reason: 'symbolic link (never followed)' });
      continue;
    }
    const parsed = parseClipName(entry.name);
    if (!parsed) {
      otherEntries++;
      ignored.push({ path: full, reason: 'name is not <camera>_<YYYYMMDDHHMMSS>.mp4|.jpg' });
      continue;
    }
    const file: MediaFile = {
      name: entry.name,
      path: full,
      relPath: `${folder.relDir}/${entry.name}`,
    };
    if (parsed.kind === 'thumbnail') {
      if (thumbnails.has(parsed.stem)) {
        otherEntries++;
        ignored.push({ path: full, reason: `second thumbnail for ${parsed.stem}` });
      } else thumbnails.set(parsed.stem, file);
      continue;
    }
    if (clips.has(parsed.stem)) {
      otherEntries++;
      ignored.push({
        path: full,
        reason: `another clip with the same camera and time exists (${clips.get(parsed.stem)?.name}); left alone`,
      });
      continue;
    }
    const stamp = parseStamp(parsed.stamp);
    if (!stamp) continue;
    const clip: ClipFile = { ...file, clip: parsed, time: stampToDate(stamp) };
    clips.set(parsed.stem, clip);
    if (clip.time >= options.statClipsNewerThan) toStat.push(clip);
  }

  for (const [stem, thumb] of thumbnails) {
    const clip = clips.get(stem);
    if (clip) {
      clip.thumbnail = thumb;
      thumbnails.delete(stem);
    }
  }

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
  for (const clip of clips.values()) {
    const dayPath = `${clip.clip.stamp.slice(0, 4)}/${clip.clip.stamp.slice(4, 6)}/${clip.clip.stamp.slice(6, 8)}`;
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

  return {
    folder,
    clips: [...clips.values()].sort((a, b) => compare(a.name, b.name)),
    orphanThumbnails: [...thumbnails.values()],
    otherEntries,
    ignored,
    outputs,
  };
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

/** Streams day inventories in date order; one day in memory at a time. */
export async function* discoverDays(
  options: DiscoveryOptions,
  skeleton?: Skeleton,
): AsyncGenerator<DayInventory> {
  const sk = skeleton ?? (await findDayFolders(options));
  const cache = new Map<string, OutputFolder>();
  for (const folder of sk.days) {
    try {
      yield await readDay(folder, options, cache);
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

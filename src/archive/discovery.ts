/**
 * FileDiscovery: finds the day folders of a camera tree and lists them one day at a time.
 *
 * Cost model (see DESIGN.md): one readdir per folder, like `find`; no stat per file except for
 * clips whose name says they are recent (they may still be uploading). The walk stops at day
 * folders, so memory holds the folder skeleton plus one day, never the whole tree.
 *
 * Symbolic links are never followed. The skeleton walk reads file types (lstat semantics), so a
 * linked folder is never entered. Day folders are read by name only, like `find -name`: Node
 * builds an object per entry for file types, a fifth of the main thread's time on a million-file
 * tree (BENCHMARKS.md). A name is all the plan needs; the executor lstat's each clip and thumbnail
 * right before it acts on it (it must anyway, the tree changes under a run) and leaves anything
 * that is not a regular file, such as a link named like a clip, where it is.
 */
import { promises as fsp, type Dirent } from 'node:fs';
import path from 'node:path';
import { identityOf, sameIdentity, type FileIdentity } from '../tree/roots.js';
import {
  dayPathOfStamp,
  isDayFolder,
  notDayFolderReason,
  isPartialName,
  MediaNameReader,
  mediaKindOfExtension,
  parseLegacyArchiveName,
} from '../tree/naming.js';

export interface MediaFile {
  name: string;
  path: string;
  /** Relative to the input root; also the file's place under `<trash>/input/`. */
  relPath: string;
}

/**
 * A clip in a day folder, with its thumbnail. One is built for every clip of the tree, so it
 * holds only what discovery read (folder, name, instant); paths and name parts are derived when
 * read, which most clips of a large dry run never are (BENCHMARKS.md).
 */
export class ClipFile implements MediaFile {
  /** Only set when discovery had a reason to stat the file (recent name). */
  mtimeMs: number | undefined = undefined;

  constructor(
    readonly folder: Pick<DayFolder, 'dir' | 'relDir'>,
    /** A name mediaKindOf accepts as a clip: `<camera>_<YYYYMMDDHHMMSS>.mp4`. */
    readonly name: string,
    /** The instant the name's local wall-clock stamp denotes (ms since the epoch). */
    readonly timeMs: number,
    /** The `.jpg` of the same camera and stamp in the same folder. */
    readonly thumbnailName: string | undefined = undefined,
  ) {}

  /** A readdir name never contains '/' and a day folder is never `/`: no path.join needed. */
  get path(): string {
    return `${this.folder.dir}/${this.name}`;
  }

  get relPath(): string {
    return `${this.folder.relDir}/${this.name}`;
  }

  /** Camera and stamp: the name without its extension, unique per camera and second. */
  get stem(): string {
    return this.name.slice(0, this.name.length - 4);
  }

  /** Everything before `_<stamp>`, e.g. `REO_front`. */
  get camera(): string {
    return this.name.slice(0, this.name.length - 19);
  }

  /** The 14 digits as written. */
  get stamp(): string {
    return this.name.slice(this.name.length - 18, this.name.length - 4);
  }

  get time(): Date {
    return new Date(this.timeMs);
  }

  get thumbnail(): MediaFile | undefined {
    const name = this.thumbnailName;
    return name === undefined ? undefined : mediaFileIn(this.folder, name);
  }
}

function mediaFileIn(folder: Pick<DayFolder, 'dir' | 'relDir'>, name: string): MediaFile {
  return { name, path: `${folder.dir}/${name}`, relPath: `${folder.relDir}/${name}` };
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
  /**
   * Roots never scanned as input (output, trash). They are left out by identity (device and
   * inode), not by name: a bind mount or a second name of the archive tree inside the input tree
   * is still the archive tree (src/tree/roots.ts).
   */
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
export const READ_AHEAD = 8;
/**
 * Day folders listed at once: libuv's four threads. Fewer leave the pool idle while the main
 * thread, busy planning, has yet to start the next listing. On a two-core host the listing
 * threads also take the cores planning needs: a dry run lowers their priority
 * (src/media/thread-priority.ts), and with the four at once it ran a tenth faster than with three
 * (BENCHMARKS.md); a real run, which keeps their priority, lists as fast either way.
 */
const LISTINGS_IN_FLIGHT = 4;

/** Walks the folder skeleton down to day folders, in date order. */
export async function findDayFolders(options: DiscoveryOptions): Promise<Skeleton> {
  const excludedIds = (await Promise.all(options.excluded.map(identityOf))).filter(
    (id): id is FileIdentity => id !== undefined,
  );
  const walk = new SkeletonWalk(options, excludedIds);
  await walk.folder(path.resolve(options.root), []);
  return walk.skeleton();
}

/** At most `limit` folder listings at once; the others wait their turn. */
class ListingSlots {
  private open = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async list(dir: string): Promise<Dirent[]> {
    if (this.open >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.open++;
    try {
      return await fsp.readdir(dir, { withFileTypes: true });
    } finally {
      // Hand the slot straight to the next waiter (open stays counted), or free it.
      const next = this.waiting.shift();
      if (next) next();
      else this.open--;
    }
  }
}

/** One walk of the skeleton: the day folders found, what else each folder holds, what was left. */
class SkeletonWalk {
  private readonly days: DayFolder[] = [];
  private readonly ignored: IgnoredFile[] = [];
  private readonly otherEntriesByFolder = new Map<string, number>();
  private readonly excluded: Set<string>;
  private readonly maxDepth: number;
  private readonly slots = new ListingSlots(WALK_CONCURRENCY);

  constructor(
    options: DiscoveryOptions,
    private readonly excludedIds: readonly FileIdentity[],
  ) {
    this.excluded = new Set(options.excluded.map((p) => path.resolve(p)));
    this.maxDepth = options.maxDepth ?? MAX_DEPTH;
  }

  skeleton(): Skeleton {
    const { days, otherEntriesByFolder, ignored } = this;
    days.sort((a, b) =>
      a.date === b.date ? compare(a.prefix, b.prefix) : compare(a.date, b.date),
    );
    return { days, otherEntriesByFolder, ignored };
  }

  /** Walks one folder; returns whether it leads to at least one day folder. */
  async folder(dir: string, parts: string[]): Promise<boolean> {
    let entries: Dirent[];
    try {
      entries = await this.slots.list(dir);
    } catch (error) {
      if (parts.length === 0) throw error;
      this.ignored.push({
        path: dir,
        reason: `cannot read folder: ${(error as NodeJS.ErrnoException).code ?? error}`,
        problem: true,
      });
      return false;
    }
    const { folders, others } = this.subfolders(dir, entries);
    const visited = await this.visit(dir, parts, folders);
    const othersHere = others + visited.others;
    if (othersHere > 0) this.otherEntriesByFolder.set(parts.join('/'), othersHere);
    return visited.leadsToDays;
  }

  /** The folders to walk into; everything else (files, links, hidden and excluded folders) counted. */
  private subfolders(dir: string, entries: Dirent[]): { folders: string[]; others: number } {
    let others = 0;
    const folders: string[] = [];
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (!entry.isDirectory()) {
        others++;
        if (entry.isSymbolicLink())
          this.ignored.push({ path: full, reason: 'symbolic link (never followed)' });
        continue;
      }
      if (entry.name.startsWith('.') || this.excluded.has(full)) {
        others++;
        continue;
      }
      folders.push(entry.name);
    }
    return { folders, others };
  }

  /** Each folder is a day folder, a folder to walk, or (an excluded root, too deep) another entry. */
  private async visit(
    dir: string,
    parts: string[],
    folders: string[],
  ): Promise<{ leadsToDays: boolean; others: number }> {
    let others = 0;
    let leadsToDays = false;
    const children: Promise<boolean>[] = [];
    // One stat per folder of the skeleton (never per file): the check by name misses a bind
    // mount or a hard-to-see second name of the archive or trash tree.
    const identityExcluded = await Promise.all(
      folders.map((name) => this.isExcludedFolder(path.join(dir, name))),
    );
    for (const [i, name] of folders.entries()) {
      const full = path.join(dir, name);
      const childParts = [...parts, name];
      if (identityExcluded[i]) others++;
      else if (isDayFolder(childParts)) {
        leadsToDays = true;
        this.days.push(dayFolderOf(full, childParts));
      } else if (childParts.length < this.maxDepth) {
        const notDay = notDayFolderReason(childParts);
        if (notDay) this.ignored.push({ path: full, reason: notDay });
        children.push(this.folder(full, childParts));
      } else others++;
    }
    for (const childLeadsToDays of await Promise.all(children)) {
      if (childLeadsToDays) leadsToDays = true;
      else others++;
    }
    return { leadsToDays, others };
  }

  /** Whether a folder met by the walk is an excluded root under another name. */
  private async isExcludedFolder(dir: string): Promise<boolean> {
    if (this.excludedIds.length === 0) return false;
    const id = await identityOf(dir);
    return this.excludedIds.some((e) => sameIdentity(e, id));
  }
}

function dayFolderOf(dir: string, parts: readonly string[]): DayFolder {
  const [y, m, d] = parts.slice(-3) as [string, string, string];
  return {
    dir,
    relDir: parts.join('/'),
    prefix: parts.slice(0, -3).join('/'),
    date: `${y}-${m}-${d}`,
  };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Lists one day folder and the output folders its clips map to. */
export async function readDay(
  folder: DayFolder,
  options: DiscoveryOptions,
  outputs: OutputListings = new OutputListings(options.outputRoot),
  /** The folder's scan when the caller started it ahead of time (discoverDays' read-ahead). */
  scanning?: Promise<DayScan>,
): Promise<DayInventory> {
  const scan = await (scanning ?? scanFolder(folder));
  const { clips, orphanThumbnails } = scan;

  const statFrom = options.statClipsNewerThan.getTime();
  if (scan.newestMs >= statFrom) {
    await Promise.all(
      clips
        .filter((clip) => clip.timeMs >= statFrom)
        .map(async (clip) => {
          try {
            clip.mtimeMs = (await fsp.stat(clip.path)).mtimeMs;
          } catch {
            // Vanished between readdir and stat: the executor re-checks before acting.
          }
        }),
    );
  }

  const outputFolders = new Map<string, OutputFolder>();
  for (const date of scan.stampDates) {
    const dayPath = dayPathOfStamp(date);
    const key = folder.prefix ? `${folder.prefix}/${dayPath}` : dayPath;
    outputFolders.set(key, await outputs.folder(key));
  }

  return {
    folder,
    clips,
    orphanThumbnails,
    otherEntries: scan.otherEntries,
    ignored: scan.ignored,
    outputs: outputFolders,
  };
}

/** Lists a day folder's names (a thread-pool readdir) and scans them. */
export async function scanFolder(folder: Pick<DayFolder, 'dir' | 'relDir'>): Promise<DayScan> {
  const names = await fsp.readdir(folder.dir);
  const scan = scanDay(names, folder, false) ?? scanDay(names, folder, true);
  if (!scan) throw new Error(`internal: grouping by stem failed for ${folder.dir}`);
  return scan;
}

/**
 * Listings of output day folders (`[prefix/]YYYY/MM/DD`), started ahead of use by discoverDays.
 * A day folder is listed only when its month folder names it: on a first run there is no output
 * tree, and one readdir per month replaces a failing one per day (each an ENOENT error object).
 */
export class OutputListings {
  private readonly days = new Map<string, Promise<OutputFolder>>();
  /** Day folder names of each output month folder; undefined when it could not be read. */
  private readonly months = new Map<string, Promise<ReadonlySet<string> | undefined>>();

  constructor(private readonly outputRoot: string) {}

  folder(key: string): Promise<OutputFolder> {
    let out = this.days.get(key);
    if (!out) {
      out = this.list(key);
      // Its error is handled where it is awaited; until then it must not count as unhandled.
      out.catch(() => undefined);
      this.days.set(key, out);
      // Days arrive in date order, so older listings are not needed again.
      evictOldest(this.days, OUTPUT_CACHE_SIZE);
    }
    return out;
  }

  private async list(key: string): Promise<OutputFolder> {
    const dir = path.join(this.outputRoot, key);
    const slash = key.lastIndexOf('/');
    const monthKey = key.slice(0, slash);
    let month = this.months.get(monthKey);
    if (!month) {
      month = listNames(path.join(this.outputRoot, monthKey));
      this.months.set(monthKey, month);
      evictOldest(this.months, OUTPUT_CACHE_SIZE);
    }
    const dayNames = await month;
    if (dayNames && !dayNames.has(key.slice(slash + 1))) return outputFolderFrom(dir, []);
    return readOutputFolder(dir);
  }
}

/** Listings kept: more than the read-ahead, so a listing started early is still there when used. */
const OUTPUT_CACHE_SIZE = READ_AHEAD + 8;

function evictOldest<K, V>(map: Map<K, V>, size: number): void {
  if (map.size <= size) return;
  const oldest = map.keys().next();
  if (!oldest.done) map.delete(oldest.value);
}

/** A folder's names: empty when it does not exist, undefined when it cannot be read. */
async function listNames(dir: string): Promise<ReadonlySet<string> | undefined> {
  try {
    return new Set(await fsp.readdir(dir));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? new Set() : undefined;
  }
}

export interface DayScan {
  /** Sorted by name. */
  clips: ClipFile[];
  /** Thumbnails without a clip, sorted by name. */
  orphanThumbnails: MediaFile[];
  ignored: IgnoredFile[];
  otherEntries: number;
  /** The distinct `YYYYMMDD` of the clips' stamps: nearly always one, the folder's own. */
  stampDates: string[];
  /** The newest clip's instant (ms); -Infinity without clips. */
  newestMs: number;
}

/** The clip and thumbnail of one camera and stamp; the first of each in listing order counts. */
interface StemGroup {
  /** Its first member's name: the stem is this minus its 4-character extension. */
  first: string;
  /** The instant of the group's stamp (its first name's). */
  timeMs: number;
  clip: string | undefined;
  thumbnail: string | undefined;
}

/**
 * Sorts a day folder's names into clips (with thumbnails), orphan thumbnails and the rest.
 *
 * This runs once per file of the tree, so the usual case allocates only what the result keeps.
 * libuv lists a folder sorted by name, and in a sorted listing the names that share a stem are
 * neighbours: a clip meets its thumbnail by comparing with the group before it, not through a
 * Map keyed by stem (which cost a fifth of the planning time). That shortcut is exact only if
 * every stem's names are contiguous, so `byMap = false` returns undefined when the listing is not
 * in that order — group names out of order, or a name of another stem that begins with
 * `<stem>.` (it could sort between a stem's .jpg and .mp4) — and the caller scans again with a
 * Map. test/unit/discovery.test.ts checks that both ways give the same result.
 */
export function scanDay(
  names: readonly string[],
  folder: Pick<DayFolder, 'dir' | 'relDir'>,
  byMap: boolean,
): DayScan | undefined {
  const scanner = new DayScanner(folder, byMap);
  for (const name of names) if (!scanner.add(name)) return undefined;
  return scanner.result();
}

/**
 * One day folder's names, taken one at a time. Runs for every name of the tree: small methods
 * V8 inlines, no object per name but the files it keeps.
 */
class DayScanner {
  private readonly clips: ClipFile[] = [];
  private readonly orphanThumbnails: MediaFile[] = [];
  private readonly ignored: IgnoredFile[] = [];
  private otherEntries = 0;
  private readonly stampDates: string[] = [];
  private lastClipDate = -1;
  private newestMs = -Infinity;
  private readonly reader = new MediaNameReader();
  private readonly groups: Map<string, StemGroup> | undefined;
  /** The sorted scan reuses one group object: a group is finished when the next stem begins. */
  private readonly current: StemGroup = {
    first: '',
    timeMs: 0,
    clip: undefined,
    thumbnail: undefined,
  };
  private readonly dirPrefix: string;

  constructor(
    private readonly folder: Pick<DayFolder, 'dir' | 'relDir'>,
    byMap: boolean,
  ) {
    this.groups = byMap ? new Map() : undefined;
    this.dirPrefix = `${folder.dir}/`;
  }

  /** Takes one name; false when the listing is not in the order the sorted scan relies on. */
  add(name: string): boolean {
    // The sorted scan's second name of a stem (the clip after its thumbnail) has the stem of a
    // name already read in full: only its extension is left to check, and its instant is known.
    const first = this.current.first;
    const sameLength = !this.groups && first.length === name.length;
    const sameStem = sameLength && startsWithStemOf(name, first);
    const kind = sameStem ? mediaKindOfExtension(name) : this.reader.kindOf(name);
    if (!kind) {
      this.leave(name, 'name is not <camera>_<YYYYMMDDHHMMSS>.mp4|.jpg');
      return true;
    }
    const group = this.groups
      ? this.groupByStem(this.groups, name)
      : this.sortedGroup(name, sameStem, sameLength);
    if (group === undefined) return false;
    if (kind === 'thumbnail') this.addThumbnail(group, name);
    else this.addClip(group, name);
    return true;
  }

  result(): DayScan {
    const { clips, orphanThumbnails, ignored, otherEntries, stampDates, newestMs } = this;
    if (this.groups) {
      this.groups.forEach((group) => this.finish(group));
      clips.sort((a, b) => compare(a.name, b.name));
      orphanThumbnails.sort((a, b) => compare(a.name, b.name));
    } else if (this.current.first !== '') this.finish(this.current);
    return { clips, orphanThumbnails, ignored, otherEntries, stampDates, newestMs };
  }

  private leave(name: string, reason: string): void {
    this.otherEntries++;
    this.ignored.push({ path: this.dirPrefix + name, reason });
  }

  private groupByStem(groups: Map<string, StemGroup>, name: string): StemGroup {
    const stem = name.slice(0, name.length - 4);
    let found = groups.get(stem);
    if (!found) {
      found = { first: name, timeMs: this.reader.timeMs, clip: undefined, thumbnail: undefined };
      groups.set(stem, found);
    }
    return found;
  }

  /** The current group, or a new one when a new stem begins; undefined when out of order. */
  private sortedGroup(name: string, sameStem: boolean, sameLength: boolean): StemGroup | undefined {
    const current = this.current;
    if (sameStem) return current;
    const first = current.first;
    // A new stem: it must sort after the last one and must not begin with `<last stem>.`
    // (a name of the same length that does was a sameStem).
    if (first !== '') {
      if (name <= first || (!sameLength && startsWithStemOf(name, first))) return undefined;
      this.finish(current);
    }
    current.first = name;
    current.timeMs = this.reader.timeMs;
    current.clip = undefined;
    current.thumbnail = undefined;
    return current;
  }

  private addThumbnail(group: StemGroup, name: string): void {
    if (group.thumbnail !== undefined)
      this.leave(name, `second thumbnail for ${name.slice(0, name.length - 4)}`);
    else group.thumbnail = name;
  }

  private addClip(group: StemGroup, name: string): void {
    if (group.clip !== undefined) {
      this.leave(
        name,
        `another clip with the same camera and time exists (${group.clip}); left alone`,
      );
      return;
    }
    group.clip = name;
    if (group.timeMs > this.newestMs) this.newestMs = group.timeMs;
    // The last name the reader accepted is this clip or the first of its stem (same stamp).
    if (this.reader.date !== this.lastClipDate) {
      this.lastClipDate = this.reader.date;
      const at = name.length - 18;
      const yyyymmdd = name.slice(at, at + 8);
      if (!this.stampDates.includes(yyyymmdd)) this.stampDates.push(yyyymmdd);
    }
  }

  private finish(group: StemGroup): void {
    if (group.clip !== undefined) {
      this.clips.push(new ClipFile(this.folder, group.clip, group.timeMs, group.thumbnail));
    } else if (group.thumbnail !== undefined) {
      this.orphanThumbnails.push(mediaFileIn(this.folder, group.thumbnail));
    }
  }
}

/** Whether `name` begins with the stem of `other` (a media name) followed by '.'. */
function startsWithStemOf(name: string, other: string): boolean {
  const stemLength = other.length - 4;
  if (name.length <= stemLength || name.charCodeAt(stemLength) !== 46) return false;
  // From the end: stems of one folder differ first in their stamp's last digits.
  for (let i = stemLength - 1; i >= 0; i--)
    if (name.charCodeAt(i) !== other.charCodeAt(i)) return false;
  return true;
}

export async function readOutputFolder(dir: string): Promise<OutputFolder> {
  let names: string[] = [];
  try {
    names = await fsp.readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return outputFolderFrom(dir, names);
}

function outputFolderFrom(dir: string, names: readonly string[]): OutputFolder {
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
  const outputs = new OutputListings(options.outputRoot);
  const days = sk.days;
  const scans: Promise<DayScan>[] = [];
  let started = 0;
  let consumed = 0;
  let inFlight = 0;
  const scanNext = (): void => {
    const folder = days[started];
    if (inFlight >= LISTINGS_IN_FLIGHT || !folder || started - consumed >= READ_AHEAD) return;
    started++;
    inFlight++;
    const scan = scanFolder(folder);
    scans.push(scan);
    const done = (): void => {
      inFlight--;
      scanNext();
    };
    // Its error is handled when the day is consumed; until then it must not count as unhandled.
    scan.then(done, done);
    // The output folder of the day's own date is nearly always the one its clips need.
    void outputs.folder(folder.relDir);
  };
  for (let i = 0; i < LISTINGS_IN_FLIGHT; i++) scanNext();
  for (const folder of days) {
    const scan = scans.shift();
    consumed++;
    scanNext();
    try {
      yield await readDay(folder, options, outputs, scan);
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

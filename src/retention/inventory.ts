/**
 * Reads the three managed trees — sources, archives, trash — as one date-ordered stream of units
 * with their sizes, for the retention planner and for `stats`.
 *
 * Cost model, like `find -printf '%s %T@ %p'` (BENCHMARKS.md: `stats` takes about 1.3 times its
 * time): one readdir per folder (the day-folder skeleton of each root, then one day at a time) and
 * one lstat per file, since sizes are the point. The listings and lstats run on the lstatter's
 * worker threads (tree/lstat-pool.ts) while the main thread names, orders and plans: retention
 * was bound by the main thread, and half of its time was those system calls. (In the recorder,
 * whose storage guard plans here, the event loop only waits for the workers.)
 *
 * Memory holds the skeletons (one entry per day folder), the names of one date's folders, and the
 * units of one sub-batch, never the whole tree: a date's units are named and ordered from their
 * names alone (time, then path), and only then stat'ed and built SUB_BATCH at a time, so a day
 * folder of 200,000 clips costs its names, not 200,000 units with their facts. Nested roots (the
 * default `<root>/archived` and `<root>/.deleted`) are excluded from the walk of the root that
 * contains them, so each path is read once; hard links are then counted once by the planner's
 * Ledger. Symbolic links are never followed and never counted.
 */
import fs, { type Dirent } from 'node:fs';
import path from 'node:path';
import {
  ClipFile,
  findDayFolders,
  scanDay,
  type DayFolder,
  type Skeleton,
} from '../archive/discovery.js';
import {
  MediaNameReader,
  parseClipName,
  parseLegacyArchiveName,
  parseStamp,
  stampToDate,
} from '../tree/naming.js';
import {
  FIELDS,
  REGULAR_FILE,
  sharedLstatter,
  type LstatBatch,
  type Lstatter,
} from '../tree/lstat-pool.js';
import type { DateBatch, FileFacts, ReadDate, RetentionInventory, RootKind, Unit } from './plan.js';
import { trashNameOk, trashPrefixOk, withoutClashNumber, type TrashAudit } from './trash.js';

export interface TreeRoots {
  root: string;
  outputRoot: string;
  trashRoot: string;
}

/** Camera name given to the Python archiver's `archived-<stamp>.mp4`, which does not say. */
export const LEGACY_CAMERA = '(archived-*.mp4)';
/**
 * Units stat'ed and handed on at once. A sub-batch never splits units of one instant, so a source
 * and its archive (stats matches them) always travel together.
 */
export const SUB_BATCH = 256;
/** Units between turns of the event loop within a big date, when the main thread lstats alone. */
const TURN_EVERY = 4096;

function emptySkeleton(): Skeleton {
  return { days: [], otherEntriesByFolder: new Map(), ignored: [] };
}

function rootOf(kind: RootKind, roots: TreeRoots): string {
  return kind === 'source' ? roots.root : kind === 'archive' ? roots.outputRoot : roots.trashRoot;
}

/** Day-folder skeleton of each managed root; a root that does not exist has none. */
export async function scanSkeletons(
  roots: TreeRoots,
  kinds: readonly RootKind[] = ['source', 'archive', 'trash'],
): Promise<Partial<Record<RootKind, Skeleton>>> {
  const all = [roots.root, roots.outputRoot, roots.trashRoot].map((p) => path.resolve(p));
  const result: Partial<Record<RootKind, Skeleton>> = {};
  for (const kind of kinds) {
    const root = path.resolve(rootOf(kind, roots));
    try {
      result[kind] = await findDayFolders({
        root,
        excluded: all.filter((p) => p !== root),
        outputRoot: roots.outputRoot,
        statClipsNewerThan: new Date(8.64e15),
      });
    } catch (error) {
      if (!['ENOENT', 'ENOTDIR'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
      result[kind] = emptySkeleton();
    }
  }
  return result;
}

/** What lstat says about a regular file; undefined for anything else or a file gone since readdir. */
export function lstatFacts(file: string): FileFacts | undefined {
  const s = fs.lstatSync(file, { throwIfNoEntry: false });
  if (!s?.isFile()) return undefined;
  return {
    path: file,
    bytes: s.size,
    dev: s.dev,
    ino: s.ino,
    nlink: s.nlink,
    mtimeMs: s.mtimeMs,
    ctimeMs: s.ctimeMs,
  };
}

/**
 * A unit known by name only: what its place in removal order needs (instant, then the path of its
 * main file) and what building it takes. Its files are `dir/name` for each name, main file first.
 */
interface NamedUnit {
  timeMs: number;
  root: RootKind;
  kind: Unit['kind'];
  camera: string;
  folder: DayFolder;
  names: string | string[];
}

/**
 * A source clip is named by discovery's own ClipFile (folder, name, instant, thumbnail): a day
 * folder of 200,000 clips then holds one small object per clip, not two.
 */
type Named = NamedUnit | ClipFile;

function namesOf(n: Named): readonly string[] {
  if (n instanceof ClipFile)
    return n.thumbnailName === undefined ? [n.name] : [n.name, n.thumbnailName];
  return typeof n.names === 'string' ? [n.names] : n.names;
}

function mainName(n: Named): string {
  if (n instanceof ClipFile) return n.name;
  return typeof n.names === 'string' ? n.names : (n.names[0] ?? '');
}

/** Removal order within a date: oldest first, then by the main file's path (the planner's too). */
function byTimeThenPath(a: Named, b: Named): number {
  if (a.timeMs !== b.timeMs) return a.timeMs - b.timeMs;
  const da = a.folder.dir;
  const db = b.folder.dir;
  // One folder: its path is a common prefix. Folders neither of which begins the other: they
  // decide, as the whole paths would. Otherwise the whole paths, as the planner compares them.
  if (da === db) return compareText(mainName(a), mainName(b));
  if (!da.startsWith(db) && !db.startsWith(da)) return compareText(da, db);
  return compareText(`${da}/${mainName(a)}`, `${db}/${mainName(b)}`);
}

function compareText(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

function stampTime(stamp: string): number | undefined {
  const s = parseStamp(stamp);
  return s ? stampToDate(s).getTime() : undefined;
}

/** A source day folder's clips (with thumbnails) and orphan thumbnails; returns its entry count. */
function nameSourceDay(folder: DayFolder, names: readonly string[], out: Named[]): number {
  const day = scanDay(names, folder, false) ?? scanDay(names, folder, true);
  if (!day) throw new Error(`internal: grouping by stem failed for ${folder.dir}`);
  for (const clip of day.clips) out.push(clip);
  for (const t of day.orphanThumbnails) {
    const parsed = parseClipName(t.name);
    const time = parsed && stampTime(parsed.stamp);
    if (parsed && time !== undefined)
      out.push({
        timeMs: time,
        root: 'source',
        kind: 'orphan-thumbnail',
        camera: parsed.camera,
        folder,
        names: t.name,
      });
  }
  // Every name is a clip, a thumbnail or another entry: all of them keep the folder.
  return names.length;
}

/** An archive day folder's archives (hidden names are the archive run's partial outputs). */
function nameArchiveDay(folder: DayFolder, names: readonly string[], out: Named[]): number {
  const reader = new MediaNameReader();
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const kind = reader.kindOf(name);
    if (kind === 'clip') {
      out.push({
        timeMs: reader.timeMs,
        root: 'archive',
        kind: 'archive',
        camera: name.slice(0, name.length - 19),
        folder,
        names: name,
      });
      continue;
    }
    if (kind) continue;
    const legacy = parseLegacyArchiveName(name);
    const time = legacy ? stampTime(legacy) : undefined;
    if (time !== undefined)
      out.push({
        timeMs: time,
        root: 'archive',
        kind: 'archive',
        camera: LEGACY_CAMERA,
        folder,
        names: name,
      });
  }
  return names.length;
}

/**
 * The files of a trash day folder in the tool's layout; a clip and its thumbnail form one unit.
 * Anything else is reported to the audit and never becomes a unit, so it is never purged.
 */
function nameTrashDay(
  folder: DayFolder,
  entries: readonly Dirent[],
  audit: TrashAudit | undefined,
  out: Named[],
): number {
  const prefixOk = trashPrefixOk(folder.prefix);
  const groups = new Map<string, string[]>();
  let foreign = 0;
  let example = '';
  for (const e of entries) {
    if (prefixOk && e.isFile() && trashNameOk(e.name)) {
      const key = e.name.slice(0, e.name.length - path.extname(e.name).length);
      const group = groups.get(key);
      if (group) group.push(e.name);
      else groups.set(key, [e.name]);
    } else if (prefixOk && foreign++ === 0) example = path.join(folder.dir, e.name);
  }
  // (A folder outside input/ and output/ is reported whole, from the skeleton.)
  audit?.report(folder.dir, foreign, example);
  for (const group of groups.values()) {
    // The clip first, so the unit is named after it.
    group.sort((a, b) => Number(!/\.mp4$/i.test(a)) - Number(!/\.mp4$/i.test(b)));
    const name = withoutClashNumber(group[0] ?? '');
    const parsed = parseClipName(name);
    const legacy = parseLegacyArchiveName(name);
    const time = parsed ? stampTime(parsed.stamp) : legacy ? stampTime(legacy) : undefined;
    out.push({
      // A layout name always has a stamp; the oldest mtime stands in should one not parse.
      timeMs: time ?? oldestMtime(folder, group),
      root: 'trash',
      kind: 'trash',
      camera: parsed?.camera ?? (legacy ? LEGACY_CAMERA : '?'),
      folder,
      names: group,
    });
  }
  return entries.length;
}

function oldestMtime(folder: DayFolder, names: readonly string[]): number {
  let oldest = Infinity;
  for (const name of names) {
    const f = lstatFacts(`${folder.dir}/${name}`);
    if (f && f.mtimeMs < oldest) oldest = f.mtimeMs;
  }
  return oldest;
}

/**
 * A chunk's files, main file first within each unit: their paths, and the same as FolderNames
 * (a folder's path, then its names) for the lstatter.
 */
function chunkPaths(chunk: readonly Named[]): { paths: string[]; names: string[] } {
  const paths: string[] = [];
  const names: string[] = [];
  let dir = '';
  for (const n of chunk) {
    if (n.folder.dir !== dir) {
      dir = n.folder.dir;
      // (Day folders come from resolved roots: always absolute, so never taken for a name.)
      names.push(path.isAbsolute(dir) ? dir : path.resolve(dir));
    }
    for (const name of namesOf(n)) {
      paths.push(`${dir}/${name}`);
      names.push(name);
    }
  }
  return { paths, names };
}

/**
 * Builds a chunk's units from its lstat facts (chunkPaths order); a unit whose main file is gone
 * is none (a source's thumbnail is no unit of its own here).
 */
function buildUnits(chunk: readonly Named[], paths: readonly string[], batch: LstatBatch): Unit[] {
  const { facts, error } = batch;
  const units: Unit[] = [];
  let at = 0;
  for (const n of chunk) {
    const names = namesOf(n);
    const files: FileFacts[] = [];
    let noMain = false;
    for (let k = 0; k < names.length; k++, at++) {
      if (error?.index === at) throw Object.assign(new Error(error.message), { code: error.code });
      const f = at * FIELDS;
      if (facts[f] === REGULAR_FILE)
        files.push({
          path: paths[at] ?? '',
          bytes: facts[f + 1] ?? 0,
          dev: facts[f + 2] ?? 0,
          ino: facts[f + 3] ?? 0,
          nlink: facts[f + 4] ?? 0,
          mtimeMs: facts[f + 5] ?? 0,
          ctimeMs: facts[f + 6] ?? 0,
        });
      else if ((n instanceof ClipFile || n.root !== 'trash') && files.length === 0) noMain = true;
    }
    if (noMain || files.length === 0) continue;
    const clip = n instanceof ClipFile;
    units.push({
      root: clip ? 'source' : n.root,
      kind: clip ? 'clip' : n.kind,
      camera: n.camera,
      recordedAt: new Date(n.timeMs),
      relDir: n.folder.relDir,
      files,
    });
  }
  return units;
}

/** A trash day folder's entries: the audit needs their kinds (it is read on the main thread). */
function listEntries(dir: string): Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Names one day folder's units into `out` from its names; returns its number of entries. */
function nameDay(
  kind: RootKind,
  folder: DayFolder,
  names: readonly string[] | undefined,
  audit: TrashAudit | undefined,
  out: Named[],
): number {
  if (kind === 'trash' || names === undefined)
    return nameTrashDay(folder, listEntries(folder.dir), audit, out);
  return kind === 'source' ? nameSourceDay(folder, names, out) : nameArchiveDay(folder, names, out);
}

/** Each managed day folder of the given roots, by date, in the order the roots are given. */
function foldersByDate(
  skeletons: Partial<Record<RootKind, Skeleton>>,
  kinds: readonly RootKind[],
): Map<string, { kind: RootKind; folder: DayFolder }[]> {
  const byDate = new Map<string, { kind: RootKind; folder: DayFolder }[]>();
  for (const kind of kinds)
    for (const folder of skeletons[kind]?.days ?? []) {
      const list = byDate.get(folder.date);
      if (list) list.push({ kind, folder });
      else byDate.set(folder.date, [{ kind, folder }]);
    }
  return byDate;
}

/**
 * Where a named date splits into chunks (end indexes): about SUB_BATCH units each, never between
 * units of one instant, so a source and its archive (stats matches them) travel together.
 */
function chunkEnds(named: readonly Named[]): number[] {
  const ends: number[] = [];
  let from = 0;
  for (let i = 0; i < named.length; i++) {
    const next = named[i + 1];
    if (i + 1 - from >= SUB_BATCH && (next === undefined || next.timeMs !== named[i]?.timeMs)) {
      ends.push(i + 1);
      from = i + 1;
    }
  }
  if (from < named.length || ends.length === 0) ends.push(named.length);
  return ends;
}

interface Chunk {
  date: string;
  dayEntries: ReadonlyMap<string, number>;
  named: Named[];
  paths: string[];
  facts: Promise<LstatBatch>;
}

/** A named date not yet all handed to the lstatter. */
interface OpenDate {
  date: string;
  dayEntries: ReadonlyMap<string, number>;
  /** Emptied as chunks are cut from it: the names are all a date holds. */
  named: (Named | undefined)[];
  ends: number[];
  /** Chunks cut so far. */
  cut: number;
}

/** A date whose folders are being listed (a trash folder is listed when it is named). */
interface ListedDate {
  date: string;
  folders: { kind: RootKind; folder: DayFolder; names?: Promise<string[]> }[];
  /** Every listing is back (named now, nothing waits). */
  ready: boolean;
  done: Promise<unknown>;
}

/**
 * Dates read in order as a pipeline. The lstatter's workers list each date's folders ahead;
 * the main thread names a date's units (grouping, ordering), cuts them into chunks and hands each
 * chunk's names to the workers; while they lstat the next chunks, it builds this chunk's units
 * and the planner takes them.
 *
 * With a ReadDate the planner decides date by date from what it has already taken, so no date is
 * listed before every batch of the dates before it has been taken; without one (the count pass,
 * a replay, `stats`) DATES_AHEAD dates are listed ahead.
 */
class DatePipeline {
  private readonly dates: string[];
  private nextDate = 0;
  private readonly listed: ListedDate[] = [];
  private open: OpenDate | undefined;
  private readonly queue: Chunk[] = [];
  private sinceTurn = 0;

  constructor(
    private readonly byDate: ReadonlyMap<string, { kind: RootKind; folder: DayFolder }[]>,
    private readonly audit: TrashAudit | undefined,
    through: string | undefined,
    private readonly readDate: ReadDate | undefined,
    private readonly lstatter: Lstatter,
  ) {
    this.dates = [...byDate.keys()].filter((d) => through === undefined || d <= through).sort();
  }

  async *batches(): AsyncGenerator<DateBatch> {
    try {
      for (;;) {
        await this.fill();
        const chunk = this.queue.shift();
        if (!chunk) return;
        const units = buildUnits(chunk.named, chunk.paths, await chunk.facts);
        yield { date: chunk.date, units, dayEntries: chunk.dayEntries };
        if (!this.lstatter.parallel) await this.turnNowAndThen(chunk);
      }
    } finally {
      // Left unread when the planner stops early (interrupted, caps met): not an error.
      for (const chunk of this.queue) chunk.facts.catch(() => undefined);
      for (const d of this.listed) d.done.catch(() => undefined);
    }
  }

  /**
   * Keeps CHUNKS_AHEAD chunks with the lstatter, naming dates as they are listed; waits for a
   * listing only when there is nothing else to wait for.
   */
  private async fill(): Promise<void> {
    while (this.queue.length < CHUNKS_AHEAD) {
      if (!this.open) {
        this.listAhead();
        const next = this.listed[0];
        if (!next || (!next.ready && this.queue.length > 0)) return;
        this.listed.shift();
        this.open = await this.nameDate(next);
        this.listAhead();
      }
      this.cutChunk(this.open);
    }
  }

  private cutChunk(open: OpenDate): void {
    const from = open.ends[open.cut - 1] ?? 0;
    const end = open.ends[open.cut++] ?? 0;
    const named = open.named.slice(from, end) as Named[];
    open.named.fill(undefined, from, end);
    if (open.cut >= open.ends.length) this.open = undefined;
    const paths = chunkPaths(named);
    const facts =
      paths.names.length === 0
        ? Promise.resolve({ facts: new Float64Array(0) })
        : this.lstatter.lstatMany(paths.names);
    this.queue.push({
      date: open.date,
      dayEntries: open.dayEntries,
      named,
      paths: paths.paths,
      facts,
    });
  }

  private listAhead(): void {
    if (this.readDate) {
      // The planner's ReadDate answers from what it has taken so far: ask only when it has all.
      if (this.listed.length > 0 || this.queue.length > 0 || this.open) return;
      for (;;) {
        const date = this.dates[this.nextDate];
        if (date === undefined) return;
        this.nextDate++;
        if (this.readDate(date)) return void this.listed.push(this.startListing(date));
      }
    }
    while (this.listed.length < DATES_AHEAD) {
      const date = this.dates[this.nextDate];
      if (date === undefined) return;
      this.nextDate++;
      this.listed.push(this.startListing(date));
    }
  }

  private startListing(date: string): ListedDate {
    const folders = (this.byDate.get(date) ?? []).map(({ kind, folder }) =>
      kind === 'trash' ? { kind, folder } : { kind, folder, names: this.lstatter.list(folder.dir) },
    );
    const listing: ListedDate = { date, folders, ready: false, done: Promise.resolve() };
    listing.done = Promise.allSettled(folders.map((f) => f.names)).then(() => {
      listing.ready = true;
    });
    return listing;
  }

  private async nameDate(listing: ListedDate): Promise<OpenDate> {
    const named: Named[] = [];
    const dayEntries = new Map<string, number>();
    for (const { kind, folder, names } of listing.folders) {
      const mark = named.length;
      try {
        const listed = names ? await names : undefined;
        dayEntries.set(
          `${kind}:${folder.relDir}`,
          nameDay(kind, folder, listed, this.audit, named),
        );
      } catch {
        // An unreadable day folder is left alone, and never counted as emptied.
        named.length = mark;
      }
    }
    named.sort(byTimeThenPath);
    return { date: listing.date, dayEntries, named, ends: chunkEnds(named), cut: 0 };
  }

  /**
   * With lstat on the main thread nothing else would let the event loop turn: it does after
   * every date and every TURN_EVERY units of a big one, so that a signal (SIGTERM from systemd,
   * Ctrl-C) is seen within a fraction of a second.
   */
  private async turnNowAndThen(chunk: Chunk): Promise<void> {
    this.sinceTurn += chunk.named.length;
    const dateDone = this.queue[0]?.date !== chunk.date;
    if (!dateDone && this.sinceTurn < TURN_EVERY) return;
    this.sinceTurn = 0;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** Dates listed ahead of the one being named, when the planner reads every date. */
const DATES_AHEAD = 4;
/** Chunks with the lstatter at once: enough to keep two workers busy while one is built. */
const CHUNKS_AHEAD = 8;

/**
 * Batches of units by date over the given roots, oldest date first; a big date comes as several
 * batches of the same date, in order (about SUB_BATCH units each, never splitting an instant).
 */
export function dateBatches(
  skeletons: Partial<Record<RootKind, Skeleton>>,
  kinds: readonly RootKind[],
  audit?: TrashAudit,
  through?: string,
  readDate?: ReadDate,
  lstatter: Lstatter = sharedLstatter(),
): AsyncGenerator<DateBatch> {
  const byDate = foldersByDate(skeletons, kinds);
  return new DatePipeline(byDate, audit, through, readDate, lstatter).batches();
}

export function treeInventory(
  /** The roots the skeletons were read from (their day folders carry the paths). */
  _roots: TreeRoots,
  skeletons: Partial<Record<RootKind, Skeleton>>,
  audit?: TrashAudit,
  lstatter: Lstatter = sharedLstatter(),
): RetentionInventory {
  return {
    skeletons,
    trash: (through, readDate) =>
      dateBatches(skeletons, ['trash'], audit, through, readDate, lstatter),
    footage: (through, readDate, sourcesOnly) =>
      dateBatches(
        skeletons,
        sourcesOnly ? ['source'] : ['source', 'archive'],
        undefined,
        through,
        readDate,
        lstatter,
      ),
  };
}

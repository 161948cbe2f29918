/**
 * Reads the three managed trees — sources, archives, trash — as one date-ordered stream of units
 * with their sizes, for the retention planner and for `stats`.
 *
 * Cost model, like `find -printf '%s %T@ %p'` (BENCHMARKS.md: `stats` takes about twice its
 * time): one readdir per folder (the day-folder skeleton of each root, then one day at a time) and
 * one lstat per file, since sizes are the point. The lstat is synchronous: a promise and a thread-pool request per file cost more
 * main-thread time than the system call itself, and retention is bound by the main thread. (In
 * the recorder, whose storage guard plans here, the event loop waits a few milliseconds per date.)
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
/** Units between turns of the event loop within a big date (and after every date). */
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

/** Stats a named unit's files; undefined when its main file is gone (a unit of nothing). */
function buildUnit(n: Named): Unit | undefined {
  const names = namesOf(n);
  const files: FileFacts[] = [];
  for (const name of names) {
    const f = lstatFacts(`${n.folder.dir}/${name}`);
    if (f) files.push(f);
    // A source's clip is what the unit is: without it, its thumbnail is no unit of its own here.
    else if ((n instanceof ClipFile || n.root !== 'trash') && files.length === 0) return undefined;
  }
  if (files.length === 0) return undefined;
  const clip = n instanceof ClipFile;
  return {
    root: clip ? 'source' : n.root,
    kind: clip ? 'clip' : n.kind,
    camera: n.camera,
    recordedAt: new Date(n.timeMs),
    relDir: n.folder.relDir,
    files,
  };
}

/**
 * A day folder's names, synchronously like the lstats: waiting for a thread-pool readdir per day
 * left the main thread idle a third of the time on a busy two-core host.
 */
function listNames(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

function listEntries(dir: string): Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Names one day folder's units into `out`; returns its number of entries. */
function nameDay(
  kind: RootKind,
  folder: DayFolder,
  audit: TrashAudit | undefined,
  out: Named[],
): number {
  if (kind === 'trash') return nameTrashDay(folder, listEntries(folder.dir), audit, out);
  const names = listNames(folder.dir);
  // A folder whose files cannot be stat'ed (listable, not searchable) is left alone whole.
  const first = names[0];
  if (first !== undefined) fs.lstatSync(`${folder.dir}/${first}`, { throwIfNoEntry: false });
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
 * Batches of units by date over the given roots, oldest date first; a big date comes as several
 * batches of the same date, in order (about SUB_BATCH units each, never splitting an instant).
 */
export async function* dateBatches(
  skeletons: Partial<Record<RootKind, Skeleton>>,
  kinds: readonly RootKind[],
  audit?: TrashAudit,
  through?: string,
  readDate?: ReadDate,
): AsyncGenerator<DateBatch> {
  const byDate = foldersByDate(skeletons, kinds);
  for (const date of [...byDate.keys()].sort()) {
    if (through !== undefined && date > through) break;
    if (readDate && !readDate(date)) continue;
    const named: Named[] = [];
    const dayEntries = new Map<string, number>();
    for (const { kind, folder } of byDate.get(date) ?? []) {
      const mark = named.length;
      try {
        dayEntries.set(`${kind}:${folder.relDir}`, nameDay(kind, folder, audit, named));
      } catch {
        // An unreadable day folder is left alone, and never counted as emptied.
        named.length = mark;
      }
    }
    named.sort(byTimeThenPath);
    yield* subBatches(date, named, dayEntries);
  }
}

async function* subBatches(
  date: string,
  /** Emptied as it goes: each entry is let go once its unit is built. */
  named: (Named | undefined)[],
  dayEntries: ReadonlyMap<string, number>,
): AsyncGenerator<DateBatch> {
  let units: Unit[] = [];
  let sinceTurn = 0;
  for (let i = 0; i < named.length; i++) {
    const n = named[i];
    if (n === undefined) continue;
    const u = buildUnit(n);
    if (u) units.push(u);
    // Let go of what is built: the names list is all this date holds.
    named[i] = undefined;
    const next = named[i + 1];
    if (units.length >= SUB_BATCH && next !== undefined && next.timeMs !== n.timeMs) {
      yield { date, units, dayEntries };
      sinceTurn += units.length;
      units = [];
      if (sinceTurn >= TURN_EVERY) {
        sinceTurn = 0;
        await turnEventLoop();
      }
    }
  }
  yield { date, units, dayEntries };
  await turnEventLoop();
}

/**
 * Listing and stat'ing are synchronous: the event loop turns after every date and every
 * TURN_EVERY units of a big one, so that a signal (SIGTERM from systemd, Ctrl-C) is seen within
 * a fraction of a second.
 */
function turnEventLoop(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

export function treeInventory(
  /** The roots the skeletons were read from (their day folders carry the paths). */
  _roots: TreeRoots,
  skeletons: Partial<Record<RootKind, Skeleton>>,
  audit?: TrashAudit,
): RetentionInventory {
  return {
    skeletons,
    trash: (through, readDate) => dateBatches(skeletons, ['trash'], audit, through, readDate),
    footage: (through, readDate, sourcesOnly) =>
      dateBatches(
        skeletons,
        sourcesOnly ? ['source'] : ['source', 'archive'],
        undefined,
        through,
        readDate,
      ),
  };
}

/**
 * Reads the three managed trees — sources, archives, trash — as one date-ordered stream of units
 * with their sizes, for the retention planner and for `stats`.
 *
 * Cost model: one readdir per folder (the day-folder skeleton of each root, then one day at a
 * time) and one lstat per file, since sizes are the point. Memory holds the skeletons (one entry
 * per day folder) and one date's files, never the whole tree. Nested roots (the default
 * `<root>/archived` and `<root>/.deleted`) are excluded from the walk of the root that contains
 * them, so each path is read once; hard links are then counted once by the planner's Ledger.
 * Symbolic links are never followed and never counted.
 */
import { promises as fsp, type Dirent } from 'node:fs';
import path from 'node:path';
import {
  findDayFolders,
  OutputListings,
  readDay,
  type DayFolder,
  type DiscoveryOptions,
  type Skeleton,
} from '../archive/discovery.js';
import { parseClipName, parseLegacyArchiveName, parseStamp, stampToDate } from '../tree/naming.js';
import type { DateBatch, FileFacts, RetentionInventory, RootKind, Unit } from './plan.js';
import { trashNameOk, trashPrefixOk, withoutClashNumber, type TrashAudit } from './trash.js';

export interface TreeRoots {
  root: string;
  outputRoot: string;
  trashRoot: string;
}

/** Camera name given to the Python archiver's `archived-<stamp>.mp4`, which does not say. */
export const LEGACY_CAMERA = '(archived-*.mp4)';
const STAT_CHUNK = 64;

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

export async function lstatFacts(file: string): Promise<FileFacts | undefined> {
  try {
    const s = await fsp.lstat(file);
    if (!s.isFile()) return undefined;
    return {
      path: file,
      bytes: s.size,
      dev: s.dev,
      ino: s.ino,
      nlink: s.nlink,
      mtimeMs: s.mtimeMs,
      ctimeMs: s.ctimeMs,
    };
  } catch (error) {
    // Vanished since readdir: it is simply not there any more.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function statAll(files: readonly string[]): Promise<Map<string, FileFacts>> {
  const out = new Map<string, FileFacts>();
  for (let i = 0; i < files.length; i += STAT_CHUNK) {
    const chunk = await Promise.all(files.slice(i, i + STAT_CHUNK).map((f) => lstatFacts(f)));
    for (const facts of chunk) if (facts) out.set(facts.path, facts);
  }
  return out;
}

function stampTime(stamp: string): Date | undefined {
  const s = parseStamp(stamp);
  return s ? stampToDate(s) : undefined;
}

async function readSourceDay(
  folder: DayFolder,
  roots: TreeRoots,
  cache: OutputListings,
): Promise<{ units: Unit[]; entries: number }> {
  const options: DiscoveryOptions = {
    root: roots.root,
    excluded: [roots.outputRoot, roots.trashRoot],
    outputRoot: roots.outputRoot,
    statClipsNewerThan: new Date(8.64e15),
  };
  const day = await readDay(folder, options, cache);
  const paths = [
    ...day.clips.flatMap((c) => (c.thumbnail ? [c.path, c.thumbnail.path] : [c.path])),
    ...day.orphanThumbnails.map((t) => t.path),
  ];
  const facts = await statAll(paths);
  const units: Unit[] = [];
  for (const clip of day.clips) {
    const main = facts.get(clip.path);
    if (!main) continue;
    const thumb = clip.thumbnail ? facts.get(clip.thumbnail.path) : undefined;
    units.push({
      root: 'source',
      kind: 'clip',
      camera: clip.camera,
      recordedAt: clip.time,
      relDir: folder.relDir,
      files: thumb ? [main, thumb] : [main],
    });
  }
  for (const t of day.orphanThumbnails) {
    const f = facts.get(t.path);
    const parsed = parseClipName(t.name);
    const time = parsed && stampTime(parsed.stamp);
    if (!f || !parsed || !time) continue;
    units.push({
      root: 'source',
      kind: 'orphan-thumbnail',
      camera: parsed.camera,
      recordedAt: time,
      relDir: folder.relDir,
      files: [f],
    });
  }
  const entries = paths.length + day.otherEntries;
  return { units, entries };
}

async function listDir(dir: string): Promise<Dirent[]> {
  try {
    return await fsp.readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

async function readArchiveDay(folder: DayFolder): Promise<{ units: Unit[]; entries: number }> {
  const entries = await listDir(folder.dir);
  const candidates: { file: string; camera: string; time: Date }[] = [];
  for (const e of entries) {
    // Hidden names are partial outputs of a running or interrupted transcode: the archive run's.
    if (!e.isFile() || e.name.startsWith('.')) continue;
    const parsed = parseClipName(e.name);
    if (parsed?.kind === 'clip') {
      const time = stampTime(parsed.stamp);
      if (time)
        candidates.push({ file: path.join(folder.dir, e.name), camera: parsed.camera, time });
      continue;
    }
    const legacy = parseLegacyArchiveName(e.name);
    const time = legacy && stampTime(legacy);
    if (time) candidates.push({ file: path.join(folder.dir, e.name), camera: LEGACY_CAMERA, time });
  }
  const facts = await statAll(candidates.map((c) => c.file));
  const units: Unit[] = [];
  for (const c of candidates) {
    const f = facts.get(c.file);
    if (f)
      units.push({
        root: 'archive',
        kind: 'archive',
        camera: c.camera,
        recordedAt: c.time,
        relDir: folder.relDir,
        files: [f],
      });
  }
  return { units, entries: entries.length };
}

/**
 * The files of a trash day folder in the tool's layout; a clip and its thumbnail form one unit.
 * Anything else is reported to the audit and never becomes a unit, so it is never purged.
 */
async function readTrashDay(
  folder: DayFolder,
  audit: TrashAudit | undefined,
): Promise<{ units: Unit[]; entries: number }> {
  const entries = await listDir(folder.dir);
  const prefixOk = trashPrefixOk(folder.prefix);
  const files: string[] = [];
  let foreign = 0;
  let example = '';
  for (const e of entries) {
    const file = path.join(folder.dir, e.name);
    if (prefixOk && e.isFile() && trashNameOk(e.name)) files.push(file);
    else if (prefixOk && foreign++ === 0) example = file;
  }
  // (A folder outside input/ and output/ is reported whole, from the skeleton.)
  audit?.report(folder.dir, foreign, example);
  const facts = await statAll(files);
  const groups = new Map<string, FileFacts[]>();
  for (const f of facts.values()) {
    const name = path.basename(f.path);
    const key = name.slice(0, name.length - path.extname(name).length);
    const group = groups.get(key);
    if (group) group.push(f);
    else groups.set(key, [f]);
  }
  const units: Unit[] = [];
  for (const group of groups.values()) {
    // The clip first, so the unit is named after it.
    group.sort((a, b) => Number(!/\.mp4$/i.test(a.path)) - Number(!/\.mp4$/i.test(b.path)));
    const first = group[0];
    if (!first) continue;
    const name = withoutClashNumber(path.basename(first.path));
    const parsed = parseClipName(name);
    const legacy = parseLegacyArchiveName(name);
    const time = parsed ? stampTime(parsed.stamp) : legacy ? stampTime(legacy) : undefined;
    units.push({
      root: 'trash',
      kind: 'trash',
      camera: parsed?.camera ?? (legacy ? LEGACY_CAMERA : '?'),
      recordedAt: time ?? new Date(group.reduce((m, f) => Math.min(m, f.mtimeMs), Infinity)),
      relDir: folder.relDir,
      files: group,
    });
  }
  return { units, entries: entries.length };
}

/** Batches of units by date over the given roots, oldest date first. */
export async function* dateBatches(
  roots: TreeRoots,
  skeletons: Partial<Record<RootKind, Skeleton>>,
  kinds: readonly RootKind[],
  audit?: TrashAudit,
  through?: string,
): AsyncGenerator<DateBatch> {
  const byDate = new Map<string, { kind: RootKind; folder: DayFolder }[]>();
  for (const kind of kinds)
    for (const folder of skeletons[kind]?.days ?? []) {
      const list = byDate.get(folder.date);
      if (list) list.push({ kind, folder });
      else byDate.set(folder.date, [{ kind, folder }]);
    }
  const cache = new OutputListings(roots.outputRoot);
  for (const date of [...byDate.keys()].sort()) {
    if (through !== undefined && date > through) break;
    const units: Unit[] = [];
    const dayEntries = new Map<string, number>();
    for (const { kind, folder } of byDate.get(date) ?? []) {
      let read: { units: Unit[]; entries: number };
      try {
        read =
          kind === 'source'
            ? await readSourceDay(folder, roots, cache)
            : kind === 'archive'
              ? await readArchiveDay(folder)
              : await readTrashDay(folder, audit);
      } catch {
        // An unreadable day folder is left alone, and never counted as emptied.
        continue;
      }
      // Never push(...list): a day folder of 200,000 clips would overflow the call stack.
      for (const u of read.units) units.push(u);
      dayEntries.set(`${kind}:${folder.relDir}`, read.entries);
    }
    yield { date, units, dayEntries };
  }
}

export function treeInventory(
  roots: TreeRoots,
  skeletons: Partial<Record<RootKind, Skeleton>>,
  audit?: TrashAudit,
): RetentionInventory {
  return {
    skeletons,
    trash: (through) => dateBatches(roots, skeletons, ['trash'], audit, through),
    footage: (through) => dateBatches(roots, skeletons, ['source', 'archive'], undefined, through),
  };
}

/**
 * Planner: a pure function of (inventory, settings, now) → typed actions, each with its reason.
 *
 * Nothing here touches the disk or the clock. Dry run renders what this returns; the executor runs
 * exactly the same actions, re-checking each file just before it acts (see executor.ts).
 */
import path from 'node:path';
// The one function, not the package index: importing 'date-fns' loads all of it (≈ 100 ms of
// start-up, BENCHMARKS.md).
import { subDays } from 'date-fns/subDays';
import type {
  ClipFile,
  DayFolder,
  DayInventory,
  IgnoredFile,
  MediaFile,
  Skeleton,
} from './discovery.js';
import { archiveFileName, PARTIAL_SUFFIX } from './naming.js';

export type DisposalMode = 'trash' | 'delete';

export interface PlanSettings {
  root: string;
  outputRoot: string;
  trashRoot: string;
  disposal: DisposalMode;
  /** Clips recorded before now − ageDays are archived; 0 disables the threshold. */
  ageDays: number;
  /** Clips modified less than this many seconds ago are left alone (may still be uploading); 0 disables. */
  settleSeconds: number;
  /** --no-skip: transcode again even when an archive exists. */
  redoExisting: boolean;
}

export interface FileMove {
  from: string;
  to: string;
}

/** What happens to a source clip and its thumbnail once its archive is verified. */
export type Disposal =
  { mode: 'trash'; moves: readonly FileMove[] } | { mode: 'delete'; files: readonly string[] };

export interface PlannedClip {
  path: string;
  relPath: string;
  stem: string;
  camera: string;
  recordedAt: Date;
  thumbnail?: string;
}

export interface TranscodeAction {
  kind: 'transcode';
  clip: PlannedClip;
  archivePath: string;
  partialPath: string;
  /** True when a file already sits at archivePath and is replaced only by a verified new archive. */
  replacesExisting: boolean;
  disposal: Disposal;
  reason: string;
}

export interface DisposeArchivedAction {
  kind: 'dispose-archived';
  clip: PlannedClip;
  archivePath: string;
  /** An `archived-<stamp>.mp4` made by the Python archiver. */
  legacy: boolean;
  /** Where a new archive goes if the existing one fails verification (the same path unless legacy). */
  ownArchivePath: string;
  disposal: Disposal;
  reason: string;
}

export interface KeepAction {
  kind: 'keep';
  path: string;
  reason: string;
}

export interface RemovePartialAction {
  kind: 'remove-partial';
  path: string;
  reason: string;
}

export interface PruneFolderAction {
  kind: 'prune-folder';
  path: string;
  reason: string;
}

export type PlanAction =
  TranscodeAction | DisposeArchivedAction | KeepAction | RemovePartialAction | PruneFolderAction;

export type PlanActionKind = PlanAction['kind'];

export interface DayPlan {
  folder: DayFolder;
  actions: PlanAction[];
  ignored: IgnoredFile[];
  /** Every entry of the day folder is planned to leave it. */
  emptiesFolder: boolean;
}

/**
 * `yyyy-MM-dd HH:mm:ss` in local time. date-fns' format() gives the same text but costs ~2 µs a
 * call, which is most of the planning time of a million-file tree (BENCHMARKS.md).
 */
function formatLocalTime(d: Date): string {
  const p = (n: number): string => (n < 10 ? `0${n}` : `${n}`);
  const y = d.getFullYear();
  return `${y < 1000 ? String(y).padStart(4, '0') : y}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/**
 * `path.join(dir, name)` for a name from a folder listing (no '/', never '.' or '..') with `dir`
 * already normalised: plain concatenation, without path.join's per-call normalisation.
 */
function joinName(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

export function ageCutoff(now: Date, ageDays: number): Date | undefined {
  return ageDays > 0 ? subDays(now, ageDays) : undefined;
}

export function planDay(day: DayInventory, settings: PlanSettings, now: Date): DayPlan {
  const actions: PlanAction[] = [];
  const cutoff = ageCutoff(now, settings.ageDays);
  // Runs once per clip of the tree: per-day values are computed once, and the output key once
  // per stamp date (clips of a folder nearly always share it), not once per clip.
  let keyDate = '';
  let key = '';
  const outputKeyOf = (clip: ClipFile): string => {
    const s = clip.clip.stamp;
    if (keyDate !== '' && s.startsWith(keyDate)) return key;
    keyDate = s.slice(0, 8);
    const dayPath = `${s.slice(0, 4)}/${s.slice(4, 6)}/${s.slice(6, 8)}`;
    key = day.folder.prefix ? `${day.folder.prefix}/${dayPath}` : dayPath;
    return key;
  };
  const archiveDirs = new Map<string, string>();
  const archiveDirOf = (outputKey: string): string => {
    let dir = archiveDirs.get(outputKey);
    if (dir === undefined) {
      dir = path.join(settings.outputRoot, outputKey);
      archiveDirs.set(outputKey, dir);
    }
    return dir;
  };
  const trash: TrashPaths = {
    root: settings.trashRoot,
    relPrefix: `${day.folder.relDir}/`,
    dayDir: path.join(settings.trashRoot, 'input', day.folder.relDir),
  };

  // A legacy `archived-<stamp>.mp4` cannot say which camera it came from: trust it only when a
  // single clip in its output folder has that stamp (the Python tool's bug 1 made the others
  // ambiguous). Counted only when some output folder has one: usually none does.
  const clipsPerStamp = new Map<string, number>();
  if ([...day.outputs.values()].some((o) => o.legacyByStamp.size > 0)) {
    for (const clip of day.clips) {
      const k = `${outputKeyOf(clip)}|${clip.clip.stamp}`;
      clipsPerStamp.set(k, (clipsPerStamp.get(k) ?? 0) + 1);
    }
  }

  for (const partial of [...day.outputs.values()].flatMap((o) =>
    o.partials.map((p) => path.join(o.dir, p)),
  )) {
    actions.push({
      kind: 'remove-partial',
      path: partial,
      reason: 'unfinished output of an interrupted run (never a valid archive)',
    });
  }

  let disposed = 0;
  for (const clip of day.clips) {
    if (cutoff && clip.time >= cutoff) {
      actions.push({
        kind: 'keep',
        path: clip.path,
        reason: `recorded ${formatLocalTime(clip.time)}, newer than --age ${settings.ageDays} days`,
      });
      continue;
    }
    if (settings.settleSeconds > 0 && clip.mtimeMs !== undefined) {
      const quietFor = (now.getTime() - clip.mtimeMs) / 1000;
      if (quietFor < settings.settleSeconds) {
        actions.push({
          kind: 'keep',
          path: clip.path,
          reason: `modified ${Math.max(0, Math.round(quietFor))}s ago, within the settle time of ${settings.settleSeconds}s: may still be uploading`,
        });
        continue;
      }
    }

    const recorded = formatLocalTime(clip.time);
    const planned = plannedClip(clip);
    const disposal = disposalFor(clip, settings.disposal, trash);
    const outputKey = outputKeyOf(clip);
    const output = day.outputs.get(outputKey);
    const archiveName = archiveFileName(clip.clip);
    const archiveDir = archiveDirOf(outputKey);
    const archivePath = joinName(archiveDir, archiveName);
    const ageReason = cutoff
      ? `recorded ${recorded}, older than --age ${settings.ageDays} days`
      : `recorded ${recorded} (--age 0: no age threshold)`;
    // size first: an output folder not written yet is empty, and has() would flatten the name.
    const ownExists =
      output !== undefined && output.entries.size > 0 && output.entries.has(archiveName);
    const legacyName = output?.legacyByStamp.get(clip.clip.stamp);
    const legacyUsable =
      legacyName !== undefined && clipsPerStamp.get(`${outputKey}|${clip.clip.stamp}`) === 1;
    disposed++;

    if (ownExists && !settings.redoExisting) {
      actions.push({
        kind: 'dispose-archived',
        clip: planned,
        archivePath,
        legacy: false,
        ownArchivePath: archivePath,
        disposal,
        reason: `${ageReason}; archive already exists and is verified against the clip before the clip is removed`,
      });
    } else if (!ownExists && legacyUsable && !settings.redoExisting && output) {
      actions.push({
        kind: 'dispose-archived',
        clip: planned,
        archivePath: path.join(output.dir, legacyName),
        legacy: true,
        ownArchivePath: archivePath,
        disposal,
        reason: `${ageReason}; the Python archiver's ${legacyName} exists and is verified against the clip before the clip is removed`,
      });
    } else {
      let reason = ageReason;
      if (ownExists)
        reason +=
          '; --no-skip: transcoding again, the verified result replaces the existing archive';
      else if (legacyName !== undefined && !settings.redoExisting)
        reason += `; ${legacyName} is ambiguous (several cameras recorded at that second), so each clip gets its own archive`;
      actions.push({
        kind: 'transcode',
        clip: planned,
        archivePath,
        // partialPathFor(archivePath), without splitting the path it has just built.
        partialPath: joinName(archiveDir, `.${archiveName}${PARTIAL_SUFFIX}`),
        replacesExisting: ownExists,
        disposal,
        reason,
      });
    }
  }

  const emptiesFolder =
    day.otherEntries === 0 && day.orphanThumbnails.length === 0 && disposed === day.clips.length;
  return { folder: day.folder, actions, ignored: day.ignored, emptiesFolder };
}

function plannedClip(clip: ClipFile): PlannedClip {
  const planned: PlannedClip = {
    path: clip.path,
    relPath: clip.relPath,
    stem: clip.clip.stem,
    camera: clip.clip.camera,
    recordedAt: clip.time,
  };
  if (clip.thumbnail) planned.thumbnail = clip.thumbnail.path;
  return planned;
}

interface TrashPaths {
  root: string;
  /** `<relDir>/` of the day being planned. */
  relPrefix: string;
  /** `<trash>/input/<relDir>`, joined once per day. */
  dayDir: string;
}

function trashPathOf(trash: TrashPaths, file: MediaFile): string {
  // A file listed straight in the day folder (always, from discovery) needs no path.join.
  return file.relPath.length === trash.relPrefix.length + file.name.length &&
    file.relPath.startsWith(trash.relPrefix)
    ? joinName(trash.dayDir, file.name)
    : trashPathFor(trash.root, file.relPath);
}

function disposalFor(clip: ClipFile, mode: DisposalMode, trash: TrashPaths): Disposal {
  const thumb = clip.thumbnail;
  if (mode === 'delete')
    return { mode: 'delete', files: thumb ? [clip.path, thumb.path] : [clip.path] };
  const moves: FileMove[] = [{ from: clip.path, to: trashPathOf(trash, clip) }];
  if (thumb) moves.push({ from: thumb.path, to: trashPathOf(trash, thumb) });
  return { mode: 'trash', moves };
}

/** `<trash>/input/<path relative to the input root>`, as the Python archiver lays out its trash. */
export function trashPathFor(trashRoot: string, relPath: string): string {
  return path.join(trashRoot, 'input', relPath);
}

/**
 * Date folders that the planned removals would leave empty, bottom-up: days, then months, then
 * years. Never a root, never a folder that holds anything else.
 */
export function planPrunes(
  skeleton: Skeleton,
  emptiedDays: ReadonlySet<string>,
  root: string,
): PruneFolderAction[] {
  const prunes: PruneFolderAction[] = [];
  const monthDays = new Map<string, string[]>();
  for (const day of skeleton.days) {
    if (emptiedDays.has(day.relDir)) {
      prunes.push({ kind: 'prune-folder', path: day.dir, reason: 'date folder left empty' });
    }
    const month = path.posix.dirname(day.relDir);
    monthDays.set(month, [...(monthDays.get(month) ?? []), day.relDir]);
  }
  const yearMonths = new Map<string, { month: string; emptied: boolean }[]>();
  for (const [month, days] of monthDays) {
    const emptied =
      !skeleton.otherEntriesByFolder.has(month) && days.every((d) => emptiedDays.has(d));
    if (emptied)
      prunes.push({
        kind: 'prune-folder',
        path: path.join(root, month),
        reason: 'month folder left empty',
      });
    const year = path.posix.dirname(month);
    yearMonths.set(year, [...(yearMonths.get(year) ?? []), { month, emptied }]);
  }
  for (const [year, months] of yearMonths) {
    if (!skeleton.otherEntriesByFolder.has(year) && months.every((m) => m.emptied)) {
      prunes.push({
        kind: 'prune-folder',
        path: path.join(root, year),
        reason: 'year folder left empty',
      });
    }
  }
  return prunes;
}

export interface PlanCounts {
  days: number;
  clips: number;
  transcode: number;
  disposeArchived: number;
  keep: number;
  removePartial: number;
  pruneFolder: number;
  ignored: number;
}

export function emptyCounts(): PlanCounts {
  return {
    days: 0,
    clips: 0,
    transcode: 0,
    disposeArchived: 0,
    keep: 0,
    removePartial: 0,
    pruneFolder: 0,
    ignored: 0,
  };
}

export function countAction(counts: PlanCounts, action: PlanAction): void {
  switch (action.kind) {
    case 'transcode':
      counts.transcode++;
      counts.clips++;
      break;
    case 'dispose-archived':
      counts.disposeArchived++;
      counts.clips++;
      break;
    case 'keep':
      counts.keep++;
      counts.clips++;
      break;
    case 'remove-partial':
      counts.removePartial++;
      break;
    case 'prune-folder':
      counts.pruneFolder++;
      break;
  }
}

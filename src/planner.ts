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
  OutputFolder,
  Skeleton,
} from './discovery.js';
import { archiveFileName, dayPathOfStamp, PARTIAL_SUFFIX } from './naming.js';

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
  readonly kind: 'transcode';
  readonly clip: PlannedClip;
  readonly archivePath: string;
  readonly partialPath: string;
  /** True when a file already sits at archivePath and is replaced only by a verified new archive. */
  readonly replacesExisting: boolean;
  readonly disposal: Disposal;
  readonly reason: string;
}

export interface DisposeArchivedAction {
  readonly kind: 'dispose-archived';
  readonly clip: PlannedClip;
  readonly archivePath: string;
  /** An `archived-<stamp>.mp4` made by the Python archiver. */
  readonly legacy: boolean;
  /** Where a new archive goes if the existing one fails verification (the same path unless legacy). */
  readonly ownArchivePath: string;
  readonly disposal: Disposal;
  readonly reason: string;
}

export interface KeepAction {
  readonly kind: 'keep';
  readonly path: string;
  readonly reason: string;
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

export interface DayPlan extends DayTally {
  folder: DayFolder;
  actions: PlanAction[];
  ignored: IgnoredFile[];
}

/** What a day's plan decides, without its actions: see countDay. */
export interface DayTally {
  /** How many actions of each kind the plan has. */
  counts: DayCounts;
  /** Every entry of the day folder is planned to leave it. */
  emptiesFolder: boolean;
}

export interface DayCounts {
  transcode: number;
  disposeArchived: number;
  keep: number;
  removePartial: number;
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

/**
 * What every clip action of one day shares: computed once per day, referenced by each action.
 */
interface DayContext {
  settings: PlanSettings;
  cutoff: Date | undefined;
  relPrefix: string;
  /** `<trash>/input/<relDir>`. */
  trashDayDir: string;
}

/**
 * Clip actions are values whose texts and paths are derived when first read: a plan holds one
 * per clip of the tree, and a quiet dry run or a count only reads their kind. Each field is a pure
 * function of (day, clip, settings), so reading it later gives what building it eagerly would.
 */
abstract class ClipAction {
  private plannedClip: PlannedClip | undefined = undefined;
  private plannedDisposal: Disposal | undefined = undefined;

  constructor(
    protected readonly day: DayContext,
    protected readonly source: ClipFile,
    /** `<output>/<YYYY/MM/DD of the stamp>`. */
    protected readonly archiveDir: string,
  ) {}

  get clip(): PlannedClip {
    return (this.plannedClip ??= plannedClip(this.source));
  }

  get disposal(): Disposal {
    return (this.plannedDisposal ??= disposalFor(this.source, this.day));
  }

  /** The archive this clip gets from this tool: `<output>/YYYY/MM/DD/<camera>_<stamp>.mp4`. */
  protected get ownPath(): string {
    return joinName(this.archiveDir, archiveFileName(this.source));
  }

  protected get ageReason(): string {
    const recorded = formatLocalTime(this.source.time);
    return this.day.cutoff
      ? `recorded ${recorded}, older than --age ${this.day.settings.ageDays} days`
      : `recorded ${recorded} (--age 0: no age threshold)`;
  }
}

/** Why a transcode happens beyond the clip's age. */
type TranscodeNote =
  { kind: 'new' } | { kind: 'redo' } | { kind: 'ambiguous-legacy'; legacyName: string };

const NEW: TranscodeNote = { kind: 'new' };
const REDO: TranscodeNote = { kind: 'redo' };

class PlannedTranscode extends ClipAction implements TranscodeAction {
  readonly kind = 'transcode';

  constructor(
    day: DayContext,
    source: ClipFile,
    archiveDir: string,
    readonly replacesExisting: boolean,
    private readonly note: TranscodeNote,
  ) {
    super(day, source, archiveDir);
  }

  get archivePath(): string {
    return this.ownPath;
  }

  /** partialPathFor(archivePath), without splitting the path it has just built. */
  get partialPath(): string {
    return joinName(this.archiveDir, `.${archiveFileName(this.source)}${PARTIAL_SUFFIX}`);
  }

  get reason(): string {
    switch (this.note.kind) {
      case 'new':
        return this.ageReason;
      case 'redo':
        return `${this.ageReason}; --no-skip: transcoding again, the verified result replaces the existing archive`;
      case 'ambiguous-legacy':
        return `${this.ageReason}; ${this.note.legacyName} is ambiguous (several cameras recorded at that second), so each clip gets its own archive`;
    }
  }
}

class PlannedDisposeArchived extends ClipAction implements DisposeArchivedAction {
  readonly kind = 'dispose-archived';

  constructor(
    day: DayContext,
    source: ClipFile,
    archiveDir: string,
    /** The Python archiver's `archived-<stamp>.mp4` in the output folder, when that is the archive. */
    private readonly legacyName: string | undefined,
  ) {
    super(day, source, archiveDir);
  }

  get legacy(): boolean {
    return this.legacyName !== undefined;
  }

  get archivePath(): string {
    return this.legacyName === undefined
      ? this.ownPath
      : joinName(this.archiveDir, this.legacyName);
  }

  get ownArchivePath(): string {
    return this.ownPath;
  }

  get reason(): string {
    return this.legacyName === undefined
      ? `${this.ageReason}; archive already exists and is verified against the clip before the clip is removed`
      : `${this.ageReason}; the Python archiver's ${this.legacyName} exists and is verified against the clip before the clip is removed`;
  }
}

class PlannedKeep implements KeepAction {
  readonly kind = 'keep';

  constructor(
    private readonly day: DayContext,
    private readonly source: ClipFile,
    /** Seconds since the last write, when the settle time keeps the clip; else it is too new. */
    private readonly quietForSeconds: number | undefined,
  ) {}

  get path(): string {
    return this.source.path;
  }

  get reason(): string {
    const { settings } = this.day;
    return this.quietForSeconds === undefined
      ? `recorded ${formatLocalTime(this.source.time)}, newer than --age ${settings.ageDays} days`
      : `modified ${Math.max(0, Math.round(this.quietForSeconds))}s ago, within the settle time of ${settings.settleSeconds}s: may still be uploading`;
  }
}

export function planDay(day: DayInventory, settings: PlanSettings, now: Date): DayPlan {
  const actions: PlanAction[] = [];
  const tally = decideDay(day, settings, now, actions);
  return { folder: day.folder, actions, ignored: day.ignored, ...tally };
}

/**
 * planDay's decisions, counted but not built: a quiet dry run prints only totals, and building a
 * million action objects cost as much as the rest of planning (BENCHMARKS.md). One function
 * decides for both, so the counts are always those of the plan.
 */
export function countDay(day: DayInventory, settings: PlanSettings, now: Date): DayTally {
  return decideDay(day, settings, now, undefined);
}

/** Decides every clip of the day, counting; with `actions`, also builds each action. */
function decideDay(
  day: DayInventory,
  settings: PlanSettings,
  now: Date,
  actions: PlanAction[] | undefined,
): DayTally {
  const cutoff = ageCutoff(now, settings.ageDays);
  // --age 0: no clip is too new to archive.
  const cutoffMs = cutoff ? cutoff.getTime() : Infinity;
  const context: DayContext = {
    settings,
    cutoff,
    relPrefix: `${day.folder.relDir}/`,
    trashDayDir: path.join(settings.trashRoot, 'input', day.folder.relDir),
  };
  // Runs once per clip of the tree: the output key and folder are looked up once per stamp date
  // (clips of a folder nearly always share it), not once per clip.
  let keyDate = '';
  let outputKey = '';
  let archiveDir = '';
  let output: OutputFolder | undefined;
  const archiveDirs = new Map<string, string>();
  const useOutputOf = (clip: ClipFile): void => {
    const name = clip.name;
    if (keyDate !== '' && name.startsWith(keyDate, name.length - 18)) return;
    const s = clip.stamp;
    keyDate = s.slice(0, 8);
    const dayPath = dayPathOfStamp(s);
    outputKey = day.folder.prefix ? `${day.folder.prefix}/${dayPath}` : dayPath;
    output = day.outputs.get(outputKey);
    let dir = archiveDirs.get(outputKey);
    if (dir === undefined) {
      dir = path.join(settings.outputRoot, outputKey);
      archiveDirs.set(outputKey, dir);
    }
    archiveDir = dir;
  };

  // A legacy `archived-<stamp>.mp4` cannot say which camera it came from: trust it only when a
  // single clip in its output folder has that stamp (the Python tool's bug 1 made the others
  // ambiguous). Counted only when some output folder has one: usually none does.
  const clipsPerStamp = new Map<string, number>();
  const anyLegacy = [...day.outputs.values()].some((o) => o.legacyByStamp.size > 0);
  if (anyLegacy) {
    for (const clip of day.clips) {
      useOutputOf(clip);
      const k = `${outputKey}|${clip.stamp}`;
      clipsPerStamp.set(k, (clipsPerStamp.get(k) ?? 0) + 1);
    }
  }

  const counts: DayCounts = { transcode: 0, disposeArchived: 0, keep: 0, removePartial: 0 };
  for (const output of day.outputs.values()) {
    for (const partial of output.partials) {
      counts.removePartial++;
      actions?.push({
        kind: 'remove-partial',
        path: path.join(output.dir, partial),
        reason: 'unfinished output of an interrupted run (never a valid archive)',
      });
    }
  }

  // `actions?.push(new …)` builds nothing when only counting: `?.` skips the whole call.
  for (const clip of day.clips) {
    if (clip.timeMs >= cutoffMs) {
      counts.keep++;
      actions?.push(new PlannedKeep(context, clip, undefined));
      continue;
    }
    if (settings.settleSeconds > 0 && clip.mtimeMs !== undefined) {
      const quietFor = (now.getTime() - clip.mtimeMs) / 1000;
      if (quietFor < settings.settleSeconds) {
        counts.keep++;
        actions?.push(new PlannedKeep(context, clip, quietFor));
        continue;
      }
    }
    useOutputOf(clip);
    // size first: an output folder not written yet is empty, and has() would flatten the name.
    const ownExists =
      output !== undefined && output.entries.size > 0 && output.entries.has(archiveFileName(clip));
    if (ownExists && !settings.redoExisting) {
      counts.disposeArchived++;
      actions?.push(new PlannedDisposeArchived(context, clip, archiveDir, undefined));
      continue;
    }
    const legacyName = anyLegacy ? output?.legacyByStamp.get(clip.stamp) : undefined;
    if (legacyName === undefined || settings.redoExisting || ownExists) {
      counts.transcode++;
      actions?.push(
        new PlannedTranscode(context, clip, archiveDir, ownExists, ownExists ? REDO : NEW),
      );
    } else if (clipsPerStamp.get(`${outputKey}|${clip.stamp}`) === 1) {
      counts.disposeArchived++;
      actions?.push(new PlannedDisposeArchived(context, clip, archiveDir, legacyName));
    } else {
      counts.transcode++;
      actions?.push(
        new PlannedTranscode(context, clip, archiveDir, false, {
          kind: 'ambiguous-legacy',
          legacyName,
        }),
      );
    }
  }
  const disposed = counts.transcode + counts.disposeArchived;
  const emptiesFolder =
    day.otherEntries === 0 && day.orphanThumbnails.length === 0 && disposed === day.clips.length;
  return { counts, emptiesFolder };
}

function plannedClip(clip: ClipFile): PlannedClip {
  const planned: PlannedClip = {
    path: clip.path,
    relPath: clip.relPath,
    stem: clip.stem,
    camera: clip.camera,
    recordedAt: clip.time,
  };
  const thumbnail = clip.thumbnail;
  if (thumbnail) planned.thumbnail = thumbnail.path;
  return planned;
}

function trashPathOf(day: DayContext, file: MediaFile): string {
  // A file listed straight in the day folder (always, from discovery) needs no path.join.
  return file.relPath.length === day.relPrefix.length + file.name.length &&
    file.relPath.startsWith(day.relPrefix)
    ? joinName(day.trashDayDir, file.name)
    : trashPathFor(day.settings.trashRoot, file.relPath);
}

function disposalFor(clip: ClipFile, day: DayContext): Disposal {
  const thumb = clip.thumbnail;
  if (day.settings.disposal === 'delete')
    return { mode: 'delete', files: thumb ? [clip.path, thumb.path] : [clip.path] };
  const moves: FileMove[] = [{ from: clip.path, to: trashPathOf(day, clip) }];
  if (thumb) moves.push({ from: thumb.path, to: trashPathOf(day, thumb) });
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

/** countAction for each of a day's actions, from the day's counts alone. */
export function addDayCounts(counts: PlanCounts, day: DayCounts): void {
  counts.transcode += day.transcode;
  counts.disposeArchived += day.disposeArchived;
  counts.keep += day.keep;
  counts.clips += day.transcode + day.disposeArchived + day.keep;
  counts.removePartial += day.removePartial;
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

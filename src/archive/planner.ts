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
import {
  alternateArchiveName,
  archiveFileName,
  collisionTag,
  dayPathOfStamp,
  partialNameFor,
} from '../tree/naming.js';
import type { Disposal, DisposalMode, FileMove } from '../tree/file-manager.js';

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
  /**
   * --no-skip and a file already sits at archivePath: it is replaced by the verified new archive
   * only if it records this clip's identity; otherwise the new archive goes to fallbackPath.
   */
  readonly replacesExisting: boolean;
  /** A free name for this clip's archive when archivePath turns out to hold another clip's. */
  readonly fallbackPath?: string;
  readonly disposal: Disposal;
  readonly reason: string;
}

export interface DisposeArchivedAction {
  readonly kind: 'dispose-archived';
  readonly clip: PlannedClip;
  /** The first of `candidates`. */
  readonly archivePath: string;
  /**
   * Existing files that may be this clip's archive, checked in order: the first that verifies
   * against the clip (identity and pictures) is its archive.
   */
  readonly candidates: readonly string[];
  /** archivePath is an `archived-<stamp>.mp4` made by the Python archiver. */
  readonly legacy: boolean;
  /** A free name where a new archive goes if no candidate verifies: never one of the candidates. */
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
  /** Output folders by their path, to look up existing names (see existingLike). */
  outputsByDir: Map<string, OutputFolder | undefined>;
}

/**
 * How a clip's archive is named when it cannot simply take `<camera>_<stamp>.mp4`, and why: shown
 * in the action's reason, so a dry run shows every collision before it happens.
 */
type Collision =
  | { kind: 'none' }
  /** Filed in a folder of another date: another clip may own the plain name in its own folder. */
  | { kind: 'misfiled'; folderDate: string }
  /** Names that differ only in case map to one archive name (one file on a case-insensitive disk). */
  | { kind: 'case'; owner: string }
  /** The plain name is taken by a file that is not this clip's archive as far as the plan knows. */
  | { kind: 'taken'; by: string };

/** The archive names the plan settled for one clip (see decideDay). */
interface ClipNames {
  /** The name a new archive of this clip takes (free in the output folder). */
  target: string;
  /** Existing files to verify as this clip's archive, in order. */
  candidates: string[];
  /** How many of `candidates` are the Python archiver's (at the end of the list). */
  legacyCandidate: boolean;
  collision: Collision;
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
    protected readonly names: ClipNames | undefined,
  ) {}

  get clip(): PlannedClip {
    return (this.plannedClip ??= plannedClip(this.source));
  }

  get disposal(): Disposal {
    return (this.plannedDisposal ??= disposalFor(this.source, this.day));
  }

  /** The name a new archive of this clip takes: `<camera>_<stamp>.mp4` unless a collision. */
  protected get targetName(): string {
    return this.names?.target ?? archiveFileName(this.source);
  }

  protected get ownPath(): string {
    return joinName(this.archiveDir, this.targetName);
  }

  /** A free name after the target: the clip's distinct name, never any existing file's. */
  get fallbackPath(): string {
    const names = this.names;
    const tag = collisionTag(this.source.relPath);
    const output = this.day.outputsByDir.get(this.archiveDir);
    for (let n = 1; ; n++) {
      const name = alternateArchiveName(this.source, tag, n);
      if (name !== this.targetName && existingLike(output, name).length === 0)
        if (!names?.candidates.some((c) => c.toLowerCase() === name.toLowerCase()))
          return joinName(this.archiveDir, name);
    }
  }

  protected get ageReason(): string {
    const recorded = formatLocalTime(this.source.time);
    return this.day.cutoff
      ? `recorded ${recorded}, older than --age ${this.day.settings.ageDays} days`
      : `recorded ${recorded} (--age 0: no age threshold)`;
  }

  /** Why the archive name is not the plain one; '' when it is. */
  protected get collisionReason(): string {
    const c = this.names?.collision;
    if (!c || c.kind === 'none') return '';
    const plain = archiveFileName(this.source);
    switch (c.kind) {
      case 'misfiled':
        return `; filed under ${c.folderDate} but recorded on ${formatLocalTime(this.source.time).slice(0, 10)}: its archive is named ${this.targetName}, distinct from ${plain} of a clip filed under its own date`;
      case 'case':
        return `; ${c.owner} maps to the same archive name ${plain} (names differing only in case): this clip's archive is named ${this.targetName}`;
      case 'taken':
        return `; ${c.by} is taken by another file: this clip's archive is named ${this.targetName}`;
    }
  }
}

/** Why a transcode happens beyond the clip's age. */
type TranscodeNote = { kind: 'new' } | { kind: 'redo' };

const NEW: TranscodeNote = { kind: 'new' };
const REDO: TranscodeNote = { kind: 'redo' };

class PlannedTranscode extends ClipAction implements TranscodeAction {
  readonly kind = 'transcode';

  constructor(
    day: DayContext,
    source: ClipFile,
    archiveDir: string,
    names: ClipNames | undefined,
    readonly replacesExisting: boolean,
    private readonly note: TranscodeNote,
  ) {
    super(day, source, archiveDir, names);
  }

  get archivePath(): string {
    return this.ownPath;
  }

  /** partialPathFor(archivePath), without splitting the path it has just built. */
  get partialPath(): string {
    return joinName(this.archiveDir, partialNameFor(this.targetName));
  }

  get reason(): string {
    switch (this.note.kind) {
      case 'new':
        return this.ageReason + this.collisionReason;
      case 'redo':
        return `${this.ageReason}${this.collisionReason}; --no-skip: transcoding again, the verified result replaces the existing archive only if it records this clip's identity (else it takes ${path.basename(this.fallbackPath)})`;
    }
  }
}

class PlannedDisposeArchived extends ClipAction implements DisposeArchivedAction {
  readonly kind = 'dispose-archived';

  get candidates(): readonly string[] {
    return (this.names?.candidates ?? [archiveFileName(this.source)]).map((n) =>
      joinName(this.archiveDir, n),
    );
  }

  get archivePath(): string {
    return this.candidates[0] ?? this.ownPath;
  }

  get legacy(): boolean {
    return this.names !== undefined && this.names.legacyCandidate && this.candidates.length === 1;
  }

  get ownArchivePath(): string {
    const names = this.names;
    // The target is free unless it is itself a candidate (an existing archive at the clip's name).
    if (names && !names.candidates.includes(names.target)) return this.ownPath;
    return this.fallbackPath;
  }

  get reason(): string {
    const names = this.names?.candidates ?? [archiveFileName(this.source)];
    const which = names.map((n) => (isLegacyName(n) ? `the Python archiver's ${n}` : n));
    const list = which.length === 1 ? `${which[0]} exists` : `${which.join(', ')} exist`;
    return `${this.ageReason}${this.collisionReason}; ${list} and ${names.length === 1 ? 'is' : 'are'} verified against the clip (its recorded identity, or its pictures for an archive that records none) before the clip is removed; if none is this clip's archive, a new one is written to ${path.basename(this.ownArchivePath)}`;
  }
}

function isLegacyName(name: string): boolean {
  return /^archived-\d{14}\.mp4$/i.test(name);
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

/** Case-folded name → the names of one output folder that fold to it (built once per folder). */
const foldedCache = new WeakMap<OutputFolder, Map<string, string[]>>();
function foldedEntries(output: OutputFolder): Map<string, string[]> {
  let map = foldedCache.get(output);
  if (!map) {
    map = new Map();
    for (const name of output.entries) {
      const key = name.toLowerCase();
      const list = map.get(key);
      if (list) list.push(name);
      else map.set(key, [name]);
    }
    foldedCache.set(output, map);
  }
  return map;
}

/** Every existing name of `output` that folds to `name`, the exact one first. */
function existingLike(output: OutputFolder | undefined, name: string): string[] {
  if (!output || output.entries.size === 0) return [];
  const found = foldedEntries(output).get(name.toLowerCase());
  if (!found) return [];
  return found.includes(name) ? [name, ...found.filter((n) => n !== name)] : [...found];
}

/**
 * The archive names of one clip. The plain `<camera>_<stamp>.mp4` belongs to the clip filed under
 * its own date whose name sorts first among those folding to the same archive name (an exact
 * `.mp4` before `.MP4`); every other clip gets its own `<camera>~<tag>_<stamp>.mp4`. Existing files
 * that may be the clip's archive (its names, in any case; the Python archiver's for its stamp)
 * become candidates to verify; a new archive takes a name no file has.
 */
function clipNames(
  clip: ClipFile,
  day: DayInventory,
  /** Filed in a folder of another date than its stamp's. */
  misfiled: boolean,
  output: OutputFolder | undefined,
  caseOwner: string | undefined,
): ClipNames | undefined {
  // Runs for every clip of the tree: the common case (filed under its date, nothing in its
  // output folder) allocates nothing.
  const hasEntries = output !== undefined && output.entries.size > 0;
  if (!misfiled && caseOwner === undefined && !hasEntries) return undefined;
  const plain = archiveFileName(clip);
  const plainTaken = existingLike(output, plain);
  const legacy = hasEntries ? output.legacyByStamp.get(clip.stamp) : undefined;
  let collision: Collision = misfiled
    ? { kind: 'misfiled', folderDate: day.folder.date }
    : caseOwner !== undefined
      ? { kind: 'case', owner: caseOwner }
      : { kind: 'none' };
  if (collision.kind === 'none' && plainTaken.length === 0 && legacy === undefined)
    return undefined;

  const tag = collisionTag(clip.relPath);
  const alternates = existingAlternates(clip, tag, output);
  let candidates: string[];
  if (collision.kind === 'none') {
    candidates = [...plainTaken, ...alternates];
    // A name folding to the plain one but not it: on a case-insensitive disk, the same file.
    if (plainTaken.length > 0 && plainTaken[0] !== plain) {
      collision = { kind: 'taken', by: plainTaken[0] ?? plain };
    }
  } else {
    candidates = [...alternates, ...plainTaken];
  }
  const target = collision.kind === 'none' ? plain : freeAlternate(clip, tag, output, candidates);
  const legacyCandidate = legacy !== undefined;
  if (legacy !== undefined) candidates.push(legacy);
  return { target, candidates, legacyCandidate, collision };
}

/** The clip's `<camera>~<tag>_<stamp>[.n].mp4` names that exist already (in any case), in order. */
function existingAlternates(
  clip: ClipFile,
  tag: string,
  output: OutputFolder | undefined,
): string[] {
  const alternates: string[] = [];
  for (let n = 1; ; n++) {
    const found = existingLike(output, alternateArchiveName(clip, tag, n));
    if (found.length === 0) return alternates;
    alternates.push(...found);
  }
}

/** The first of the clip's own names that no file has, or that is already one of its candidates. */
function freeAlternate(
  clip: ClipFile,
  tag: string,
  output: OutputFolder | undefined,
  candidates: readonly string[],
): string {
  for (let n = 1; ; n++) {
    const name = alternateArchiveName(clip, tag, n);
    if (existingLike(output, name).length === 0 || candidates.includes(name)) return name;
  }
}

/** One flag per second of a day, cleared after each use (see decideDay). */
const SEEN = new Uint8Array(86_400);
function secondOfDay(timeMs: number): number {
  const k = Math.floor(timeMs / 1000) % 86_400;
  return k < 0 ? k + 86_400 : k;
}

/** Decides every clip of the day, counting; with `actions`, also builds each action. */
function decideDay(
  day: DayInventory,
  settings: PlanSettings,
  now: Date,
  actions: PlanAction[] | undefined,
): DayTally {
  const cutoff = ageCutoff(now, settings.ageDays);
  const context: DayContext = {
    settings,
    cutoff,
    relPrefix: `${day.folder.relDir}/`,
    trashDayDir: path.join(settings.trashRoot, 'input', day.folder.relDir),
    outputsByDir: new Map(),
  };
  const decision: DayDecision = {
    day,
    context,
    // --age 0: no clip is too new to archive.
    cutoffMs: cutoff ? cutoff.getTime() : Infinity,
    nowMs: now.getTime(),
    outputs: new OutputLookup(day, settings.outputRoot, context.outputsByDir),
    caseOwnerOf: caseOwners(day.clips),
    counts: { transcode: 0, disposeArchived: 0, keep: 0, removePartial: 0 },
    actions,
  };
  planPartials(decision);
  for (const clip of day.clips) decideClip(decision, clip);
  const { counts } = decision;
  const disposed = counts.transcode + counts.disposeArchived;
  const emptiesFolder =
    day.otherEntries === 0 && day.orphanThumbnails.length === 0 && disposed === day.clips.length;
  return { counts, emptiesFolder };
}

/** What deciding one day's clips shares: the day, its limits, its output folders, its tally. */
interface DayDecision {
  day: DayInventory;
  context: DayContext;
  cutoffMs: number;
  nowMs: number;
  outputs: OutputLookup;
  caseOwnerOf: Map<ClipFile, string>;
  counts: DayCounts;
  /** Undefined when only counting: `actions?.push(new …)` then builds nothing. */
  actions: PlanAction[] | undefined;
}

/**
 * One clip: kept (too new, or still uploading), or archived: transcoded to a new archive, or
 * disposed of once one of the files that may already be its archive verifies.
 */
function decideClip(d: DayDecision, clip: ClipFile): void {
  const { context, counts, actions } = d;
  const settings = context.settings;
  if (clip.timeMs >= d.cutoffMs) {
    counts.keep++;
    actions?.push(new PlannedKeep(context, clip, undefined));
    return;
  }
  if (settings.settleSeconds > 0 && clip.mtimeMs !== undefined) {
    const quietFor = (d.nowMs - clip.mtimeMs) / 1000;
    if (quietFor < settings.settleSeconds) {
      counts.keep++;
      actions?.push(new PlannedKeep(context, clip, quietFor));
      return;
    }
  }
  const out = d.outputs.of(clip);
  const caseOwner = d.caseOwnerOf.size > 0 ? d.caseOwnerOf.get(clip) : undefined;
  const names = clipNames(clip, d.day, out.misfiled, out.folder, caseOwner);
  if (names === undefined) {
    // Nothing exists and nothing collides: a new archive under the plain name.
    counts.transcode++;
    actions?.push(new PlannedTranscode(context, clip, out.dir, undefined, false, NEW));
    return;
  }
  if (names.candidates.length > 0 && !settings.redoExisting) {
    counts.disposeArchived++;
    actions?.push(new PlannedDisposeArchived(context, clip, out.dir, names));
    return;
  }
  const existing = names.candidates.includes(names.target);
  counts.transcode++;
  actions?.push(
    new PlannedTranscode(context, clip, out.dir, names, existing, existing ? REDO : NEW),
  );
}

/** Partial outputs of an interrupted run in the day's output folders: never valid archives. */
function planPartials(d: DayDecision): void {
  for (const output of d.day.outputs.values()) {
    for (const partial of output.partials) {
      d.counts.removePartial++;
      d.actions?.push({
        kind: 'remove-partial',
        path: path.join(output.dir, partial),
        reason: 'unfinished output of an interrupted run (never a valid archive)',
      });
    }
  }
}

/**
 * The output folder of a clip's stamp date. Runs once per clip of the tree: the key and folder
 * are looked up once per stamp date (clips of a folder nearly always share it), not per clip.
 */
class OutputLookup {
  private keyDate = '';
  private readonly current = {
    dir: '',
    folder: undefined as OutputFolder | undefined,
    /** The clips of keyDate are filed in a folder of another date. */
    misfiled: false,
  };
  private readonly folderDate: string;
  private readonly archiveDirs = new Map<string, string>();

  constructor(
    private readonly day: DayInventory,
    private readonly outputRoot: string,
    private readonly outputsByDir: Map<string, OutputFolder | undefined>,
  ) {
    this.folderDate = day.folder.date.replaceAll('-', '');
  }

  of(
    clip: ClipFile,
  ): Readonly<{ dir: string; folder: OutputFolder | undefined; misfiled: boolean }> {
    const name = clip.name;
    if (this.keyDate !== '' && name.startsWith(this.keyDate, name.length - 18)) return this.current;
    const s = clip.stamp;
    this.keyDate = s.slice(0, 8);
    this.current.misfiled = this.keyDate !== this.folderDate;
    const dayPath = dayPathOfStamp(s);
    const outputKey = this.day.folder.prefix ? `${this.day.folder.prefix}/${dayPath}` : dayPath;
    this.current.folder = this.day.outputs.get(outputKey);
    let dir = this.archiveDirs.get(outputKey);
    if (dir === undefined) {
      dir = path.join(this.outputRoot, outputKey);
      this.archiveDirs.set(outputKey, dir);
      this.outputsByDir.set(dir, this.current.folder);
    }
    this.current.dir = dir;
    return this.current;
  }
}

/**
 * Clips of one folder whose archive names fold to one (`X.mp4` beside `X.MP4`, or two cameras
 * differing in case), each mapped to the clip that keeps the plain name: the first in (exact
 * `.mp4` first, then name) order. Same archive name means same stamp, so only stamps seen twice
 * are looked at. Most folders have none, found with a reused table indexed by the second of the
 * day (no object per clip: this runs for every clip of the tree); clips of other days sharing a
 * second only join a group, and their names decide.
 */
function caseOwners(clips: readonly ClipFile[]): Map<ClipFile, string> {
  const owners = new Map<ClipFile, string>();
  for (const same of sameArchiveName(clips)) {
    same.sort((x, y) => {
      const xe = x.name.endsWith('.mp4') ? 0 : 1;
      const ye = y.name.endsWith('.mp4') ? 0 : 1;
      return xe - ye || (x.name < y.name ? -1 : x.name > y.name ? 1 : 0);
    });
    const owner = same[0];
    if (!owner) continue;
    for (const clip of same.slice(1)) owners.set(clip, owner.name);
  }
  return owners;
}

/** Groups of two or more clips whose archive names are equal but for case. */
function sameArchiveName(clips: readonly ClipFile[]): ClipFile[][] {
  let repeated = false;
  for (const clip of clips) {
    const k = secondOfDay(clip.timeMs);
    if (SEEN[k] === 1) repeated = true;
    SEEN[k] = 1;
  }
  for (const clip of clips) SEEN[secondOfDay(clip.timeMs)] = 0;
  if (!repeated) return [];
  const count = new Map<number, number>();
  for (const clip of clips) count.set(clip.timeMs, (count.get(clip.timeMs) ?? 0) + 1);
  const byStamp = new Map<number, ClipFile[]>();
  for (const clip of clips) {
    if ((count.get(clip.timeMs) ?? 0) < 2) continue;
    const seen = byStamp.get(clip.timeMs);
    if (seen) seen.push(clip);
    else byStamp.set(clip.timeMs, [clip]);
  }
  const groups: ClipFile[][] = [];
  for (const group of byStamp.values()) {
    const byFolded = new Map<string, ClipFile[]>();
    for (const clip of group) {
      const key = archiveFileName(clip).toLowerCase();
      byFolded.set(key, [...(byFolded.get(key) ?? []), clip]);
    }
    for (const same of byFolded.values()) if (same.length >= 2) groups.push(same);
  }
  return groups;
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

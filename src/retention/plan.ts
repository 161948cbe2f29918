/**
 * Retention planner: a pure function of (inventory, settings, filesystem facts, now) → typed
 * removals, each with its rule, reason, the bytes it frees and whether it is permanent.
 *
 * The inventory is streamed oldest-first one date at a time (see retention/inventory.ts), never
 * collected whole: the planner walks it twice, once to count and apply the per-file rules (trash
 * retention, age), and — only when a cap is exceeded — once more in removal order (trash first,
 * then footage) until the caps are met. Nothing here touches the disk or the clock; tests feed
 * arrays. The shell renders the plan for a dry run and executes exactly the same actions for real.
 */
import path from 'node:path';
import { subDays } from 'date-fns';
import type { Skeleton } from '../archive/discovery.js';
import type { PruneFolderAction } from '../archive/planner.js';
import type { FileMove } from '../tree/file-manager.js';
import { planPrunes } from '../archive/planner.js';
import { formatBytes } from '../core/units.js';

export type RootKind = 'source' | 'archive' | 'trash';

/** What lstat said about one file. `bytes` is the file size; hard links are counted once by (dev, ino). */
export interface FileFacts {
  path: string;
  bytes: number;
  dev: number;
  ino: number;
  nlink: number;
  mtimeMs: number;
  /** Last inode change: for a file in the trash, when it was moved there (link/rename set it). */
  ctimeMs: number;
}

/** Files that are only ever removed together: a clip with its thumbnail, an orphan thumbnail, an archive, a trashed pair. */
export interface Unit {
  root: RootKind;
  kind: 'clip' | 'orphan-thumbnail' | 'archive' | 'trash';
  camera: string;
  /** From the file name's stamp (local time); the file's mtime when the name has none. */
  recordedAt: Date;
  /** Day folder holding the files, relative to the unit's root (`2025/01/15`, `input/2025/01/15`). */
  relDir: string;
  /** Main file first (the clip), thumbnail second. */
  files: FileFacts[];
}

/** One date's units from every root read, plus how many entries each touched day folder holds. */
export interface DateBatch {
  date: string;
  units: Unit[];
  /** `${root}:${relDir}` → number of directory entries (files and anything else). */
  dayEntries: ReadonlyMap<string, number>;
}

/**
 * Asked before each date is read; false: the planner does not need it (the date is not read, and
 * should a batch of it come anyway, the planner ignores it).
 */
export type ReadDate = (date: string) => boolean;

export interface RetentionInventory {
  skeletons: Partial<Record<RootKind, Skeleton>>;
  /** Trash units, oldest date first, up to `through` (a date) when given. Called once per pass. */
  trash(through?: string, readDate?: ReadDate): AsyncIterable<DateBatch>;
  /** Sources and archives, oldest date first, up to `through` when given. Called once per pass. */
  footage(through?: string, readDate?: ReadDate, sourcesOnly?: boolean): AsyncIterable<DateBatch>;
}

export type MinFree = { bytes: number } | { percent: number };
export type MaxDelete = { files: number } | { bytes: number } | { percent: number };

export interface RetentionSettings {
  root: string;
  outputRoot: string;
  trashRoot: string;
  /** What the age rule does with what it removes (caps always delete). */
  disposal: 'trash' | 'delete';
  /** Age rule: sources (and archives with cleanOutput) recorded more than this many days ago; 0 = off. */
  ageDays: number;
  cleanOutput: boolean;
  /**
   * With cleanOutput: archives recorded more than this many days ago are removed by the age rule;
   * 0 = never by age (only the caps remove them). Undefined: `ageDays`, the Python tool's meaning
   * of `--cleanup --clean-output --age N`.
   */
  archiveAgeDays?: number | undefined;
  maxSizeBytes?: number | undefined;
  minFree?: MinFree | undefined;
  /** Trash rule: files in the trash for more than this many days are purged; 0 = off. */
  trashDays: number;
  /** Nothing recorded less than this long ago is removed by any rule. */
  protectSeconds: number;
  /** Footage modified less than this long ago may still be uploading: never removed. */
  settleSeconds: number;
  maxDelete?: MaxDelete | undefined;
  /** An exact number of bytes to free on the footage filesystem (record's storage protection). */
  bytesToFree?: number | undefined;
}

/** statfs of the filesystem holding the input root. */
export interface FsFacts {
  dev: number;
  sizeBytes: number;
  freeBytes: number;
}

/** What the shell found at the root before planning; judged by {@link judgeRoot}. */
export interface RootFacts {
  exists: boolean;
  isDirectory: boolean;
  entryCount: number;
  dev: number;
  /** The marker file in the root, if present and readable. */
  marker?: { id: string; dev: number } | undefined;
  /** The marker id remembered outside the tree from an earlier successful run, if any. */
  rememberedId?: string | undefined;
  /** --new-root: the user says the root moved on purpose; adopt it. */
  acceptNew?: boolean | undefined;
}

export type RetentionRule = 'age' | 'trash-days' | 'max-size' | 'min-free';

interface RemovalBase {
  root: RootKind;
  unit: Unit['kind'];
  camera: string;
  recordedAt: Date;
  files: FileFacts[];
  /** Size of the files. */
  bytes: number;
  /** What this frees on disk: 0 for a move into the trash, less than `bytes` for hard-linked files. */
  freedBytes: number;
  rule: RetentionRule;
  reason: string;
  /**
   * Set by a replay when a file is not as it was when the plan was made (changed, or new since):
   * the executor leaves the action alone and says why.
   */
  stale?: string | undefined;
}

/** Age rule without --delete: recoverable, frees nothing yet. */
export interface TrashMoveAction extends RemovalBase {
  kind: 'trash';
  permanent: false;
  moves: FileMove[];
}

/** Footage deleted: the age rule with --delete, or any cap (trashing on the same disk frees nothing). */
export interface DeleteFootageAction extends RemovalBase {
  kind: 'delete';
  permanent: true;
}

/** A trashed file removed for good: trash retention or a cap. */
export interface PurgeTrashAction extends RemovalBase {
  kind: 'purge-trash';
  permanent: true;
}

export type RemovalAction = TrashMoveAction | DeleteFootageAction | PurgeTrashAction;
export type RetentionAction = RemovalAction | (PruneFolderAction & { bytes: 0; permanent: true });

export interface Breakdown {
  source: number;
  archive: number;
  trash: number;
  total: number;
}

export interface PlanCounts {
  /** Units (a clip with its thumbnail, an archive, a trashed pair) left alone by the protection window or settle time. */
  protected: number;
  units: number;
  removals: number;
  footageFilesRemoved: number;
  /** Bytes of footage (sources and archives) the plan removes: what --max-delete judges. */
  footageBytesRemoved: number;
  permanent: number;
  permanentBytes: number;
  movedToTrash: number;
  movedBytes: number;
  /** Removals made for --max-size, --min-free or record's bytesToFree. */
  capRemovals: number;
  prunes: number;
}

export interface RetentionPlan {
  /**
   * The plan's actions in order (trash purges, footage, then empty folders), produced on demand by
   * re-reading the tree: the plan never holds them all (a million removals would not fit in the
   * memory budget). Each call replays the same decisions; see planRetention.
   */
  actions: () => AsyncIterable<RetentionAction>;
  /** Bytes under management (each byte once), before and after the plan. */
  before: Breakdown;
  after: Breakdown;
  /** Free bytes on the footage filesystem before and (projected) after; undefined without statfs. */
  freeBefore?: number | undefined;
  freeAfter?: number | undefined;
  /** What the caps asked for, in bytes: 0 when already met. */
  needs: { maxSize: number; minFree: number };
  /** A cap could not be met without touching protected footage. */
  shortfall: boolean;
  /** Why nothing may be done: the tree looks wrong, or --max-delete would be exceeded. */
  refusal?: string | undefined;
  counts: PlanCounts;
  /** First successful run on this root: the shell writes the marker. */
  writeMarker: boolean;
  /** Planning stopped early on the abort signal: nothing may be done. */
  interrupted: boolean;
  /** Units visited by the planning passes (the guard test's measure of linear work). */
  steps: number;
  /** What the removals do per day: a summarised text plan's days, without a replay. */
  removalsByDay: RemovalsByDay;
}

/** Every action of a plan, in order: for small plans and tests (a big plan is iterated instead). */
export async function collectActions(plan: RetentionPlan): Promise<RetentionAction[]> {
  const out: RetentionAction[] = [];
  for await (const a of plan.actions()) out.push(a);
  return out;
}

/** Free space is restored to the target plus this fraction of it, so one run lasts more than a day. */
export const MIN_FREE_HYSTERESIS = 0.05;

/** Refuses a tree that looks wrong: missing, empty, or not the filesystem it was on before. */
export function judgeRoot(
  root: string,
  facts: RootFacts,
): { refusal?: string; writeMarker: boolean } {
  if (!facts.exists)
    return {
      refusal: `${root} does not exist (is the disk mounted?): nothing is cleaned`,
      writeMarker: false,
    };
  if (!facts.isDirectory)
    return { refusal: `${root} is not a directory: nothing is cleaned`, writeMarker: false };
  if (facts.entryCount === 0)
    return {
      refusal: `${root} is empty (an unmounted disk looks like this): nothing is cleaned`,
      writeMarker: false,
    };
  if (facts.acceptNew) return { writeMarker: true };
  if (facts.rememberedId !== undefined && facts.marker?.id !== facts.rememberedId) {
    return {
      refusal: facts.marker
        ? `${root} holds another tree's marker (${facts.marker.id}, expected ${facts.rememberedId}): not the filesystem it was on before; nothing is cleaned (after moving footage on purpose, run once with --new-root)`
        : `${root} has lost its marker file (expected ${facts.rememberedId}): not the filesystem it was on before — an unmounted disk? Nothing is cleaned (after moving footage on purpose, run once with --new-root)`,
      writeMarker: false,
    };
  }
  return { writeMarker: facts.marker === undefined };
}

export function minFreeTarget(minFree: MinFree, fs: FsFacts): number {
  return 'bytes' in minFree ? minFree.bytes : Math.ceil((minFree.percent / 100) * fs.sizeBytes);
}

/** Counts hard-linked files once and knows when removing a link really frees its bytes. */
export class Ledger {
  private readonly multi = new Map<
    string,
    { bytes: number; nlink: number; seen: number; removed: number }
  >();

  /** Bytes this file adds to the managed total: 0 for a second link to a file already counted. */
  count(f: FileFacts): number {
    if (f.nlink <= 1) return f.bytes;
    const key = `${f.dev}:${f.ino}`;
    const entry = this.multi.get(key);
    if (entry) {
      entry.seen++;
      return 0;
    }
    this.multi.set(key, { bytes: f.bytes, nlink: f.nlink, seen: 1, removed: 0 });
    return f.bytes;
  }

  /** Bytes removing this path frees: only the last link does, and never when a link lives outside our roots. */
  remove(f: FileFacts): number {
    if (f.nlink <= 1) return f.bytes;
    const entry = this.multi.get(`${f.dev}:${f.ino}`);
    if (!entry) return 0;
    entry.removed++;
    return entry.removed === entry.nlink ? entry.bytes : 0;
  }

  /** A copy, for a walk that must not disturb this one. */
  clone(): Ledger {
    const copy = new Ledger();
    for (const [k, v] of this.multi) copy.multi.set(k, { ...v });
    return copy;
  }

  /** A copy that has counted every link but removed none. */
  withoutRemovals(): Ledger {
    const copy = this.clone();
    for (const v of copy.multi.values()) v.removed = 0;
    return copy;
  }

  /** Bytes of this path in the managed total (first link only). */
  counted(f: FileFacts): number {
    return f.nlink <= 1 ? f.bytes : 0;
  }
}

function unitBytes(u: Unit): number {
  let bytes = 0;
  for (const f of u.files) bytes += f.bytes;
  return bytes;
}

/** The last minute localMinute wrote: removals come oldest first, many in the same minute. */
let lastMinute = { ms: NaN, text: '' };

/** `yyyy-MM-dd HH:mm` in local time; by hand, since it is made for every planned removal. */
function localMinute(ms: number | Date): string {
  const t = typeof ms === 'number' ? ms : ms.getTime();
  // A local minute never straddles a UTC minute boundary (offsets are whole minutes).
  const minute = Math.floor(t / 60_000) * 60_000;
  if (minute === lastMinute.ms) return lastMinute.text;
  const d = new Date(t);
  const p = (n: number): string => (n < 10 ? `0${n}` : String(n));
  const text = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
  lastMinute = { ms: minute, text };
  return text;
}

function label(u: Unit): string {
  return `recorded ${localMinute(u.recordedAt)}`;
}

/** Why a unit may not be removed by any rule, or undefined. */
export function protection(u: Unit, settings: RetentionSettings, now: Date): string | undefined {
  const ms = now.getTime();
  const window = ms - settings.protectSeconds * 1000;
  if (u.recordedAt.getTime() > window)
    return `${label(u)}, inside the protection window (${Math.round(settings.protectSeconds / 3600)}h)`;
  // Only sources are written by others (camera uploads); archives appear by atomic rename.
  if (u.root === 'source' && settings.settleSeconds > 0) {
    let newest = 0;
    for (const f of u.files) newest = Math.max(newest, f.mtimeMs);
    if (newest > ms - settings.settleSeconds * 1000)
      return `modified ${Math.max(0, Math.round((ms - newest) / 1000))}s ago: may still be uploading`;
  }
  // A camera whose clock was reset names fresh footage `…_20000101000000.mp4`: the name alone would
  // make it the oldest footage of all. Sources are judged by the later of name and modification
  // time. (Archives are written at transcode time and the trash keeps the source's mtime, so only
  // sources need it.)
  if (u.root === 'source') {
    let newest = 0;
    for (const f of u.files) newest = Math.max(newest, f.mtimeMs);
    if (newest > window)
      return `modified ${localMinute(newest)} although named ${localMinute(u.recordedAt)}, inside the protection window (${Math.round(settings.protectSeconds / 3600)}h)`;
  }
  return undefined;
}

/** `<trash>/input/<rel>` for sources (as the archive run), `<trash>/output/<rel>` for archives. */
/** Whether `p` from `from` on has no `.`/`..` segment and no empty one (path.join would change it). */
export function normalisedFrom(p: string, from: number): boolean {
  return (
    !p.includes('/./', from) &&
    !p.includes('/../', from) &&
    !p.includes('//', from) &&
    !p.endsWith('/.') &&
    !p.endsWith('/..')
  );
}

export function retentionTrashPath(settings: RetentionSettings, u: Unit, f: FileFacts): string {
  const from = u.root === 'archive' ? settings.outputRoot : settings.root;
  const under = u.root === 'archive' ? 'output' : 'input';
  // A file the inventory read is `<from>/<relDir>/<name>`, already normalised: joined by hand,
  // since the age rule makes one for every file it moves (path.relative costs a microsecond).
  const trash = settings.trashRoot;
  if (
    f.path.startsWith(from) &&
    f.path.charCodeAt(from.length) === 47 &&
    !from.endsWith('/') &&
    !trash.endsWith('/') &&
    normalisedFrom(f.path, from.length)
  )
    return `${trash}/${under}/${f.path.slice(from.length + 1)}`;
  return path.join(trash, under, path.relative(from, f.path));
}

function removal(
  u: Unit,
  rule: RetentionRule,
  reason: string,
  permanent: boolean,
  settings: RetentionSettings,
  /** False in the counting passes, which book moves by their files: no trash paths are made. */
  withMoves = true,
): RemovalAction {
  // One literal, not spread from a shared base: one is made per removal of the tree (twice), and
  // a spread copy cost a tenth of a big plan's time. Same key order as ever (JSON output): a
  // move into the trash gets its `moves` last.
  const { root, kind: unit, camera, recordedAt, files } = u;
  const trashing = root !== 'trash' && !permanent;
  const action: RemovalBase & {
    kind: RemovalAction['kind'];
    permanent: boolean;
    moves?: FileMove[];
  } = {
    root,
    unit,
    camera,
    recordedAt,
    files,
    bytes: unitBytes(u),
    freedBytes: 0,
    rule,
    reason,
    kind: removalKind({ root, permanent: !trashing }),
    permanent: !trashing,
  };
  if (trashing) {
    const moves: FileMove[] = [];
    if (withMoves)
      for (const f of files) moves.push({ from: f.path, to: retentionTrashPath(settings, u, f) });
    action.moves = moves;
  }
  // kind, permanent and moves were set together above, as exactly one member of the union has them.
  return action as RemovalAction;
}

/**
 * `now` minus whole calendar days (date-fns' subDays, so DST days count as days), remembered: the
 * rules ask for the same few limits once per unit of the tree.
 */
const dayLimits = new Map<number, { now: number; ms: number }>();
function daysBefore(now: Date, days: number): number {
  const known = dayLimits.get(days);
  if (known?.now === now.getTime()) return known.ms;
  const ms = subDays(now, days).getTime();
  dayLimits.set(days, { now: now.getTime(), ms });
  return ms;
}

/**
 * The per-unit rules that need no totals: trash retention and age. Without `describe` (the
 * counting passes) the reason and a move's trash paths are left empty: only the replay's actions
 * are shown or carried out.
 */
export function ruleFor(
  u: Unit,
  settings: RetentionSettings,
  now: Date,
  describe = true,
): RemovalAction | undefined {
  if (u.root === 'trash') {
    if (settings.trashDays <= 0) return undefined;
    let trashedAt = 0;
    for (const f of u.files) trashedAt = Math.max(trashedAt, f.ctimeMs);
    if (trashedAt >= daysBefore(now, settings.trashDays)) return undefined;
    const days = Math.floor((now.getTime() - trashedAt) / 86_400_000);
    return removal(
      u,
      'trash-days',
      describe ? `in the trash for ${days} days, over --trash-days ${settings.trashDays}` : '',
      true,
      settings,
    );
  }
  if (u.root === 'archive' && !settings.cleanOutput) return undefined;
  const archiveAge = u.root === 'archive' ? settings.archiveAgeDays : undefined;
  const days = archiveAge ?? settings.ageDays;
  if (days <= 0) return undefined;
  if (u.recordedAt.getTime() >= daysBefore(now, days)) return undefined;
  if (!describe) return removal(u, 'age', '', settings.disposal === 'delete', settings, false);
  const what =
    u.kind === 'orphan-thumbnail'
      ? 'thumbnail without a clip'
      : u.kind === 'archive'
        ? 'archive'
        : 'clip';
  return removal(
    u,
    'age',
    archiveAge !== undefined
      ? `${what} ${label(u)}, older than --archive-age ${archiveAge} days`
      : `${what} ${label(u)}, older than --age ${settings.ageDays} days${u.root === 'archive' ? ' (--clean-output)' : ''}`,
    settings.disposal === 'delete',
    settings,
  );
}

function emptyBreakdown(): Breakdown {
  return { source: 0, archive: 0, trash: 0, total: 0 };
}

function addTo(b: Breakdown, root: RootKind, bytes: number): void {
  b[root] += bytes;
  b.total += bytes;
}

/** The two 32-bit halves of a double, for hashing numbers without writing them out as text. */
const hashF64 = new Float64Array(1);
const hashU32 = new Uint32Array(hashF64.buffer);

/**
 * A 53-bit fingerprint of what lstat said about a file: path, size, inode, device, mtime. Made
 * twice for every file a plan removes (when planned, when replayed): the numbers are hashed as
 * their bits, not as text.
 */
export function fingerprint(f: FileFacts): number {
  let a = 0x811c9dc5;
  let b = 0x01000193;
  const text = f.path;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
  }
  for (const v of [f.bytes, f.ino, f.dev, f.mtimeMs]) {
    hashF64[0] = v;
    for (let k = 0; k < 2; k++) {
      const c = hashU32[k] ?? 0;
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
    }
  }
  return (a >>> 0) * 0x200000 + ((b >>> 0) & 0x1fffff);
}

/**
 * The fingerprints of every file the plan removes: 8 bytes each, sorted once, searched by the
 * replay so that a file changed (or appeared) since planning is left alone, as the plan promised.
 */
class FingerprintSet {
  private values = new Float64Array(1024);
  private size = 0;
  private sealed = false;

  add(f: FileFacts): void {
    this.addPrint(fingerprint(f));
  }

  addPrint(print: number): void {
    if (this.size === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.size++] = print;
    this.sealed = false;
  }

  has(f: FileFacts): boolean {
    if (!this.sealed) {
      this.values = this.values.slice(0, this.size).sort();
      this.sealed = true;
    }
    const x = fingerprint(f);
    let lo = 0;
    let hi = this.size - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.values[mid] ?? 0;
      if (v === x) return true;
      if (v < x) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }
}

/** Where a unit stands in removal order: stream (0 trash, 1 footage), date batch, time, path. */
interface Position {
  stream: number;
  date: string;
  time: number;
  key: string;
}

function comparePos(a: Position, b: Position): number {
  return a.stream - b.stream || cmp(a.date, b.date) || a.time - b.time || cmp(a.key, b.key);
}

function posOf(stream: number, date: string, u: Unit): Position {
  return { stream, date, time: u.recordedAt.getTime(), key: keyOf(u) };
}

/** Running totals of a plan; cloned so that the selection pass and each replay start alike. */
interface Tally {
  after: Breakdown;
  /** Bytes the permanent removals free, everywhere and on the footage filesystem. */
  freed: number;
  freedOnFs: number;
  /** Of freedOnFs, what the caps freed (what --min-free and bytesToFree count). */
  freedForFree: number;
  ledger: Ledger;
}

function cloneTally(t: Tally): Tally {
  return { ...t, after: { ...t.after }, ledger: t.ledger.clone() };
}

/** Books a removal into running totals (never re-added: each costs the same at any plan size). */
function account(t: Tally, a: RemovalAction, fs: FsFacts | undefined): void {
  if (a.permanent) {
    let freed = 0;
    for (const f of a.files) freed += t.ledger.remove(f);
    a.freedBytes = freed;
    for (const f of a.files) addTo(t.after, a.root, -t.ledger.counted(f));
    t.freed += freed;
    if (fs === undefined || a.files.every((f) => f.dev === fs.dev)) t.freedOnFs += freed;
  } else {
    // Into the trash: the bytes change place, not amount.
    for (const f of a.files) {
      const counted = t.ledger.counted(f);
      addTo(t.after, a.root, -counted);
      addTo(t.after, 'trash', counted);
    }
  }
}

/**
 * Per-day bookkeeping for the empty-folder prunes: one entry per day folder, never per file. A
 * unit's files all lie in its day folder (`relDir`), and a move takes them to the same relative
 * folder under the trash's `input/` (sources) or `output/` (archives).
 */
class DayBook {
  readonly entries = new Map<string, number>();
  readonly removed = new Map<string, number>();
  readonly moveTargets = new Map<string, number>();
  /** The entry counts last copied: every sub-batch of a date shares its date's. */
  private copied: ReadonlyMap<string, number> | undefined;

  add(a: RemovalAction, unit: Unit, batch: DateBatch): void {
    if (batch.dayEntries !== this.copied) {
      for (const [k, v] of batch.dayEntries) this.entries.set(k, v);
      this.copied = batch.dayEntries;
    }
    bump(this.removed, `${a.root}:${unit.relDir}`, a.files.length);
    if (a.kind === 'trash') this.moves(a, unit, 1);
  }

  /** Every cap candidate of a date (see CapDays), at once. */
  addDay(day: CapDay): void {
    for (const [k, v] of day.dayEntries) this.entries.set(k, v);
    for (const [k, v] of day.removed) bump(this.removed, k, v);
    for (const [k, v] of day.unmoved) bump(this.moveTargets, k, -v);
  }

  /** An age-rule move into the trash became a deletion: its target folder receives nothing. */
  unmove(a: RemovalAction, unit: Unit): void {
    if (a.kind === 'trash') this.moves(a, unit, -1);
  }

  private moves(a: TrashMoveAction, unit: Unit, by: number): void {
    const under = unit.root === 'archive' ? 'output' : 'input';
    bump(this.moveTargets, `trash:${under}/${unit.relDir}`, by * a.files.length);
  }
}

/**
 * What a date's removals do, by kind of removal and kind of unit (`trash clip`, `delete archive`,
 * `purge-trash trash`, …): what a summarised text plan prints for a day without replaying it.
 */
export type DayRemovals = Map<string, { count: number; bytes: number }>;

/** The kind of removal an action of this root and permanence is (`removal` makes it so). */
export function removalKind(a: Pick<RemovalAction, 'root' | 'permanent'>): RemovalAction['kind'] {
  return a.root === 'trash' ? 'purge-trash' : a.permanent ? 'delete' : 'trash';
}

/** A DayRemovals key: `trash clip`, `delete archive`, `purge-trash trash`, … */
export function removalPart(a: Pick<RemovalAction, 'root' | 'permanent' | 'unit'>): string {
  return `${removalKind(a)} ${a.unit}`;
}

/**
 * Removals per stream and date (`0 2025-01-15` for trash purges, `1 …` for footage), booked
 * wherever the plan's counts are: the count pass's per-unit rules, the selection's removals,
 * whole dates taken from the count pass, and age-rule moves a cap turned into deletions.
 * `test/unit/retention.test.ts` checks it against what the replay yields.
 */
export class RemovalsByDay {
  readonly byKey = new Map<string, DayRemovals>();

  book(
    key: string,
    a: Pick<RemovalAction, 'root' | 'permanent' | 'unit' | 'bytes'>,
    sign: 1 | -1,
  ): void {
    addRemoval(this.day(key), removalPart(a), sign, sign * a.bytes);
  }

  addAll(key: string, removals: DayRemovals): void {
    const day = this.day(key);
    for (const [part, r] of removals) addRemoval(day, part, r.count, r.bytes);
  }

  /** Days in plan order (trash purges, then footage; each by date), from `fromKey` on. */
  *days(fromKey = ''): Generator<[string, DayRemovals]> {
    for (const key of [...this.byKey.keys()].sort())
      if (key >= fromKey) yield [key, this.byKey.get(key) ?? new Map()];
  }

  private day(key: string): DayRemovals {
    let day = this.byKey.get(key);
    if (!day) this.byKey.set(key, (day = new Map()));
    return day;
  }
}

/** Adds `count` removals of `bytes` to a day's part (negative: a booking undone). */
export function addRemoval(day: DayRemovals, part: string, count: number, bytes: number): void {
  const r = day.get(part);
  if (r) {
    r.count += count;
    r.bytes += bytes;
  } else day.set(part, { count, bytes });
}

/** The RemovalsByDay key of a date of a stream. */
export function dayKey(s: Stream, date: string): string {
  return `${s} ${date}`;
}

function bump(m: Map<string, number>, key: string, by: number): void {
  m.set(key, (m.get(key) ?? 0) + by);
}

function whatOf(unit: Unit): string {
  return unit.root === 'trash'
    ? 'trashed file'
    : unit.kind === 'archive'
      ? 'archive'
      : unit.kind === 'orphan-thumbnail'
        ? 'thumbnail without a clip'
        : 'clip';
}

/**
 * Whether a cap may take this unit at all. Archives only with --clean-output. A source recorded
 * within --age has not been archived yet (the nightly run archives what is older), so a cap never
 * removes it: the newest evidence is never what makes room for old footage.
 */
export function capEligible(unit: Unit, settings: RetentionSettings, now: Date): boolean {
  if (unit.root === 'archive') return settings.cleanOutput;
  if (unit.root === 'source' && settings.ageDays > 0)
    return unit.recordedAt.getTime() < daysBefore(now, settings.ageDays);
  return true;
}

/**
 * The caps' walk, one unit at a time in removal order. It depends only on its starting Tally and
 * the units it is shown, so the selection pass and every replay make the same decisions.
 */
class CapWalk {
  readonly tally: Tally;
  /** Last unit the selection pass took: a replay never takes anything after it. */
  last: Position | undefined;
  constructor(
    start: Tally,
    private readonly settings: RetentionSettings,
    private readonly before: Breakdown,
    private readonly freeNeed: number,
    private readonly fs: FsFacts | undefined,
    private readonly now: Date,
    /** Undefined: no limit (the selection pass); null: take nothing (the selection took nothing). */
    private readonly limit: Position | null | undefined,
    /** The selection pass only needs the decisions; the replay writes the reasons. */
    private readonly describe: boolean,
  ) {
    this.tally = cloneTally(start);
  }

  sizeNeed(): number {
    const cap = this.settings.maxSizeBytes;
    return cap === undefined ? 0 : Math.max(0, this.total() - cap);
  }

  total(): number {
    return Math.max(0, this.before.total - this.tally.freed);
  }

  met(): boolean {
    return this.sizeNeed() <= 0 && this.tally.freedForFree >= this.freeNeed;
  }

  /** The cap's removal of this unprotected unit, or undefined; `age` is the age rule's action. */
  step(unit: Unit, pos: Position, age: RemovalAction | undefined): RemovalAction | undefined {
    if (this.met()) return undefined;
    if (this.limit === null || (this.limit && comparePos(pos, this.limit) > 0)) return undefined;
    const { settings, tally } = this;
    if (!capEligible(unit, settings, this.now)) return undefined;
    if (age?.permanent) return undefined;
    const onFs = this.fs === undefined || unit.files.every((f) => f.dev === this.fs?.dev);
    const wantSize = this.sizeNeed() > 0;
    const wantFree = tally.freedForFree < this.freeNeed && onFs;
    if (!wantSize && !wantFree) return undefined;
    const rule: RetentionRule = wantSize ? 'max-size' : 'min-free';
    const still = this.freeNeed - tally.freedForFree;
    const capText = !this.describe
      ? ''
      : rule === 'max-size'
        ? `over --max-size ${formatBytes(settings.maxSizeBytes ?? 0)} by ${formatBytes(this.sizeNeed())}`
        : settings.bytesToFree !== undefined
          ? `the disk needs ${formatBytes(still)} more free space`
          : `free space below --min-free: ${formatBytes(still)} still to free`;
    const reason = this.describe
      ? `oldest ${whatOf(unit)} (${label(unit)}); ${capText}; deleted permanently${age ? ' instead of trashed' : ''} (trashing on the same disk frees nothing)`
      : '';
    const action = removal(unit, rule, reason, true, settings);
    if (age) {
      // Undo the move into the trash that the age rule had planned.
      for (const f of age.files) {
        const counted = tally.ledger.counted(f);
        addTo(tally.after, 'trash', -counted);
        addTo(tally.after, unit.root, counted);
      }
    }
    const freedBefore = tally.freedOnFs;
    account(tally, action, this.fs);
    tally.freedForFree += tally.freedOnFs - freedBefore;
    this.last = pos;
    return action;
  }
}

export interface PlanOptions {
  /** Checked between date batches: planning and replay stop promptly once it fires. */
  signal?: AbortSignal | undefined;
  /**
   * Only what the removals need, not the totals (record's storage guard): with no per-unit rule
   * and no --max-size, the count pass is skipped and the walk reads only the oldest days it
   * removes from. `before` and `after` then cover only what was read.
   */
  partial?: boolean | undefined;
  /**
   * False: the plain walks — the selection reads every date unit by unit instead of taking whole
   * dates from the count pass's totals, and the replay reads archives even when none can be
   * removed. The same plan either way (the reference test/unit/retention.test.ts compares the
   * shortcuts against); only slower.
   */
  shortcuts?: boolean | undefined;
}

function emptyCounts(): PlanCounts {
  return {
    protected: 0,
    units: 0,
    removals: 0,
    footageFilesRemoved: 0,
    footageBytesRemoved: 0,
    permanent: 0,
    permanentBytes: 0,
    movedToTrash: 0,
    movedBytes: 0,
    capRemovals: 0,
    prunes: 0,
  };
}

function addCounts(to: PlanCounts, delta: PlanCounts): void {
  for (const key of Object.keys(delta) as (keyof PlanCounts)[]) to[key] += delta[key];
}

function book(
  counts: PlanCounts,
  a: Pick<RemovalAction, 'root' | 'files' | 'bytes' | 'permanent' | 'rule'>,
  sign: 1 | -1,
): void {
  counts.removals += sign;
  if (a.root !== 'trash') {
    counts.footageFilesRemoved += sign * a.files.length;
    counts.footageBytesRemoved += sign * a.bytes;
  }
  if (a.permanent) {
    counts.permanent += sign;
    counts.permanentBytes += sign * a.bytes;
  } else {
    counts.movedToTrash += sign;
    counts.movedBytes += sign * a.bytes;
  }
  if (a.rule === 'max-size' || a.rule === 'min-free') counts.capRemovals += sign;
}

/** Units of a batch in removal order: oldest first, then by path (a new array; the batch stays). */
function sortedUnits(batch: DateBatch): Unit[] {
  return batch.units.slice().sort(byTime);
}

/** Thrown by a replay whose abort signal fired between batches. */
export class PlanInterrupted extends Error {
  constructor() {
    super('retention planning was interrupted');
    this.name = 'PlanInterrupted';
  }
}

/** The two streams in removal order: the trash first, then footage (sources and archives). */
const STREAMS = [0, 1] as const;
type Stream = (typeof STREAMS)[number];

/**
 * What the caps would take from one date of one stream, booked by the count pass: when a cap
 * needs more than all of it, the selection takes the whole date from here without reading it
 * again. Only a date whose candidates are plain files on the footage filesystem (one link each)
 * qualifies; any other date is read and walked unit by unit.
 */
interface CapDay {
  date: string;
  dayEntries: ReadonlyMap<string, number>;
  /** Every candidate has one link and lies on the footage filesystem. */
  simple: boolean;
  /** Candidates: unprotected units a cap may take (see CapWalk.step). */
  units: number;
  /** Bytes taking every candidate frees. */
  freed: number;
  /** Change to the after-plan totals, and to the plan's counts, when every candidate is taken. */
  after: Breakdown;
  counts: PlanCounts;
  /** Files removed per day folder (`root:relDir`), and age-rule moves undone per trash folder. */
  removed: Map<string, number>;
  unmoved: Map<string, number>;
  /** Fingerprints of the candidates' files the age rule had not planned already. */
  prints: number[];
  /** The last candidate, where the selection's position ends when it takes the date. */
  lastUnit: Unit | undefined;
  /** Taking every candidate, by kind (the age rule's moves they replace subtracted). */
  removals: DayRemovals;
}

function capDay(batch: DateBatch): CapDay {
  return {
    date: batch.date,
    dayEntries: batch.dayEntries,
    simple: true,
    units: 0,
    freed: 0,
    after: emptyBreakdown(),
    counts: emptyCounts(),
    removals: new Map(),
    removed: new Map(),
    unmoved: new Map(),
    prints: [],
    lastUnit: undefined,
  };
}

/** The count pass's CapDay per stream, in date order. */
class CapDays {
  readonly of: [CapDay[], CapDay[]] = [[], []];

  constructor(
    private readonly settings: RetentionSettings,
    private readonly fs: FsFacts | undefined,
    private readonly now: Date,
  ) {}

  /** Books an unprotected unit (with the age rule's action, if any) as a cap would take it. */
  note(s: Stream, batch: DateBatch, unit: Unit, age: RemovalAction | undefined): void {
    if (!capEligible(unit, this.settings, this.now) || age?.permanent) return;
    const days = this.of[s];
    let day = days[days.length - 1];
    if (day?.date !== batch.date) days.push((day = capDay(batch)));
    const fsDev = this.fs?.dev;
    for (const f of unit.files)
      if (f.nlink > 1 || (fsDev !== undefined && f.dev !== fsDev)) day.simple = false;
    if (!day.simple) return;
    const bytes = unitBytes(unit);
    day.units++;
    day.freed += bytes;
    book(
      day.counts,
      { root: unit.root, files: unit.files, bytes, permanent: true, rule: 'max-size' },
      1,
    );
    addRemoval(
      day.removals,
      removalPart({ root: unit.root, permanent: true, unit: unit.kind }),
      1,
      bytes,
    );
    if (age) {
      // The cap deletes what the age rule would have moved: the move is undone.
      book(day.counts, age, -1);
      addRemoval(day.removals, removalPart(age), -1, -age.bytes);
      addTo(day.after, 'trash', -bytes);
      const under = unit.root === 'archive' ? 'output' : 'input';
      bump(day.unmoved, `trash:${under}/${unit.relDir}`, unit.files.length);
    } else {
      addTo(day.after, unit.root, -bytes);
      bump(day.removed, `${unit.root}:${unit.relDir}`, unit.files.length);
      for (const f of unit.files) day.prints.push(fingerprint(f));
    }
    day.lastUnit = unit;
  }
}

/**
 * One planning run: its inputs, the running totals the passes share, and what the replay needs.
 * Each pass is a method; planRetention below strings them together.
 */
class Planner {
  readonly before = emptyBreakdown();
  readonly counts = emptyCounts();
  steps = 0;
  /** Totals after the per-unit rules: the start of the selection and of every replay. */
  readonly start: Tally = {
    after: emptyBreakdown(),
    freed: 0,
    freedOnFs: 0,
    freedForFree: 0,
    ledger: new Ledger(),
  };
  readonly days = new DayBook();
  readonly removalsByDay = new RemovalsByDay();
  readonly planned = new FingerprintSet();
  /** Per stream, the position of its last removal: a replay reads no further. */
  readonly lastOf: (Position | undefined)[] = [undefined, undefined];
  /** Bytes --min-free (or bytesToFree) still asks for after the per-unit rules. */
  freeNeed = 0;
  /** Record's storage guard: no count pass, only the oldest days it removes from are read. */
  readonly partial: boolean;
  /** With a cap: what it would take from each date, so the selection reads few dates again. */
  readonly capDays: CapDays | undefined;
  private readonly signal: AbortSignal | undefined;
  private readonly replaySourcesOnly: boolean;

  constructor(
    private readonly inventory: RetentionInventory,
    readonly settings: RetentionSettings,
    readonly fs: FsFacts | undefined,
    readonly now: Date,
    options: PlanOptions,
  ) {
    this.signal = options.signal;
    const partial = options.partial === true;
    const perUnitRules =
      settings.trashDays > 0 ||
      settings.ageDays > 0 ||
      (settings.cleanOutput && (settings.archiveAgeDays ?? 0) > 0);
    this.partial = partial && !perUnitRules && settings.maxSizeBytes === undefined;
    const cap =
      settings.maxSizeBytes !== undefined ||
      settings.minFree !== undefined ||
      settings.bytesToFree !== undefined;
    const shortcuts = options.shortcuts !== false;
    this.capDays = cap && !this.partial && shortcuts ? new CapDays(settings, fs, now) : undefined;
    // Without --clean-output no archive is removed, and in a replay an archive changes nothing
    // (protection, the rules and the caps all pass it by): its day folders need not be read.
    // (A partial plan counts links as it goes, so it reads them.)
    this.replaySourcesOnly = shortcuts && !this.partial && !settings.cleanOutput;
  }

  aborted(): boolean {
    return this.signal?.aborted === true;
  }

  open(
    stream: Stream,
    through?: string,
    readDate?: ReadDate,
    sourcesOnly = false,
  ): AsyncIterable<DateBatch> {
    return stream === 0
      ? this.inventory.trash(through, readDate)
      : this.inventory.footage(through, readDate, sourcesOnly);
  }

  /** Adds a unit's files to the managed totals (each byte once); returns nothing. */
  countFiles(unit: Unit, tally: Tally): void {
    for (const f of unit.files) {
      const c = tally.ledger.count(f);
      addTo(this.before, unit.root, c);
      addTo(tally.after, unit.root, c);
    }
  }

  /** Books a removal the plan makes: counts, prunes, fingerprints, how far the replay reads. */
  plan(s: Stream, batch: DateBatch, unit: Unit, action: RemovalAction): void {
    for (const f of action.files) this.planned.add(f);
    this.days.add(action, unit, batch);
    book(this.counts, action, 1);
    this.removalsByDay.book(dayKey(s, batch.date), action, 1);
    this.advanceLast(s, posOf(s, batch.date, unit));
  }

  /** The selection may remove before the count pass's last removal: the later one counts. */
  advanceLast(s: Stream, pos: Position): void {
    const last = this.lastOf[s];
    if (!last || comparePos(pos, last) > 0) this.lastOf[s] = pos;
  }

  /**
   * Pass 1: every byte counted once; the rules that need no totals (trash retention, age) booked
   * as they are met. Returns false when interrupted.
   */
  async count(): Promise<boolean> {
    for (const s of this.partial ? [] : STREAMS)
      for await (const batch of this.open(s)) {
        if (this.aborted()) return false;
        for (const unit of sortedUnits(batch)) this.countUnit(s, batch, unit);
      }
    this.start.after.total = Math.max(0, this.before.total - this.start.freed);
    this.freeNeed = this.freeNeedAfterRules();
    return true;
  }

  private countUnit(s: Stream, batch: DateBatch, unit: Unit): void {
    this.steps++;
    this.counts.units++;
    this.countFiles(unit, this.start);
    if (protection(unit, this.settings, this.now)) {
      this.counts.protected++;
      return;
    }
    const action = ruleFor(unit, this.settings, this.now, false);
    this.capDays?.note(s, batch, unit, action);
    if (!action) return;
    account(this.start, action, this.fs);
    this.plan(s, batch, unit, action);
  }

  private freeNeedAfterRules(): number {
    const { settings, fs, start } = this;
    if (settings.bytesToFree !== undefined)
      return Math.max(0, settings.bytesToFree - start.freedOnFs);
    if (!settings.minFree || !fs) return 0;
    const target = minFreeTarget(settings.minFree, fs);
    if (fs.freeBytes + start.freedOnFs >= target) return 0;
    return Math.ceil(target * (1 + MIN_FREE_HYSTERESIS)) - fs.freeBytes - start.freedOnFs;
  }

  /** A cap walk from the start totals: the selection (no limit) or a replay (up to `limit`). */
  walk(limit: Position | null | undefined, describe: boolean): CapWalk {
    const { start, settings, before, freeNeed, fs, now } = this;
    return new CapWalk(start, settings, before, freeNeed, fs, now, limit, describe);
  }

  /**
   * Pass 2, only when a cap is exceeded: trash first, then footage, oldest first, permanently,
   * until the caps are met. Returns false when interrupted.
   */
  async select(selection: CapWalk): Promise<boolean> {
    for (const s of STREAMS) {
      const readDate = this.dateReader(selection, s);
      for await (const batch of this.open(s, undefined, readDate)) {
        if (this.aborted()) return false;
        if (selection.met()) return true;
        if (!readDate(batch.date)) continue;
        for (const unit of sortedUnits(batch)) {
          if (selection.met()) return true;
          this.selectUnit(selection, s, batch, unit);
        }
      }
    }
    return true;
  }

  /**
   * Decides, once per date and in date order, whether the selection must read it: not when the
   * caps are met, nor when they need more than the whole date frees (then it is taken whole from
   * the count pass's CapDay).
   */
  private dateReader(selection: CapWalk, s: Stream): ReadDate {
    const days = this.capDays?.of[s] ?? [];
    let next = 0;
    let decided: { date: string; read: boolean } | undefined;
    return (date) => {
      if (decided?.date === date) return decided.read;
      while ((days[next]?.date ?? '\uffff') < date) next++;
      const day = days[next]?.date === date ? days[next] : undefined;
      const read = !selection.met() && !(day && this.takeWhole(selection, s, day));
      decided = { date, read };
      return read;
    };
  }

  /** Takes every candidate of a date at once when the caps need more than all of them free. */
  private takeWhole(selection: CapWalk, s: Stream, day: CapDay): boolean {
    const tally = selection.tally;
    const freeLeft = this.freeNeed - tally.freedForFree;
    if (!day.simple || !day.lastUnit || !(selection.sizeNeed() > day.freed || freeLeft > day.freed))
      return false;
    tally.freed += day.freed;
    tally.freedOnFs += day.freed;
    tally.freedForFree += day.freed;
    for (const root of ['source', 'archive', 'trash'] as const)
      addTo(tally.after, root, day.after[root]);
    addCounts(this.counts, day.counts);
    this.removalsByDay.addAll(dayKey(s, day.date), day.removals);
    this.days.addDay(day);
    for (const print of day.prints) this.planned.addPrint(print);
    const pos = posOf(s, day.date, day.lastUnit);
    selection.last = pos;
    this.advanceLast(s, pos);
    this.steps += day.units;
    return true;
  }

  private selectUnit(selection: CapWalk, s: Stream, batch: DateBatch, unit: Unit): void {
    this.steps++;
    if (this.partial) {
      this.counts.units++;
      this.countFiles(unit, selection.tally);
    }
    if (protection(unit, this.settings, this.now)) return;
    const age = ruleFor(unit, this.settings, this.now, false);
    const action = selection.step(unit, posOf(s, batch.date, unit), age);
    if (!action) return;
    if (age) {
      // The age rule's booking is replaced by the cap's deletion.
      book(this.counts, age, -1);
      this.days.unmove(age, unit);
      book(this.counts, action, 1);
      this.removalsByDay.book(dayKey(s, batch.date), age, -1);
      this.removalsByDay.book(dayKey(s, batch.date), action, 1);
      this.advanceLast(s, posOf(s, batch.date, unit));
    } else this.plan(s, batch, unit, action);
  }

  /**
   * Pass 3, on demand: the same walks again up to each stream's last removal, making the same
   * decisions from the same starting totals and yielding each action as it is made, then prunes.
   */
  async *replay(
    limit: Position | null,
    prunes: RetentionAction[],
  ): AsyncGenerator<RetentionAction> {
    const walk = this.walk(limit, true);
    const ageLedger = this.start.ledger.withoutRemovals();
    for (const s of STREAMS) {
      const last = this.lastOf[s];
      if (!last) continue;
      // Not a day further than the last removal: the storage guard reads only what it removes.
      for await (const batch of this.open(s, last.date, undefined, this.replaySourcesOnly)) {
        if (this.aborted()) throw new PlanInterrupted();
        if (batch.date > last.date) break;
        for (const unit of sortedUnits(batch)) {
          const action = this.replayUnit(walk, ageLedger, s, batch, unit);
          if (action) yield action;
        }
      }
    }
    yield* prunes;
  }

  private replayUnit(
    walk: CapWalk,
    ageLedger: Ledger,
    s: Stream,
    batch: DateBatch,
    unit: Unit,
  ): RemovalAction | undefined {
    if (this.partial) for (const f of unit.files) walk.tally.ledger.count(f);
    if (protection(unit, this.settings, this.now)) return undefined;
    const age = ruleFor(unit, this.settings, this.now);
    const action = walk.step(unit, posOf(s, batch.date, unit), age);
    const chosen = action ?? age;
    if (chosen && !chosen.files.every((f) => this.planned.has(f)))
      chosen.stale = 'changed or appeared since the plan was made; left alone';
    if (action || !age) return action;
    // Pass 1 booked the age rule already; only its freed bytes are worked out again, in the
    // same order, so that hard links free their bytes with the same last link.
    if (age.permanent) {
      let freed = 0;
      for (const f of age.files) freed += ageLedger.remove(f);
      age.freedBytes = freed;
    }
    return age;
  }
}

/** A plan that does nothing: refused before planning, or interrupted while planning. */
function noPlan(p: Planner, extra: Partial<RetentionPlan>): RetentionPlan {
  return {
    actions: async function* () {},
    before: p.before,
    after: p.before,
    freeBefore: p.fs?.freeBytes,
    freeAfter: p.fs?.freeBytes,
    needs: { maxSize: 0, minFree: 0 },
    shortfall: false,
    counts: p.counts,
    writeMarker: false,
    interrupted: false,
    steps: p.steps,
    removalsByDay: p.removalsByDay,
    ...extra,
  };
}

/**
 * Plans retention in time linear in the number of files and memory bounded by one date's files
 * (plus an entry per day folder and 8 bytes per removed file):
 *   1. count: trash then footage, each byte once; the per-unit rules (trash retention, age) are
 *      booked into running totals as they are met;
 *   2. select, only when a cap is exceeded: trash then footage again in removal order, oldest
 *      first, until the caps are met — remembering only where it stopped;
 *   3. replay, on demand (`plan.actions()`): the streams again up to the last removal, making the
 *      same decisions from the same starting totals, yielding each action as it is made.
 * Order: trash purges, then footage (each stream by date folder, then time and path within a
 * date), then the empty folders.
 */
export async function planRetention(
  inventory: RetentionInventory,
  settings: RetentionSettings,
  rootFacts: RootFacts,
  fs: FsFacts | undefined,
  now: Date,
  options: PlanOptions = {},
): Promise<RetentionPlan> {
  const p = new Planner(inventory, settings, fs, now, options);
  const judged = judgeRoot(settings.root, rootFacts);
  if (judged.refusal) return noPlan(p, { refusal: judged.refusal });
  if (!(await p.count())) return noPlan(p, { interrupted: true });
  const selection = p.walk(undefined, false);
  const needs = { maxSize: selection.sizeNeed(), minFree: p.freeNeed };
  if (!selection.met() && !(await p.select(selection))) return noPlan(p, { interrupted: true });
  const prunes = planRetentionPrunes(p.days, inventory.skeletons, settings);
  p.counts.prunes = prunes.length;
  // The replay takes nothing past the selection's last removal, even from a tree that changed.
  const limit = selection.last ?? null;
  const plan: RetentionPlan = {
    actions: () => p.replay(limit, prunes),
    before: p.before,
    after: { ...selection.tally.after, total: selection.total() },
    freeBefore: fs?.freeBytes,
    freeAfter: fs ? fs.freeBytes + selection.tally.freedOnFs : undefined,
    needs,
    shortfall: !selection.met(),
    counts: p.counts,
    writeMarker: judged.writeMarker,
    interrupted: false,
    steps: p.steps,
    removalsByDay: p.removalsByDay,
  };
  const over = exceedsMaxDelete(p.counts, p.before, settings.maxDelete);
  if (over) plan.refusal = over;
  return plan;
}

function keyOf(u: Unit): string {
  return u.files[0]?.path ?? '';
}

function byTime(a: Unit, b: Unit): number {
  return a.recordedAt.getTime() - b.recordedAt.getTime() || cmp(keyOf(a), keyOf(b));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The --max-delete guard: footage (sources and archives) only; the trash is already removed footage. */
export function exceedsMaxDelete(
  counts: Pick<PlanCounts, 'footageFilesRemoved' | 'footageBytesRemoved'>,
  before: Breakdown,
  cap: MaxDelete | undefined,
): string | undefined {
  if (!cap) return undefined;
  const files = counts.footageFilesRemoved;
  const bytes = counts.footageBytesRemoved;
  const footageBytes = before.source + before.archive;
  // Says exactly what lets this very cleanup through (the first cleanup of a long-neglected tree,
  // such as one the Python archiver left, may well remove most of it).
  const hint = (enough: string): string =>
    `nothing was removed. If that is intended, run the same command again with --max-delete ${enough} (or --max-delete none: no limit)`;
  if ('files' in cap && files > cap.files)
    return `this cleanup would remove ${files} footage files, more than --max-delete ${cap.files}: ${hint(String(files))}`;
  if ('bytes' in cap && bytes > cap.bytes)
    return `this cleanup would remove ${formatBytes(bytes)} of footage, more than --max-delete ${formatBytes(cap.bytes)}: ${hint(sizeAtLeast(bytes))}`;
  const percent = footageBytes > 0 ? (100 * bytes) / footageBytes : 0;
  if ('percent' in cap && percent > cap.percent)
    return `this cleanup would remove ${Math.round(percent)}% of all footage (${formatBytes(bytes)} of ${formatBytes(footageBytes)}), more than --max-delete ${cap.percent}%: ${hint(`${Math.min(100, Math.ceil(percent))}%`)}`;
  return undefined;
}

/** A size as typed on the command line (1024-based, as parseSize reads it), rounded up. */
function sizeAtLeast(bytes: number): string {
  for (const [unit, factor] of [
    ['TB', 1024 ** 4],
    ['GB', 1024 ** 3],
    ['MB', 1024 ** 2],
  ] as const)
    if (bytes >= factor) return `${Math.ceil(bytes / factor)}${unit}`;
  return `${Math.max(1, Math.ceil(bytes / 1024))}KB`;
}

/** Day folders whose every entry is planned to leave, and the month/year folders above them. */
function planRetentionPrunes(
  days: DayBook,
  skeletons: Partial<Record<RootKind, Skeleton>>,
  settings: RetentionSettings,
): RetentionAction[] {
  const prunes: RetentionAction[] = [];
  for (const root of ['source', 'archive', 'trash'] as const) {
    const skeleton = skeletons[root];
    if (!skeleton) continue;
    const emptied = new Set<string>();
    for (const day of skeleton.days) {
      const key = `${root}:${day.relDir}`;
      const entries = days.entries.get(key);
      // A trash day folder that the age rule moves files into is not left empty, whatever is purged.
      if (
        entries !== undefined &&
        entries > 0 &&
        days.removed.get(key) === entries &&
        !((days.moveTargets.get(key) ?? 0) > 0)
      )
        emptied.add(day.relDir);
    }
    if (emptied.size === 0) continue;
    for (const p of planPrunes(skeleton, emptied, rootPath(root, settings)))
      prunes.push({ ...p, bytes: 0, permanent: true });
  }
  return prunes;
}

export function rootPath(
  root: RootKind,
  settings: Pick<RetentionSettings, 'root' | 'outputRoot' | 'trashRoot'>,
): string {
  return root === 'source'
    ? settings.root
    : root === 'archive'
      ? settings.outputRoot
      : settings.trashRoot;
}

/**
 * Retention planner: a pure function of (inventory, settings, filesystem facts, now) → typed
 * removals, each with its rule, reason, the bytes it frees and whether it is permanent.
 *
 * The inventory is streamed oldest-first one date at a time (see retention-inventory.ts), never
 * collected whole: the planner walks it twice, once to count and apply the per-file rules (trash
 * retention, age), and — only when a cap is exceeded — once more in removal order (trash first,
 * then footage) until the caps are met. Nothing here touches the disk or the clock; tests feed
 * arrays. The shell renders the plan for a dry run and executes exactly the same actions for real.
 */
import path from 'node:path';
import { format, subDays } from 'date-fns';
import type { Skeleton } from './discovery.js';
import type { FileMove, PruneFolderAction } from './planner.js';
import { planPrunes } from './planner.js';
import { formatBytes } from './units.js';

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

export interface RetentionInventory {
  skeletons: Partial<Record<RootKind, Skeleton>>;
  /** Trash units, oldest date first. Called once per pass. */
  trash(): AsyncIterable<DateBatch>;
  /** Sources and archives, oldest date first. Called once per pass. */
  footage(): AsyncIterable<DateBatch>;
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

export interface RetentionPlan {
  actions: RetentionAction[];
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
  counts: { protected: number; units: number; removals: number; footageFilesRemoved: number };
  /** First successful run on this root: the shell writes the marker. */
  writeMarker: boolean;
}

/** Free space is restored to the target plus this fraction of it, so one run lasts more than a day. */
export const MIN_FREE_HYSTERESIS = 0.05;

const TIME = 'yyyy-MM-dd HH:mm';

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

  /** Bytes of this path in the managed total (first link only). */
  counted(f: FileFacts): number {
    return f.nlink <= 1 ? f.bytes : 0;
  }
}

function unitBytes(u: Unit): number {
  return u.files.reduce((s, f) => s + f.bytes, 0);
}

function label(u: Unit): string {
  return `recorded ${format(u.recordedAt, TIME)}`;
}

/** Why a unit may not be removed by any rule, or undefined. */
export function protection(u: Unit, settings: RetentionSettings, now: Date): string | undefined {
  const ms = now.getTime();
  if (u.recordedAt.getTime() > ms - settings.protectSeconds * 1000)
    return `${label(u)}, inside the protection window (${Math.round(settings.protectSeconds / 3600)}h)`;
  // Only sources are written by others (camera uploads); archives appear by atomic rename.
  if (u.root === 'source' && settings.settleSeconds > 0) {
    const newest = Math.max(...u.files.map((f) => f.mtimeMs));
    if (newest > ms - settings.settleSeconds * 1000)
      return `modified ${Math.max(0, Math.round((ms - newest) / 1000))}s ago: may still be uploading`;
  }
  return undefined;
}

/** `<trash>/input/<rel>` for sources (as the archive run), `<trash>/output/<rel>` for archives. */
export function retentionTrashPath(settings: RetentionSettings, u: Unit, f: FileFacts): string {
  const from = u.root === 'archive' ? settings.outputRoot : settings.root;
  return path.join(
    settings.trashRoot,
    u.root === 'archive' ? 'output' : 'input',
    path.relative(from, f.path),
  );
}

function removal(
  u: Unit,
  rule: RetentionRule,
  reason: string,
  permanent: boolean,
  settings: RetentionSettings,
): RemovalAction {
  const base = {
    root: u.root,
    unit: u.kind,
    camera: u.camera,
    recordedAt: u.recordedAt,
    files: u.files,
    bytes: unitBytes(u),
    freedBytes: 0,
    rule,
    reason,
  };
  if (u.root === 'trash') return { ...base, kind: 'purge-trash', permanent: true };
  if (permanent) return { ...base, kind: 'delete', permanent: true };
  return {
    ...base,
    kind: 'trash',
    permanent: false,
    moves: u.files.map((f) => ({ from: f.path, to: retentionTrashPath(settings, u, f) })),
  };
}

/** The per-unit rules that need no totals: trash retention and age. */
export function ruleFor(
  u: Unit,
  settings: RetentionSettings,
  now: Date,
): RemovalAction | undefined {
  if (u.root === 'trash') {
    if (settings.trashDays <= 0) return undefined;
    const trashedAt = Math.max(...u.files.map((f) => f.ctimeMs));
    const limit = subDays(now, settings.trashDays).getTime();
    if (trashedAt >= limit) return undefined;
    const days = Math.floor((now.getTime() - trashedAt) / 86_400_000);
    return removal(
      u,
      'trash-days',
      `in the trash for ${days} days, over --trash-days ${settings.trashDays}`,
      true,
      settings,
    );
  }
  if (settings.ageDays <= 0) return undefined;
  if (u.root === 'archive' && !settings.cleanOutput) return undefined;
  if (u.recordedAt >= subDays(now, settings.ageDays)) return undefined;
  const what =
    u.kind === 'orphan-thumbnail'
      ? 'thumbnail without a clip'
      : u.kind === 'archive'
        ? 'archive'
        : 'clip';
  return removal(
    u,
    'age',
    `${what} ${label(u)}, older than --age ${settings.ageDays} days${u.root === 'archive' ? ' (--clean-output)' : ''}`,
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

function groupOf(a: RetentionAction): number {
  return a.kind === 'purge-trash' ? 0 : a.kind === 'prune-folder' ? 2 : 1;
}

export async function planRetention(
  inventory: RetentionInventory,
  settings: RetentionSettings,
  rootFacts: RootFacts,
  fs: FsFacts | undefined,
  now: Date,
): Promise<RetentionPlan> {
  const before = emptyBreakdown();
  const judged = judgeRoot(settings.root, rootFacts);
  const refused = (refusal: string): RetentionPlan => ({
    actions: [],
    before,
    after: before,
    freeBefore: fs?.freeBytes,
    freeAfter: fs?.freeBytes,
    needs: { maxSize: 0, minFree: 0 },
    shortfall: false,
    refusal,
    counts: { protected: 0, units: 0, removals: 0, footageFilesRemoved: 0 },
    writeMarker: false,
  });
  if (judged.refusal) return refused(judged.refusal);

  const ledger = new Ledger();
  const planned = new Map<string, RemovalAction>();
  const dayEntries = new Map<string, number>();
  let protectedCount = 0;
  let units = 0;

  // Pass 1: count every byte once, apply the rules that need no totals.
  for (const stream of [inventory.trash(), inventory.footage()]) {
    for await (const batch of stream) {
      for (const unit of batch.units) {
        units++;
        for (const f of unit.files) addTo(before, unit.root, ledger.count(f));
        if (protection(unit, settings, now)) {
          protectedCount++;
          continue;
        }
        const action = ruleFor(unit, settings, now);
        if (action) {
          planned.set(keyOf(unit), action);
          for (const [k, v] of batch.dayEntries) dayEntries.set(k, v);
        }
      }
    }
  }

  // Only after the whole count do we know which hard links are the last ones.
  const after: Breakdown = { ...before };
  let freedOnFs = 0;
  const account = (a: RemovalAction): void => {
    if (a.permanent) {
      a.freedBytes = a.files.reduce((s, f) => s + ledger.remove(f), 0);
      for (const f of a.files) {
        const counted = ledger.counted(f);
        addTo(after, a.root, -counted);
      }
      // Hard-link sharing (counted once elsewhere) is settled in the total below.
      if (fs === undefined || a.files.every((f) => f.dev === fs.dev)) freedOnFs += a.freedBytes;
    } else {
      // Into the trash: the bytes change place, not amount.
      for (const f of a.files) {
        const counted = ledger.counted(f);
        addTo(after, a.root, -counted);
        addTo(after, 'trash', counted);
      }
    }
  };
  for (const a of planned.values()) account(a);
  const settleTotal = (): void => {
    after.total = Math.max(0, before.total - totalFreed());
  };
  const totalFreed = (): number => {
    let freed = 0;
    for (const a of planned.values()) freed += a.freedBytes;
    return freed;
  };
  settleTotal();

  const sizeNeedAt = (): number =>
    settings.maxSizeBytes === undefined ? 0 : Math.max(0, after.total - settings.maxSizeBytes);
  let freeNeed = 0;
  if (settings.bytesToFree !== undefined) freeNeed = Math.max(0, settings.bytesToFree - freedOnFs);
  else if (settings.minFree && fs) {
    const target = minFreeTarget(settings.minFree, fs);
    if (fs.freeBytes + freedOnFs < target)
      freeNeed = Math.ceil(target * (1 + MIN_FREE_HYSTERESIS)) - fs.freeBytes - freedOnFs;
  }
  const needs = { maxSize: sizeNeedAt(), minFree: freeNeed };

  // Pass 2, only when a cap is exceeded: trash first, then footage, oldest first, permanently.
  let freedForFree = 0;
  const met = (): boolean => sizeNeedAt() <= 0 && freedForFree >= freeNeed;
  if (!met()) {
    outer: for (const stream of [inventory.trash(), inventory.footage()]) {
      for await (const batch of stream) {
        for (const unit of [...batch.units].sort(byTime)) {
          if (met()) break outer;
          if (protection(unit, settings, now)) continue;
          // Archives are never touched without --clean-output, caps included; they still count.
          if (unit.root === 'archive' && !settings.cleanOutput) continue;
          const key = keyOf(unit);
          const existing = planned.get(key);
          if (existing?.permanent) continue;
          const onFs = fs === undefined || unit.files.every((f) => f.dev === fs.dev);
          const wantSize = sizeNeedAt() > 0;
          const wantFree = freedForFree < freeNeed && onFs;
          if (!wantSize && !wantFree) continue;
          const rule: RetentionRule = wantSize ? 'max-size' : 'min-free';
          const capText =
            rule === 'max-size'
              ? `over --max-size ${formatBytes(settings.maxSizeBytes ?? 0)} by ${formatBytes(sizeNeedAt())}`
              : settings.bytesToFree !== undefined
                ? `the disk needs ${formatBytes(freeNeed - freedForFree)} more free space`
                : `free space below --min-free: ${formatBytes(freeNeed - freedForFree)} still to free`;
          const what =
            unit.root === 'trash'
              ? 'trashed file'
              : unit.kind === 'archive'
                ? 'archive'
                : unit.kind === 'orphan-thumbnail'
                  ? 'thumbnail without a clip'
                  : 'clip';
          const reason = `oldest ${what} (${label(unit)}); ${capText}; deleted permanently${existing ? ' instead of trashed' : ''} (trashing on the same disk frees nothing)`;
          const action = removal(unit, rule, reason, true, settings);
          if (existing) {
            // Undo the move into the trash that the age rule had planned.
            for (const f of existing.files) {
              const counted = ledger.counted(f);
              addTo(after, 'trash', -counted);
              addTo(after, unit.root, counted);
            }
          }
          planned.set(key, action);
          for (const [k, v] of batch.dayEntries) dayEntries.set(k, v);
          const freedBefore = freedOnFs;
          account(action);
          freedForFree += freedOnFs - freedBefore;
          settleTotal();
        }
      }
    }
  }
  const shortfall = !met();

  const removals = [...planned.values()].sort(
    (a, b) =>
      groupOf(a) - groupOf(b) ||
      a.recordedAt.getTime() - b.recordedAt.getTime() ||
      cmp(a.files[0]?.path ?? '', b.files[0]?.path ?? ''),
  );
  const prunes = planRetentionPrunes(removals, dayEntries, inventory.skeletons, settings);
  const footage = removals.filter((a) => a.root !== 'trash');
  const counts = {
    protected: protectedCount,
    units,
    removals: removals.length,
    footageFilesRemoved: footage.reduce((s, a) => s + a.files.length, 0),
  };
  const plan: RetentionPlan = {
    actions: [...removals, ...prunes],
    before,
    after,
    freeBefore: fs?.freeBytes,
    freeAfter: fs ? fs.freeBytes + freedOnFs : undefined,
    needs,
    shortfall,
    counts,
    writeMarker: judged.writeMarker,
  };
  const over = exceedsMaxDelete(footage, before, settings.maxDelete);
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
  footage: readonly RemovalAction[],
  before: Breakdown,
  cap: MaxDelete | undefined,
): string | undefined {
  if (!cap) return undefined;
  const files = footage.reduce((s, a) => s + a.files.length, 0);
  const bytes = footage.reduce((s, a) => s + a.bytes, 0);
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
  removals: readonly RemovalAction[],
  dayEntries: ReadonlyMap<string, number>,
  skeletons: Partial<Record<RootKind, Skeleton>>,
  settings: RetentionSettings,
): RetentionAction[] {
  const removedPerDay = new Map<string, number>();
  const relDirOf = (root: RootKind, file: string): string =>
    path.relative(rootPath(root, settings), path.dirname(file)).split(path.sep).join('/');
  for (const a of removals)
    for (const f of a.files) {
      const key = `${a.root}:${relDirOf(a.root, f.path)}`;
      removedPerDay.set(key, (removedPerDay.get(key) ?? 0) + 1);
    }
  // A trash day folder that the age rule moves files into is not left empty, whatever is purged.
  const moveTargets = new Set<string>();
  for (const a of removals)
    if (a.kind === 'trash')
      for (const m of a.moves) moveTargets.add(`trash:${relDirOf('trash', m.to)}`);
  const prunes: RetentionAction[] = [];
  for (const root of ['source', 'archive', 'trash'] as const) {
    const skeleton = skeletons[root];
    if (!skeleton) continue;
    const emptied = new Set<string>();
    for (const day of skeleton.days) {
      const key = `${root}:${day.relDir}`;
      const entries = dayEntries.get(key);
      if (
        entries !== undefined &&
        entries > 0 &&
        removedPerDay.get(key) === entries &&
        !moveTargets.has(key)
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

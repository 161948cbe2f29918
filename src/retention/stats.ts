/**
 * `camera-archiver stats`: what is on disk, per camera and per day, and how long it will last.
 *
 * Reads the same date-ordered stream as retention (one readdir per folder, one lstat per file, no
 * ffmpeg), so the numbers are the ones retention acts on: each byte counted once, hard links and
 * nested roots included. The aggregation is pure (StatsAccumulator); the shell only feeds it.
 */
import { format } from 'date-fns';
import { LEGACY_CAMERA, dateBatches, scanSkeletons, type TreeRoots } from './inventory.js';
import {
  Ledger,
  minFreeTarget,
  type DateBatch,
  type FsFacts,
  type MinFree,
  type Unit,
} from './plan.js';
import { fsFacts } from './storage.js';
import { formatBytes } from '../core/units.js';

export interface Bucket {
  clips: number;
  sourceBytes: number;
  archives: number;
  archiveBytes: number;
  trashFiles: number;
  trashBytes: number;
  /** Archives whose source size is known (source still in the tree or in the trash). */
  archivedSourceBytes: number;
  matchedArchiveBytes: number;
  oldest?: string | undefined;
  newest?: string | undefined;
}

export interface Savings {
  sourceBytes: number;
  archiveBytes: number;
  savedBytes: number;
  /** Archive size as a fraction of its source's. */
  ratio: number;
}

export interface StatsLimits {
  maxSizeBytes?: number | undefined;
  minFree?: MinFree | undefined;
  minFreeText?: string | undefined;
  /** Days footage stays untranscoded before it is archived (--age). */
  ageDays: number;
  /** --archive-age: archives older than this are removed (0 or undefined: only the caps). */
  archiveAgeDays?: number | undefined;
}

export interface Forecast {
  bytesPerDay: number | null;
  /** Dates the rate was measured over. */
  basis: string[];
  daysUntilDiskFull: number | null;
  /** Days of footage the whole disk (managed + free − min-free) holds at this rate. */
  diskHoldsDays: number | null;
  maxSizeHoldsDays: number | null;
  coveredDays: number | null;
  /**
   * Days of footage the configured retention keeps (raw for --age, then as archives), and what
   * limits it: the earliest of --archive-age, --max-size and (with --min-free) the disk. Null when
   * nothing limits it or the rate is unknown.
   */
  retentionKeepsDays: number | null;
  /** Of those, the days kept as archives. */
  archiveKeepsDays: number | null;
  retentionLimit: 'archive-age' | 'max-size' | 'disk' | null;
}

export interface StatsReport {
  root: string;
  output: string;
  trash: string;
  now: string;
  filesystem: { sizeBytes: number; freeBytes: number } | null;
  managed: { source: number; archive: number; trash: number; total: number };
  totals: Bucket;
  savings: Savings | null;
  cameras: ({ camera: string; savings: Savings | null } & Bucket)[];
  days: ({ date: string; cameras: Record<string, Bucket> } & Bucket)[];
  forecast: Forecast;
}

/** A bucket with nothing in it yet. */
export function emptyBucket(): Bucket {
  return {
    clips: 0,
    sourceBytes: 0,
    archives: 0,
    archiveBytes: 0,
    trashFiles: 0,
    trashBytes: 0,
    archivedSourceBytes: 0,
    matchedArchiveBytes: 0,
  };
}

/** Oldest and newest recording time of a bucket, as numbers until the bucket is finished. */
const span = new WeakMap<Bucket, { lo: number; hi: number }>();

function touch(b: Bucket, t: number): void {
  const s = span.get(b);
  if (!s) span.set(b, { lo: t, hi: t });
  else if (t < s.lo) s.lo = t;
  else if (t > s.hi) s.hi = t;
}

/** `yyyy-MM-ddTHH:mm:ss` local time; by hand (date-fns' format dominated a 200,000-clip day). */
function localStamp(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => (n < 10 ? `0${n}` : String(n));
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Writes the bucket's oldest/newest strings from its span. */
function finishSpan(b: Bucket): void {
  const s = span.get(b);
  if (!s) return;
  const lo = localStamp(s.lo);
  const hi = localStamp(s.hi);
  if (b.oldest === undefined || lo < b.oldest) b.oldest = lo;
  if (b.newest === undefined || hi > b.newest) b.newest = hi;
  span.delete(b);
}

function savingsOf(b: Bucket): Savings | null {
  if (b.archivedSourceBytes <= 0) return null;
  return {
    sourceBytes: b.archivedSourceBytes,
    archiveBytes: b.matchedArchiveBytes,
    savedBytes: b.archivedSourceBytes - b.matchedArchiveBytes,
    ratio: b.matchedArchiveBytes / b.archivedSourceBytes,
  };
}

/** One unit into one bucket; `source` is the size of an archive's source, when known. */
function addUnit(b: Bucket, u: Unit, bytes: number, source: number | undefined): void {
  if (u.root === 'source') {
    if (u.kind === 'clip') b.clips++;
    b.sourceBytes += bytes;
  } else if (u.root === 'archive') {
    b.archives++;
    b.archiveBytes += bytes;
    if (source !== undefined) {
      b.archivedSourceBytes += source;
      b.matchedArchiveBytes += bytes;
    }
  } else {
    b.trashFiles += u.files.length;
    b.trashBytes += bytes;
  }
}

/** Pure aggregation of date batches (all three roots) into the stats report. */
export class StatsAccumulator {
  private readonly ledger = new Ledger();
  private readonly managed = { source: 0, archive: 0, trash: 0, total: 0 };
  private readonly totals = emptyBucket();
  private readonly cameras = new Map<string, Bucket>();
  private readonly days: ({ date: string; cameras: Record<string, Bucket> } & Bucket)[] = [];

  /** One date's batch, or the next of its sub-batches (a big date comes in several). */
  add(batch: DateBatch): void {
    const last = this.days[this.days.length - 1];
    const day =
      last?.date === batch.date
        ? last
        : { date: batch.date, cameras: {} as Record<string, Bucket>, ...emptyBucket() };
    // Sources by camera and second, in the tree or in the trash, to measure what archiving saved
    // (by camera, then instant: no key text built per unit).
    const sourceSize = new Map<string, Map<number, number>>();
    const sourceByTime = new Map<number, number[]>();
    const isTrashedSource = (u: Unit): boolean =>
      u.root === 'trash' &&
      !u.relDir.startsWith('output/') &&
      /\.mp4$/i.test(u.files[0]?.path ?? '');
    // Only archives look sources up: a day without archives (most of a busy tree) builds no index.
    let archives = false;
    for (const u of batch.units) if (u.root === 'archive') archives = true;
    for (const u of archives ? batch.units : []) {
      if (u.kind === 'clip' || isTrashedSource(u)) {
        const bytes = u.files[0]?.bytes ?? 0;
        let byTime = sourceSize.get(u.camera);
        if (!byTime) sourceSize.set(u.camera, (byTime = new Map()));
        byTime.set(u.recordedAt.getTime(), bytes);
        const same = sourceByTime.get(u.recordedAt.getTime());
        if (same) same.push(bytes);
        else sourceByTime.set(u.recordedAt.getTime(), [bytes]);
      }
    }
    // Recording spans by camera for this batch: one map update a unit, the buckets touched once.
    const spans = new Map<string, { lo: number; hi: number }>();
    for (const u of batch.units) {
      let counted = 0;
      let bytes = 0;
      for (const f of u.files) {
        counted += this.ledger.count(f);
        bytes += f.bytes;
      }
      this.managed[u.root] += counted;
      this.managed.total += counted;
      let cam = this.cameras.get(u.camera);
      if (!cam) this.cameras.set(u.camera, (cam = emptyBucket()));
      const dayCam = (day.cameras[u.camera] ??= emptyBucket());
      const time = u.recordedAt.getTime();
      let source: number | undefined;
      if (u.root === 'archive') {
        const candidates = sourceByTime.get(time);
        source =
          u.camera === LEGACY_CAMERA
            ? candidates?.length === 1
              ? candidates[0]
              : undefined
            : sourceSize.get(u.camera)?.get(time);
      }
      if (u.root !== 'trash') {
        const s = spans.get(u.camera);
        if (!s) spans.set(u.camera, { lo: time, hi: time });
        else if (time < s.lo) s.lo = time;
        else if (time > s.hi) s.hi = time;
      }
      addUnit(this.totals, u, bytes, source);
      addUnit(cam, u, bytes, source);
      addUnit(day, u, bytes, source);
      addUnit(dayCam, u, bytes, source);
    }
    for (const [camera, s] of spans)
      for (const b of [this.totals, this.cameras.get(camera), day, day.cameras[camera]])
        if (b) {
          touch(b, s.lo);
          touch(b, s.hi);
        }
    finishSpan(day);
    for (const b of Object.values(day.cameras)) finishSpan(b);
    if (batch.units.length > 0 && day !== last) this.days.push(day);
  }

  finish(roots: TreeRoots, fs: FsFacts | undefined, limits: StatsLimits, now: Date): StatsReport {
    finishSpan(this.totals);
    for (const b of this.cameras.values()) finishSpan(b);
    const forecast = computeForecast(this.days, this.totals, this.managed.total, fs, limits, now);
    return {
      root: roots.root,
      output: roots.outputRoot,
      trash: roots.trashRoot,
      now: now.toISOString(),
      filesystem: fs ? { sizeBytes: fs.sizeBytes, freeBytes: fs.freeBytes } : null,
      managed: { ...this.managed },
      totals: this.totals,
      savings: savingsOf(this.totals),
      cameras: [...this.cameras.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([camera, b]) => ({ camera, ...b, savings: savingsOf(b) })),
      days: this.days,
      forecast,
    };
  }
}

/**
 * Days a budget of bytes holds at `rate` bytes/day when footage is kept raw for `ageDays` and then
 * archived at `ratio` of its size. Without a measured ratio, footage is assumed to stay raw.
 */
export function daysHeld(
  budget: number,
  rate: number,
  ageDays: number,
  ratio: number | null,
): number {
  if (rate <= 0) return Infinity;
  if (budget <= 0) return 0;
  const raw = rate * ageDays;
  if (ratio === null || ratio <= 0 || ageDays <= 0 || budget <= raw) return budget / rate;
  return ageDays + (budget - raw) / (rate * ratio);
}

const RATE_DAYS = 7;

export function computeForecast(
  days: readonly ({ date: string } & Bucket)[],
  totals: Bucket,
  managedTotal: number,
  fs: FsFacts | undefined,
  limits: StatsLimits,
  now: Date,
): Forecast {
  const today = format(now, 'yyyy-MM-dd');
  // Complete days only (today is still being recorded), most recent first, that hold footage.
  const recent = days
    .filter((d) => d.date < today && d.sourceBytes + d.archiveBytes > 0)
    .slice(-RATE_DAYS);
  const ratio = savingsOf(totals)?.ratio ?? null;
  // A day already archived is counted at what it cost raw, so the rate is the recording rate.
  const rawBytes = (d: Bucket): number =>
    d.sourceBytes + (ratio && ratio > 0 ? d.archiveBytes / ratio : d.archiveBytes);
  const rate = recent.length ? recent.reduce((s, d) => s + rawBytes(d), 0) / recent.length : null;
  const reserve = fs && limits.minFree ? minFreeTarget(limits.minFree, fs) : 0;
  const round = (n: number): number | null => (Number.isFinite(n) ? Math.floor(n * 10) / 10 : null);
  let covered: number | null = null;
  if (totals.oldest && totals.newest)
    covered = round((Date.parse(totals.newest) - Date.parse(totals.oldest)) / 86_400_000 + 1 / 24);
  return {
    bytesPerDay: rate === null ? null : Math.round(rate),
    basis: recent.map((d) => d.date),
    daysUntilDiskFull: rate && fs ? round(Math.max(0, fs.freeBytes - reserve) / rate) : null,
    diskHoldsDays:
      rate && fs
        ? round(daysHeld(managedTotal + fs.freeBytes - reserve, rate, limits.ageDays, ratio))
        : null,
    maxSizeHoldsDays:
      rate && limits.maxSizeBytes !== undefined
        ? round(daysHeld(limits.maxSizeBytes, rate, limits.ageDays, ratio))
        : null,
    coveredDays: covered,
    ...retentionKeeps(rate, limits, ratio, fs, managedTotal, reserve),
  };
}

function retentionKeeps(
  rate: number | null,
  limits: StatsLimits,
  ratio: number | null,
  fs: FsFacts | undefined,
  managedTotal: number,
  reserve: number,
): Pick<Forecast, 'retentionKeepsDays' | 'archiveKeepsDays' | 'retentionLimit'> {
  const candidates: [number, Forecast['retentionLimit']][] = [];
  if (limits.archiveAgeDays !== undefined && limits.archiveAgeDays > 0)
    candidates.push([Math.max(limits.archiveAgeDays, limits.ageDays), 'archive-age']);
  if (rate && rate > 0) {
    if (limits.maxSizeBytes !== undefined)
      candidates.push([daysHeld(limits.maxSizeBytes, rate, limits.ageDays, ratio), 'max-size']);
    if (fs && limits.minFree)
      candidates.push([
        daysHeld(managedTotal + fs.freeBytes - reserve, rate, limits.ageDays, ratio),
        'disk',
      ]);
  }
  const finite = candidates.filter(([d]) => Number.isFinite(d)).sort((a, b) => a[0] - b[0]);
  const first = finite[0];
  if (!first) return { retentionKeepsDays: null, archiveKeepsDays: null, retentionLimit: null };
  const days = Math.floor(first[0] * 10) / 10;
  return {
    retentionKeepsDays: days,
    archiveKeepsDays: Math.max(0, Math.floor((days - limits.ageDays) * 10) / 10),
    retentionLimit: first[1],
  };
}

export async function collectStats(
  roots: TreeRoots,
  limits: StatsLimits,
  now: Date,
): Promise<StatsReport> {
  const skeletons = await scanSkeletons(roots);
  const acc = new StatsAccumulator();
  for await (const batch of dateBatches(skeletons, ['source', 'archive', 'trash'])) acc.add(batch);
  let fs: FsFacts | undefined;
  try {
    fs = await fsFacts(roots.root);
  } catch {
    fs = undefined;
  }
  return acc.finish(roots, fs, limits, now);
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

function pct(s: Savings | null): string {
  return s ? `${formatBytes(s.savedBytes)} (${Math.round((1 - s.ratio) * 100)}%)` : '-';
}

function short(t: string | undefined): string {
  return t ? t.replace('T', ' ').slice(0, 16) : '-';
}

function days(n: number | null): string {
  return n === null ? 'unknown' : n >= 36500 ? 'more than 100 years' : `${n} days`;
}

export function renderStats(r: StatsReport, limits: StatsLimits, showDays: number): string[] {
  const out = [`Footage in ${r.root} (archives ${r.output}, trash ${r.trash})`];
  if (r.filesystem)
    out.push(
      `Disk: ${formatBytes(r.filesystem.sizeBytes)}, ${formatBytes(r.filesystem.freeBytes)} free (${Math.round((100 * r.filesystem.freeBytes) / Math.max(1, r.filesystem.sizeBytes))}%)`,
    );
  out.push(
    `Managed: ${formatBytes(r.managed.total)} (sources ${formatBytes(r.managed.source)}, archives ${formatBytes(r.managed.archive)}, trash ${formatBytes(r.managed.trash)}; each byte counted once)`,
    '',
  );
  const header = [
    'CAMERA',
    'CLIPS',
    'SOURCES',
    'ARCHIVES',
    'ARCH.BYTES',
    'TRASH',
    'SAVED',
    'OLDEST',
    'NEWEST',
  ];
  const row = (name: string, b: Bucket, s: Savings | null): string[] => [
    name,
    String(b.clips),
    formatBytes(b.sourceBytes),
    String(b.archives),
    formatBytes(b.archiveBytes),
    formatBytes(b.trashBytes),
    pct(s),
    short(b.oldest),
    short(b.newest),
  ];
  out.push(
    ...table(header, [
      ...r.cameras.map((c) => row(c.camera, c, c.savings)),
      row('(all)', r.totals, r.savings),
    ]),
    '',
  );
  const shown = showDays > 0 ? r.days.slice(-showDays) : r.days;
  out.push(
    ...table(
      ['DAY', 'CLIPS', 'SOURCES', 'ARCHIVES', 'ARCH.BYTES', 'TRASH', 'CAMERAS'],
      shown.map((d) => [
        d.date,
        String(d.clips),
        formatBytes(d.sourceBytes),
        String(d.archives),
        formatBytes(d.archiveBytes),
        formatBytes(d.trashBytes),
        String(Object.keys(d.cameras).length),
      ]),
    ),
  );
  if (shown.length < r.days.length)
    out.push(`(last ${shown.length} of ${r.days.length} days; --days 0 shows all)`);
  const f = r.forecast;
  out.push('');
  if (f.bytesPerDay === null) {
    out.push('Forecast: not enough complete days of footage to measure a daily rate yet.');
  } else {
    out.push(
      `Forecast at ${formatBytes(f.bytesPerDay)}/day (measured over ${f.basis.length} day(s), ${f.basis[0]} to ${f.basis[f.basis.length - 1]}):`,
    );
    if (f.daysUntilDiskFull !== null)
      out.push(
        `  disk: full in ${days(f.daysUntilDiskFull)} without cleanup${limits.minFreeText ? ` (keeping --min-free ${limits.minFreeText})` : ''}; the whole disk holds ${days(f.diskHoldsDays)} of footage`,
      );
    if (f.maxSizeHoldsDays !== null && limits.maxSizeBytes !== undefined)
      out.push(
        `  --max-size ${formatBytes(limits.maxSizeBytes)} holds ${days(f.maxSizeHoldsDays)} of footage`,
      );
    out.push(
      `  (footage is kept raw for --age ${limits.ageDays} days, then archived at ${r.savings ? `${Math.round(r.savings.ratio * 100)}% of its size` : 'an unknown ratio (assumed 100%)'})`,
    );
  }
  if (f.retentionKeepsDays !== null && f.archiveKeepsDays !== null) {
    const by =
      f.retentionLimit === 'archive-age'
        ? `--archive-age ${limits.archiveAgeDays ?? ''}`
        : f.retentionLimit === 'max-size'
          ? `--max-size ${formatBytes(limits.maxSizeBytes ?? 0)}`
          : `the disk, keeping --min-free ${limits.minFreeText ?? ''}`;
    out.push(
      `Retention as configured keeps ${days(f.retentionKeepsDays)} of footage: ${limits.ageDays} days raw (--age), then ${days(f.archiveKeepsDays)} of archives (limited by ${by})`,
    );
  } else if (limits.archiveAgeDays === undefined || limits.archiveAgeDays <= 0)
    out.push(
      'Retention as configured keeps archives until a limit is set (--max-size, --min-free or --archive-age).',
    );
  if (f.coveredDays !== null) out.push(`Footage on disk now covers ${f.coveredDays} days.`);
  return out;
}

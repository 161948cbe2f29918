/**
 * Storage protection for a long-running recorder. Usage is computed like `df` from statfs; at the
 * warn threshold we say so (again every `repeatMs`), at the block threshold we ask the retention
 * engine to free space oldest-first down to a target below the block line, protecting the newest
 * footage. Recording never stops because of this: when space cannot be made the guard says so
 * loudly on every check, and the mover's refusal to keep 0-byte files keeps the tree clean.
 */
import { errorMessage } from '../core/errors.js';
import type { Log } from '../core/logger.js';
import type { ReclaimReport, ReclaimRequest } from '../retention/reclaim.js';
import { formatBytes } from '../core/units.js';
import type { StorageThresholds } from './config.js';

export interface DiskStats {
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
}

export interface DiskUsage {
  usedPercent: number;
  usedBytes: number;
  availBytes: number;
}

/** `df`'s Use%: used/(used+avail), rounded up; root-reserved blocks count as neither. */
export function diskUsage(s: DiskStats): DiskUsage {
  const usedBytes = (s.blocks - s.bfree) * s.bsize;
  const availBytes = s.bavail * s.bsize;
  const total = usedBytes + availBytes;
  return {
    usedPercent: total > 0 ? Math.ceil((100 * usedBytes) / total) : 0,
    usedBytes,
    availBytes,
  };
}

/** Bytes to remove so that usage drops to `targetPercent` (0 when already there). */
export function bytesToReach(usage: DiskUsage, targetPercent: number): number {
  const total = Math.floor(usage.usedBytes + usage.availBytes);
  // Whole-byte arithmetic: (target / 100) * total in floating point can land a hair under an
  // exact byte count, and the ceil then asks for one byte more than the target needs.
  const allowed = Number.isInteger(targetPercent)
    ? Number((BigInt(targetPercent) * BigInt(total)) / 100n)
    : Math.floor((targetPercent * total) / 100);
  return Math.max(0, usage.usedBytes - allowed);
}

/** Below the block line with some room, so one reclaim lasts more than one check. */
export function reclaimTarget(t: StorageThresholds): number {
  return Math.max(t.warnPercent, t.blockPercent - 5);
}

/** What one check sees: the disk, the configured limits, and when the warning was last logged. */
export interface StorageCheckInput {
  usage: DiskUsage;
  thresholds: StorageThresholds;
  now: Date;
  /** Footage newer than this many seconds is never removed to make room. */
  protectSeconds: number;
  /** Clock ms of the last logged warn-level message, and how often it may repeat. */
  lastWarnMs: number;
  repeatMs: number;
}

/**
 * What a check decides, before anything is touched. Only 'reclaim' removes footage, and only at
 * or above the block line; it carries exactly the bytes that reach the target and the protection
 * window, so the one place that deletes cannot ask for more.
 */
export type StorageDecision =
  | { kind: 'ok' }
  | { kind: 'warn'; message: string; logNow: boolean }
  | {
      kind: 'reclaim';
      targetPercent: number;
      bytesToFree: number;
      protectNewerThan: Date;
      announce: string;
    };

/** The decision of one storage check (pure: no disk, no clock, no log). */
export function decideStorage(input: StorageCheckInput): StorageDecision {
  const { usage, thresholds: t, now } = input;
  if (usage.usedPercent < t.warnPercent) return { kind: 'ok' };
  if (usage.usedPercent < t.blockPercent) {
    const message = `disk ${usage.usedPercent}% full (${formatBytes(usage.availBytes)} free), warning at ${t.warnPercent}%; old footage is removed at ${t.blockPercent}%`;
    return { kind: 'warn', message, logNow: now.getTime() - input.lastWarnMs >= input.repeatMs };
  }
  const targetPercent = reclaimTarget(t);
  const bytesToFree = bytesToReach(usage, targetPercent);
  return {
    kind: 'reclaim',
    targetPercent,
    bytesToFree,
    protectNewerThan: new Date(now.getTime() - input.protectSeconds * 1000),
    announce: `storage: disk ${usage.usedPercent}% full (limit ${t.blockPercent}%): removing the oldest footage to free ${formatBytes(bytesToFree)} (target ${targetPercent}%)`,
  };
}

/** How a reclaim ended, for the status and the one log line that says so. */
export interface ReclaimOutcome {
  state: 'reclaimed' | 'full';
  message: string;
  level: 'warn' | 'error';
  line: string;
}

/**
 * Still at the block line after a reclaim is 'full', logged as an error on every check (nothing
 * more may be removed; the user must act). A reclaim that failed or fell short but got below the
 * line is 'reclaimed' with a warning that the target was missed.
 */
export function reclaimOutcome(
  after: DiskUsage,
  report: ReclaimReport | undefined,
  t: StorageThresholds,
  targetPercent: number,
): ReclaimOutcome {
  const freed = formatBytes(report?.freedBytes ?? 0);
  const reclaimed = `freed ${freed}`;
  if (after.usedPercent >= t.blockPercent) {
    const message = `disk still ${after.usedPercent}% full (${formatBytes(after.availBytes)} free) after removing ${freed}: no more old footage may be removed; recording continues and the newest footage is kept — free space or lower retention NOW`;
    return { state: 'full', message, level: 'error', line: `storage: ${message}` };
  }
  if (report === undefined || report.shortfall) {
    const line = `storage: freed ${freed}, now ${after.usedPercent}% (short of the ${targetPercent}% target)`;
    return { state: 'reclaimed', message: reclaimed, level: 'warn', line };
  }
  const line = `storage: freed ${freed}; disk now ${after.usedPercent}% full`;
  return { state: 'reclaimed', message: reclaimed, level: 'warn', line };
}

export type StorageState = 'ok' | 'warn' | 'reclaimed' | 'full' | 'unknown';

export interface StorageStatus {
  state: StorageState;
  usedPercent?: number | undefined;
  availBytes?: number | undefined;
  message?: string | undefined;
  checkedAt: string;
}

export interface StorageGuardOptions {
  root: string;
  outputRoot: string;
  trashRoot: string;
  thresholds: StorageThresholds;
  statfs(path: string): Promise<DiskStats>;
  reclaim(request: ReclaimRequest): Promise<ReclaimReport>;
  log: Log;
  clock: () => Date;
  /** Footage newer than this many seconds is never removed to make room. */
  protectSeconds: number;
  /** Repeat the warn-level message at most this often (errors are repeated on every check). */
  repeatMs?: number;
}

export class StorageGuard {
  private lastWarnMs = -Infinity;
  private busy = false;
  status: StorageStatus;

  constructor(private o: StorageGuardOptions) {
    this.status = { state: 'unknown', checkedAt: o.clock().toISOString() };
  }

  /** New thresholds from a config reload (already validated). */
  setThresholds(thresholds: StorageThresholds): void {
    this.o = { ...this.o, thresholds };
  }

  async check(): Promise<StorageStatus> {
    if (this.busy) return this.status;
    this.busy = true;
    try {
      this.status = await this.evaluate();
      return this.status;
    } finally {
      this.busy = false;
    }
  }

  private async usage(): Promise<DiskUsage> {
    return diskUsage(await this.o.statfs(this.o.root));
  }

  /** One check: read the disk, decide (pure), then warn or reclaim as decided. */
  private async evaluate(): Promise<StorageStatus> {
    const now = this.o.clock();
    let usage: DiskUsage;
    try {
      usage = await this.usage();
    } catch (error) {
      this.o.log.error(`storage: cannot read free space of ${this.o.root}: ${errorMessage(error)}`);
      return { state: 'unknown', message: errorMessage(error), checkedAt: now.toISOString() };
    }
    // One set of thresholds for the whole check, even if a reload changes them meanwhile.
    const thresholds = this.o.thresholds;
    const decision = decideStorage({
      usage,
      thresholds,
      now,
      protectSeconds: this.o.protectSeconds,
      lastWarnMs: this.lastWarnMs,
      repeatMs: this.o.repeatMs ?? 10 * 60_000,
    });
    if (decision.kind === 'ok') return { state: 'ok', ...figures(usage, now) };
    if (decision.kind === 'warn') {
      if (decision.logNow) {
        this.o.log.warn(`storage: ${decision.message}`);
        this.lastWarnMs = now.getTime();
      }
      return { state: 'warn', message: decision.message, ...figures(usage, now) };
    }
    return this.reclaim(decision, thresholds, usage, now);
  }

  /** Asks retention to free what was decided, then reads the disk again to tell how it went. */
  private async reclaim(
    decision: Extract<StorageDecision, { kind: 'reclaim' }>,
    thresholds: StorageThresholds,
    usage: DiskUsage,
    now: Date,
  ): Promise<StorageStatus> {
    const { log } = this.o;
    log.warn(decision.announce);
    let report: ReclaimReport | undefined;
    try {
      report = await this.o.reclaim({
        root: this.o.root,
        outputRoot: this.o.outputRoot,
        trashRoot: this.o.trashRoot,
        bytesToFree: decision.bytesToFree,
        protectNewerThan: decision.protectNewerThan,
        now,
        log,
      });
      for (const r of report.removed)
        log.warn(`storage: removed ${r.path} (${formatBytes(r.bytes)}): ${r.reason}`);
    } catch (error) {
      log.error(`storage: removing old footage failed: ${errorMessage(error)}`);
    }
    let after = usage;
    try {
      after = await this.usage();
    } catch {
      // Keep the pre-reclaim figure; the next check reads it again.
    }
    const outcome = reclaimOutcome(after, report, thresholds, decision.targetPercent);
    if (outcome.level === 'error') log.error(outcome.line);
    else log.warn(outcome.line);
    return { state: outcome.state, message: outcome.message, ...figures(after, now) };
  }
}

/** The disk figures every status after a successful read carries. */
function figures(
  usage: DiskUsage,
  now: Date,
): Pick<StorageStatus, 'usedPercent' | 'availBytes' | 'checkedAt'> {
  return {
    usedPercent: usage.usedPercent,
    availBytes: usage.availBytes,
    checkedAt: now.toISOString(),
  };
}

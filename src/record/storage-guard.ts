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
  const total = usage.usedBytes + usage.availBytes;
  return Math.max(0, Math.ceil(usage.usedBytes - (targetPercent / 100) * total));
}

/** Below the block line with some room, so one reclaim lasts more than one check. */
export function reclaimTarget(t: StorageThresholds): number {
  return Math.max(t.warnPercent, t.blockPercent - 5);
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

  private async evaluate(): Promise<StorageStatus> {
    const { log, thresholds: t, clock } = this.o;
    const now = clock();
    let usage: DiskUsage;
    try {
      usage = await this.usage();
    } catch (error) {
      log.error(`storage: cannot read free space of ${this.o.root}: ${errorMessage(error)}`);
      return { state: 'unknown', message: errorMessage(error), checkedAt: now.toISOString() };
    }
    const base = {
      usedPercent: usage.usedPercent,
      availBytes: usage.availBytes,
      checkedAt: now.toISOString(),
    };
    if (usage.usedPercent < t.warnPercent) return { state: 'ok', ...base };
    if (usage.usedPercent < t.blockPercent) {
      const message = `disk ${usage.usedPercent}% full (${formatBytes(usage.availBytes)} free), warning at ${t.warnPercent}%; old footage is removed at ${t.blockPercent}%`;
      if (now.getTime() - this.lastWarnMs >= (this.o.repeatMs ?? 10 * 60_000)) {
        log.warn(`storage: ${message}`);
        this.lastWarnMs = now.getTime();
      }
      return { state: 'warn', message, ...base };
    }
    const target = reclaimTarget(t);
    const bytesToFree = bytesToReach(usage, target);
    log.warn(
      `storage: disk ${usage.usedPercent}% full (limit ${t.blockPercent}%): removing the oldest footage to free ${formatBytes(bytesToFree)} (target ${target}%)`,
    );
    let report: ReclaimReport | undefined;
    try {
      report = await this.o.reclaim({
        root: this.o.root,
        outputRoot: this.o.outputRoot,
        trashRoot: this.o.trashRoot,
        bytesToFree,
        protectNewerThan: new Date(now.getTime() - this.o.protectSeconds * 1000),
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
    const afterBase = {
      usedPercent: after.usedPercent,
      availBytes: after.availBytes,
      checkedAt: now.toISOString(),
    };
    if (after.usedPercent >= t.blockPercent || report === undefined || report.shortfall) {
      const message = `disk still ${after.usedPercent}% full (${formatBytes(after.availBytes)} free) after removing ${formatBytes(report?.freedBytes ?? 0)}: no more old footage may be removed; recording continues and the newest footage is kept — free space or lower retention NOW`;
      if (after.usedPercent >= t.blockPercent) {
        log.error(`storage: ${message}`);
        return { state: 'full', message, ...afterBase };
      }
      log.warn(
        `storage: freed ${formatBytes(report?.freedBytes ?? 0)}, now ${after.usedPercent}% (short of the ${target}% target)`,
      );
      return {
        state: 'reclaimed',
        message: `freed ${formatBytes(report?.freedBytes ?? 0)}`,
        ...afterBase,
      };
    }
    log.warn(
      `storage: freed ${formatBytes(report.freedBytes)}; disk now ${after.usedPercent}% full`,
    );
    return { state: 'reclaimed', message: `freed ${formatBytes(report.freedBytes)}`, ...afterBase };
  }
}

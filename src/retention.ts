/**
 * Retention engine (issue 4) — shared by `--cleanup` and by `record`'s storage protection.
 * OWNED BY THE RETENTION WORK: this file currently only fixes the interface that `record` calls.
 */
import type { Log } from './logger.js';

export interface ReclaimRequest {
  /** Input root (camera tree), output (archive) root, trash root: the only places anything is removed. */
  root: string;
  outputRoot: string;
  trashRoot: string;
  /** Remove oldest-first (trash, then archives, then sources) until this many bytes are freed. */
  bytesToFree: number;
  /** Never remove footage recorded at or after this instant. */
  protectNewerThan: Date;
  now: Date;
  log: Log;
  dryRun?: boolean;
}

export interface RemovedFile {
  path: string;
  bytes: number;
  reason: string;
}

export interface ReclaimReport {
  freedBytes: number;
  removed: RemovedFile[];
  /** True when bytesToFree could not be reached without touching protected footage. */
  shortfall: boolean;
}

export async function reclaimSpace(request: ReclaimRequest): Promise<ReclaimReport> {
  request.log.warn(`reclaimSpace is not implemented yet (asked to free ${request.bytesToFree} bytes)`);
  return { freedBytes: 0, removed: [], shortfall: true };
}

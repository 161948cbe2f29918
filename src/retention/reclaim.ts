/**
 * Retention engine (issue 4) — shared by `--cleanup` and by `record`'s storage protection.
 *
 * `reclaimSpace` is the emergency form: free an exact number of bytes on the footage disk, trash
 * first, then footage oldest-first by timestamp (sources and archives together), each clip with
 * its thumbnail, permanently (trashing on the same disk frees nothing), never touching footage
 * newer than `protectNewerThan`. It uses the same planner and executor as `--cleanup`. It takes no
 * tree lock: the recorder must be able to make room while an archive run holds the tree, and the
 * archive executor re-checks every file before it touches it.
 */
import path from 'node:path';
import type { Log } from '../core/logger.js';
import { executeRetention } from './execute.js';
import { scanSkeletons, treeInventory } from './inventory.js';
import { planRetention, type FsFacts, type RetentionPlan } from './plan.js';
import { fsFacts, readRootFacts } from './storage.js';

export interface ReclaimRequest {
  /** Input root (camera tree), output (archive) root, trash root: the only places anything is removed. */
  root: string;
  outputRoot: string;
  trashRoot: string;
  /** Remove oldest-first (the trash, then footage by timestamp) until this many bytes are freed. */
  bytesToFree: number;
  /** Never remove footage recorded at or after this instant. */
  protectNewerThan: Date;
  now: Date;
  log: Log;
  dryRun?: boolean;
  /** Whether archives may be removed too (default true: record's storage protection may). */
  includeArchives?: boolean;
  /** Stops planning and removal promptly (the recorder's shutdown). */
  signal?: AbortSignal | undefined;
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
  /** Set when the tree looked wrong (missing or empty root) and nothing was removed. */
  refusal?: string;
}

export async function reclaimSpace(request: ReclaimRequest): Promise<ReclaimReport> {
  const roots = {
    root: path.resolve(request.root),
    outputRoot: path.resolve(request.outputRoot),
    trashRoot: path.resolve(request.trashRoot),
  };
  const plan = await planReclaim(request, roots);
  if (plan.refusal) {
    request.log.error(`storage: not removing anything: ${plan.refusal}`);
    return { freedBytes: 0, removed: [], shortfall: true, refusal: plan.refusal };
  }
  if (plan.interrupted) return { freedBytes: 0, removed: [], shortfall: true };
  return request.dryRun ? listPlanned(plan) : removePlanned(plan, request, roots.trashRoot);
}

/**
 * The cleanup's planner with the emergency's settings: delete (trashing on the same disk frees
 * nothing), no age rule, free exactly `bytesToFree`, never touch footage newer than
 * `protectNewerThan`.
 */
async function planReclaim(
  request: ReclaimRequest,
  roots: { root: string; outputRoot: string; trashRoot: string },
): Promise<RetentionPlan> {
  const rootFacts = await readRootFacts(roots.root, undefined);
  let fs: FsFacts | undefined;
  try {
    fs = await fsFacts(roots.root);
  } catch {
    fs = undefined;
  }
  const skeletons = await scanSkeletons(roots);
  return planRetention(
    treeInventory(roots, skeletons),
    {
      ...roots,
      disposal: 'delete',
      ageDays: 0,
      cleanOutput: request.includeArchives ?? true,
      trashDays: 0,
      protectSeconds: Math.max(
        0,
        (request.now.getTime() - request.protectNewerThan.getTime()) / 1000,
      ),
      settleSeconds: 0,
      bytesToFree: request.bytesToFree,
    },
    rootFacts,
    fs,
    request.now,
    // Seconds on a million-file tree: only the oldest days it removes from are read.
    { partial: true, signal: request.signal },
  );
}

/** A dry run: what the plan would remove, and how much that frees. */
async function listPlanned(plan: RetentionPlan): Promise<ReclaimReport> {
  const removed: RemovedFile[] = [];
  let freedBytes = 0;
  for await (const a of plan.actions()) {
    if (a.kind === 'prune-folder') continue;
    freedBytes += a.freedBytes;
    for (const f of a.files) removed.push({ path: f.path, bytes: f.bytes, reason: a.reason });
  }
  return { freedBytes, removed, shortfall: plan.shortfall };
}

/** Executes exactly the plan, logging each failure; the report lists what is gone. */
async function removePlanned(
  plan: RetentionPlan,
  request: ReclaimRequest,
  trashRoot: string,
): Promise<ReclaimReport> {
  const removed: RemovedFile[] = [];
  const report = await executeRetention(plan.actions(), {
    trashRoot,
    log: request.log,
    signal: request.signal,
    keepOutcomes: false,
    onOutcome: (o) => {
      if (o.status === 'failed')
        request.log.error(`storage: could not remove ${o.action.files[0]?.path}: ${o.reason}`);
      else if (o.status === 'done')
        for (const f of o.files)
          removed.push({ path: f.path, bytes: f.bytes, reason: o.action.reason });
    },
  });
  return {
    freedBytes: report.freedBytes,
    removed,
    shortfall: plan.shortfall || report.freedBytes < request.bytesToFree,
  };
}

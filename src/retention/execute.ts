/**
 * Carries out a retention plan, action by action, in plan order (trash purges, footage, folders).
 * Each file is checked just before it is touched: a file that changed since it was planned (other
 * size, inode or mtime — being rewritten, or replaced) is left alone. That is the only way a real
 * run can do less than its dry run listed; it never does more.
 */
import { promises as fsp } from 'node:fs';
import { errorMessage } from '../core/errors.js';
import { moveNoClobber, pruneFolders } from '../tree/file-manager.js';
import type { Log } from '../core/logger.js';
import {
  PlanInterrupted,
  type FileFacts,
  type RemovalAction,
  type RetentionAction,
} from './plan.js';

export interface RemovalOutcome {
  action: RemovalAction;
  status: 'done' | 'skipped' | 'failed';
  /** Files actually removed (or moved), with where each went. */
  files: { path: string; bytes: number; to?: string | undefined }[];
  freedBytes: number;
  reason?: string | undefined;
}

export interface RetentionReport {
  /** Every outcome, unless the caller asked not to keep them (see ExecuteOptions.keepOutcomes). */
  outcomes: RemovalOutcome[];
  done: number;
  skipped: number;
  prunedFolders: string[];
  interrupted: boolean;
  failed: number;
  freedBytes: number;
}

async function unchanged(f: FileFacts): Promise<'same' | 'gone' | string> {
  try {
    const s = await fsp.lstat(f.path);
    if (!s.isFile()) return 'is no longer a regular file';
    if (s.ino !== f.ino || s.size !== f.bytes || s.mtimeMs !== f.mtimeMs)
      return 'changed since it was planned (size, inode or modification time); left alone';
    return 'same';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw error;
  }
}

export interface ExecuteOptions {
  trashRoot: string;
  log: Log;
  signal?: AbortSignal | undefined;
  /** Called after each removal, for per-file log lines. */
  onOutcome?: (outcome: RemovalOutcome) => void;
  /** Keep every outcome in the report (default true); a big cleanup without --json need not. */
  keepOutcomes?: boolean;
}

export async function executeRetention(
  actions: AsyncIterable<RetentionAction> | Iterable<RetentionAction>,
  options: ExecuteOptions,
): Promise<RetentionReport> {
  const report: RetentionReport = {
    outcomes: [],
    done: 0,
    skipped: 0,
    prunedFolders: [],
    interrupted: false,
    failed: 0,
    freedBytes: 0,
  };
  const folders = await executeRemovals(actions, options, report);
  // Folders only after every removal, bottom-up as planned; rmdir never removes a non-empty one.
  if (!report.interrupted) {
    try {
      report.prunedFolders = await pruneFolders(folders);
    } catch (error) {
      options.log.error(`removing empty folders failed: ${errorMessage(error)}`);
      report.failed++;
    }
  }
  return report;
}

/**
 * Every removal in plan order, each tallied into `report` as it ends; returns the folders the plan
 * prunes, for afterwards. A signal stops it between removals, never inside one.
 */
async function executeRemovals(
  actions: AsyncIterable<RetentionAction> | Iterable<RetentionAction>,
  options: ExecuteOptions,
  report: RetentionReport,
): Promise<string[]> {
  const folders: string[] = [];
  const keep = options.keepOutcomes ?? true;
  try {
    for await (const action of actions) {
      if (options.signal?.aborted) {
        report.interrupted = true;
        break;
      }
      if (action.kind === 'prune-folder') {
        folders.push(action.path);
        continue;
      }
      const outcome = await executeOne(action, options.trashRoot);
      tally(report, outcome, keep);
      options.onOutcome?.(outcome);
    }
  } catch (error) {
    // The plan is replayed from the tree as it is executed; a signal stops that replay too.
    if (!(error instanceof PlanInterrupted)) throw error;
    report.interrupted = true;
  }
  return folders;
}

function tally(report: RetentionReport, outcome: RemovalOutcome, keep: boolean): void {
  if (keep) report.outcomes.push(outcome);
  if (outcome.status === 'done') report.done++;
  else if (outcome.status === 'skipped') report.skipped++;
  else report.failed++;
  report.freedBytes += outcome.freedBytes;
}

async function executeOne(action: RemovalAction, trashRoot: string): Promise<RemovalOutcome> {
  const outcome: RemovalOutcome = { action, status: 'done', files: [], freedBytes: 0 };
  if (action.stale) return { ...outcome, status: 'skipped', reason: action.stale };
  try {
    for (const [i, f] of action.files.entries()) {
      const state = await unchanged(f);
      if (state !== 'same') {
        // The main file decides; a thumbnail already gone is no reason to keep the clip.
        if (i === 0) {
          outcome.status = 'skipped';
          outcome.reason = state === 'gone' ? 'already gone' : state;
          return outcome;
        }
        continue;
      }
      if (action.kind === 'trash') {
        const move = action.moves[i];
        if (!move) continue;
        const to = await moveNoClobber(move.from, move.to, trashRoot);
        outcome.files.push({ path: f.path, bytes: f.bytes, to });
      } else {
        await fsp.unlink(f.path);
        outcome.files.push({ path: f.path, bytes: f.bytes });
      }
    }
    // Hard links shared with other roots free bytes only with their last link: the plan knows.
    outcome.freedBytes =
      outcome.files.length === action.files.length
        ? action.freedBytes
        : Math.min(
            action.freedBytes,
            outcome.files.reduce((s, f) => s + f.bytes, 0),
          );
  } catch (error) {
    outcome.status = 'failed';
    outcome.reason = errorMessage(error);
  }
  return outcome;
}

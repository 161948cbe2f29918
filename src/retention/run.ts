/**
 * The `--cleanup` shell: the one place where retention meets the world.
 *   root check → skeletons → planner (streams the trees) → (dry run: render) | (confirm → execute)
 * Dry run and real run share everything up to the plan; the real run executes exactly the plan.
 */
import { confirmOrStop } from '../core/confirm.js';
import { interruptSignalOf, type RunOutcome } from '../core/errors.js';
import type { CleanupTally } from '../archive/report.js';
import type { AppLogger } from '../core/logger.js';
import { resolveRoots } from '../tree/roots.js';
import type { RunIo, TreeRunOptions } from '../archive/run.js';
import { executeRetention, type RetentionReport } from './execute.js';
import { scanSkeletons, treeInventory } from './inventory.js';
import {
  judgeRoot,
  PlanInterrupted,
  planRetention,
  type FsFacts,
  type RetentionAction,
  type MaxDelete,
  type MinFree,
  type RetentionPlan,
  type RetentionSettings,
} from './plan.js';
import {
  planSummaryJson,
  writeJsonWithActions,
  renderOutcome,
  RetentionPlanText,
  renderRetentionReport,
  renderTotals,
} from './render.js';
import {
  auditSkeleton,
  hasTrashMarker,
  TrashAudit,
  trashInUse,
  trashRefusal,
  writeTrashMarker,
} from './trash.js';
import { defaultStateDir } from '../core/state-dir.js';
import { fsFacts, readRootFacts, writeRootMarker } from './storage.js';
import { streamSink, type TextSink } from '../archive/render.js';
import { formatBytes } from '../core/units.js';

/** A `--cleanup` run: the tree options it shares with an archive run, and the retention rules. */
export interface CleanupOptions extends TreeRunOptions {
  cleanOutput: boolean;
  /** --archive-age: archives' own age limit (0 = keep); undefined = --age (the Python meaning). */
  archiveAgeDays?: number | undefined;
  maxSize?: number | undefined;
  minFree?: MinFree | undefined;
  minFreeText?: string | undefined;
  trashDays: number;
  protectSeconds: number;
  maxDelete?: MaxDelete | undefined;
  /** --new-root: adopt this root even though the remembered marker is not in it. */
  newRoot: boolean;
}

/** What a cleanup knows before its logger exists: its roots and whether it may touch them. */
export interface PreparedCleanup {
  roots: { root: string; outputRoot: string; trashRoot: string };
  rootFacts: Awaited<ReturnType<typeof readRootFacts>>;
  /** The root's check: a refusal means nothing is removed (and no log file is created). */
  refusal: string | undefined;
  stateDir: string;
  notes: string[];
}

/** Roots by identity (src/tree/roots.ts): overlapping roots are refused (exit 2); then the root's marker. */
export async function prepareCleanup(
  opts: CleanupOptions,
  env: NodeJS.ProcessEnv,
): Promise<PreparedCleanup> {
  const resolved = await resolveRoots({ ...opts, inputMayBeMissing: true });
  const root = resolved.input.real;
  const stateDir = opts.stateDir ?? defaultStateDir(env);
  const rootFacts = await readRootFacts(root, stateDir, opts.newRoot);
  return {
    roots: { root, outputRoot: resolved.output.real, trashRoot: resolved.trash.real },
    rootFacts,
    refusal: judgeRoot(root, rootFacts).refusal,
    stateDir,
    notes: resolved.notes,
  };
}

/** The cleanup's log file: never one in a tree it refuses (it may be an empty mount point). */
export function cleanupLogFile(
  opts: CleanupOptions,
  prepared: PreparedCleanup,
): string | undefined {
  return opts.dryRun || prepared.refusal ? undefined : opts.logFile;
}

/**
 * The cleanup once its logger exists: a refused root stops it; a real run takes the tree lock,
 * then plans and (after the prompt) removes. `tally` collects the numbers its report sends.
 */
export async function runCleanup(
  opts: CleanupOptions,
  io: RunIo,
  scope: { log: AppLogger; lockTree(dir: string): Promise<void> },
  prepared: PreparedCleanup,
  tally: CleanupTally,
): Promise<RunOutcome> {
  const { log } = scope;
  const { root } = prepared.roots;
  for (const note of prepared.notes) log.info(note);
  if (prepared.refusal) {
    tally.refused = true;
    tally.message = prepared.refusal;
    log.error(`cleanup refused: ${prepared.refusal}`);
    if (opts.json)
      io.stdout.write(
        `${JSON.stringify({ command: 'cleanup', dryRun: opts.dryRun, root, refusal: prepared.refusal }, null, 2)}\n`,
      );
    return { status: 'failed', failures: 1 };
  }
  if (!opts.dryRun) await scope.lockTree(root);
  // Helper threads keep their priority here, unlike the archive's dry run: retention lists and
  // stats on the main thread, and V8's collector (a helper) is on its critical path; at nice 19
  // on a busy host one cleanup dry run took 4.2× the wall time for the same CPU.
  return cleanup(opts, io, log, prepared.roots, prepared.rootFacts, prepared.stateDir, tally);
}

/** What every step of one cleanup shares: its options, clock, output and the report's tally. */
interface CleanupRun {
  opts: CleanupOptions;
  io: RunIo;
  log: AppLogger;
  roots: { root: string; outputRoot: string; trashRoot: string };
  tally: CleanupTally;
  now: Date;
  started: number;
  /** The plan and totals go to stdout as text (not --json, not -q). */
  text: boolean;
  /** At the reader's pace (a pipe to a slow `jq`), and never waiting for one that has left. */
  write: TextSink;
  /** The fields every --json document of this run starts with. */
  jsonBase: Record<string, unknown>;
}

/**
 * One cleanup, step by step: plan (the trash audited on the way), show the plan, then stop at a
 * refusal or the end of a dry run; otherwise confirm, remove, mark the tree, report.
 */
async function cleanup(
  opts: CleanupOptions,
  io: RunIo,
  log: AppLogger,
  roots: { root: string; outputRoot: string; trashRoot: string },
  rootFacts: Awaited<ReturnType<typeof readRootFacts>>,
  stateDir: string,
  tally: CleanupTally,
): Promise<RunOutcome> {
  const run = startCleanup({ opts, io, log, roots, tally });
  const planned = await planCleanup(run, rootFacts);
  if (planned.plan.interrupted) return interruptedWhilePlanning(run);
  const { plan } = planned;
  try {
    await showPlan(run, plan);
  } catch (error) {
    if (error instanceof PlanInterrupted) return interruptedWhilePlanning(run);
    throw error;
  }
  tally.managedBytes = plan.before.total;
  if (plan.refusal) return refuse(run, plan, plan.refusal);
  if (opts.dryRun) return finishDryRun(run, plan);
  const removals = plan.counts.removals + plan.counts.prunes;
  if (removals > 0 && !opts.assumeYes) {
    const stop = await confirmOrStop(io, log);
    if (stop) return stop;
  }
  const report = removals > 0 ? await removePlanned(run, plan) : undefined;
  if (!report) log.info('cleanup: nothing to remove');
  tallyRemovals(run, plan, report);
  if (report?.interrupted) return { status: 'interrupted', signal: interruptSignalOf(io.signal) };
  const failures = report?.failed ?? 0;
  if (failures === 0) await markTree(run, plan, planned.trashMarker, stateDir);
  if (opts.json) await writeRunJson(run, plan, report);
  const shortfallText = shortfallMessage(plan, opts);
  if (shortfallText) log.error(shortfallText);
  if (failures > 0) return { status: 'failed', failures };
  return shortfallText ? { status: 'failed', failures: 1 } : { status: 'ok' };
}

function startCleanup(
  parts: Pick<CleanupRun, 'opts' | 'io' | 'log' | 'roots' | 'tally'>,
): CleanupRun {
  const { opts, io, roots } = parts;
  const now = io.clock();
  return {
    ...parts,
    now,
    started: Date.now(),
    text: !opts.json && opts.verbosity >= 0,
    write: streamSink(io.stdout),
    jsonBase: {
      command: 'cleanup',
      root: roots.root,
      output: roots.outputRoot,
      trash: roots.trashRoot,
      now: now.toISOString(),
      rules: {
        ageDays: opts.ageDays,
        cleanOutput: opts.cleanOutput,
        archiveAgeDays: opts.archiveAgeDays ?? null,
        maxSize: opts.maxSize ?? null,
        minFree: opts.minFreeText ?? null,
        trashDays: opts.trashDays,
        protectSeconds: opts.protectSeconds,
        maxDelete: opts.maxDelete ?? null,
        ageRemovals: opts.deleteSources ? 'delete' : 'trash',
      },
    },
  };
}

function retentionSettings(run: CleanupRun): RetentionSettings {
  const { opts } = run;
  return {
    ...run.roots,
    disposal: opts.deleteSources ? 'delete' : 'trash',
    ageDays: opts.ageDays,
    cleanOutput: opts.cleanOutput,
    archiveAgeDays: opts.archiveAgeDays,
    maxSizeBytes: opts.maxSize,
    minFree: opts.minFree,
    trashDays: opts.trashDays,
    protectSeconds: opts.protectSeconds,
    settleSeconds: opts.settleSeconds,
    maxDelete: opts.maxDelete,
  };
}

/**
 * The plan, from the free space, the three trees' skeletons and their inventory. The trash
 * deletes only what the tool put there: anything else in it becomes the plan's refusal.
 */
async function planCleanup(
  run: CleanupRun,
  rootFacts: Awaited<ReturnType<typeof readRootFacts>>,
): Promise<{ plan: RetentionPlan; trashMarker: boolean }> {
  const { opts, log, roots } = run;
  let fs: FsFacts | undefined;
  try {
    fs = await fsFacts(roots.root);
  } catch (error) {
    if (opts.minFree) throw error;
    log.warn(`cannot read free space of ${roots.root}: ${String(error)}`);
  }
  const skeletons = await scanSkeletons(roots);
  for (const sk of Object.values(skeletons))
    for (const ignored of sk.ignored)
      if (ignored.path !== opts.logFile) log.verbose(`ignored ${ignored.path}: ${ignored.reason}`);
  const audit = new TrashAudit();
  const trashMarker = await hasTrashMarker(roots.trashRoot);
  if (skeletons.trash) await auditSkeleton(roots.trashRoot, skeletons.trash, audit);
  const plan = await planRetention(
    treeInventory(roots, skeletons, audit),
    retentionSettings(run),
    rootFacts,
    fs,
    run.now,
    { signal: run.io.signal },
  );
  const foreign = trashRefusal(roots.trashRoot, audit);
  if (foreign && !plan.interrupted) plan.refusal = foreign;
  const adoptTrash = !trashMarker && !plan.refusal && (await trashInUse(roots.trashRoot));
  if (adoptTrash)
    log.info(
      `the trash ${roots.trashRoot} has no marker yet (made by an archive run, an older version or the Python archiver) and every file in it is in the layout: ${opts.dryRun ? 'a real cleanup adopts it' : 'adopting it'}`,
    );
  return { plan, trashMarker };
}

function interruptedWhilePlanning(run: CleanupRun): RunOutcome {
  run.log.warn('cleanup interrupted while planning: nothing was removed');
  return { status: 'interrupted', signal: interruptSignalOf(run.io.signal) };
}

/** The plan as text (a dry run, -v, a prompt to answer, a refusal to explain), then its totals. */
async function showPlan(run: CleanupRun, plan: RetentionPlan): Promise<void> {
  const { opts, text, write } = run;
  if (text && (opts.dryRun || opts.verbosity > 0 || !opts.assumeYes || plan.refusal)) {
    const planText = new RetentionPlanText(run.roots.root, opts.verbosity > 0);
    let chunk = '';
    for await (const action of plan.actions()) {
      const lines = planText.add(action);
      // Past the listed part the days come from the plan's books: the replay stops here.
      if (!lines) break;
      for (const line of lines) chunk += `${line}\n`;
      if (chunk.length >= 64 * 1024) {
        await write(chunk);
        chunk = '';
      }
    }
    for (const line of planText.rest(plan.removalsByDay, plan.counts.prunes)) chunk += `${line}\n`;
    await write(chunk);
  }
  const limits = { maxSizeBytes: opts.maxSize, minFreeText: opts.minFreeText };
  if (text)
    await write(
      renderTotals(plan, limits)
        .map((l) => `${l}\n`)
        .join(''),
    );
}

async function refuse(run: CleanupRun, plan: RetentionPlan, refusal: string): Promise<RunOutcome> {
  run.tally.refused = true;
  run.tally.message = refusal;
  run.log.error(`cleanup refused: ${refusal}`);
  if (run.opts.json)
    await run.write(
      `${JSON.stringify({ ...run.jsonBase, dryRun: run.opts.dryRun, ...planSummaryJson(plan), actions: [] }, null, 2)}\n`,
    );
  return { status: 'failed', failures: 1 };
}

async function finishDryRun(run: CleanupRun, plan: RetentionPlan): Promise<RunOutcome> {
  try {
    if (run.opts.json)
      await writeJsonWithActions(
        run.write,
        { ...run.jsonBase, dryRun: true, ...planSummaryJson(plan) },
        plan.actions(),
      );
    else if (run.text) await run.write('Dry run, nothing was changed.\n');
  } catch (error) {
    if (error instanceof PlanInterrupted) return interruptedWhilePlanning(run);
    throw error;
  }
  const shortfallText = shortfallMessage(plan, run.opts);
  if (shortfallText) run.log.error(shortfallText);
  return shortfallText ? { status: 'failed', failures: 1 } : { status: 'ok' };
}

/** Executes exactly the plan; each outcome is logged as it happens. */
async function removePlanned(run: CleanupRun, plan: RetentionPlan): Promise<RetentionReport> {
  const { log, roots } = run;
  const report = await executeRetention(plan.actions(), {
    trashRoot: roots.trashRoot,
    log,
    signal: run.io.signal,
    // Only --json lists every outcome; otherwise each is logged as it happens and forgotten.
    keepOutcomes: run.opts.json,
    onOutcome: (o) => {
      const line = renderOutcome(o, roots.root);
      if (o.status === 'failed') log.error(line);
      else if (o.status === 'skipped') log.warn(line);
      else log.info(line);
    },
  });
  log.info(renderRetentionReport(report, (Date.now() - run.started) / 1000));
  return report;
}

function tallyRemovals(
  run: CleanupRun,
  plan: RetentionPlan,
  report: RetentionReport | undefined,
): void {
  const { tally } = run;
  if (report) {
    tally.removed = report.done;
    tally.skipped = report.skipped;
    tally.failed = report.failed;
    tally.freedBytes = report.freedBytes;
    tally.managedBytes = Math.max(0, plan.before.total - report.freedBytes);
  }
  tally.shortfall = plan.shortfall;
  tally.message = shortfallMessage(plan, run.opts);
}

/**
 * After a run without failures: the trash marker (also for a trash this run's age rule created:
 * later cleanups know it as the tool's own) and the root marker the plan asked for.
 */
async function markTree(
  run: CleanupRun,
  plan: RetentionPlan,
  trashMarker: boolean,
  stateDir: string,
): Promise<void> {
  const { log, roots } = run;
  if (!trashMarker && (await trashInUse(roots.trashRoot))) {
    try {
      await writeTrashMarker(roots.trashRoot);
    } catch (error) {
      log.warn(`could not write the trash marker: ${String(error)}`);
    }
  }
  if (plan.writeMarker) {
    try {
      await writeRootMarker(roots.root, stateDir);
      log.verbose(`wrote the root marker; later cleanups refuse a ${roots.root} without it`);
    } catch (error) {
      log.warn(`could not write the root marker: ${String(error)}`);
    }
  }
}

/** A real run's --json: the actions it executed (and the folders it pruned), and each outcome. */
async function writeRunJson(
  run: CleanupRun,
  plan: RetentionPlan,
  report: RetentionReport | undefined,
): Promise<void> {
  const outcomes = report?.outcomes ?? [];
  const pruned = report?.prunedFolders ?? [];
  await writeJsonWithActions(
    run.write,
    { ...run.jsonBase, dryRun: false, ...planSummaryJson(plan) },
    [
      ...outcomes.map((o) => o.action),
      ...pruned.map((p): RetentionAction => ({
        kind: 'prune-folder',
        path: p,
        reason: 'left empty by this cleanup',
        bytes: 0,
        permanent: true,
      })),
    ],
    {
      durationSeconds: (Date.now() - run.started) / 1000,
      freedBytes: report?.freedBytes ?? 0,
      failed: report?.failed ?? 0,
      prunedFolders: pruned,
      outcomes: outcomes.map((o) => ({
        paths: o.action.files.map((f) => f.path),
        status: o.status,
        reason: o.reason ?? null,
        movedTo: o.files.map((f) => f.to ?? null),
        freedBytes: o.freedBytes,
      })),
    },
  );
}

function shortfallMessage(plan: RetentionPlan, opts: CleanupOptions): string | undefined {
  if (!plan.shortfall) return undefined;
  const what: string[] = [];
  if (opts.maxSize !== undefined && plan.after.total > opts.maxSize)
    what.push(
      `still ${formatBytes(plan.after.total)}, ${formatBytes(plan.after.total - opts.maxSize)} over --max-size ${formatBytes(opts.maxSize)}`,
    );
  if (opts.minFreeText && plan.freeAfter !== undefined)
    what.push(`free space ${formatBytes(plan.freeAfter)}, under --min-free ${opts.minFreeText}`);
  const kept = [
    `anything recorded within the protection window (--protect ${formatDuration(opts.protectSeconds)})`,
  ];
  if (opts.ageDays > 0)
    kept.push(`sources not archived yet (recorded within --age ${opts.ageDays} days)`);
  if (!opts.cleanOutput) kept.push('archives (add --clean-output to let the limits remove them)');
  return `the limits cannot be met (${what.join('; ') || 'limit not reached'}): never removed are ${kept.join(', ')}`;
}

function formatDuration(seconds: number): string {
  return seconds % 86400 === 0
    ? `${seconds / 86400}d`
    : seconds % 3600 === 0
      ? `${seconds / 3600}h`
      : `${Math.round(seconds / 60)}m`;
}

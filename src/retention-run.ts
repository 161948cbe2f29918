/**
 * The `--cleanup` shell: the one place where retention meets the world.
 *   root check → skeletons → planner (streams the trees) → (dry run: render) | (confirm → execute)
 * Dry run and real run share everything up to the plan; the real run executes exactly the plan.
 */
import { confirmOrStop } from './confirm.js';
import {
  errorMessage,
  exitCodeForError,
  exitCodeForOutcome,
  interruptSignalOf,
  type RunOutcome,
} from './errors.js';
import { reportCleanup } from './run-report.js';
import { acquireTreeLock, type TreeLock } from './lock.js';
import { createLogger, type AppLogger } from './logger.js';
import { resolveRoots } from './roots.js';
import { consoleLevel, type RunIo } from './archive-run.js';
import { executeRetention, type RetentionReport } from './retention-execute.js';
import { scanSkeletons, treeInventory } from './retention-inventory.js';
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
} from './retention-plan.js';
import {
  planSummaryJson,
  writeJsonWithActions,
  renderOutcome,
  renderRetentionAction,
  renderRetentionReport,
  renderTotals,
} from './retention-render.js';
import {
  auditSkeleton,
  hasTrashMarker,
  TrashAudit,
  trashInUse,
  trashRefusal,
  writeTrashMarker,
} from './retention-trash.js';
import { defaultStateDir, fsFacts, readRootFacts, writeRootMarker } from './storage.js';
import { streamSink } from './render.js';
import { formatBytes } from './units.js';

export interface CleanupOptions {
  root: string;
  output: string;
  trash: string;
  /** --delete: the age rule deletes instead of trashing. */
  deleteSources: boolean;
  dryRun: boolean;
  assumeYes: boolean;
  cleanOutput: boolean;
  /** --archive-age: archives' own age limit (0 = keep); undefined = --age (the Python meaning). */
  archiveAgeDays?: number | undefined;
  ageDays: number;
  maxSize?: number | undefined;
  minFree?: MinFree | undefined;
  minFreeText?: string | undefined;
  trashDays: number;
  protectSeconds: number;
  settleSeconds: number;
  maxDelete?: MaxDelete | undefined;
  /** --new-root: adopt this root even though the remembered marker is not in it. */
  newRoot: boolean;
  /** Where the root's marker id is remembered; default $XDG_STATE_HOME/camera-archiver. */
  stateDir?: string | undefined;
  logFile: string;
  json: boolean;
  verbosity: number;
  commandLine: string;
  /** Reported like an archive run's: `<file minus .prom>-cleanup.prom` and a webhook event. */
  metricsFile?: string | undefined;
  notifyUrls?: readonly string[] | undefined;
  notifySecret?: string | undefined;
}

/** What the run did, filled in as it goes, for its metrics and notification. */
interface CleanupTally {
  removed: number;
  skipped: number;
  failed: number;
  freedBytes: number;
  managedBytes: number;
  shortfall: boolean;
  refused: boolean;
  message?: string | undefined;
}

export async function runCleanup(opts: CleanupOptions, io: RunIo): Promise<RunOutcome> {
  // By identity (src/roots.ts): overlapping roots are refused (exit 2); real paths from here on.
  const resolved = await resolveRoots({ ...opts, inputMayBeMissing: true });
  const [root, outputRoot, trashRoot] = [resolved.input, resolved.output, resolved.trash].map(
    (r) => r.real,
  ) as [string, string, string];
  // Without a terminal and without -y, the question is still asked when there is work to do:
  // it may be answered through a pipe, and nobody answering is refused then (confirm.ts).
  const stateDir = opts.stateDir ?? defaultStateDir(io.env);
  const rootFacts = await readRootFacts(root, stateDir, opts.newRoot);
  const judged = judgeRoot(root, rootFacts);
  const log = await createLogger({
    consoleLevel: consoleLevel(opts.verbosity),
    // Never create a log file in a tree we refuse: it may be an empty mount point.
    file: opts.dryRun || judged.refusal ? undefined : opts.logFile,
    stderr: io.stderr,
    env: io.env,
    stateDir,
  });
  let lock: TreeLock | undefined;
  const started = performance.now();
  const tally: CleanupTally = {
    removed: 0,
    skipped: 0,
    failed: 0,
    freedBytes: 0,
    managedBytes: 0,
    shortfall: false,
    refused: false,
  };
  let outcome: RunOutcome | undefined;
  let thrown: unknown;
  try {
    outcome = await cleanupChecked();
    return outcome;
  } catch (error) {
    thrown = error;
    throw error;
  } finally {
    await lock?.release();
    if (!opts.dryRun && (opts.metricsFile || opts.notifyUrls?.length)) {
      const code =
        thrown !== undefined ? exitCodeForError(thrown) : outcome ? exitCodeForOutcome(outcome) : 0;
      const status =
        thrown !== undefined
          ? 'error'
          : outcome?.status === 'interrupted'
            ? 'interrupted'
            : code === 0
              ? 'ok'
              : 'failed';
      // A prompt the user declined is not a run to report.
      if (outcome?.status !== 'cancelled')
        await reportCleanup(
          {
            root,
            metricsFile: opts.metricsFile,
            notifyUrls: opts.notifyUrls,
            notifySecret: opts.notifySecret,
          },
          {
            ...tally,
            root,
            status,
            exitCode: code,
            durationSeconds: (performance.now() - started) / 1000,
            message: thrown !== undefined ? errorMessage(thrown) : tally.message,
          },
          log,
        );
    }
    await log.close();
  }

  async function cleanupChecked(): Promise<RunOutcome> {
    try {
      for (const note of resolved.notes) log.info(note);
      if (judged.refusal) {
        tally.refused = true;
        tally.message = judged.refusal;
        log.error(`cleanup refused: ${judged.refusal}`);
        if (opts.json)
          io.stdout.write(
            `${JSON.stringify({ command: 'cleanup', dryRun: opts.dryRun, root, refusal: judged.refusal }, null, 2)}\n`,
          );
        return { status: 'failed', failures: 1 };
      }
      if (!opts.dryRun) {
        lock = await acquireTreeLock({
          dir: root,
          command: opts.commandLine,
          onTakeover: (why) => log.warn(`took over a stale lock (${why})`),
        });
      }
      // Helper threads keep their priority: retention lists and stats on the main thread, and
      // what the helpers do for it (V8's garbage collection) is on its critical path.
      return await cleanup(
        opts,
        io,
        log,
        { root, outputRoot, trashRoot },
        rootFacts,
        stateDir,
        tally,
      );
    } catch (error) {
      log.error(error instanceof Error ? error.message : String(error));
      (error as { logged?: boolean }).logged = true;
      throw error;
    }
  }
}

async function cleanup(
  opts: CleanupOptions,
  io: RunIo,
  log: AppLogger,
  roots: { root: string; outputRoot: string; trashRoot: string },
  rootFacts: Awaited<ReturnType<typeof readRootFacts>>,
  stateDir: string,
  tally: CleanupTally,
): Promise<RunOutcome> {
  const now = io.clock();
  const started = Date.now();
  const text = !opts.json && opts.verbosity >= 0;
  const settings: RetentionSettings = {
    ...roots,
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
  // The trash deletes only what the tool put there: anything else in it refuses the cleanup.
  const audit = new TrashAudit();
  const trashMarker = await hasTrashMarker(roots.trashRoot);
  if (skeletons.trash) await auditSkeleton(roots.trashRoot, skeletons.trash, audit);
  const plan = await planRetention(
    treeInventory(roots, skeletons, audit),
    settings,
    rootFacts,
    fs,
    now,
    { signal: io.signal },
  );
  const foreign = trashRefusal(roots.trashRoot, audit);
  if (foreign && !plan.interrupted) plan.refusal = foreign;
  const adoptTrash = !trashMarker && !plan.refusal && (await trashInUse(roots.trashRoot));
  if (adoptTrash)
    log.info(
      `the trash ${roots.trashRoot} has no marker yet (made by an archive run, an older version or the Python archiver) and every file in it is in the layout: ${opts.dryRun ? 'a real cleanup adopts it' : 'adopting it'}`,
    );
  const interrupted = (): RunOutcome => {
    log.warn('cleanup interrupted while planning: nothing was removed');
    return { status: 'interrupted', signal: interruptSignalOf(io.signal) };
  };
  if (plan.interrupted) return interrupted();
  const limits = { maxSizeBytes: opts.maxSize, minFreeText: opts.minFreeText };
  // At the reader's pace (a pipe to a slow `jq`), and never waiting for one that has left.
  const write = streamSink(io.stdout);

  const jsonBase = {
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
  };

  try {
    if (text && (opts.dryRun || opts.verbosity > 0 || !opts.assumeYes || plan.refusal)) {
      let chunk = '';
      for await (const action of plan.actions()) {
        for (const line of renderRetentionAction(action, roots.root)) chunk += `${line}\n`;
        if (chunk.length >= 64 * 1024) {
          await write(chunk);
          chunk = '';
        }
      }
      await write(chunk);
    }
  } catch (error) {
    if (error instanceof PlanInterrupted) return interrupted();
    throw error;
  }
  if (text)
    await write(
      renderTotals(plan, limits)
        .map((l) => `${l}\n`)
        .join(''),
    );
  const shortfallText = shortfallMessage(plan, opts);

  tally.managedBytes = plan.before.total;
  if (plan.refusal) {
    tally.refused = true;
    tally.message = plan.refusal;
    log.error(`cleanup refused: ${plan.refusal}`);
    if (opts.json)
      await write(
        `${JSON.stringify({ ...jsonBase, dryRun: opts.dryRun, ...planSummaryJson(plan), actions: [] }, null, 2)}\n`,
      );
    return { status: 'failed', failures: 1 };
  }
  if (opts.dryRun) {
    try {
      if (opts.json)
        await writeJsonWithActions(
          write,
          { ...jsonBase, dryRun: true, ...planSummaryJson(plan) },
          plan.actions(),
        );
      else if (text) await write('Dry run, nothing was changed.\n');
    } catch (error) {
      if (error instanceof PlanInterrupted) return interrupted();
      throw error;
    }
    if (shortfallText) log.error(shortfallText);
    return shortfallText ? { status: 'failed', failures: 1 } : { status: 'ok' };
  }

  const removals = plan.counts.removals + plan.counts.prunes;
  if (removals > 0 && !opts.assumeYes) {
    const stop = await confirmOrStop(io, log);
    if (stop) return stop;
  }

  let report: RetentionReport | undefined;
  if (removals > 0) {
    report = await executeRetention(plan.actions(), {
      trashRoot: roots.trashRoot,
      log,
      signal: io.signal,
      // Only --json lists every outcome; otherwise each is logged as it happens and forgotten.
      keepOutcomes: opts.json,
      onOutcome: (o) => {
        const line = renderOutcome(o, roots.root);
        if (o.status === 'failed') log.error(line);
        else if (o.status === 'skipped') log.warn(line);
        else log.info(line);
      },
    });
    log.info(renderRetentionReport(report, (Date.now() - started) / 1000));
  } else {
    log.info('cleanup: nothing to remove');
  }
  if (report) {
    tally.removed = report.done;
    tally.skipped = report.skipped;
    tally.failed = report.failed;
    tally.freedBytes = report.freedBytes;
    tally.managedBytes = Math.max(0, plan.before.total - report.freedBytes);
  }
  tally.shortfall = plan.shortfall;
  tally.message = shortfallMessage(plan, opts);
  if (report?.interrupted) return { status: 'interrupted', signal: interruptSignalOf(io.signal) };
  const failures = report?.failed ?? 0;
  // Also a trash this run's age rule created: later cleanups know it as the tool's own.
  if (failures === 0 && !trashMarker && (await trashInUse(roots.trashRoot))) {
    try {
      await writeTrashMarker(roots.trashRoot);
    } catch (error) {
      log.warn(`could not write the trash marker: ${String(error)}`);
    }
  }
  if (failures === 0 && plan.writeMarker) {
    try {
      await writeRootMarker(roots.root, stateDir);
      log.verbose(`wrote the root marker; later cleanups refuse a ${roots.root} without it`);
    } catch (error) {
      log.warn(`could not write the root marker: ${String(error)}`);
    }
  }
  if (opts.json) {
    const outcomes = report?.outcomes ?? [];
    await writeJsonWithActions(
      write,
      { ...jsonBase, dryRun: false, ...planSummaryJson(plan) },
      [
        ...outcomes.map((o) => o.action),
        ...(report?.prunedFolders ?? []).map((p): RetentionAction => ({
          kind: 'prune-folder',
          path: p,
          reason: 'left empty by this cleanup',
          bytes: 0,
          permanent: true,
        })),
      ],
      {
        durationSeconds: (Date.now() - started) / 1000,
        freedBytes: report?.freedBytes ?? 0,
        failed: failures,
        prunedFolders: report?.prunedFolders ?? [],
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
  if (shortfallText) log.error(shortfallText);
  if (failures > 0) return { status: 'failed', failures };
  return shortfallText ? { status: 'failed', failures: 1 } : { status: 'ok' };
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

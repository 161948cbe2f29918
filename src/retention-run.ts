/**
 * The `--cleanup` shell: the one place where retention meets the world.
 *   root check → skeletons → planner (streams the trees) → (dry run: render) | (confirm → execute)
 * Dry run and real run share everything up to the plan; the real run executes exactly the plan.
 */
import { confirmOrStop } from './confirm.js';
import { interruptSignalOf, UsageError, type RunOutcome } from './errors.js';
import { acquireTreeLock, type TreeLock } from './lock.js';
import { createLogger, type AppLogger } from './logger.js';
import { resolveRoots } from './roots.js';
import { consoleLevel, type RunIo } from './archive-run.js';
import { executeRetention, type RetentionReport } from './retention-execute.js';
import { scanSkeletons, treeInventory } from './retention-inventory.js';
import {
  judgeRoot,
  planRetention,
  type FsFacts,
  type MaxDelete,
  type MinFree,
  type RetentionPlan,
  type RetentionSettings,
} from './retention-plan.js';
import {
  planToJson,
  renderOutcome,
  renderRetentionAction,
  renderRetentionReport,
  renderTotals,
} from './retention-render.js';
import { defaultStateDir, fsFacts, readRootFacts, writeRootMarker } from './storage.js';
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
}

/** The three roots must be distinct: an archive tree that is also the input would be read as sources. */
export function checkRoots(root: string, output: string, trash: string): void {
  if (root === output || root === trash || output === trash)
    throw new UsageError(
      `the input (${root}), archive (${output}) and trash (${trash}) roots must be three different folders`,
    );
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
  try {
    for (const note of resolved.notes) log.info(note);
    if (judged.refusal) {
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
    // A dry run ends with its plan, so its listing threads can give way to the planner for good.
    if (opts.dryRun) io.lowerHelperThreads?.();
    return await cleanup(opts, io, log, { root, outputRoot, trashRoot }, rootFacts, stateDir);
  } catch (error) {
    log.error(error instanceof Error ? error.message : String(error));
    (error as { logged?: boolean }).logged = true;
    throw error;
  } finally {
    await lock?.release();
    await log.close();
  }
}

async function cleanup(
  opts: CleanupOptions,
  io: RunIo,
  log: AppLogger,
  roots: { root: string; outputRoot: string; trashRoot: string },
  rootFacts: Awaited<ReturnType<typeof readRootFacts>>,
  stateDir: string,
): Promise<RunOutcome> {
  const now = io.clock();
  const started = Date.now();
  const print = (line: string): void => {
    io.stdout.write(`${line}\n`);
  };
  const text = !opts.json && opts.verbosity >= 0;
  const settings: RetentionSettings = {
    ...roots,
    disposal: opts.deleteSources ? 'delete' : 'trash',
    ageDays: opts.ageDays,
    cleanOutput: opts.cleanOutput,
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
  const plan = await planRetention(treeInventory(roots, skeletons), settings, rootFacts, fs, now);
  const limits = { maxSizeBytes: opts.maxSize, minFreeText: opts.minFreeText };

  const jsonBase = {
    command: 'cleanup',
    root: roots.root,
    output: roots.outputRoot,
    trash: roots.trashRoot,
    now: now.toISOString(),
    rules: {
      ageDays: opts.ageDays,
      cleanOutput: opts.cleanOutput,
      maxSize: opts.maxSize ?? null,
      minFree: opts.minFreeText ?? null,
      trashDays: opts.trashDays,
      protectSeconds: opts.protectSeconds,
      maxDelete: opts.maxDelete ?? null,
      ageRemovals: opts.deleteSources ? 'delete' : 'trash',
    },
  };

  if (text && (opts.dryRun || opts.verbosity > 0 || !opts.assumeYes || plan.refusal))
    for (const action of plan.actions)
      for (const line of renderRetentionAction(action, roots.root)) print(line);
  if (text) for (const line of renderTotals(plan, limits)) print(line);
  const shortfallText = shortfallMessage(plan, opts);

  if (plan.refusal) {
    log.error(`cleanup refused: ${plan.refusal}`);
    if (opts.json)
      print(JSON.stringify({ ...jsonBase, dryRun: opts.dryRun, ...planToJson(plan) }, null, 2));
    return { status: 'failed', failures: 1 };
  }
  if (opts.dryRun) {
    if (opts.json)
      print(JSON.stringify({ ...jsonBase, dryRun: true, ...planToJson(plan) }, null, 2));
    else if (text) print('Dry run, nothing was changed.');
    if (shortfallText) log.error(shortfallText);
    return shortfallText ? { status: 'failed', failures: 1 } : { status: 'ok' };
  }

  const removals = plan.actions.length;
  if (removals > 0 && !opts.assumeYes) {
    const stop = await confirmOrStop(io, log);
    if (stop) return stop;
  }

  let report: RetentionReport | undefined;
  if (removals > 0) {
    report = await executeRetention(plan.actions, {
      trashRoot: roots.trashRoot,
      log,
      signal: io.signal,
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
  if (report?.interrupted) return { status: 'interrupted', signal: interruptSignalOf(io.signal) };
  const failures = report?.failed ?? 0;
  if (failures === 0 && plan.writeMarker) {
    try {
      await writeRootMarker(roots.root, stateDir);
      log.verbose(`wrote the root marker; later cleanups refuse a ${roots.root} without it`);
    } catch (error) {
      log.warn(`could not write the root marker: ${String(error)}`);
    }
  }
  if (opts.json)
    print(
      JSON.stringify(
        {
          ...jsonBase,
          dryRun: false,
          ...planToJson(plan),
          durationSeconds: (Date.now() - started) / 1000,
          freedBytes: report?.freedBytes ?? 0,
          failed: failures,
          prunedFolders: report?.prunedFolders ?? [],
          outcomes: (report?.outcomes ?? []).map((o) => ({
            paths: o.action.files.map((f) => f.path),
            status: o.status,
            reason: o.reason ?? null,
            movedTo: o.files.map((f) => f.to ?? null),
            freedBytes: o.freedBytes,
          })),
        },
        null,
        2,
      ),
    );
  if (shortfallText) log.error(shortfallText);
  if (failures > 0) return { status: 'failed', failures };
  return shortfallText ? { status: 'failed', failures: 1 } : { status: 'ok' };
}

function shortfallMessage(plan: RetentionPlan, opts: CleanupOptions): string | undefined {
  if (!plan.shortfall) return undefined;
  const what: string[] = [];
  if (opts.maxSize !== undefined && plan.after.total > opts.maxSize)
    what.push(
      `still ${formatBytes(plan.after.total)}, over --max-size ${formatBytes(opts.maxSize)}`,
    );
  if (opts.minFreeText && plan.freeAfter !== undefined)
    what.push(`free space ${formatBytes(plan.freeAfter)}, under --min-free ${opts.minFreeText}`);
  return `the limits cannot be met without removing protected footage (${what.join('; ') || 'limit not reached'}); nothing newer than the protection window${opts.cleanOutput ? '' : ' and no archive (add --clean-output)'} is removed`;
}

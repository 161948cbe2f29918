/**
 * The real run's executing pass: plans the tree again, day by day, with the very functions of the
 * dry run, and hands the executor whole day folders (about BATCH_CLIPS clips at a time), so memory
 * holds a batch and the day being listed, never the tree's plan (338 MB at 100,000 files when it
 * did; test/integration/memory.test.ts). A day folder whose work is not what the counting pass
 * found (the tree changed after the plan was shown) is left for the next run: a real run may do
 * less than the plan it showed, never more. Between batches every worker waits for the last clip
 * of the batch; with whole days per batch that is a clip's time per day at most.
 */
import { displayPath } from '../core/display-path.js';
import type { Log } from '../core/logger.js';
import {
  discoverDays,
  type DayInventory,
  type DiscoveryOptions,
  type Skeleton,
} from './discovery.js';
import type { ExecutionReport, ExecutorContext } from './executor.js';
import { fingerprint, isClipAction } from './plan-pass.js';
import { planDay, planPrunes, type PlanAction, type PlanSettings } from './planner.js';
import type { ProgressReporter } from './progress.js';

/** Clip actions carried to the executor together: whole day folders, about this many clips. */
const BATCH_CLIPS = 256;

export interface ExecuteByDayOptions {
  executor: typeof import('./executor.js');
  discovery: DiscoveryOptions;
  skeleton: Skeleton;
  settings: PlanSettings;
  now: Date;
  /** The counting pass's fingerprint of each day folder's work. */
  dayPrints: ReadonlyMap<string, number>;
  plannedClips: number;
  totalBytes: number;
  log: Log;
  signal: AbortSignal;
  context: ExecutorContext;
}

export async function executeByDay(o: ExecuteByDayOptions): Promise<ExecutionReport> {
  const batches = new DayBatches(o);
  const progress = o.context.progress;
  progress.start({ files: o.plannedClips, bytes: o.totalBytes });
  try {
    for await (const day of discoverDays(o.discovery, o.skeleton)) {
      // A signal ends the walk at once; what was not planned yet is counted by the caller.
      if (o.signal.aborted) {
        batches.merged.interrupted = true;
        break;
      }
      await batches.day(day);
    }
    await batches.finish();
  } finally {
    progress.stop();
  }
  if (o.signal.aborted) batches.merged.interrupted = true;
  return batches.merged;
}

/** The day folders' work, batched for the executor, and what the executor reported, merged. */
class DayBatches {
  readonly merged: ExecutionReport;
  private profile: ExecutorContext['profile'];
  private batch: PlanAction[] = [];
  private batchClips = 0;
  /** Interrupted, or stopped by --until: nothing more starts. */
  private stopped = false;
  private readonly emptied = new Set<string>();
  /** Each batch is one executor call; the progress shown is the run's, started and stopped once. */
  private readonly progress: ProgressReporter;

  constructor(private readonly o: ExecuteByDayOptions) {
    this.merged = o.executor.emptyExecutionReport();
    const progress = o.context.progress;
    this.profile = o.context.profile;
    this.progress = {
      start() {},
      fileStarted: (...a) => progress.fileStarted(...a),
      fileProgress: (...a) => progress.fileProgress(...a),
      fileFinished: (...a) => progress.fileFinished(...a),
      stop() {},
    };
  }

  /** One day folder: its work joins the batch, unless it changed since the plan or the run stopped. */
  async day(day: DayInventory): Promise<void> {
    const plan = planDay(day, this.o.settings, this.o.now);
    const work = plan.actions.filter((a) => a.kind !== 'keep');
    if (work.length === 0) {
      if (plan.emptiesFolder) this.emptied.add(plan.folder.relDir);
      return;
    }
    const changed = fingerprint(plan.actions) !== this.o.dayPrints.get(plan.folder.relDir);
    if (this.stopped || changed) {
      // Stopped by --until: the rest is listed as not done, as when the plan was held whole.
      for (const a of work) if (isClipAction(a)) this.merged.notStarted.push(a.clip.path);
      if (changed && !this.stopped)
        this.o.log.warn(
          `${displayPath(this.o.context.root, plan.folder.dir)} changed after the plan was made: left as it is for the next run`,
        );
      return;
    }
    if (plan.emptiesFolder) this.emptied.add(plan.folder.relDir);
    this.batch.push(...work);
    this.batchClips += work.filter(isClipAction).length;
    if (this.batchClips >= BATCH_CLIPS) await this.flush();
  }

  /** The last batch, then the date folders the run left empty, bottom-up, after every clip. */
  async finish(): Promise<void> {
    if (!this.stopped && !this.merged.interrupted) await this.flush();
    if (!this.merged.interrupted)
      await this.run(planPrunes(this.o.skeleton, this.emptied, this.o.context.root));
    else this.batch = [];
  }

  private async flush(): Promise<void> {
    const actions = this.batch;
    this.batch = [];
    this.batchClips = 0;
    if (actions.length > 0) await this.run(actions);
  }

  private async run(actions: PlanAction[]): Promise<void> {
    const { executor, context } = this.o;
    const r = await executor.executePlan(actions, {
      ...context,
      profile: this.profile,
      progress: this.progress,
    });
    const merged = this.merged;
    merged.outcomes.push(...r.outcomes);
    merged.removedPartials.push(...r.removedPartials);
    merged.prunedFolders.push(...r.prunedFolders);
    merged.notStarted.push(...r.notStarted);
    merged.hardwareFallbacks += r.hardwareFallbacks;
    if (r.stoppedByUntil) merged.stoppedByUntil = true;
    if (r.interrupted) merged.interrupted = true;
    if (r.interrupted || r.stoppedByUntil) this.stopped = true;
    // The executor switches to software after so many hardware failures within a call: so does
    // the run across its calls.
    if (
      context.fallbackProfile &&
      merged.hardwareFallbacks >= executor.HARDWARE_FAILURES_BEFORE_SWITCH
    )
      this.profile = context.fallbackProfile;
  }
}

/**
 * The counting pass of an archive run: walks the tree day by day through the planner, once.
 * A dry run prints what it plans as it goes (text, or a JSON document streamed an action at a
 * time, at the reader's pace); a real run counts the plan for the summary and the prompt, totals
 * the clips' bytes for progress, and keeps one fingerprint per day folder, so that the executing
 * pass (run.ts executeByDay) acts only on days that still plan the same. Neither holds the plan.
 */
import { promises as fsp } from 'node:fs';
import { interruptSignalOf, type RunOutcome } from '../core/errors.js';
import { displayPath } from '../core/display-path.js';
import type { AppLogger } from '../core/logger.js';
import { encoderName } from '../media/encoders.js';
import {
  discoverDays,
  type DayInventory,
  type DiscoveryOptions,
  type IgnoredFile,
  type Skeleton,
} from './discovery.js';
import {
  addDayCounts,
  countAction,
  countDay,
  emptyCounts,
  planDay,
  planPrunes,
  type PlanAction,
  type PlanCounts,
  type PlanSettings,
} from './planner.js';
import {
  actionToJson,
  jsonObjectWriter,
  renderAction,
  renderCounts,
  renderDaySummary,
  streamSink,
  TEXT_PLAN_LIMIT,
  type JsonObjectWriter,
  type RenderContext,
} from './render.js';
import type { RunTools } from './run-tools.js';
import type { ArchiveOptions, Roots, RunIo } from './run.js';

/** What every step of one archive run reads. */
export interface ArchiveRun {
  opts: ArchiveOptions;
  io: RunIo;
  log: AppLogger;
  roots: Roots;
  /** The run's "now" (the injected clock, `--now`): ages are counted from it. */
  now: Date;
  /** Date.now() at the start, for durations. */
  started: number;
  settings: PlanSettings;
  discovery: DiscoveryOptions;
  tools: RunTools;
  /** The ionice command ffmpeg runs under, resolved once for the printed and the real commands. */
  ionice: string | undefined;
}

/** What the counting pass found. */
export interface CountedPlan {
  counts: PlanCounts;
  /** The fingerprint of each day folder's work (real runs). */
  dayPrints: Map<string, number>;
  /** Bytes of the clips to archive, for progress (real runs that show progress). */
  totalBytes: number;
  /** Folders that could not be read: footage in them is not archived (exit 1). */
  unreadable: number;
}

type ClipAction = Extract<PlanAction, { kind: 'transcode' | 'dispose-archived' }>;

export function isClipAction(action: PlanAction): action is ClipAction {
  return action.kind === 'transcode' || action.kind === 'dispose-archived';
}

/** FNV-1a over the kind and path of every action that changes something: a day's work, in 32 bits. */
export function fingerprint(actions: readonly PlanAction[]): number {
  let hash = 0x811c9dc5;
  const add = (text: string): void => {
    for (let i = 0; i < text.length; i++) {
      hash ^= text.charCodeAt(i);
      hash = Math.imul(hash, 0x01000193) >>> 0;
    }
  };
  for (const action of actions) {
    if (action.kind === 'keep') continue;
    add(action.kind);
    add(isClipAction(action) ? action.clip.path : action.path);
    add('\n');
  }
  return hash;
}

async function clipBytes(actions: readonly PlanAction[]): Promise<number> {
  const sizes = await Promise.all(
    actions.filter(isClipAction).map((a) =>
      fsp.stat(a.clip.path).then(
        (s) => s.size,
        () => 0,
      ),
    ),
  );
  return sizes.reduce((x, y) => x + y, 0);
}

export class PlanPass {
  readonly counts: PlanCounts = emptyCounts();
  readonly dayPrints = new Map<string, number>();
  totalBytes = 0;
  /** An unreadable folder may hide footage: an error (and exit 1), not a verbose note. */
  unreadable = 0;
  private readonly emptied = new Set<string>();
  private listedActions = 0;
  private summarisedDays = 0;
  private jsonPlan: JsonObjectWriter | undefined;
  /** Streamed output goes at the reader's pace: a slow pipe must not make the plan pile up here. */
  private readonly sink: ReturnType<typeof streamSink>;
  /** A default or verbose text dry run lists its actions as it plans them. */
  private readonly streamText: boolean;
  /**
   * A quiet dry run prints only the totals: it reads each day's counts and never builds its
   * actions (half the planning time of a million-file tree, BENCHMARKS.md).
   */
  private readonly countsOnly: boolean;
  private readonly wantBytes: boolean;

  constructor(private readonly run: ArchiveRun) {
    const { opts } = run;
    this.sink = streamSink(run.io.stdout);
    this.streamText = opts.dryRun && !opts.json && opts.verbosity >= 0;
    this.countsOnly = countsOnly(opts);
    this.wantBytes = !opts.dryRun && opts.progress !== 'none' && opts.verbosity >= 0;
  }

  /**
   * Walks every day folder, then the folders the plan empties; waits for the tools planning
   * started (a missing ffmpeg or a failing encoder fails the run here, as at the first clip).
   * Undefined when a signal stopped the walk.
   */
  async count(skeleton: Skeleton): Promise<CountedPlan | undefined> {
    skeleton.ignored.forEach((i) => this.noteIgnored(i));
    for await (const day of discoverDays(this.run.discovery, skeleton)) {
      if (this.run.io.signal.aborted) {
        // A streamed plan still ends as a JSON document, marked as cut short.
        await this.jsonPlan?.field('interrupted', true);
        await this.jsonPlan?.end();
        return undefined;
      }
      await this.day(day);
    }
    await this.prunes(skeleton);
    await this.run.tools.settled();
    const { counts, dayPrints, totalBytes, unreadable } = this;
    return { counts, dayPrints, totalBytes, unreadable };
  }

  /** Ends a dry run: the JSON document's last fields, or the text plan's totals. */
  async finishDryRun(): Promise<RunOutcome> {
    const { opts, io, tools } = this.run;
    const print = (line: string): boolean => io.stdout.write(`${line}\n`);
    if (opts.json) {
      const plan = await this.openJsonPlan();
      const { profile } = tools;
      await plan.field('encoder', profile ? encoderName(profile.encoder, profile.codec) : null);
      await plan.field('counts', this.counts);
      await plan.end();
    } else {
      if (this.summarisedDays > 0)
        print(
          `(the first ${TEXT_PLAN_LIMIT} actions in full, then ${this.summarisedDays} day folder(s) one line each: -v lists every action)`,
        );
      print(`Dry run, nothing was changed. Plan: ${renderCounts(this.counts)}.`);
    }
    return outcomeOf(this.unreadable);
  }

  private async day(day: DayInventory): Promise<void> {
    const { opts, settings, now, tools } = this.run;
    this.counts.days++;
    this.counts.ignored += day.ignored.length;
    day.ignored.forEach((i) => this.noteIgnored(i));
    // Past TEXT_PLAN_LIMIT actions, a default dry run shows each further day as one line.
    const summarise =
      this.streamText && opts.verbosity === 0 && this.listedActions >= TEXT_PLAN_LIMIT;
    if (this.countsOnly || summarise) {
      const tally = countDay(day, settings, now);
      if (tally.emptiesFolder) this.emptied.add(day.folder.relDir);
      addDayCounts(this.counts, tally.counts);
      if (tally.counts.transcode > 0) void tools.ensureEncoder();
      if (tally.counts.disposeArchived > 0) void tools.ensureTools();
      if (summarise) {
        this.summarisedDays++;
        await this.sink(`${renderDaySummary(day.folder.relDir, tally.counts)}\n`);
      }
      return;
    }
    const plan = planDay(day, settings, now);
    if (plan.emptiesFolder) this.emptied.add(plan.folder.relDir);
    for (const action of plan.actions) {
      const rendering = this.take(action);
      if (rendering) await rendering;
    }
    if (!opts.dryRun) {
      this.dayPrints.set(plan.folder.relDir, fingerprint(plan.actions));
      if (this.wantBytes) this.totalBytes += await clipBytes(plan.actions);
    }
  }

  private async prunes(skeleton: Skeleton): Promise<void> {
    let notListed = 0;
    for (const prune of planPrunes(skeleton, this.emptied, this.run.roots.root)) {
      if (this.summarisedDays > 0) {
        countAction(this.counts, prune);
        notListed++;
      } else await this.take(prune);
    }
    if (notListed > 0) await this.sink(`remove ${notListed} emptied folder(s)\n`);
  }

  /** Called once per clip of the tree: synchronous unless it renders (no promise per action). */
  private take(action: PlanAction): Promise<void> | undefined {
    const { opts, log, roots, tools } = this.run;
    countAction(this.counts, action);
    if (action.kind === 'transcode') void tools.ensureEncoder();
    if (action.kind === 'dispose-archived') void tools.ensureTools();
    if (opts.dryRun) {
      if (opts.json || (this.streamText && (action.kind !== 'keep' || opts.verbosity > 0)))
        return this.render(action);
    } else if (action.kind === 'keep') {
      log.verbose(`keep ${displayPath(roots.root, action.path)}: ${action.reason}`);
    }
    return undefined;
  }

  /**
   * Only rendering a transcode needs the probed encoder (its exact command line); a quiet dry
   * run or a real run plans on while the probe runs, and waits for it once planning is done.
   */
  private async render(action: PlanAction): Promise<void> {
    if (action.kind === 'transcode') await this.run.tools.ensureEncoder();
    if (this.run.opts.json) {
      await (await this.openJsonPlan()).item(actionToJson(action, this.renderContext()));
    } else {
      this.listedActions++;
      await this.sink(`${renderAction(action, this.renderContext()).join('\n')}\n`);
    }
  }

  private renderContext(): RenderContext {
    const { roots, tools, ionice, opts } = this.run;
    return {
      root: roots.root,
      ffmpeg: tools.toolchain?.ffmpeg.path,
      caps: tools.toolchain?.caps,
      profile: tools.profile,
      ionice,
      niceness: opts.niceness,
    };
  }

  /**
   * A --json dry run streams its plan, an action at a time; the fields known only at the end
   * (encoder, counts) follow the actions.
   */
  private async openJsonPlan(): Promise<JsonObjectWriter> {
    if (this.jsonPlan) return this.jsonPlan;
    const { roots, opts, now } = this.run;
    const plan = (this.jsonPlan = jsonObjectWriter(this.sink));
    await plan.field('command', 'archive');
    await plan.field('dryRun', true);
    await plan.field('root', roots.root);
    await plan.field('output', roots.outputRoot);
    await plan.field('trash', opts.deleteSources ? null : roots.trashRoot);
    await plan.field('now', now.toISOString());
    await plan.array('actions');
    return plan;
  }

  private noteIgnored(ignored: IgnoredFile): void {
    const { opts, log } = this.run;
    if (ignored.path === opts.logFile) return; // our own log link (logger.ts)
    if (ignored.problem) {
      this.unreadable++;
      log.error(
        `${ignored.reason.replace(/^cannot read folder/, `cannot read folder ${ignored.path}`)}: footage in it is not archived`,
      );
    } else log.verbose(`ignored ${ignored.path}: ${ignored.reason}`);
  }
}

/** A quiet dry run counts, and builds no action (see PlanPass.countsOnly). */
export function countsOnly(opts: Pick<ArchiveOptions, 'dryRun' | 'json' | 'verbosity'>): boolean {
  return opts.dryRun && !opts.json && opts.verbosity < 0;
}

/** ok, or failed when folders could not be read. */
export function outcomeOf(unreadable: number): RunOutcome {
  return unreadable > 0 ? { status: 'failed', failures: unreadable } : { status: 'ok' };
}

/** The interrupted outcome of a run aborted by `signal`. */
export function interrupted(signal: AbortSignal): RunOutcome {
  return { status: 'interrupted', signal: interruptSignalOf(signal) };
}

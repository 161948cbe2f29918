/**
 * What a finished archive or `--cleanup` run tells the outside world: the Prometheus metrics file
 * and the webhook event. The command runtime (src/cli/runtime.ts) gives each real run one report
 * and calls finish() exactly once, whether the run succeeded, failed, was interrupted or threw;
 * finish() itself never throws, so reporting can never change a run's outcome or exit code. Dry
 * runs and prompt cancellations report nothing.
 */
import os from 'node:os';
import {
  EXIT,
  errorMessage,
  exitCodeForError,
  exitCodeForOutcome,
  type RunOutcome,
} from '../core/errors.js';
import type { ExecutionReport } from './executor.js';
import type { Log } from '../core/logger.js';
import {
  cleanupMetricsPath,
  writeCleanupMetricsFile,
  writeMetricsFile,
  type CleanupMetrics,
} from '../core/metrics.js';
import { createNotifier, type NotifyEvent, type NotifierOptions } from '../core/notify.js';
import type { PlanCounts } from './planner.js';
import { totalsOf } from './render.js';
import { formatBytes, formatSeconds } from '../core/units.js';

/** Where a run reports: the same three options for the archive and the cleanup. */
export interface ReportTargets {
  metricsFile?: string | undefined;
  notifyUrls?: readonly string[] | undefined;
  notifySecret?: string | undefined;
  /** Tests shorten the notifier's timeouts. */
  notifier?: NotifierOptions | undefined;
}

export interface RunReportOptions extends ReportTargets {
  root: string;
  dryRun: boolean;
}

/** How a run ended, as its event and metrics say it. */
type ReportStatus = 'ok' | 'failed' | 'interrupted' | 'error';

/** `archive.finished`, `cleanup.interrupted`, `archive.failed` (also for an error). */
function eventName(command: string, status: ReportStatus): string {
  const what = status === 'ok' ? 'finished' : status === 'interrupted' ? 'interrupted' : 'failed';
  return `${command}.${what}`;
}

/**
 * The outcome or error of one run, recorded as it ends, and the once-only finish that reports
 * it: what the archive's and the cleanup's reports share.
 */
abstract class Report {
  private outcome: RunOutcome | undefined;
  private error: unknown;
  private finished = false;
  protected readonly started = performance.now();

  /** The input root the metrics and the event name. */
  protected root: string;

  constructor(protected readonly options: RunReportOptions) {
    this.root = options.root;
  }

  get enabled(): boolean {
    return (
      !this.options.dryRun &&
      (Boolean(this.options.metricsFile) || Boolean(this.options.notifyUrls?.length))
    );
  }

  settle<T extends RunOutcome>(outcome: T): T {
    this.outcome = outcome;
    return outcome;
  }

  fail(error: unknown): void {
    this.error = error;
  }

  exitCode(): number {
    if (this.error !== undefined) return exitCodeForError(this.error);
    return this.outcome ? exitCodeForOutcome(this.outcome) : EXIT.ok;
  }

  protected get failure(): unknown {
    return this.error;
  }

  protected status(): ReportStatus {
    if (this.error !== undefined) return 'error';
    if (this.outcome?.status === 'interrupted') return 'interrupted';
    return this.exitCode() === 0 ? 'ok' : 'failed';
  }

  protected seconds(): number {
    return (performance.now() - this.started) / 1000;
  }

  /** Writes the metrics file and sends the event. Never throws; waits at most the notifier's deadline. */
  async finish(log: Log): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    // A prompt the user declined is not a run to report.
    if (!this.enabled || (this.error === undefined && this.outcome?.status === 'cancelled')) return;
    await this.deliver(log);
  }

  protected abstract deliver(log: Log): Promise<void>;

  /** Writes `file` with `write`, sends `event`; each failure is a warning, never the run's. */
  protected async send(
    log: Log,
    metrics: { file: string; write: () => Promise<void> } | undefined,
    event: () => NotifyEvent,
  ): Promise<void> {
    const tasks: Promise<void>[] = [];
    if (metrics)
      tasks.push(
        metrics.write().then(
          () => log.verbose(`metrics written to ${metrics.file}`),
          (error: unknown) =>
            log.warn(`cannot write metrics file ${metrics.file}: ${errorMessage(error)}`),
        ),
      );
    const { notifyUrls, notifySecret, notifier } = this.options;
    if (notifyUrls?.length) {
      const sender = createNotifier(notifyUrls, notifySecret, log, notifier);
      tasks.push(sender.notify(event()).then(() => undefined));
    }
    await Promise.all(tasks).catch((error: unknown) =>
      log.warn(`reporting the run failed: ${errorMessage(error)}`),
    );
  }
}

/** How many failed clips an event names; the full list is in the log and the --json summary. */
const MAX_FAILURES_IN_EVENT = 20;

/** The report of an archive run: `<metrics-file>` and one `archive.*` event. */
export class RunReport extends Report {
  private counts: PlanCounts | undefined;
  private execution: ExecutionReport | undefined;
  private summary: Record<string, unknown> | undefined;

  constructor(
    options: RunReportOptions,
    private readonly clock: () => Date = () => new Date(),
  ) {
    super(options);
  }

  /** The run's numbers, as soon as they exist (the summary is the one --json prints). */
  noteSummary(
    summary: Record<string, unknown>,
    counts: PlanCounts,
    execution: ExecutionReport | undefined,
  ): void {
    this.summary = summary;
    this.counts = counts;
    this.execution = execution;
  }

  /** The webhook event for this run. Pure given the recorded state. */
  event(host = os.hostname()): NotifyEvent {
    const status = this.status();
    const notDone = this.execution?.notStarted.length ?? 0;
    const seconds = this.seconds();
    const failures = (this.execution?.outcomes ?? [])
      .filter((o) => o.status === 'failed')
      .slice(0, MAX_FAILURES_IN_EVENT)
      .map((o) => ({ clip: o.clip, reason: o.status === 'failed' ? o.reason : '' }));
    // The per-file list can be thousands of entries: the event carries counts and the failures.
    const summary = { ...this.summary };
    delete summary.files;
    const error = this.failure;
    return {
      event: eventName('archive', status),
      text: this.text(host, status, seconds, notDone),
      status,
      exitCode: this.exitCode(),
      root: this.root,
      ...(error !== undefined ? { error: errorMessage(error) } : {}),
      durationSeconds: Math.round(seconds * 1000) / 1000,
      failures,
      ...(this.summary ? { summary: { ...summary, notDone } } : {}),
    };
  }

  /** The event's one human sentence. */
  private text(host: string, status: ReportStatus, seconds: number, notDone: number): string {
    if (this.failure !== undefined)
      return `camera-archiver on ${host} failed: ${errorMessage(this.failure)}`;
    const totals = this.execution ? totalsOf(this.execution) : undefined;
    const parts = [
      `${totals?.archived ?? 0} archived`,
      `${totals?.failed ?? 0} failed`,
      ...(notDone ? [`${notDone} left for the next run`] : []),
    ];
    const bytes = totals?.bytesIn
      ? ` (${formatBytes(totals.bytesIn)} → ${formatBytes(totals.bytesOut)})`
      : '';
    const verb =
      status === 'ok'
        ? 'finished'
        : status === 'interrupted'
          ? 'was interrupted'
          : 'finished with failures';
    return `camera-archiver on ${host} ${verb} in ${formatSeconds(seconds)}: ${parts.join(', ')}${bytes}`;
  }

  protected deliver(log: Log): Promise<void> {
    const file = this.options.metricsFile;
    const totals = this.execution ? totalsOf(this.execution) : undefined;
    const write = (target: string): Promise<void> =>
      writeMetricsFile(target, {
        root: this.root,
        // Real time even when --now pretends otherwise for planning: node_exporter alerts on it.
        finishedAt: this.clock(),
        durationSeconds: this.seconds(),
        exitCode: this.exitCode(),
        clipsSeen: this.counts?.clips ?? 0,
        archived: totals?.archived ?? 0,
        alreadyArchived: totals?.alreadyArchived ?? 0,
        skipped: totals?.skipped ?? 0,
        failed: totals?.failed ?? 0,
        notDone: this.execution?.notStarted.length ?? 0,
        bytesIn: totals?.bytesIn ?? 0,
        bytesOut: totals?.bytesOut ?? 0,
        stoppedByUntil: this.execution?.stoppedByUntil === true,
      });
    return this.send(log, file ? { file, write: () => write(file) } : undefined, () =>
      this.event(),
    );
  }
}

/** What a cleanup did, filled in as it goes, for its metrics and event. */
export type CleanupTally = Pick<
  CleanupMetrics,
  'removed' | 'skipped' | 'failed' | 'freedBytes' | 'managedBytes' | 'shortfall' | 'refused'
> & {
  /** Why it was refused or fell short. */
  message?: string | undefined;
};

/**
 * The report of a real `--cleanup` run, like an archive run's: `<metrics-file minus .prom>-cleanup.prom`
 * and one `cleanup.finished|failed|interrupted` event. The run fills in `tally` as it goes.
 */
export class CleanupReport extends Report {
  readonly tally: CleanupTally = {
    removed: 0,
    skipped: 0,
    failed: 0,
    freedBytes: 0,
    managedBytes: 0,
    shortfall: false,
    refused: false,
  };

  constructor(
    options: RunReportOptions,
    private readonly clock: () => Date = () => new Date(),
    private readonly host = os.hostname(),
  ) {
    super(options);
  }

  /** The root as the run resolved it (its real path), once known. */
  resolvedRoot(root: string): void {
    this.root = root;
  }

  protected deliver(log: Log): Promise<void> {
    const file = this.options.metricsFile;
    const metrics: CleanupMetrics = {
      ...this.tally,
      root: this.root,
      finishedAt: this.clock(),
      durationSeconds: this.seconds(),
      exitCode: this.exitCode(),
    };
    const target = file === undefined ? undefined : cleanupMetricsPath(file);
    return this.send(
      log,
      target === undefined
        ? undefined
        : { file: target, write: () => writeCleanupMetricsFile(target, metrics) },
      () => this.event(metrics),
    );
  }

  private event(m: CleanupMetrics): NotifyEvent {
    const status = this.status();
    const message = this.failure !== undefined ? errorMessage(this.failure) : this.tally.message;
    const verb =
      status === 'ok'
        ? 'finished'
        : status === 'interrupted'
          ? 'was interrupted'
          : m.refused
            ? 'refused to clean'
            : 'finished with failures';
    const text = `camera-archiver cleanup on ${this.host} ${verb} in ${formatSeconds(m.durationSeconds)}: ${m.removed} removed, ${m.failed} failed, ${formatBytes(m.freedBytes)} freed${message ? ` — ${message}` : ''}`;
    return {
      event: eventName('cleanup', status),
      text,
      status,
      exitCode: m.exitCode,
      root: m.root,
      durationSeconds: Math.round(m.durationSeconds * 1000) / 1000,
      failures: [],
      summary: {
        removed: m.removed,
        skipped: m.skipped,
        failed: m.failed,
        freedBytes: m.freedBytes,
        managedBytes: m.managedBytes,
        shortfall: m.shortfall,
        refused: m.refused,
        ...(message ? { message } : {}),
      },
    };
  }
}

/**
 * What a finished archive run tells the outside world: the Prometheus metrics file and the webhook
 * event. runArchive creates one RunReport per run and calls finish() exactly once, whether the run
 * succeeded, failed, was interrupted or threw; finish() itself never throws, so reporting can
 * never change a run's outcome or exit code. Dry runs and prompt cancellations report nothing.
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

export interface RunReportOptions {
  root: string;
  dryRun: boolean;
  metricsFile?: string | undefined;
  notifyUrls?: readonly string[] | undefined;
  notifySecret?: string | undefined;
  /** Tests shorten the notifier's timeouts. */
  notifier?: NotifierOptions | undefined;
}

/** How many failed clips an event names; the full list is in the log and the --json summary. */
const MAX_FAILURES_IN_EVENT = 20;

export class RunReport {
  private outcome: RunOutcome | undefined;
  private error: unknown;
  private counts: PlanCounts | undefined;
  private execution: ExecutionReport | undefined;
  private summary: Record<string, unknown> | undefined;
  private finished = false;
  private readonly started = performance.now();

  constructor(
    private readonly options: RunReportOptions,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  get enabled(): boolean {
    return (
      !this.options.dryRun &&
      (Boolean(this.options.metricsFile) || Boolean(this.options.notifyUrls?.length))
    );
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

  /** The webhook event for this run. Pure given the recorded state. */
  event(host = os.hostname()): NotifyEvent {
    const code = this.exitCode();
    const totals = this.execution ? totalsOf(this.execution) : undefined;
    const notDone = this.execution?.notStarted.length ?? 0;
    const seconds = (performance.now() - this.started) / 1000;
    const status =
      this.error !== undefined
        ? 'error'
        : this.outcome?.status === 'interrupted'
          ? 'interrupted'
          : code === 0
            ? 'ok'
            : 'failed';
    const name =
      status === 'ok'
        ? 'archive.finished'
        : status === 'interrupted'
          ? 'archive.interrupted'
          : 'archive.failed';
    let text: string;
    if (this.error !== undefined)
      text = `camera-archiver on ${host} failed: ${errorMessage(this.error)}`;
    else {
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
      text = `camera-archiver on ${host} ${verb} in ${formatSeconds(seconds)}: ${parts.join(', ')}${bytes}`;
    }
    const failures = (this.execution?.outcomes ?? [])
      .filter((o) => o.status === 'failed')
      .slice(0, MAX_FAILURES_IN_EVENT)
      .map((o) => ({ clip: o.clip, reason: o.status === 'failed' ? o.reason : '' }));
    // The per-file list can be thousands of entries: the event carries counts and the failures.
    const summary = { ...this.summary };
    delete summary.files;
    return {
      event: name,
      text,
      status,
      exitCode: code,
      root: this.options.root,
      ...(this.error !== undefined ? { error: errorMessage(this.error) } : {}),
      durationSeconds: Math.round(seconds * 1000) / 1000,
      failures,
      ...(this.summary ? { summary: { ...summary, notDone } } : {}),
    };
  }

  /** Writes the metrics file and sends the event. Never throws; waits at most the notifier's deadline. */
  async finish(log: Log): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    if (!this.enabled || (this.error === undefined && this.outcome?.status === 'cancelled')) return;
    const code = this.exitCode();
    const totals = this.execution ? totalsOf(this.execution) : undefined;
    const tasks: Promise<void>[] = [];
    if (this.options.metricsFile) {
      const file = this.options.metricsFile;
      tasks.push(
        writeMetricsFile(file, {
          root: this.options.root,
          // Real time even when --now pretends otherwise for planning: node_exporter alerts on it.
          finishedAt: this.clock(),
          durationSeconds: (performance.now() - this.started) / 1000,
          exitCode: code,
          clipsSeen: this.counts?.clips ?? 0,
          archived: totals?.archived ?? 0,
          alreadyArchived: totals?.alreadyArchived ?? 0,
          skipped: totals?.skipped ?? 0,
          failed: totals?.failed ?? 0,
          notDone: this.execution?.notStarted.length ?? 0,
          bytesIn: totals?.bytesIn ?? 0,
          bytesOut: totals?.bytesOut ?? 0,
          stoppedByUntil: this.execution?.stoppedByUntil === true,
        }).then(
          () => log.verbose(`metrics written to ${file}`),
          (error: unknown) => log.warn(`cannot write metrics file ${file}: ${errorMessage(error)}`),
        ),
      );
    }
    if (this.options.notifyUrls?.length) {
      const notifier = createNotifier(
        this.options.notifyUrls,
        this.options.notifySecret,
        log,
        this.options.notifier,
      );
      tasks.push(notifier.notify(this.event()).then(() => undefined));
    }
    await Promise.all(tasks).catch((error: unknown) =>
      log.warn(`reporting the run failed: ${errorMessage(error)}`),
    );
  }
}

/** For failures before the run's logger exists (missing input directory, usage errors). */
export function stderrLog(stderr: NodeJS.WritableStream): Log {
  const line = (level: string) => (message: string) => {
    stderr.write(`${level}: ${message}\n`);
  };
  const quiet = (): void => undefined;
  return { error: line('error'), warn: line('warn'), info: quiet, verbose: quiet, debug: quiet };
}

/** The numbers of a finished real `--cleanup` run, for its metrics file and webhook event. */
export interface CleanupResult extends Omit<CleanupMetrics, 'finishedAt'> {
  status: 'ok' | 'failed' | 'interrupted' | 'error';
  /** Why it was refused or fell short, or the error. */
  message?: string | undefined;
}

/**
 * Reports a real cleanup like an archive run: `<metrics-file minus .prom>-cleanup.prom` and one
 * `cleanup.finished|failed|interrupted` event. Never throws; dry runs report nothing.
 */
export async function reportCleanup(
  options: Omit<RunReportOptions, 'dryRun'>,
  result: CleanupResult,
  log: Log,
  clock: () => Date = () => new Date(),
  host = os.hostname(),
): Promise<void> {
  const tasks: Promise<void>[] = [];
  if (options.metricsFile) {
    const file = cleanupMetricsPath(options.metricsFile);
    const metrics: CleanupMetrics = {
      root: result.root,
      finishedAt: clock(),
      durationSeconds: result.durationSeconds,
      exitCode: result.exitCode,
      removed: result.removed,
      skipped: result.skipped,
      failed: result.failed,
      freedBytes: result.freedBytes,
      managedBytes: result.managedBytes,
      shortfall: result.shortfall,
      refused: result.refused,
    };
    tasks.push(
      writeCleanupMetricsFile(file, metrics).then(
        () => log.verbose(`cleanup metrics written to ${file}`),
        (error: unknown) => log.warn(`cannot write metrics file ${file}: ${errorMessage(error)}`),
      ),
    );
  }
  if (options.notifyUrls?.length) {
    const notifier = createNotifier(
      options.notifyUrls,
      options.notifySecret,
      log,
      options.notifier,
    );
    const name =
      result.status === 'ok'
        ? 'cleanup.finished'
        : result.status === 'interrupted'
          ? 'cleanup.interrupted'
          : 'cleanup.failed';
    const verb =
      result.status === 'ok'
        ? 'finished'
        : result.status === 'interrupted'
          ? 'was interrupted'
          : result.refused
            ? 'refused to clean'
            : 'finished with failures';
    const text = `camera-archiver cleanup on ${host} ${verb} in ${formatSeconds(result.durationSeconds)}: ${result.removed} removed, ${result.failed} failed, ${formatBytes(result.freedBytes)} freed${result.message ? ` — ${result.message}` : ''}`;
    tasks.push(
      notifier
        .notify({
          event: name,
          text,
          status: result.status,
          exitCode: result.exitCode,
          root: options.root,
          durationSeconds: Math.round(result.durationSeconds * 1000) / 1000,
          failures: [],
          summary: {
            removed: result.removed,
            skipped: result.skipped,
            failed: result.failed,
            freedBytes: result.freedBytes,
            managedBytes: result.managedBytes,
            shortfall: result.shortfall,
            refused: result.refused,
            ...(result.message ? { message: result.message } : {}),
          },
        })
        .then(() => undefined),
    );
  }
  await Promise.all(tasks).catch((error: unknown) =>
    log.warn(`reporting the cleanup failed: ${errorMessage(error)}`),
  );
}

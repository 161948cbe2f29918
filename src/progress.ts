/**
 * Progress: cli-progress bars in a terminal (overall files and bytes, one bar per running
 * transcode with percent, speed and ETA); plain, `\r`-free lines everywhere else (cron, journald,
 * log files): one when a file starts and finishes, and at most one per interval while it runs.
 */
import type { AppLogger, Log } from './logger.js';
import { formatBytes, formatSeconds } from './units.js';

export interface RunTotals {
  files: number;
  bytes: number;
}

export interface ProgressReporter {
  start(totals: RunTotals): void;
  fileStarted(id: string, label: string, bytes: number): void;
  fileProgress(id: string, fraction: number, speed?: number): void;
  fileFinished(id: string, bytes: number): void;
  stop(): void;
}

export const silentProgress: ProgressReporter = {
  start() {},
  fileStarted() {},
  fileProgress() {},
  fileFinished() {},
  stop() {},
};

/** Plain lines through the logger, throttled per file. */
export function lineProgress(
  log: Log,
  intervalMs = 30_000,
  now: () => number = Date.now,
): ProgressReporter {
  const last = new Map<string, number>();
  const labels = new Map<string, string>();
  let done = 0;
  let total = 0;
  return {
    start(totals) {
      total = totals.files;
      log.info(`${totals.files} clip(s) to archive, ${formatBytes(totals.bytes)}`);
    },
    fileStarted(id, label) {
      labels.set(id, label);
      last.set(id, now());
    },
    fileProgress(id, fraction, speed) {
      const t = now();
      if (t - (last.get(id) ?? 0) < intervalMs) return;
      last.set(id, t);
      log.info(
        `progress ${labels.get(id) ?? id}: ${Math.round(fraction * 100)}%${speed ? ` at ${speed.toFixed(1)}x` : ''} (${done}/${total} files done)`,
      );
    },
    fileFinished(id) {
      done++;
      last.delete(id);
      labels.delete(id);
    },
    stop() {},
  };
}

/** cli-progress multibar on a terminal; log lines are printed above the bars. */
export async function barProgress(
  logger: AppLogger,
  stream: NodeJS.WriteStream,
): Promise<ProgressReporter> {
  const { default: cliProgress } = await import('cli-progress');
  const multibar = new cliProgress.MultiBar(
    {
      stream,
      clearOnComplete: true,
      hideCursor: true,
      autopadding: true,
      format: ' {bar} {percentage}% | {label} | {detail}',
      barsize: 24,
    },
    cliProgress.Presets.shades_classic,
  );
  let overall: ReturnType<typeof multibar.create> | undefined;
  const bars = new Map<string, { bar: ReturnType<typeof multibar.create>; startedAt: number }>();
  let doneFiles = 0;
  let doneBytes = 0;
  let totals: RunTotals = { files: 0, bytes: 0 };
  const overallDetail = (): string =>
    `${doneFiles}/${totals.files} files, ${formatBytes(doneBytes)} of ${formatBytes(totals.bytes)}`;

  return {
    start(t) {
      totals = t;
      logger.setConsoleWriter((line) => multibar.log(`${line}\n`));
      overall = multibar.create(Math.max(1, t.bytes), 0, { label: 'all', detail: overallDetail() });
    },
    fileStarted(id, label) {
      bars.set(id, {
        bar: multibar.create(100, 0, { label, detail: 'starting' }),
        startedAt: Date.now(),
      });
    },
    fileProgress(id, fraction, speed) {
      const entry = bars.get(id);
      if (!entry) return;
      const elapsed = (Date.now() - entry.startedAt) / 1000;
      const eta = fraction > 0.01 ? (elapsed / fraction) * (1 - fraction) : NaN;
      entry.bar.update(Math.round(fraction * 100), {
        detail: `${speed ? `${speed.toFixed(1)}x` : '…'} ETA ${formatSeconds(eta)}`,
      });
    },
    fileFinished(id, bytes) {
      const entry = bars.get(id);
      if (entry) {
        multibar.remove(entry.bar);
        bars.delete(id);
      }
      doneFiles++;
      doneBytes += bytes;
      overall?.update(doneBytes, { detail: overallDetail() });
    },
    stop() {
      multibar.stop();
      logger.setConsoleWriter(undefined);
    },
  };
}

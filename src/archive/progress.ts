/**
 * Progress: cli-progress bars in a terminal (overall files and bytes, one bar per running
 * transcode with percent, speed and ETA); plain, `\r`-free lines everywhere else (cron, journald,
 * log files): one when a file starts and finishes, and at most one per interval while it runs.
 */
import type { AppLogger, Log } from '../core/logger.js';
import { formatBytes, formatSeconds } from '../core/units.js';

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

/**
 * Splits a log line into pieces no wider than the terminal, at spaces where it can. While bars
 * run, the terminal's own line wrapping is off (cli-progress redraws the bars in place by
 * counting lines), so a longer line would be cut at the right edge: the sizes and the "→ trash"
 * at the end of a clip's line would be lost.
 */
export function wrapToWidth(line: string, width: number): string[] {
  const w = Math.max(10, Math.floor(width));
  const out: string[] = [];
  let rest = line;
  while (rest.length > w) {
    const space = rest.lastIndexOf(' ', w);
    const cut = space > w / 3 ? space : w;
    out.push(rest.slice(0, cut));
    rest = rest.slice(cut).replace(/^ /, '');
  }
  out.push(rest);
  return out;
}

/** What the overall bar says: files and bytes done (running clips count by their fraction). */
export function overallDetail(state: {
  doneFiles: number;
  files: number;
  processedBytes: number;
  totalBytes: number;
  elapsedSeconds: number;
}): string {
  const rate = state.elapsedSeconds > 0 ? state.processedBytes / state.elapsedSeconds : 0;
  const left = Math.max(0, state.totalBytes - state.processedBytes);
  const eta = rate > 0 ? left / rate : NaN;
  return [
    `${state.doneFiles}/${state.files} files`,
    `${formatBytes(state.processedBytes)} of ${formatBytes(state.totalBytes)}`,
    rate > 0 ? `${formatBytes(rate)}/s` : '…/s',
    `ETA ${formatSeconds(eta)}`,
  ].join(', ');
}

/** cli-progress multibar on a terminal; log lines are printed above the bars. */
export async function barProgress(
  logger: AppLogger,
  stream: NodeJS.WriteStream,
  now: () => number = Date.now,
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
  const bars = new Map<
    string,
    { bar: ReturnType<typeof multibar.create>; startedAt: number; bytes: number; fraction: number }
  >();
  let doneFiles = 0;
  let doneBytes = 0;
  let startedAt = now();
  let totals: RunTotals = { files: 0, bytes: 0 };
  const processed = (): number =>
    doneBytes + [...bars.values()].reduce((sum, b) => sum + b.bytes * b.fraction, 0);
  const updateOverall = (): void => {
    const processedBytes = processed();
    overall?.update(Math.round(processedBytes), {
      detail: overallDetail({
        doneFiles,
        files: totals.files,
        processedBytes,
        totalBytes: totals.bytes,
        elapsedSeconds: (now() - startedAt) / 1000,
      }),
    });
  };

  return {
    start(t) {
      totals = t;
      startedAt = now();
      logger.setConsoleWriter((line) => {
        for (const piece of wrapToWidth(line, stream.columns || 80)) multibar.log(`${piece}\n`);
      });
      overall = multibar.create(Math.max(1, t.bytes), 0, { label: 'all', detail: '' });
      updateOverall();
    },
    fileStarted(id, label, bytes) {
      bars.set(id, {
        bar: multibar.create(100, 0, { label, detail: 'starting' }),
        startedAt: now(),
        bytes,
        fraction: 0,
      });
    },
    fileProgress(id, fraction, speed) {
      const entry = bars.get(id);
      if (!entry) return;
      entry.fraction = Math.min(1, Math.max(0, fraction));
      const elapsed = (now() - entry.startedAt) / 1000;
      const eta = fraction > 0.01 ? (elapsed / fraction) * (1 - fraction) : NaN;
      entry.bar.update(Math.round(fraction * 100), {
        detail: `${speed ? `${speed.toFixed(1)}x` : '…'} ETA ${formatSeconds(eta)}`,
      });
      updateOverall();
    },
    fileFinished(id, bytes) {
      const entry = bars.get(id);
      if (entry) {
        multibar.remove(entry.bar);
        bars.delete(id);
      }
      doneFiles++;
      doneBytes += bytes;
      updateOverall();
    },
    stop() {
      // cli-progress writes logged lines only when it redraws, and stop() does not redraw: the
      // lines logged since the last redraw (the last clip's result) would never appear.
      multibar.update();
      multibar.stop();
      logger.setConsoleWriter(undefined);
    },
  };
}

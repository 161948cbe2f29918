/**
 * The recorder's periodic work (status rewrite, storage check, retries of held segments) runs as
 * `Periodic` tasks: one run at a time (the next is scheduled when the previous one finished, so a
 * slow disk never piles up overlapping runs), and a run that throws or rejects is logged, counted
 * and tried again at the next tick. A recorder that runs for months must not die of one failed
 * statfs or status write, and must never leave its ffmpegs behind because of one.
 *
 * Every task, and the supervisors' own loops, count their runs in `TaskCounters`, which the
 * status file carries: a monitoring script (and the long-running tests) can see that each path
 * keeps firing.
 */
import { errorMessage } from '../core/errors.js';
import type { Log } from '../core/logger.js';

export interface TaskCount {
  runs: number;
  failures: number;
  lastError?: string | undefined;
}

export type TaskCounters = Record<string, TaskCount>;

/** The counter of `name`, created on first use. */
export function counter(counters: TaskCounters, name: string): TaskCount {
  let c = counters[name];
  if (!c) {
    c = { runs: 0, failures: 0 };
    counters[name] = c;
  }
  return c;
}

/** Counts one run of `name`; with `error`, a failed one. */
export function countRun(counters: TaskCounters, name: string, error?: unknown): void {
  const c = counter(counters, name);
  c.runs++;
  if (error !== undefined) {
    c.failures++;
    c.lastError = errorMessage(error);
  }
}

export class Periodic {
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    private readonly task: () => Promise<void> | void,
    private readonly log: Log,
    private readonly counters: TaskCounters,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  /** Stops scheduling; resolves once a run in progress has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One run now, with the same failure handling as a scheduled one. */
  runNow(): Promise<void> {
    this.running = this.running.then(async () => {
      try {
        await this.task();
        countRun(this.counters, this.name);
      } catch (error) {
        countRun(this.counters, this.name, error);
        try {
          this.log.error(
            `${this.name}: ${errorMessage(error)} (tried again in ${this.intervalMs / 1000} s)`,
          );
        } catch {
          // A logger that throws must not stop the schedule either.
        }
      }
    });
    return this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.runNow().then(() => this.schedule());
    }, this.intervalMs);
  }
}

/**
 * CPU priority of this process's helper threads (Linux). Node runs file-system calls on libuv's
 * thread pool and garbage collection and compilation on V8's threads, beside the main thread. On
 * a two-core host a dry run's planner (the main thread) spent a third of its time waiting in the
 * run queue behind its own readdirs; with the helpers at the lowest priority they use whatever
 * CPU the planner leaves, and the planner never waits (BENCHMARKS.md).
 *
 * Only a dry run does this. An unprivileged process cannot raise a thread's priority again, and a
 * real run moves and copies footage on those same threads after planning: a cross-filesystem copy
 * at nice 19 beside a busy ffmpeg took thirty times as long.
 */
import { readdirSync } from 'node:fs';
import os from 'node:os';

/** The lowest CPU priority (highest nice value) on Linux. */
export const LOWEST_PRIORITY = 19;

export interface ThreadControl {
  mainThreadId: number;
  /** Ids of the process's threads, the main thread's included. */
  threadIds(): number[];
  setNice(threadId: number, nice: number): void;
}

/** This process's threads through /proc and setpriority(2), which on Linux takes a thread id. */
export const linuxThreads: ThreadControl = {
  mainThreadId: process.pid,
  threadIds: () => readdirSync('/proc/self/task').map(Number),
  setNice: (threadId, nice) => os.setPriority(threadId, nice),
};

/**
 * Puts every thread but the main one at the lowest priority; returns how many it lowered.
 * Best effort: where there is no /proc, or a thread is gone, it does less and says nothing, since
 * only speed depends on it.
 */
export function lowerHelperThreads(control: ThreadControl = linuxThreads): number {
  let ids: number[];
  try {
    ids = control.threadIds();
  } catch {
    return 0;
  }
  let lowered = 0;
  for (const id of ids) {
    if (id === control.mainThreadId) continue;
    try {
      control.setNice(id, LOWEST_PRIORITY);
      lowered++;
    } catch {
      // The thread ended meanwhile, or the platform refuses: speed only.
    }
  }
  return lowered;
}

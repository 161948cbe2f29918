/**
 * Stop-by time (`--until 06:00`): after it no new clip is started, the clips in progress finish,
 * and the rest is reported as "not done" for the next run. Pure: the clock is always passed in.
 */
import { UsageError } from './errors.js';
import { parseDuration } from './units.js';

export interface StopBy {
  /** The instant after which nothing new starts. */
  deadline: Date;
  /** What the user typed, for messages. */
  text: string;
}

const CLOCK_TIME = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/;

/**
 * Parses a stop-by time relative to `now`:
 * - `HH:MM[:SS]` local time: its next occurrence after `now` (a run started at 23:00 with
 *   `--until 06:00` stops at 06:00 tomorrow; one started at 01:00 stops at 06:00 today);
 * - `+DURATION` (`+3h`, `+90m`): that long after `now`;
 * - an ISO date-time (`2025-03-02T06:00`): exactly then, even if that is already past (then no
 *   clip starts at all, which is what "never spill into the day" asks for).
 */
export function parseUntil(text: string, now: Date, optionName = '--until'): StopBy {
  const trimmed = text.trim();
  const clock = CLOCK_TIME.exec(trimmed);
  if (clock) {
    const [h, m, s] = [Number(clock[1]), Number(clock[2]), Number(clock[3] ?? 0)];
    if (h > 23 || m > 59 || s > 59) {
      throw new UsageError(`invalid ${optionName} '${text}': hours 0-23, minutes and seconds 0-59`);
    }
    const deadline = new Date(now.getTime());
    deadline.setHours(h, m, s, 0);
    // setHours keeps the local date, so DST days still give the wall-clock time the user meant.
    if (deadline.getTime() <= now.getTime()) deadline.setDate(deadline.getDate() + 1);
    // A day later at the same wall-clock time: setDate then setHours again keeps it on DST days.
    deadline.setHours(h, m, s, 0);
    return { deadline, text: trimmed };
  }
  if (trimmed.startsWith('+')) {
    const seconds = parseDuration(trimmed.slice(1), optionName);
    return { deadline: new Date(now.getTime() + seconds * 1000), text: trimmed };
  }
  if (/^\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}/.test(trimmed)) {
    const deadline = new Date(trimmed);
    if (!Number.isNaN(deadline.getTime())) return { deadline, text: trimmed };
  }
  throw new UsageError(
    `invalid ${optionName} '${text}': use a local time like 06:00, a duration like +3h, or an ISO date-time like 2025-03-02T06:00`,
  );
}

/** True once `now` is at or past the deadline: a clip must not start any more. */
export function isPastStopBy(stopBy: StopBy | undefined, now: Date): boolean {
  return stopBy !== undefined && now.getTime() >= stopBy.deadline.getTime();
}

/** `06:00 (2025-03-02 06:00:00)`: what the user typed and the local instant it resolved to. */
export function describeStopBy(stopBy: StopBy): string {
  const d = stopBy.deadline;
  const p = (n: number): string => String(n).padStart(2, '0');
  const local = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  return stopBy.text === local ? local : `${stopBy.text} (${local})`;
}

/** The executor's "may a new clip start?" check, on the real clock (never the --now test clock). */
export function stopChecker(
  stopBy: StopBy | undefined,
  clock: () => Date = () => new Date(),
): (() => boolean) | undefined {
  return stopBy ? () => isPastStopBy(stopBy, clock()) : undefined;
}

export function stopByMessage(stopBy: StopBy, notStarted: number): string {
  return `stop-by time ${describeStopBy(stopBy)} reached: no new transcodes were started; ${notStarted} clip(s) not done, left in place for the next run`;
}

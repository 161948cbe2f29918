/** Parses and validates the retention flags (every bad value is a UsageError: exit 2). */
import { UsageError } from '../core/errors.js';
// Types only: every archive run validates these flags, and the retention engine (with date-fns)
// loads only for --cleanup.
import type { MaxDelete, MinFree } from './plan.js';
import type { CleanupOptions } from './run.js';
import { parseDuration, parseSize } from '../core/units.js';
import path from 'node:path';

/** Documented defaults (README, "Retention"). */
export const DEFAULT_PROTECT_SECONDS = 24 * 3600;
export const DEFAULT_TRASH_DAYS = 30;
export const DEFAULT_MAX_DELETE: MaxDelete = { percent: 75 };

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== ''
    ? v.trim()
    : typeof v === 'number'
      ? String(v)
      : undefined;
}

function percent(value: string, option: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*%$/.exec(value);
  if (!m) return undefined;
  const p = Number(m[1]);
  if (!(p > 0 && p <= 100))
    throw new UsageError(`${option} percentage must be above 0 and at most 100, got '${value}'`);
  return p;
}

/** `50GB` or `10%` of the filesystem. */
export function parseMinFree(value: string): MinFree {
  const p = percent(value, '--min-free');
  if (p !== undefined) {
    if (p >= 100) throw new UsageError(`--min-free must be below 100%, got '${value}'`);
    return { percent: p };
  }
  return { bytes: parseSize(value, '--min-free') };
}

/** `--archive-age`: days (0 or `keep` = archives are removed by the caps only, never by age). */
export function parseArchiveAge(value: string): number {
  if (/^(keep|never|off)$/i.test(value)) return 0;
  const days = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(days))
    throw new UsageError(`--archive-age must be a number of days or 'keep', got '${value}'`);
  return days;
}

/** `200` files, `20GB` of footage, `50%` of all footage, or `none`. */
export function parseMaxDelete(value: string): MaxDelete | undefined {
  if (/^(none|off|unlimited)$/i.test(value)) return undefined;
  const p = percent(value, '--max-delete');
  if (p !== undefined) return { percent: p };
  if (/^\d+$/.test(value)) return { files: Number(value) };
  return { bytes: parseSize(value, '--max-delete') };
}

/** What the archive command's parsed options already hold; the retention flags add the rest. */
export type CleanupBase = Pick<
  CleanupOptions,
  | 'root'
  | 'output'
  | 'trash'
  | 'deleteSources'
  | 'dryRun'
  | 'assumeYes'
  | 'cleanOutput'
  | 'ageDays'
  | 'maxSize'
  | 'settleSeconds'
  | 'logFile'
  | 'json'
  | 'verbosity'
  | 'commandLine'
  | 'metricsFile'
  | 'notifyUrls'
  | 'notifySecret'
>;

export function toCleanupOptions(argv: Record<string, unknown>, base: CleanupBase): CleanupOptions {
  const minFreeText = text(argv['min-free']);
  const trashDaysRaw = argv['trash-days'] ?? DEFAULT_TRASH_DAYS;
  const trashDays = typeof trashDaysRaw === 'number' ? trashDaysRaw : Number(trashDaysRaw);
  if (!Number.isFinite(trashDays) || trashDays < 0)
    throw new UsageError(
      `--trash-days must be a number of days ≥ 0, got '${String(trashDaysRaw)}'`,
    );
  const protectText = text(argv.protect);
  const protectSeconds =
    protectText === undefined ? DEFAULT_PROTECT_SECONDS : parseDuration(protectText, '--protect');
  const maxDeleteText = text(argv['max-delete']);
  const archiveAgeText = text(argv['archive-age']);
  const archiveAgeDays = archiveAgeText === undefined ? undefined : parseArchiveAge(archiveAgeText);
  const stateDir = text(argv['state-dir']);
  return {
    ...base,
    minFree: minFreeText === undefined ? undefined : parseMinFree(minFreeText),
    minFreeText,
    archiveAgeDays,
    trashDays,
    protectSeconds,
    maxDelete: maxDeleteText === undefined ? DEFAULT_MAX_DELETE : parseMaxDelete(maxDeleteText),
    newRoot: argv['new-root'] === true,
    stateDir: stateDir === undefined ? undefined : path.resolve(stateDir),
  };
}

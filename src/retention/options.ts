/**
 * Parses and validates the retention flags' values (every bad value is a UsageError: exit 2);
 * the command line declares them (src/cli/commands/archive.ts, stats.ts).
 */
import { UsageError } from '../core/errors.js';
// Types only: every archive run validates these flags, and the retention engine (with date-fns)
// loads only for --cleanup.
import type { MaxDelete, MinFree } from './plan.js';
import { parseDuration, parseSize } from '../core/units.js';

/** Documented defaults (README, "Retention"). */
export const DEFAULT_PROTECT_SECONDS = 24 * 3600;
export const DEFAULT_TRASH_DAYS = 30;
export const DEFAULT_MAX_DELETE: MaxDelete = { percent: 75 };

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

/** `--trash-days`: days a file stays in the trash, ≥ 0 (0 keeps them); default 30. */
export function parseTrashDays(value: unknown): number {
  const raw = value ?? DEFAULT_TRASH_DAYS;
  const days = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isFinite(days) || days < 0)
    throw new UsageError(`--trash-days must be a number of days ≥ 0, got '${String(raw)}'`);
  return days;
}

/** `--protect`: the window nothing recorded within is removed, in seconds; default 24h. */
export function parseProtect(value: string | undefined): number {
  return value === undefined ? DEFAULT_PROTECT_SECONDS : parseDuration(value, '--protect');
}

/** A retention value as text: trimmed, a number from a config file as its digits. */
export function optionText(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== ''
    ? v.trim()
    : typeof v === 'number'
      ? String(v)
      : undefined;
}

/** Parsers for the human units users type: sizes (`500GB`, `1.5T`) and durations (`5m`, `30s`). */
import { UsageError } from './errors.js';

const SIZE_UNITS: Record<string, number> = {
  '': 1, // only for 0
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

/**
 * 1024-based, as the Python archiver: `500GB` = 500 × 1024³ bytes. A number without a unit is
 * refused, as the Python archiver does: `--max-size 500` is far more likely a forgotten `GB` than
 * a cap of 500 bytes that would delete everything.
 */
export function parseSize(text: string, optionName = 'size'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (m?.[1] && m[2] === '' && Number(m[1]) !== 0) {
    throw new UsageError(
      `invalid ${optionName} '${text}': ${m[1]} what? write ${m[1]}GB or ${m[1]}MB (units B, K, KB, M, MB, G, GB, T, TB, 1024-based)`,
    );
  }
  const unit = m?.[2]?.toLowerCase();
  const factor = unit === undefined ? undefined : SIZE_UNITS[unit];
  if (!m?.[1] || factor === undefined) {
    throw new UsageError(
      `invalid ${optionName} '${text}': use a number with a unit B, K, KB, M, MB, G, GB, T, TB (1024-based), e.g. 500GB`,
    );
  }
  return Math.round(Number(m[1]) * factor);
}

const DURATION_UNITS: Record<string, number> = {
  '': 1,
  s: 1,
  sec: 1,
  m: 60,
  min: 60,
  h: 3600,
  d: 86400,
};

/** Seconds from `90`, `30s`, `5m`, `1h`, `2d`, or compounds like `1h30m`. */
export function parseDuration(text: string, optionName = 'duration'): number {
  const trimmed = text.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  const part = /(\d+(?:\.\d+)?)(sec|min|s|m|h|d)/g;
  let total = 0;
  let consumed = '';
  for (const m of trimmed.matchAll(part)) {
    total += Number(m[1]) * (DURATION_UNITS[m[2] ?? ''] ?? NaN);
    consumed += m[0];
  }
  if (trimmed === '' || consumed !== trimmed || !Number.isFinite(total)) {
    throw new UsageError(
      `invalid ${optionName} '${text}': use e.g. 30s, 5m, 1h30m or a number of seconds`,
    );
  }
  return total;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let i = 0;
  while (Math.abs(value) >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${i === 0 ? value : value.toFixed(1)} ${units[i]}`;
}

export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

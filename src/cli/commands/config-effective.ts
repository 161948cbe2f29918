/**
 * What `config --print` shows for settings whose value the flags alone do not hold: defaults that
 * depend on other settings (`output` is `<directory>/archived`), defaults the retention flags
 * apply when they are parsed (`trash-days` 30, `protect` 24h, `max-delete` 75%), and the two
 * spellings of one setting (`-y`/`--yes` and `--no-confirm`). The values come from the same
 * parsing a run does, so what is printed is what a run would use.
 */
import type { Provenance } from '../../core/config-file.js';
import { defaultStateDir } from '../../core/state-dir.js';
import { formatBytes } from '../../core/units.js';
import { archiveOptionsOf, cleanupOptionsOf, parseArchiveFlags } from './archive.js';

export interface Row extends Provenance {
  key: string;
  value: unknown;
}

/** `86400` → `24h`, `259200` → `3d`, `300` → `5m`, `90` → `90s`: as the README spells them. */
export function durationText(seconds: number): string {
  if (seconds > 86_400 && seconds % 86_400 === 0) return `${seconds / 86_400}d`;
  if (seconds >= 3600 && seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds >= 60 && seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/** What each still-unset setting means, in words (it depends on what the run finds). */
const UNSET_MEANS: Record<string, string> = {
  quality: '(per encoder)',
  preset: '(per encoder: medium; NVENC p5)',
  'max-height': '(none: source height)',
  'max-size': '(none)',
  'min-free': '(none)',
  until: '(none)',
  'metrics-file': '(none)',
  'notify-url': '(none)',
  'notify-secret': '(none)',
  ffmpeg: '(FFMPEG_PATH, PATH, bundled)',
  ffprobe: '(FFPROBE_PATH, PATH, bundled)',
};

/**
 * The rows with every effective value filled in, and `--no-confirm` folded into `yes`. Settings
 * still unset are described in words for people (`describeUnset`), left null for JSON.
 */
export function withEffectiveValues<R extends Row>(
  rows: readonly R[],
  argv: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  describeUnset: boolean,
): R[] {
  const { flags, roots } = parseArchiveFlags(argv);
  const archive = archiveOptionsOf(flags, roots, '');
  const cleanup = cleanupOptionsOf(flags, roots, '');
  const maxDelete = cleanup.maxDelete;
  const effective: Record<string, unknown> = {
    output: archive.output,
    'trash-root': archive.trash,
    'log-file': archive.logFile,
    'trash-days': cleanup.trashDays,
    protect: durationText(cleanup.protectSeconds),
    'max-delete':
      maxDelete === undefined
        ? 'none'
        : 'files' in maxDelete
          ? `${maxDelete.files} files`
          : 'bytes' in maxDelete
            ? formatBytes(maxDelete.bytes)
            : `${maxDelete.percent}%`,
    'state-dir': cleanup.stateDir ?? archive.stateDir ?? defaultStateDir(env),
  };
  const confirm = rows.find((r) => r.key === 'confirm');
  const out: R[] = [];
  for (const row of rows) {
    if (row.key === 'confirm') continue; // shown as `yes`
    if (row.key === 'yes') {
      const byNoConfirm = argv.yes !== true && argv.confirm === false && confirm;
      out.push(
        byNoConfirm
          ? { ...row, value: true, source: confirm.source, from: confirm.from ?? '--no-confirm' }
          : { ...row, value: archive.assumeYes },
      );
      continue;
    }
    if (row.value !== undefined) out.push(row);
    else if (row.key in effective) out.push({ ...row, value: effective[row.key] });
    else out.push({ ...row, value: describeUnset ? UNSET_MEANS[row.key] : undefined });
  }
  return out;
}

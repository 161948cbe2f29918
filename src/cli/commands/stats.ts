/**
 * `camera-archiver stats [directory] [--json]`: per camera and per day, what the tree holds and how
 * long the disk and limits will last. Reads sizes only; the work is in stats.ts, loaded on demand.
 */
import type { Argv } from 'yargs';
import { EXIT, UsageError } from '../../errors.js';
import { parseSize } from '../../units.js';
import type { CliContext } from '../context.js';
import { ageDaysOf, nowOf, str, treeFlags, treeRootsOf } from './flags.js';

export function statsBuilder(y: Argv): Argv<Record<string, unknown>> {
  return treeFlags(y)
    .option('max-size', {
      type: 'string',
      describe: 'forecast how many days this cap holds, e.g. 500GB',
    })
    .option('min-free', {
      type: 'string',
      describe: 'free space to keep in the forecast, e.g. 50GB or 10%',
    })
    .option('age', {
      type: 'number',
      default: 30,
      describe: 'days footage stays raw before it is archived (forecast)',
    })
    .option('archive-age', {
      type: 'string',
      describe: 'days archives are kept (as the cleanup run); keep = until a cap removes them',
    })
    .option('days', { type: 'number', default: 14, describe: 'days shown in the table; 0 = all' })
    .option('json', { type: 'boolean', default: false, describe: 'print everything as JSON' })
    .option('now', { type: 'string', hidden: true }) as Argv<Record<string, unknown>>;
}

export async function statsHandler(argv: Record<string, unknown>, ctx: CliContext): Promise<void> {
  const { root, output, trash } = treeRootsOf(argv);
  const age = ageDaysOf(argv);
  const shown = typeof argv.days === 'number' ? argv.days : NaN;
  if (!(Number.isInteger(shown) && shown >= 0))
    throw new UsageError(`--days must be a whole number ≥ 0, got '${String(argv.days)}'`);
  const now = nowOf(argv) ?? new Date();
  const { parseArchiveAge, parseMinFree } = await import('../../retention-options.js');
  const archiveAgeText = str(argv['archive-age']);
  const maxSize = str(argv['max-size']);
  const minFreeText = str(argv['min-free']);
  const limits = {
    maxSizeBytes: maxSize === undefined ? undefined : parseSize(maxSize, '--max-size'),
    minFree: minFreeText === undefined ? undefined : parseMinFree(minFreeText),
    minFreeText,
    ageDays: age,
    archiveAgeDays: archiveAgeText === undefined ? undefined : parseArchiveAge(archiveAgeText),
  };
  const { checkInputRoot } = await import('../../archive-run.js');
  await checkInputRoot(root);
  const { collectStats, renderStats } = await import('../../stats.js');
  const report = await collectStats(
    {
      root,
      outputRoot: output,
      trashRoot: trash,
    },
    limits,
    now,
  );
  ctx.stdout.write(
    argv.json === true
      ? `${JSON.stringify(report, null, 2)}\n`
      : `${renderStats(report, limits, shown).join('\n')}\n`,
  );
  ctx.setExitCode(EXIT.ok);
}

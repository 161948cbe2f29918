/**
 * `camera-archiver stats [directory] [--json]`: per camera and per day, what the tree holds and how
 * long the disk and limits will last. Reads sizes only; the work is in stats.ts, loaded on demand.
 */
import type { Argv } from 'yargs';
import type { RunOutcome } from '../../core/errors.js';
import { parseSize } from '../../core/units.js';
import type { CommandContext } from '../runtime.js';
import { ageDaysOf, MAX_DAYS, nowOf, str, treeFlags, treeRootsOf, wholeNumber } from './flags.js';

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

export async function statsHandler(
  argv: Record<string, unknown>,
  ctx: CommandContext,
): Promise<RunOutcome> {
  const { root, output, trash } = treeRootsOf(argv);
  const age = ageDaysOf(argv);
  const shown = wholeNumber('days', argv.days ?? 14, 0, MAX_DAYS) ?? 14;
  const now = nowOf(argv) ?? new Date();
  const { parseArchiveAge, parseMinFree } = await import('../../retention/options.js');
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
  const { checkTreeRoots } = await import('../../archive/run.js');
  const real = await checkTreeRoots(root, output, trash); // by identity; overlaps are exit 2
  for (const note of real.notes) ctx.stderr.write(`${note}\n`);
  const { collectStats, renderStats } = await import('../../retention/stats.js');
  const report = await collectStats(
    {
      root: real.root,
      outputRoot: real.output,
      trashRoot: real.trash,
    },
    limits,
    now,
  );
  ctx.stdout.write(
    argv.json === true
      ? `${JSON.stringify(report, null, 2)}\n`
      : `${renderStats(report, limits, shown).join('\n')}\n`,
  );
  return { status: 'ok' };
}

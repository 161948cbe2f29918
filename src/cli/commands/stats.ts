/**
 * `camera-archiver stats [directory] [--json]`: per camera and per day, what the tree holds and how
 * long the disk and limits will last. Reads sizes only; the work is in stats.ts, loaded on demand.
 */
import type { Argv } from 'yargs';
import type { RunOutcome } from '../../core/errors.js';
import type { CommandContext } from '../runtime.js';
import {
  ageFlag,
  archiveAgeFlag,
  booleanFlag,
  declareFlags,
  flag,
  MAX_DAYS,
  maxSizeFlag,
  minFreeFlag,
  nowOf,
  parseFlags,
  treeFlags,
  treeRootsOf,
  wholeNumber,
} from './flags.js';

/** Every flag of `stats`, declared once (the retention flags parse as the cleanup's do). */
export const STATS_FLAGS = {
  'max-size': maxSizeFlag({ describe: 'forecast how many days this cap holds, e.g. 500GB' }),
  'min-free': minFreeFlag({ describe: 'free space to keep in the forecast, e.g. 50GB or 10%' }),
  age: ageFlag({ describe: 'days footage stays raw before it is archived (forecast)' }),
  'archive-age': archiveAgeFlag({
    describe: 'days archives are kept (as the cleanup run); keep = until a cap removes them',
  }),
  days: flag(
    { type: 'number', default: 14, describe: 'days shown in the table; 0 = all' },
    (v) => wholeNumber('days', v ?? 14, 0, MAX_DAYS) ?? 14,
  ),
  json: booleanFlag({ default: false, describe: 'print everything as JSON' }),
  now: flag({ type: 'string', hidden: true }, (v) => nowOf({ now: v })),
} as const;

export function statsBuilder(y: Argv): Argv {
  return declareFlags(treeFlags(y), STATS_FLAGS);
}

export async function statsHandler(
  argv: Record<string, unknown>,
  ctx: CommandContext,
): Promise<RunOutcome> {
  const { root, output, trash } = treeRootsOf(argv);
  const f = parseFlags(STATS_FLAGS, argv);
  const limits = {
    maxSizeBytes: f['max-size'],
    minFree: f['min-free']?.value,
    minFreeText: f['min-free']?.text,
    ageDays: f.age,
    archiveAgeDays: f['archive-age'],
  };
  const { checkTreeRoots } = await import('../../archive/run.js');
  const real = await checkTreeRoots(root, output, trash); // by identity; overlaps are exit 2
  for (const note of real.notes) ctx.stderr.write(`${note}\n`);
  const { collectStats, renderStats } = await import('../../retention/stats.js');
  const report = await collectStats(
    { root: real.root, outputRoot: real.output, trashRoot: real.trash },
    limits,
    f.now ?? new Date(),
  );
  ctx.stdout.write(
    f.json
      ? `${JSON.stringify(report, null, 2)}\n`
      : `${renderStats(report, limits, f.days).join('\n')}\n`,
  );
  return { status: 'ok' };
}

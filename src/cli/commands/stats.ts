/**
 * `camera-archiver stats [directory] [--json]`: per camera and per day, what the tree holds and how
 * long the disk and limits will last. Reads sizes only; the work is in stats.ts, loaded on demand.
 */
import path from 'node:path';
import type { Argv } from 'yargs';
import { EXIT, UsageError } from '../../errors.js';
import { parseSize } from '../../units.js';
import type { CliContext } from '../context.js';
import { DEFAULT_ROOT } from './archive.js';

export function statsBuilder(y: Argv): Argv<Record<string, unknown>> {
  return y
    .positional('directory', {
      type: 'string',
      default: DEFAULT_ROOT,
      describe: 'camera tree with YYYY/MM/DD folders',
    })
    .option('output', {
      alias: 'o',
      type: 'string',
      describe: 'archive root [default: <directory>/archived]',
    })
    .option('trash-root', {
      type: 'string',
      describe: 'trash root [default: <directory>/.deleted]',
    })
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
    .option('days', { type: 'number', default: 14, describe: 'days shown in the table; 0 = all' })
    .option('json', { type: 'boolean', default: false, describe: 'print everything as JSON' })
    .option('now', { type: 'string', hidden: true }) as Argv<Record<string, unknown>>;
}

export async function statsHandler(argv: Record<string, unknown>, ctx: CliContext): Promise<void> {
  const str = (v: unknown): string | undefined =>
    typeof v === 'string' && v !== '' ? v : undefined;
  const root = path.resolve(str(argv.directory) ?? DEFAULT_ROOT);
  const age = typeof argv.age === 'number' ? argv.age : NaN;
  if (!(age >= 0))
    throw new UsageError(`--age must be a number of days ≥ 0, got '${String(argv.age)}'`);
  const shown = typeof argv.days === 'number' ? argv.days : NaN;
  if (!(Number.isInteger(shown) && shown >= 0))
    throw new UsageError(`--days must be a whole number ≥ 0, got '${String(argv.days)}'`);
  let now = new Date();
  if (str(argv.now)) {
    now = new Date(String(argv.now));
    if (Number.isNaN(now.getTime()))
      throw new UsageError(`--now must be an ISO date, got '${String(argv.now)}'`);
  }
  const { parseMinFree } = await import('../../retention-options.js');
  const maxSize = str(argv['max-size']);
  const minFreeText = str(argv['min-free']);
  const limits = {
    maxSizeBytes: maxSize === undefined ? undefined : parseSize(maxSize, '--max-size'),
    minFree: minFreeText === undefined ? undefined : parseMinFree(minFreeText),
    minFreeText,
    ageDays: age,
  };
  const { checkInputRoot } = await import('../../archive-run.js');
  await checkInputRoot(root);
  const { collectStats, renderStats } = await import('../../stats.js');
  const report = await collectStats(
    {
      root,
      outputRoot: path.resolve(str(argv.output) ?? path.join(root, 'archived')),
      trashRoot: path.resolve(str(argv['trash-root']) ?? path.join(root, '.deleted')),
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

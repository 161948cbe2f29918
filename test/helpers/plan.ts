/**
 * The whole tree's plan, as a real run makes it (discovery, then the planner day by day), for
 * integration tests that hand it to the executor themselves.
 */
import path from 'node:path';
import { discoverDays, findDayFolders } from '../../src/archive/discovery.js';
import { planDay, type PlanAction, type PlanSettings } from '../../src/archive/planner.js';

export async function planTree(
  root: string,
  now: Date,
  extra: Partial<PlanSettings> = {},
): Promise<PlanAction[]> {
  const settings: PlanSettings = {
    root,
    outputRoot: path.join(root, 'archived'),
    trashRoot: path.join(root, '.deleted'),
    disposal: 'trash',
    ageDays: 30,
    settleSeconds: 0,
    redoExisting: false,
    ...extra,
  };
  const options = {
    root,
    excluded: [settings.outputRoot, settings.trashRoot],
    outputRoot: settings.outputRoot,
    // Every clip is stat'ed: the tests' clips are freshly written.
    statClipsNewerThan: new Date(8.64e15),
  };
  const actions: PlanAction[] = [];
  for await (const day of discoverDays(options, await findDayFolders(options)))
    actions.push(...planDay(day, settings, now).actions);
  return actions;
}

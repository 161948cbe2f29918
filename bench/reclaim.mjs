#!/usr/bin/env node
/**
 * The recorder's storage guard on its own, for `npm run bench`: `reclaimSpace` (the emergency
 * form of retention that `record` runs when the disk is nearly full) as a dry run, freeing BYTES
 * from ROOT's oldest footage. Prints what it would remove as one JSON line.
 *
 *   node bench/reclaim.mjs ROOT BYTES
 */
import path from 'node:path';
import { reclaimSpace } from '../dist/retention/reclaim.js';

const [root, bytes] = process.argv.slice(2);
if (!root || !bytes) throw new Error('usage: node bench/reclaim.mjs ROOT BYTES');
const quiet = () => {};
const log = {
  info: quiet,
  warn: quiet,
  verbose: quiet,
  debug: quiet,
  error: (m) => console.error(m),
};
// Far in the future: nothing is protected, the oldest footage goes first.
const now = new Date('2100-01-01T00:00:00Z');
const report = await reclaimSpace({
  root,
  outputRoot: path.join(root, 'archived'),
  trashRoot: path.join(root, '.deleted'),
  bytesToFree: Number(bytes),
  protectNewerThan: now,
  now,
  log,
  dryRun: true,
});
console.log(
  JSON.stringify({
    freedBytes: report.freedBytes,
    files: report.removed.length,
    shortfall: report.shortfall,
    refusal: report.refusal ?? null,
  }),
);
if (report.refusal || report.freedBytes < Number(bytes)) process.exitCode = 1;

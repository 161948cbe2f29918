/**
 * Deterministic kill points: the run SIGKILLs itself at each step boundary of the executor
 * (ARCHIVER_FAILPOINT, see src/cli/failpoint.ts), so the short windows a random kill rarely hits
 * (between rename and trash move, between thumbnail and clip, mid-move, mid-prune) are all proven.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAILPOINTS } from '../../src/archive/executor.js';
import { FAST, runCli } from '../helpers/cli.js';
import { makeTree, type TreeClip } from '../helpers/media.js';
import { removeDir, tempDir } from '../helpers/tree.js';
import { checkInvariants, endState, type ClipRecord } from './invariants.js';

const ARGS = ['-y', '--now', '2025-03-01T00:00:00Z', ...FAST, '--settle-time', '0'];
const CLIPS: TreeClip[] = [
  { camera: 'REO_front', stamp: '20250115120000', thumbnail: true },
  { camera: 'REO_back', stamp: '20250115120000', thumbnail: true },
  { camera: 'REO_front', stamp: '20250116090000' },
];
const records: ClipRecord[] = CLIPS.map((c) => ({
  rel: `${c.stamp.slice(0, 4)}/${c.stamp.slice(4, 6)}/${c.stamp.slice(6, 8)}/${c.camera}_${c.stamp}.mp4`,
  thumbnail: c.thumbnail === true,
  duration: 1,
}));

// Each boundary at its first occurrence, and at a later one where the step repeats.
const CASES: [string, number][] = [
  ['transcoded', 1],
  ['transcoded', 3],
  ['verified', 1],
  ['verified', 2],
  ['archive-placed', 1],
  ['archive-placed', 3],
  ['linked-to-trash', 1],
  ['linked-to-trash', 2],
  ['thumbnail-disposed', 1],
  ['clip-disposed', 1],
  ['clip-disposed', 3],
  ['before-prune', 1],
  ['pruned-one', 1],
  ['pruned-one', 2],
];

describe('SIGKILL at every step boundary', () => {
  let expected: string[];
  const roots: string[] = [];
  beforeAll(async () => {
    const reference = tempDir('cam-ref-');
    roots.push(reference);
    makeTree(reference, CLIPS);
    const r = await runCli([reference, ...ARGS]);
    expect(r.exitCode, r.stderr).toBe(0);
    expected = endState(reference);
  });
  afterAll(() => roots.forEach(removeDir));

  it('covers every failpoint the executor defines', () => {
    expect(new Set(CASES.map(([name]) => name))).toEqual(new Set(FAILPOINTS));
  });

  it.each(CASES)(
    'killed at %s #%i: invariants hold, the next run finishes the job identically',
    async (name, nth) => {
      const root = tempDir('cam-kp-');
      roots.push(root);
      makeTree(root, CLIPS);
      const killed = await runCli([root, ...ARGS], {
        env: { ARCHIVER_FAILPOINT: `${name}:${nth}` },
      });
      expect(killed.exitCode, `the failpoint ${name}:${nth} must be reached`).toBe(-1);
      expect(checkInvariants(root, records)).toEqual([]);
      const next = await runCli([root, ...ARGS]);
      expect(next.exitCode, next.stderr).toBe(0);
      expect(checkInvariants(root, records)).toEqual([]);
      expect(endState(root)).toEqual(expected);
    },
  );
});

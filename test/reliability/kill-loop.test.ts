/**
 * Kill loop: real runs over real clips, each SIGKILLed (whole process group: a power cut, an OOM
 * kill) at a pseudo-random moment; the invariants must hold after every kill, and a final normal
 * run must reach the same end state as an uninterrupted run.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, runCli, SLOW } from '../helpers/cli.js';
import { makeTree, type TreeClip } from '../helpers/media.js';
import { listTree, removeDir, tempDir } from '../helpers/tree.js';
import { checkInvariants, endState, type ClipRecord } from './invariants.js';
import { seededRandom } from '../helpers/random.js';

const SEED = Number(process.env.RELIABILITY_SEED ?? 20250115);
const KILLS = Number(process.env.RELIABILITY_KILLS ?? 20);
const ARGS = ['-y', '--now', '2025-03-01T00:00:00Z', ...SLOW, '--settle-time', '0'];

const CLIPS: TreeClip[] = [
  {
    camera: 'REO_front',
    stamp: '20250115120000',
    thumbnail: true,
    spec: { seconds: 2, size: '320x240' },
  },
  {
    camera: 'REO_back',
    stamp: '20250115120000',
    thumbnail: true,
    spec: { seconds: 2, size: '320x240' },
  },
  { camera: 'REO_front', stamp: '20250115130000', spec: { seconds: 2, size: '320x240' } },
  {
    camera: 'REO_back',
    stamp: '20250116080000',
    thumbnail: true,
    spec: { seconds: 2, size: '320x240', audio: false },
  },
  {
    camera: 'REO_front',
    stamp: '20250116090000',
    thumbnail: true,
    spec: { seconds: 2, size: '320x240' },
  },
  { camera: 'REO_side', stamp: '20250117100000', spec: { seconds: 2, size: '320x240' } },
];

const records: ClipRecord[] = CLIPS.map((c) => ({
  rel: `${c.stamp.slice(0, 4)}/${c.stamp.slice(4, 6)}/${c.stamp.slice(6, 8)}/${c.camera}_${c.stamp}.mp4`,
  thumbnail: c.thumbnail === true,
  duration: 2,
}));

/** What the tree looked like when the kill landed: evidence of which step was interrupted. */
function phaseOf(root: string): string {
  const files = listTree(root);
  const sources = files.filter((f) => /^\d{4}\/.*\.mp4$/.test(f)).length;
  const archives = files.filter((f) => /^archived\/.*\/[^.][^/]*\.mp4$/.test(f)).length;
  if (files.some((f) => f.endsWith('.partial'))) return 'transcode/verify (partial present)';
  const orphanedThumb = files.some(
    (f) =>
      /^\.deleted\/.*\.jpg$/.test(f) &&
      existsSync(path.join(root, f.replace(/^\.deleted\/input\//, '').replace(/\.jpg$/, '.mp4'))),
  );
  if (orphanedThumb) return 'between thumbnail and clip move';
  if (archives > 0 && archives + sources > CLIPS.length)
    return 'between archive rename and source move';
  if (sources === 0 && files.some((f) => /^\d{4}\/$/.test(f))) return 'prune';
  if (archives === 0 && sources === CLIPS.length) return 'start-up/discovery/probe';
  if (sources === 0) return 'finished';
  return 'between clips';
}

describe('kill loop (SIGKILL of the whole process group at random moments)', () => {
  const roots: string[] = [];
  afterAll(() => roots.forEach(removeDir));

  it(`${KILLS} kills, invariants after each, then the same end state as an uninterrupted run (seed ${SEED})`, async () => {
    const reference = tempDir('cam-ref-');
    roots.push(reference);
    makeTree(reference, CLIPS);
    const clean = await runCli([reference, ...ARGS]);
    expect(clean.exitCode, clean.stderr).toBe(0);
    const expected = endState(reference);

    const random = seededRandom(SEED);
    const phases = new Map<string, number>();
    let root = tempDir('cam-kill-');
    roots.push(root);
    makeTree(root, CLIPS);
    let rounds = 1;
    for (let kill = 0; kill < KILLS; kill++) {
      const child = spawn(process.execPath, [BIN, root, ...ARGS], {
        detached: true,
        stdio: 'ignore',
        env: { ...process.env, TZ: 'UTC' },
      });
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      await new Promise((r) => setTimeout(r, 100 + random() * 2200));
      try {
        process.kill(-(child.pid ?? 0), 'SIGKILL');
      } catch {
        // Already finished: the kill landed after the end.
      }
      await exited;
      const phase = phaseOf(root);
      phases.set(phase, (phases.get(phase) ?? 0) + 1);
      expect(checkInvariants(root, records), `after kill ${kill + 1} (${phase})`).toEqual([]);
      if (phase === 'finished') {
        const done = await runCli([root, ...ARGS]);
        expect(done.exitCode, done.stderr).toBe(0);
        expect(endState(root)).toEqual(expected);
        root = tempDir('cam-kill-');
        roots.push(root);
        makeTree(root, CLIPS);
        rounds++;
      }
    }
    const final = await runCli([root, ...ARGS]);
    expect(final.exitCode, final.stderr).toBe(0);
    expect(checkInvariants(root, records)).toEqual([]);
    expect(endState(root)).toEqual(expected);
    expect(readdirSync(root).filter((n) => n.includes('.stale-'))).toEqual([]);
    console.log(
      `kill loop: ${KILLS} kills over ${rounds} tree(s); where they landed: ${JSON.stringify(Object.fromEntries(phases))}`,
    );
  });
});

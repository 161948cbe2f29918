/**
 * Randomized invariant test, in terms of identity: random trees (misfiled stamps, names differing
 * only in case, `.MP4` twins, the Python archiver's archives of other cameras, foreign files at
 * archive names) × random flag sets × random SIGKILLs of the whole process group. After every
 * run, killed or not: every clip is in place, or an archive that plays cleanly records that very
 * clip (and, unless --delete, the clip is in the trash); no file the tool did not write changed.
 * Seeded (RELIABILITY_SEED), bounded (RELIABILITY_TREES); the seed is in every failure message.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readIdentity, type SourceIdentity } from '../../src/media/identity.js';
import { BIN, FAST, runCli } from '../helpers/cli.js';
import { clipTemplate } from '../helpers/media.js';
import { removeDir, tempDir } from '../helpers/tree.js';
import { identityViolations } from './invariants.js';
import { seededRandom } from '../helpers/random.js';

const SEED = Number(process.env.RELIABILITY_SEED ?? Date.now() % 1_000_000);
const TREES = Number(process.env.RELIABILITY_TREES ?? 4);
const NOW = ['--now', '2025-03-01T00:00:00Z', '--settle-time', '0'];
const FLAG_SETS: readonly string[][] = [
  [],
  ['--jobs', '2'],
  ['--no-skip'],
  ['--delete'],
  ['--jobs', '2', '--no-skip'],
];

interface Tree {
  clips: (SourceIdentity & { rel: string })[];
  /** Files the tool did not write (legacy archives, foreign files): rel → SHA-256. */
  foreign: Map<string, string>;
  description: string[];
}

const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

async function makeRandomTree(root: string, random: () => number): Promise<Tree> {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  let content = 0;
  // Every clip shows other footage of the same test pattern: no two clips are the same video.
  const write = (rel: string): string => {
    const file = path.join(root, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    copyFileSync(clipTemplate({ seconds: 2, startAt: 3 * content++ }), file);
    const t = new Date(2025, 0, 10);
    utimesSync(file, t, t);
    return rel;
  };
  const stamps = ['20250115120000', '20250115120500', '20250116080000'];
  const dayOf = (stamp: string): string =>
    `${stamp.slice(0, 4)}/${stamp.slice(4, 6)}/${stamp.slice(6, 8)}`;
  const rels: string[] = [];
  const foreign = new Map<string, string>();
  const description: string[] = [];
  const count = 2 + Math.floor(random() * 3);
  for (let i = 0; i < count; i++) {
    const stamp = pick(stamps);
    const camera = pick(['REO_front', 'REO_back', 'Front', 'front']);
    const rel = `${dayOf(stamp)}/${camera}_${stamp}.mp4`;
    if (rels.includes(rel)) continue;
    rels.push(write(rel));
    description.push(rel);
    const twist = random();
    if (twist < 0.2) {
      // The same camera and second, misfiled in another day folder.
      const misfiled = `2025/01/17/${camera}_${stamp}.mp4`;
      if (!rels.includes(misfiled)) rels.push(write(misfiled));
      description.push(`misfiled ${misfiled}`);
    } else if (twist < 0.35) {
      const twin = rel.replace(/\.mp4$/, '.MP4');
      rels.push(write(twin));
      description.push(`twin ${twin}`);
    } else if (twist < 0.5) {
      // The Python archiver's archive of another camera at this second.
      const legacy = write(`archived/${dayOf(stamp)}/archived-${stamp}.mp4`);
      foreign.set(legacy, sha(path.join(root, legacy)));
      description.push(`legacy ${legacy}`);
    } else if (twist < 0.65) {
      // Someone else's file at this clip's archive name.
      const taken = write(`archived/${dayOf(stamp)}/${camera}_${stamp}.mp4`);
      foreign.set(taken, sha(path.join(root, taken)));
      description.push(`taken ${taken}`);
    }
  }
  const clips = await Promise.all(
    rels.map(async (rel) => ({ rel, ...(await readIdentity(path.join(root, rel), rel, 0)) })),
  );
  return { clips, foreign, description };
}

function check(root: string, tree: Tree, trash: boolean): string[] {
  const violations = identityViolations(root, tree.clips, { trash });
  for (const [rel, hash] of tree.foreign) {
    const file = path.join(root, rel);
    if (!existsSync(file)) violations.push(`foreign file removed: ${rel}`);
    else if (sha(file) !== hash) violations.push(`foreign file changed: ${rel}`);
  }
  return violations;
}

describe('identity invariant under random trees, flags and SIGKILLs', () => {
  const roots: string[] = [];
  afterAll(() => roots.forEach(removeDir));

  it(`${TREES} random trees (seed ${SEED}; rerun with RELIABILITY_SEED=${SEED})`, async () => {
    const random = seededRandom(SEED);
    for (let t = 0; t < TREES; t++) {
      const root = tempDir('cam-idr-');
      roots.push(root);
      const tree = await makeRandomTree(root, random);
      const flags = FLAG_SETS[Math.floor(random() * FLAG_SETS.length)] ?? [];
      const trash = !flags.includes('--delete');
      const where = `seed ${SEED}, tree ${t} [${tree.description.join('; ')}], flags [${flags.join(' ')}]`;
      const args = [root, '-y', ...NOW, ...FAST, ...flags];
      const kills = Math.floor(random() * 3);
      for (let k = 0; k < kills; k++) {
        const child = spawn(process.execPath, [BIN, ...args], {
          detached: true,
          stdio: 'ignore',
          env: { ...process.env, TZ: 'UTC' },
        });
        const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
        await new Promise((r) => setTimeout(r, 150 + random() * 1800));
        try {
          process.kill(-(child.pid ?? 0), 'SIGKILL');
        } catch {
          // It had finished: the kill landed after the end.
        }
        await exited;
        expect(check(root, tree, trash), `${where}, after kill ${k + 1}`).toEqual([]);
      }
      const done = await runCli(args);
      expect(done.exitCode, `${where}: ${done.stdout}${done.stderr}`).toBe(0);
      expect(check(root, tree, trash), `${where}, after the final run`).toEqual([]);
      // A second run finds nothing left to lose either (the `.MP4` twins archive now).
      const again = await runCli(args.filter((a) => a !== '--no-skip'));
      expect(again.exitCode, `${where}: ${again.stdout}${again.stderr}`).toBe(0);
      expect(check(root, tree, trash), `${where}, after a second run`).toEqual([]);
    }
  });
});

/**
 * Random root layouts × random flags, seeded: the input given by its real path, through a link or
 * with `..`; archive and trash roots by default, inside the input, outside it, above it, equal to
 * it or to each other, reached through links (`archived` → `.`, a link to elsewhere). Each run
 * goes twice (the next night must not find archives to archive). After every run one of two
 * things holds: it refused with exit 2 and nothing in the whole area changed, or no clip is lost
 * — each clip is in place, or a good archive of it exists in the archive tree and its bytes are
 * in the trash (or it was deleted on request) — and no archive was ever taken for a clip.
 * RELIABILITY_SEED replays a failure; the seed is printed.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, realpathSync, statSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FAST, runCli } from '../helpers/cli.js';
import { clipTemplate, makeTree, type TreeClip } from '../helpers/media.js';
import { listTree, removeDir, snapshot, tempDir } from '../helpers/tree.js';
import { archiveIsGood } from './invariants.js';
import { seededRandom } from '../helpers/random.js';

const SEED = Number(process.env.RELIABILITY_SEED ?? 20251130);
const LAYOUTS = Number(process.env.RELIABILITY_LAYOUTS ?? 16);
const NOW = ['--now', '2025-03-01T00:00:00Z', '--settle-time', '0', '--age', '0'];

const CLIPS: TreeClip[] = [
  { camera: 'REO_front', stamp: '20250115120000', thumbnail: true },
  { camera: 'REO_back', stamp: '20250115120000' },
  { camera: 'REO_front', stamp: '20250116080000' },
];

function sha(file: string): string {
  return createHash('sha1').update(readFileSync(file)).digest('hex');
}

/** Files (not folders, not links) under a real folder, by content hash; empty when it is missing. */
function filesByHash(dir: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let rels: string[] = [];
  try {
    rels = listTree(dir);
  } catch {
    return out;
  }
  for (const rel of rels) {
    if (rel.endsWith('/')) continue;
    const file = path.join(dir, rel);
    if (!statSync(file, { throwIfNoEntry: false })?.isFile()) continue;
    const h = sha(file);
    out.set(h, [...(out.get(h) ?? []), file]);
  }
  return out;
}

interface Layout {
  describe: string;
  dirArg: string;
  flags: string[];
  outputReal: string;
  trashReal: string;
  deleting: boolean;
}

/** Builds one random layout under `base` with the camera tree at `base/site/cam`. */
function makeLayout(base: string, rnd: () => number): Layout {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const real = path.join(base, 'site', 'cam');
  makeTree(real, CLIPS);
  const notes: string[] = [];

  const inputForm = pick(['real', 'link', 'dotdot'] as const);
  let dirArg = real;
  if (inputForm === 'link') {
    dirArg = path.join(base, 'alias');
    symlinkSync(real, dirArg);
  } else if (inputForm === 'dotdot') dirArg = path.join(base, 'site', 'x', '..', 'cam');
  notes.push(`input ${inputForm}`);

  const outside = (name: string): string => {
    const p = path.join(base, name);
    mkdirSync(p, { recursive: true });
    return p;
  };
  const flags: string[] = [];
  // Weighted so that about half the layouts are valid: those runs must then lose nothing.
  const output = pick([
    'default',
    'default',
    'default',
    'default',
    'sibling',
    'sibling',
    'inside',
    'archived->sibling',
    'root',
    'root-real',
    'parent',
    'archived->.',
  ] as const);
  let outputReal = path.join(real, 'archived');
  switch (output) {
    case 'inside':
      outputReal = path.join(real, 'sub', 'arch');
      flags.push('-o', path.join(dirArg, 'sub', 'arch'));
      break;
    case 'sibling':
      outputReal = outside('out');
      flags.push('-o', outputReal);
      break;
    case 'root':
      outputReal = real;
      flags.push('-o', dirArg);
      break;
    case 'root-real':
      outputReal = real;
      flags.push('-o', real);
      break;
    case 'parent':
      outputReal = path.join(base, 'site');
      flags.push('-o', outputReal);
      break;
    case 'archived->.':
      symlinkSync('.', path.join(real, 'archived'));
      outputReal = real;
      break;
    case 'archived->sibling':
      outputReal = outside('out');
      symlinkSync(outputReal, path.join(real, 'archived'));
      break;
    case 'default':
      break;
  }
  notes.push(`output ${output}`);

  const trash = pick([
    'default',
    'default',
    'default',
    'default',
    'sibling',
    'sibling',
    'root',
    'parent',
    'same-as-output',
    'in-output',
  ] as const);
  let trashReal = path.join(real, '.deleted');
  switch (trash) {
    case 'sibling':
      trashReal = outside('trash');
      flags.push('--trash-root', trashReal);
      break;
    case 'root':
      trashReal = real;
      flags.push('--trash-root', dirArg);
      break;
    case 'parent':
      trashReal = base;
      flags.push('--trash-root', base);
      break;
    case 'same-as-output':
      trashReal = outputReal;
      flags.push('--trash-root', outputReal);
      break;
    case 'in-output':
      trashReal = path.join(outputReal, 'trash');
      flags.push('--trash-root', trashReal);
      break;
    case 'default':
      break;
  }
  notes.push(`trash ${trash}`);

  const deleting = rnd() < 0.25;
  if (deleting) flags.push('--delete');
  if (rnd() < 0.3) flags.push('--jobs', '2');
  if (rnd() < 0.2) flags.push('--no-skip');
  return { describe: notes.join(', '), dirArg, flags, outputReal, trashReal, deleting };
}

const bases: string[] = [];
afterAll(() => {
  for (const b of bases) removeDir(b);
});

describe('random root layouts × flags', () => {
  it(`refuse with exit 2 before touching anything, or lose no clip (seed ${SEED}, ${LAYOUTS} layouts)`, async () => {
    console.log(`roots-random seed ${SEED} (RELIABILITY_SEED=${SEED} replays it)`);
    const rnd = seededRandom(SEED);
    const duration = 1; // every clip is the 1 s template
    const template = sha(clipTemplate());
    let refused = 0;
    for (let i = 0; i < LAYOUTS; i++) {
      const base = realpathSync(tempDir('cam-rroots-'));
      bases.push(base);
      const layout = makeLayout(base, rnd);
      const where = `layout ${i} (seed ${SEED}): ${layout.describe}; flags ${layout.flags.join(' ')}`;

      for (const night of [1, 2]) {
        const before = snapshot(base);
        const r = await runCli([layout.dirArg, '-y', ...NOW, ...FAST, ...layout.flags]);
        const said = `${where}, night ${night}: exit ${r.exitCode}\n${r.stderr}`;
        if (r.exitCode === 2) {
          refused++;
          console.log(`${where}: refused (${r.stderr.split('\n')[0]?.slice(0, 160)})`);
          expect(snapshot(base), said).toEqual(before);
          break;
        }
        expect(r.exitCode, said).toBe(0);
        if (night === 1) console.log(`${where}: archived`);
        // Every clip: in place, or archived (a good archive in the archive tree) and its bytes in
        // the trash unless deleted on request. All clips share the template's bytes, so count.
        const real = path.join(base, 'site', 'cam');
        const inPlace = CLIPS.filter((c) =>
          statSync(
            path.join(
              real,
              `${c.stamp.slice(0, 4)}/${c.stamp.slice(4, 6)}/${c.stamp.slice(6, 8)}/${c.camera}_${c.stamp}.mp4`,
            ),
            {
              throwIfNoEntry: false,
            },
          ),
        ).length;
        const archives = listTree(layout.outputReal).filter(
          (p) => /(^|\/)\d{4}\/\d{2}\/\d{2}\/[^/]+\.mp4$/.test(p) && !p.includes('input/'),
        );
        const good = archives.filter((p) =>
          archiveIsGood(path.join(layout.outputReal, p), duration),
        );
        expect(good.length, said).toBe(archives.length);
        const gone = CLIPS.length - inPlace;
        expect(archives.length, `${said}\narchives: ${archives.join(', ')}`).toBeGreaterThanOrEqual(
          gone,
        );
        // No archive was ever taken for a clip: never more archives than clips, none trashed.
        expect(archives.length, `${said}\narchives: ${archives.join(', ')}`).toBeLessThanOrEqual(
          CLIPS.length,
        );
        const archiveHashes = new Set(good.map((p) => sha(path.join(layout.outputReal, p))));
        const trashed = filesByHash(path.join(layout.trashReal, 'input'));
        for (const h of archiveHashes)
          expect(trashed.has(h), `${said}\nan archive was trashed`).toBe(false);
        if (!layout.deleting)
          expect(trashed.get(template)?.length ?? 0, said).toBeGreaterThanOrEqual(gone);
      }
    }
    console.log(`roots-random: ${refused} of ${LAYOUTS} layouts refused with exit 2`);
  });
});

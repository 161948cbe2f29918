/**
 * Roots compared by identity on disk: every layout in which one root could be read as another is
 * refused with exit 2 before anything is touched, by every command; a root reached through a
 * link is resolved and the log says so; an archive tree reached under a second name is never
 * read as input.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FAST, runCli } from '../helpers/cli.js';
import { makeTree } from '../helpers/media.js';
import { listTree, removeDir, snapshot, tempDir } from '../helpers/tree.js';

const NOW = ['--now', '2025-03-01T00:00:00Z', '--settle-time', '0'];
const isRoot = process.getuid?.() === 0;

/** Every command that reads a tree, in the forms a cron line or a unit would use. */
const COMMANDS: readonly (readonly string[])[] = [
  ['-y', ...FAST],
  ['--dry-run'],
  ['--dry-run', '--json'],
  ['--cleanup', '-y', '--age', '0', '--clean-output'],
  ['--cleanup', '--dry-run', '--age', '0'],
  ['stats'],
];

describe('roots by identity', () => {
  let base: string;
  let root: string;
  beforeEach(() => {
    base = tempDir('cam-roots-');
    root = path.join(base, 'camera');
    makeTree(root, [
      { stamp: '20250115100000', thumbnail: true },
      { stamp: '20250116100000', camera: 'REO_back' },
    ]);
  });
  afterEach(() => removeDir(base));

  /** Runs `args` with the tree as `[directory]` (stats takes it after its name). */
  const run = (cmd: readonly string[], dir: string, extra: readonly string[]) =>
    runCli(
      cmd[0] === 'stats'
        ? ['stats', dir, ...extra, ...cmd.slice(1)]
        : [dir, ...cmd, ...NOW, ...extra],
    );

  const refusals: {
    name: string;
    layout: () => { dir: string; flags: string[]; both: string[] };
  }[] = [
    {
      name: '-o ROOT',
      layout: () => ({ dir: root, flags: ['-o', root], both: [root] }),
    },
    {
      name: 'ROOT/archived is a link to .',
      layout: () => {
        symlinkSync('.', path.join(root, 'archived'));
        return { dir: root, flags: [], both: [path.join(root, 'archived'), root] };
      },
    },
    {
      name: 'input through a link, -o the real input path',
      layout: () => {
        const link = path.join(base, 'footage');
        symlinkSync(root, link);
        return { dir: link, flags: ['-o', root], both: [root, link] };
      },
    },
    {
      name: '--trash-root ROOT',
      layout: () => ({ dir: root, flags: ['--trash-root', root], both: [root] }),
    },
    {
      name: 'the trash root above the input root',
      layout: () => ({ dir: root, flags: ['--trash-root', base], both: [base, root] }),
    },
    {
      name: 'the archive root above the input root, through a link',
      layout: () => {
        const link = path.join(root, 'up');
        symlinkSync('..', link);
        return { dir: root, flags: ['-o', link], both: [link, base, root] };
      },
    },
    {
      name: 'archive and trash roots are one folder',
      layout: () => {
        const other = path.join(base, 'store');
        return { dir: root, flags: ['-o', other, '--trash-root', other], both: [other] };
      },
    },
    {
      name: 'the trash root inside the archive root',
      layout: () => {
        const other = path.join(base, 'store');
        return {
          dir: root,
          flags: ['-o', other, '--trash-root', path.join(other, 'trash')],
          both: [other, path.join(other, 'trash')],
        };
      },
    },
  ];

  for (const { name, layout } of refusals) {
    it(`refuses ${name}: exit 2 naming both paths, nothing touched, for every command`, async () => {
      const { dir, flags, both } = layout();
      const before = snapshot(base);
      for (const cmd of COMMANDS) {
        const r = await run(cmd, dir, flags);
        const said = `${cmd.join(' ')}: exit ${r.exitCode}\n${r.stderr}`;
        expect(r.exitCode, said).toBe(2);
        for (const p of both) expect(r.stderr, said).toContain(p);
        expect(r.stdout, said).toBe('');
      }
      expect(snapshot(base)).toEqual(before);
      // 'up' was created as a link by the layout, never written through.
      expect(existsSync(path.join(base, 'archiver.log'))).toBe(false);
    });
  }

  it('input given through a link, -o by the real path of its archive tree: the archives are never read as clips', async () => {
    const link = path.join(base, 'footage');
    symlinkSync(root, link);
    const archived = path.join(root, 'archived');
    const first = await runCli([link, '-o', archived, '-y', '--age', '0', ...NOW, ...FAST]);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stderr).toContain(`input root ${link} is reached through a symbolic link`);
    const archives = listTree(archived).filter((p) => p.endsWith('.mp4'));
    expect(archives).toHaveLength(2);
    const inodes = archives.map((p) => statSync(path.join(archived, p)).ino);
    // The next night: nothing to do, the archives stay the very same files.
    const plan = await runCli([link, '-o', archived, '--dry-run', '--json', '--age', '0', ...NOW]);
    expect(plan.exitCode, plan.stderr).toBe(0);
    const parsed = JSON.parse(plan.stdout) as { actions: { kind: string }[] };
    expect(parsed.actions.filter((a) => a.kind !== 'keep')).toEqual([]);
    const second = await runCli([link, '-o', archived, '-y', '--age', '0', ...NOW, ...FAST]);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(archives.map((p) => statSync(path.join(archived, p)).ino)).toEqual(inodes);
    expect(readdirSync(path.join(root, '.deleted/input/2025/01/15')).sort()).toEqual([
      'REO_front_20250115100000.jpg',
      'REO_front_20250115100000.mp4',
    ]);
  });

  it.skipIf(!isRoot)(
    'an archive tree bind-mounted inside the input tree is left out by identity, not name',
    async () => {
      const store = path.join(base, 'store');
      const first = await runCli([root, '-o', store, '-y', '--age', '0', ...NOW, ...FAST]);
      expect(first.exitCode, first.stderr).toBe(0);
      const mirror = path.join(root, 'mirror');
      mkdirSync(mirror);
      execFileSync('mount', ['--bind', store, mirror]);
      try {
        // The archives now also appear as mirror/2025/01/15/REO_front_….mp4: clips by name.
        const plan = await runCli([root, '-o', store, '--dry-run', '--json', '--age', '0', ...NOW]);
        expect(plan.exitCode, plan.stderr).toBe(0);
        const parsed = JSON.parse(plan.stdout) as { actions: { kind: string; clip?: string }[] };
        expect(parsed.actions.filter((a) => a.kind !== 'keep')).toEqual([]);
        const stats = await runCli(['stats', root, '-o', store, '--json']);
        expect(stats.exitCode, stats.stderr).toBe(0);
      } finally {
        execFileSync('umount', [mirror]);
      }
    },
  );
});

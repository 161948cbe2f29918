/**
 * FileManager: every change to footage on disk goes through here.
 *
 * - Moves never overwrite: a hard link to a free name (EEXIST-safe), then unlink of the old name.
 *   Across filesystems, or where hard links are unsupported: copy to a hidden temporary, fsync,
 *   link into place, then unlink.
 * - Writes stay inside the roots: a folder whose real path leaves its root (a symlink) is refused.
 */
import { constants, promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { FileError } from './errors.js';
import { numberedName, PARTIAL_SUFFIX } from './naming.js';
import type { Disposal } from './planner.js';

const MAX_NUMBERED = 1000;

/** Step boundaries inside the file manager, for fault injection (see executor.ts FAILPOINTS). */
export type FileFailpoint =
  'linked-to-trash' | 'thumbnail-disposed' | 'clip-disposed' | 'pruned-one';
export type FailpointHook = ((name: FileFailpoint) => void) | undefined;

function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

export function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * mkdir -p `dir`, then checks that its real path is inside the real path of `root`, so a
 * symlink planted in a tree can never make us write elsewhere.
 */
export async function ensureDirInside(root: string, dir: string): Promise<void> {
  if (!isInside(path.resolve(root), path.resolve(dir))) {
    throw new FileError(dir, `refusing to write outside ${root}`);
  }
  await fsp.mkdir(dir, { recursive: true });
  const [realRoot, realDir] = await Promise.all([fsp.realpath(root), fsp.realpath(dir)]);
  if (!isInside(realRoot, realDir)) {
    throw new FileError(
      dir,
      `refusing to write outside ${root}: the folder resolves to ${realDir}`,
    );
  }
}

export async function fsyncPath(file: string): Promise<void> {
  const handle = await fsp.open(file, constants.O_RDONLY);
  try {
    await handle.sync();
  } catch (error) {
    // Some filesystems (and directories on some of them) refuse fsync; the data is still written.
    if (!['EINVAL', 'ENOTSUP', 'EBADF', 'EPERM'].includes(code(error) ?? '')) throw error;
  } finally {
    await handle.close();
  }
}

async function sameFile(a: string, b: string): Promise<boolean> {
  try {
    const [sa, sb] = await Promise.all([fsp.stat(a), fsp.stat(b)]);
    return sa.ino === sb.ino && sa.dev === sb.dev;
  } catch {
    return false;
  }
}

/** Links `source` to `target` or its first free numbered variant; returns the name used. */
async function linkToFreeName(source: string, target: string, original: string): Promise<string> {
  const dir = path.dirname(target);
  const base = path.basename(target);
  for (let n = 0; n < MAX_NUMBERED; n++) {
    const candidate = n === 0 ? target : path.join(dir, numberedName(base, n));
    try {
      await fsp.link(source, candidate);
      return candidate;
    } catch (error) {
      if (code(error) !== 'EEXIST') throw error;
      // An earlier run was stopped between link and unlink: the file is already in place.
      if (await sameFile(original, candidate)) return candidate;
    }
  }
  throw new FileError(target, `no free name after ${MAX_NUMBERED} tries`);
}

/**
 * Moves a file into `targetRoot` without ever overwriting; returns where it landed.
 * A name clash keeps both files: the newcomer gets `<stem>.<n><ext>`.
 */
export async function moveNoClobber(
  from: string,
  to: string,
  targetRoot: string,
  failpoint?: FailpointHook,
): Promise<string> {
  await ensureDirInside(targetRoot, path.dirname(to));
  let landed: string;
  try {
    landed = await linkToFreeName(from, to, from);
  } catch (error) {
    if (!['EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK'].includes(code(error) ?? ''))
      throw error;
    // Different filesystem or no hard links: copy under a hidden temporary name first, so a
    // crash never leaves a half-copied file under a real name.
    const temp = path.join(
      path.dirname(to),
      `.${path.basename(to)}.${process.pid}${PARTIAL_SUFFIX}`,
    );
    try {
      await fsp.copyFile(from, temp, constants.COPYFILE_EXCL);
      await fsyncPath(temp);
      landed = await linkToFreeNameOrRename(temp, to);
    } finally {
      await fsp.rm(temp, { force: true });
    }
  }
  await fsyncPath(path.dirname(landed));
  failpoint?.('linked-to-trash');
  await fsp.unlink(from);
  return landed;
}

async function linkToFreeNameOrRename(temp: string, to: string): Promise<string> {
  try {
    return await linkToFreeName(temp, to, temp);
  } catch (error) {
    if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP'].includes(code(error) ?? '')) throw error;
    // No hard links on the target filesystem at all: rename to a name checked free just now
    // (we hold the tree lock, so nobody else is creating names here).
    const dir = path.dirname(to);
    for (let n = 0; n < MAX_NUMBERED; n++) {
      const candidate = n === 0 ? to : path.join(dir, numberedName(path.basename(to), n));
      try {
        await fsp.access(candidate);
      } catch {
        await fsp.rename(temp, candidate);
        return candidate;
      }
    }
    throw new FileError(to, `no free name after ${MAX_NUMBERED} tries`);
  }
}

/**
 * Puts a verified archive at its final name. With `replace`, an existing file there (one that
 * failed verification, or --no-skip) is atomically replaced; otherwise an existing file is an error.
 */
export async function placeArchive(
  partial: string,
  final: string,
  replace: boolean,
): Promise<void> {
  await fsyncPath(partial);
  if (replace) {
    await fsp.rename(partial, final);
  } else {
    try {
      await fsp.link(partial, final);
    } catch (error) {
      if (code(error) === 'EEXIST')
        throw new FileError(
          final,
          'an archive appeared at this name during the run; left as it is',
        );
      if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP'].includes(code(error) ?? '')) throw error;
      await fsp.rename(partial, final);
    }
    await fsp.rm(partial, { force: true });
  }
  await fsyncPath(path.dirname(final));
}

export interface DisposedFile {
  from: string;
  /** Where it went in the trash; undefined when deleted. */
  to?: string | undefined;
}

export interface DisposalRoots {
  trashRoot: string;
  failpoint?: FailpointHook;
  /** A thumbnail left in place, and why (it is not a regular file). */
  onThumbnailLeft?: (file: string, reason: string) => void;
}

/**
 * Why a name planned as a clip or thumbnail is left alone. Discovery reads day folders by name
 * only, so this is where a link or folder with such a name is caught.
 */
export function notRegularFile(stats: Stats): string {
  return stats.isSymbolicLink() ? 'a symbolic link (never followed)' : 'not a regular file';
}

/**
 * Trashes or deletes a clip and its thumbnail. The thumbnail goes first: if the run is killed in
 * between, the clip is still in place with its verified archive, and the next run finishes the
 * pair. A thumbnail already gone is not an error; a clip already gone is.
 */
export async function dispose(disposal: Disposal, roots: DisposalRoots): Promise<DisposedFile[]> {
  const done: DisposedFile[] = [];
  const steps =
    disposal.mode === 'delete'
      ? disposal.files.map((file) => ({ from: file, to: undefined as string | undefined }))
      : disposal.moves.map((m) => ({ from: m.from, to: m.to as string | undefined }));
  const [clip, ...thumbnails] = steps;
  for (const step of [...thumbnails, ...(clip ? [clip] : [])]) {
    try {
      if (step !== clip) {
        const seen = await fsp.lstat(step.from);
        if (!seen.isFile()) {
          roots.onThumbnailLeft?.(step.from, notRegularFile(seen));
          continue;
        }
      }
      if (step.to === undefined) {
        await fsp.unlink(step.from);
        done.push({ from: step.from });
      } else {
        done.push({
          from: step.from,
          to: await moveNoClobber(step.from, step.to, roots.trashRoot, roots.failpoint),
        });
      }
      roots.failpoint?.(step === clip ? 'clip-disposed' : 'thumbnail-disposed');
    } catch (error) {
      if (step === clip || code(error) !== 'ENOENT') throw error;
    }
  }
  // Report clip first, as planned.
  return done.reverse();
}

/** rmdir each folder that is empty now; returns those removed. Never touches a non-empty folder. */
export async function pruneFolders(
  folders: readonly string[],
  failpoint?: FailpointHook,
): Promise<string[]> {
  const removed: string[] = [];
  for (const folder of folders) {
    try {
      await fsp.rmdir(folder);
      removed.push(folder);
      failpoint?.('pruned-one');
    } catch (error) {
      if (!['ENOTEMPTY', 'EEXIST', 'ENOENT', 'ENOTDIR'].includes(code(error) ?? '')) throw error;
    }
  }
  return removed;
}

export async function removeIfExists(file: string): Promise<boolean> {
  try {
    await fsp.unlink(file);
    return true;
  } catch (error) {
    if (code(error) === 'ENOENT') return false;
    throw error;
  }
}

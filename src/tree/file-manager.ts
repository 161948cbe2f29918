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
import { FileError } from '../core/errors.js';

export type DisposalMode = 'trash' | 'delete';

export interface FileMove {
  from: string;
  to: string;
}

/** What happens to a source clip and its thumbnail once its archive is verified. */
export type Disposal =
  { mode: 'trash'; moves: readonly FileMove[] } | { mode: 'delete'; files: readonly string[] };
import { numberedName, PARTIAL_SUFFIX } from './naming.js';

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
 * The mode for a folder that holds a file of `fileMode`: each class that may read the file may
 * enter the folder, and the owner (this process) may always write it. 0600 → 0700, 0640 → 0750,
 * 0644 → 0755: archives and trash folders are no more open than the footage they hold.
 */
export function folderModeFor(fileMode: number): number {
  const perms = fileMode & 0o777;
  return perms | ((perms & 0o444) >> 2) | 0o700;
}

/**
 * mkdir -p `dir` inside `root`, one component at a time, checking each before anything is
 * created below it: a component that is a symbolic link is followed only when its target lies
 * inside the root, so a link planted in a tree can never make us create a folder (or write a
 * file) elsewhere. Checking after `mkdir -p` would already have created folders out there. A
 * final real-path check covers a component swapped for a link meanwhile (Node has no mkdirat
 * with O_NOFOLLOW; the tree lock keeps our own runs apart). New folders get `mode` (less the
 * umask), see folderModeFor.
 */
export async function ensureDirInside(root: string, dir: string, mode?: number): Promise<void> {
  const absRoot = path.resolve(root);
  const absDir = path.resolve(dir);
  if (!isInside(absRoot, absDir)) {
    throw new FileError(dir, `refusing to write outside ${root}`);
  }
  // The root's own path was resolved and checked by src/tree/roots.ts; it may not exist yet.
  await fsp.mkdir(absRoot, { recursive: true, ...(mode === undefined ? {} : { mode }) });
  const realRoot = await fsp.realpath(absRoot);
  let current = absRoot;
  for (const part of path.relative(absRoot, absDir).split(path.sep)) {
    if (part === '') continue;
    current = path.join(current, part);
    let seen = await fsp.lstat(current).catch((error: unknown) => {
      if (code(error) === 'ENOENT') return undefined;
      throw error;
    });
    if (!seen) {
      try {
        await fsp.mkdir(current, mode === undefined ? undefined : { mode });
        continue;
      } catch (error) {
        if (code(error) !== 'EEXIST') throw error;
        seen = await fsp.lstat(current);
      }
    }
    if (seen.isSymbolicLink()) {
      const target = await fsp.realpath(current).catch(() => undefined);
      if (target === undefined || !isInside(realRoot, target))
        throw new FileError(
          dir,
          `refusing to write outside ${root}: ${current} is a symbolic link to ${target ?? 'nowhere'}`,
        );
      seen = await fsp.stat(current);
    }
    if (!seen.isDirectory()) throw new FileError(dir, `${current} is not a folder`);
  }
  const realDir = await fsp.realpath(absDir);
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
 * A name clash keeps both files: the newcomer gets `<stem>.<n><ext>`. Folders created on the way
 * follow the file's mode (folderModeFor).
 */
export async function moveNoClobber(
  from: string,
  to: string,
  targetRoot: string,
  failpoint?: FailpointHook,
): Promise<string> {
  const source = await fsp.lstat(from);
  await ensureDirInside(targetRoot, path.dirname(to), folderModeFor(source.mode));
  let landed: string;
  try {
    landed = await linkToFreeName(from, to, from);
  } catch (error) {
    if (!['EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK'].includes(code(error) ?? ''))
      throw error;
    // A run killed between placing its copy and unlinking the source left the copy here: the
    // same bytes under the name or a numbered variant. Only the unlink is left to do; copying
    // again would leave a second copy `<stem>.1<ext>` after every such kill.
    const earlier = await earlierCopyOf(from, source.size, to);
    if (earlier !== undefined) landed = earlier;
    else {
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
  }
  await fsyncPath(path.dirname(landed));
  failpoint?.('linked-to-trash');
  await fsp.unlink(from);
  return landed;
}

/**
 * The file at `to` or a numbered variant of it that holds exactly the bytes of `from` (a copy an
 * interrupted move placed), or undefined. Recognised by size and content, never by name alone:
 * another file under the name is kept and the move picks the next free name as always.
 */
async function earlierCopyOf(from: string, size: number, to: string): Promise<string | undefined> {
  const dir = path.dirname(to);
  for (let n = 0; n < MAX_NUMBERED; n++) {
    const candidate = n === 0 ? to : path.join(dir, numberedName(path.basename(to), n));
    const seen = await fsp.lstat(candidate).catch(() => undefined);
    if (!seen) return undefined; // names are taken in order: the first free one ends the search
    if (seen.isFile() && seen.size === size && (await sameBytes(from, candidate))) return candidate;
  }
  return undefined;
}

/** Whether two files hold the same bytes (the caller checked their sizes are equal). */
async function sameBytes(a: string, b: string): Promise<boolean> {
  const CHUNK = 1 << 20;
  const [ha, hb] = await Promise.all([fsp.open(a, 'r'), fsp.open(b, 'r')]);
  try {
    const ba = Buffer.allocUnsafe(CHUNK);
    const bb = Buffer.allocUnsafe(CHUNK);
    for (let position = 0; ; position += CHUNK) {
      const [ra, rb] = await Promise.all([
        ha.read(ba, 0, CHUNK, position),
        hb.read(bb, 0, CHUNK, position),
      ]);
      if (ra.bytesRead !== rb.bytesRead) return false;
      if (ra.bytesRead === 0) return true;
      if (!ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))) return false;
    }
  } finally {
    await Promise.all([ha.close(), hb.close()]);
  }
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
  /** The source clip's mode: an archive is no more open than its footage (0600 stays 0600). */
  mode?: number,
): Promise<void> {
  if (mode !== undefined) await fsp.chmod(partial, mode & 0o777);
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

/**
 * The roots of a run (input, archive, trash, and where the log and state go), resolved once by
 * their identity on disk: real path, device and inode. Every command resolves them here before it
 * reads or writes anything, and works with the real paths from then on.
 *
 * Compared as strings, two names for one folder (a symlink, a bind mount, `ROOT/archived` linked
 * to `.`) look like two folders: the archive tree is read as input and every archive is encoded
 * again from the previous one each night, or every clip is "verified" against itself and
 * trashed. So overlaps are judged on identity, and every one that can make one root read as
 * another is refused (UsageError, exit 2) with a message naming both paths:
 * - the archive or trash root is the input root or a folder above it (the input is inside it);
 * - the archive and trash roots are one folder, or one is inside the other.
 * An archive or trash root inside the input root is the normal layout (`ROOT/archived`,
 * `ROOT/.deleted`): discovery leaves them out by identity (src/archive/discovery.ts).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { EnvironmentError, UsageError } from '../core/errors.js';

/** A folder's identity: stable across every name it is reached by. */
export interface FileIdentity {
  dev: bigint;
  ino: bigint;
}

export function sameIdentity(a: FileIdentity | undefined, b: FileIdentity | undefined): boolean {
  return a !== undefined && b !== undefined && a.dev === b.dev && a.ino === b.ino;
}

export interface ResolvedPath {
  /** What was asked for, made absolute. */
  given: string;
  /** Its real path: the part that exists with every link resolved, and the missing rest appended. */
  real: string;
  /** The identity of the path itself, when it exists. */
  id: FileIdentity | undefined;
  /**
   * Identities of the real path and each folder above it that exists, nearest first: a bind
   * mount or second name of a folder above is found by identity where no string says so.
   */
  chain: readonly FileIdentity[];
  /** The given path goes through a symbolic link. */
  viaLink: boolean;
}

export interface RootPaths {
  root: string;
  output: string;
  trash: string;
  /** The log file; its folder is resolved. */
  logFile?: string | undefined;
  stateDir?: string | undefined;
  /** Sources are deleted, not trashed: the trash root is never written, but still never read as input. */
  trashUnused?: boolean | undefined;
  /**
   * Leave a missing input root to the caller (cleanup refuses one with its own message: it may be
   * an unmounted disk); by default it is an EnvironmentError (exit 1).
   */
  inputMayBeMissing?: boolean | undefined;
}

export interface ResolvedRoots {
  input: ResolvedPath;
  output: ResolvedPath;
  trash: ResolvedPath;
  logFile?: ResolvedPath | undefined;
  stateDir?: ResolvedPath | undefined;
  /** One line per root reached through a symbolic link, for the log. */
  notes: string[];
}

function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** The identity of what `p` names (links followed); undefined when it does not exist. */
export async function identityOf(p: string): Promise<FileIdentity | undefined> {
  try {
    const s = await fsp.stat(p, { bigint: true });
    return { dev: s.dev, ino: s.ino };
  } catch {
    return undefined;
  }
}

/**
 * Resolves a path that may not exist yet (an archive or trash root is created by the first run
 * that needs it): its nearest existing ancestor is resolved, the rest appended as given.
 */
export async function resolvePath(given: string): Promise<ResolvedPath> {
  const abs = path.resolve(given);
  let existing = abs;
  const rest: string[] = [];
  let realBase: string | undefined;
  for (;;) {
    try {
      realBase = await fsp.realpath(existing);
      break;
    } catch (error) {
      const parent = path.dirname(existing);
      if (parent === existing || !['ENOENT', 'ENOTDIR'].includes(code(error) ?? '')) throw error;
      rest.unshift(path.basename(existing));
      existing = parent;
    }
  }
  const real = rest.length ? path.join(realBase, ...rest) : realBase;
  const chain: FileIdentity[] = [];
  for (let dir = realBase; ; dir = path.dirname(dir)) {
    const id = await identityOf(dir);
    if (id) chain.push(id);
    if (path.dirname(dir) === dir) break;
  }
  return {
    given: abs,
    real,
    id: rest.length ? undefined : chain[0],
    chain,
    viaLink: real !== abs,
  };
}

function isInsideOrSame(outer: string, inner: string): boolean {
  const rel = path.relative(outer, inner);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Whether `inner` is `outer` or lies below it, by real path or by the identity of a folder above it. */
export function containsOrIs(outer: ResolvedPath, inner: ResolvedPath): boolean {
  if (isInsideOrSame(outer.real, inner.real)) return true;
  return outer.id !== undefined && inner.chain.some((id) => sameIdentity(id, outer.id));
}

/** "X" or "X (a link to Y)": messages name the path the user gave and what it is. */
export function describeRoot(p: ResolvedPath): string {
  return p.viaLink ? `${p.given} (which resolves to ${p.real})` : p.given;
}

/** The overlaps that can make one root read as another; undefined when the roots are apart. */
export function rootOverlap(
  input: ResolvedPath,
  output: ResolvedPath,
  trash: ResolvedPath,
): string | undefined {
  const inRoot = describeRoot(input);
  for (const [label, flag, other, why] of [
    [
      'archive root',
      '--output',
      output,
      'every clip would be taken for its own archive and trashed, and archives read as clips and encoded again every night',
    ],
    [
      'trash root',
      '--trash-root',
      trash,
      'trashed clips would be read as new clips, and the trash purge would delete footage',
    ],
  ] as const) {
    if (containsOrIs(other, input)) {
      const how = containsOrIs(input, other)
        ? 'is the input root'
        : 'is a folder above the input root';
      return `the ${label} ${describeRoot(other)} (${flag}) ${how} ${inRoot}: ${why}. Give ${flag} a folder of its own (default: a folder inside the input root)`;
    }
  }
  if (containsOrIs(output, trash) || containsOrIs(trash, output)) {
    const how = containsOrIs(output, trash)
      ? containsOrIs(trash, output)
        ? 'is the same folder as'
        : 'lies inside'
      : 'contains';
    return `the trash root ${describeRoot(trash)} ${how} the archive root ${describeRoot(output)}: trashed clips would be read as archives, or archives purged as trash. Give --output and --trash-root separate folders`;
  }
  return undefined;
}

/**
 * Resolves the roots of a run and refuses overlapping ones (UsageError, exit 2). The input root
 * must exist and be a folder (EnvironmentError, exit 1, as before).
 */
export async function resolveRoots(paths: RootPaths): Promise<ResolvedRoots> {
  const input = await resolvePath(paths.root);
  if (!paths.inputMayBeMissing) {
    let info;
    try {
      info = await fsp.stat(input.real);
    } catch {
      throw new EnvironmentError(
        `input directory ${input.given} does not exist (nothing was created or changed)`,
      );
    }
    if (!info.isDirectory())
      throw new EnvironmentError(`input path ${input.given} is not a directory`);
  }
  const [output, trash, logDir, stateDir] = await Promise.all([
    resolvePath(paths.output),
    resolvePath(paths.trash),
    paths.logFile === undefined
      ? undefined
      : resolvePath(path.dirname(path.resolve(paths.logFile))),
    paths.stateDir === undefined ? undefined : resolvePath(paths.stateDir),
  ]);
  const overlap = rootOverlap(input, output, trash);
  if (overlap) throw new UsageError(overlap);
  const logFile = logDir && {
    ...logDir,
    given: path.resolve(paths.logFile ?? ''),
    real: path.join(logDir.real, path.basename(paths.logFile ?? '')),
    id: undefined,
  };
  const notes: string[] = [];
  const note = (label: string, p: ResolvedPath | undefined): void => {
    if (p?.viaLink)
      notes.push(`${label} ${p.given} is reached through a symbolic link: using ${p.real}`);
  };
  note('input root', input);
  note('archive root', output);
  if (!paths.trashUnused) note('trash root', trash);
  note('log folder', logDir);
  note('state folder', stateDir);
  return { input, output, trash, logFile, stateDir, notes };
}

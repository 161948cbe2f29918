/**
 * The invariants of DESIGN.md, checked on a real tree after any run (killed or not).
 * Each check returns human-readable violations; an empty list means the tree is safe.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { identityMatches, parseIdentity, type SourceIdentity } from '../../src/media/identity.js';
import { identityTagOf, playsCleanly, probe } from '../helpers/media.js';
import { listTree } from '../helpers/tree.js';

export interface ClipRecord {
  /** Relative to root, e.g. 2025/01/15/REO_front_20250115120000.mp4 */
  rel: string;
  thumbnail: boolean;
  duration: number;
}

export function archiveOf(root: string, clip: ClipRecord): string {
  const name = path.basename(clip.rel);
  const stamp = /_(\d{14})\.mp4$/.exec(name)?.[1] ?? '';
  return path.join(root, 'archived', stamp.slice(0, 4), stamp.slice(4, 6), stamp.slice(6, 8), name);
}

/** Trash entries for a file: its name or a numbered variant `<stem>.<n><ext>`. */
export function trashCopies(root: string, rel: string): string[] {
  const dir = path.join(root, '.deleted/input', path.dirname(rel));
  if (!existsSync(dir)) return [];
  const ext = path.extname(rel);
  const stem = path.basename(rel, ext);
  return readdirSync(dir).filter(
    (n) =>
      n === `${stem}${ext}` ||
      new RegExp(`^${stem.replace(/[$()]/g, '\\$&')}\\.\\d+\\${ext}$`).test(n),
  );
}

const verified = new Map<string, boolean>();

/** Full decode + duration; cached by inode and mtime, since a file at a final name never changes. */
export function archiveIsGood(file: string, expectedDuration: number): boolean {
  const s = statSync(file);
  const key = `${file}|${s.ino}|${s.mtimeMs}|${s.size}`;
  const cached = verified.get(key);
  if (cached !== undefined) return cached;
  let good = false;
  try {
    good = Math.abs(probe(file).duration - expectedDuration) < 0.5 && playsCleanly(file);
  } catch {
    good = false;
  }
  verified.set(key, good);
  return good;
}

export function checkInvariants(root: string, clips: readonly ClipRecord[]): string[] {
  const violations: string[] = [];
  for (const clip of clips) {
    const src = path.join(root, clip.rel);
    const archive = archiveOf(root, clip);
    const archived = existsSync(archive);
    // Invariant 2: anything at a final archive name is a complete, verified archive.
    if (archived && !archiveIsGood(archive, clip.duration))
      violations.push(`bad archive at final name: ${archive}`);
    // Invariant 1: a source is gone only if its archive exists (and is good, checked above).
    if (!existsSync(src)) {
      if (!archived) violations.push(`source gone without archive: ${clip.rel}`);
      if (trashCopies(root, clip.rel).length === 0)
        violations.push(`source gone and not in trash: ${clip.rel}`);
    }
    if (clip.thumbnail) {
      const thumbRel = clip.rel.replace(/\.mp4$/, '.jpg');
      const present = existsSync(path.join(root, thumbRel));
      const trashed = trashCopies(root, thumbRel).length > 0;
      if (!present && !trashed) violations.push(`thumbnail lost: ${thumbRel}`);
      if (trashed && !archived)
        violations.push(`thumbnail trashed before its clip was archived: ${thumbRel}`);
    }
  }
  // Invariant 5: nothing unexpected appeared anywhere in the tree.
  for (const rel of listTree(root)) {
    if (rel.endsWith('/')) continue;
    const known =
      /^\d{4}\/\d{2}\/\d{2}\/[^/]+\.(mp4|jpg)$/.test(rel) ||
      /^archived\/\d{4}\/\d{2}\/\d{2}\/(\.[^/]+\.mp4\.partial|[^/.][^/]*\.mp4)$/.test(rel) ||
      /^\.deleted\/input\/\d{4}\/\d{2}\/\d{2}\/[^/]+$/.test(rel) ||
      /^(\.camera-archiver\.lock(\.stale-.*)?|archiver.*|\.archiver-audit\.json)$/.test(rel);
    if (!known) violations.push(`unexpected file: ${rel}`);
  }
  return violations;
}

/** The end state of a finished run: every source archived and in the trash exactly once. */
export function endState(root: string): string[] {
  return listTree(root).filter(
    (p) => !p.endsWith('/') && !/^(archiver|\.archiver|\.camera-archiver)/.test(p),
  );
}

/** The identity an archive records (its `camera_archiver_source` tag), if any. */
export function recordedIdentity(file: string): SourceIdentity | undefined {
  return parseIdentity(identityTagOf(file));
}

export interface IdentityCheck {
  /** Sources leave for the trash (not --delete): a source gone must be there. */
  trash: boolean;
  /** Clips adopted an archive that records no identity (a legacy one): clip rel → archive rel. */
  adopted?: Record<string, string>;
}

/**
 * The invariant in terms of identity: every clip is in place, or an archive that plays cleanly
 * records that very clip (or was adopted for it by comparing pictures) — and then, with the
 * trash, the source is in the trash.
 */
export function identityViolations(
  root: string,
  clips: readonly (SourceIdentity & { rel: string })[],
  check: IdentityCheck,
): string[] {
  const violations: string[] = [];
  const archives = listTree(root).filter(
    (p) => p.startsWith('archived/') && p.endsWith('.mp4') && !p.split('/').pop()?.startsWith('.'),
  );
  const recorded = archives.map((rel) => ({ rel, id: recordedIdentity(path.join(root, rel)) }));
  for (const clip of clips) {
    if (existsSync(path.join(root, clip.rel))) continue;
    const own = recorded.filter((a) => a.id && identityMatches(a.id, clip)).map((a) => a.rel);
    const adopted = check.adopted?.[clip.rel];
    const candidates = adopted ? [...own, adopted] : own;
    if (candidates.length === 0)
      violations.push(`source gone without an archive of it: ${clip.rel}`);
    else if (
      !candidates.some((a) => existsSync(path.join(root, a)) && playsCleanly(path.join(root, a)))
    )
      violations.push(
        `source gone, its archive does not play: ${clip.rel} (${candidates.join(', ')})`,
      );
    if (check.trash && trashCopies(root, clip.rel).length === 0)
      violations.push(`source gone and not in the trash: ${clip.rel}`);
  }
  return violations;
}

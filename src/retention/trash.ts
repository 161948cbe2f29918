/**
 * The trash deletes only what the tool put there.
 *
 * Everything camera-archiver moves into the trash lands in its layout: `<trash>/input/[…/]YYYY/MM/DD/`
 * for sources and `<trash>/output/[…/]YYYY/MM/DD/` for archives, under a clip, thumbnail or archive
 * name (a name clash adds `.N` before the extension). The trash root carries a marker file. A purge
 * only ever touches files in that layout; a trash root that holds anything else (a mistyped
 * `--trash-root` pointing at photos, documents, another program's date folders) is refused as a
 * whole, naming what does not belong, before anything is removed or moved into it.
 *
 * Migration: a trash without the marker (made by the nightly archive run, an older version, or the
 * Python archiver, which used the same layout) is adopted when every file in it matches the layout
 * exactly: the cleanup says so and writes the marker.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Skeleton } from '../archive/discovery.js';
import { parseClipName, parseLegacyArchiveName } from '../tree/naming.js';

export const TRASH_MARKER_FILE = '.camera-archiver-trash.json';

/**
 * What the inventory saw in the trash that is not in the tool's layout, per folder: each pass over
 * the trash reports the same folders again, so a folder's count is set, not added.
 */
export class TrashAudit {
  private readonly byFolder = new Map<string, { count: number; example: string }>();

  report(folder: string, count: number, example: string): void {
    if (count > 0) this.byFolder.set(folder, { count, example });
  }

  get count(): number {
    let n = 0;
    for (const f of this.byFolder.values()) n += f.count;
    return n;
  }

  get examples(): string[] {
    const out: string[] = [];
    for (const f of this.byFolder.values()) {
      if (out.length >= 5) break;
      out.push(f.example);
    }
    return out;
  }
}

/** `REO_x_20250101000000.2.mp4` (a name clash in the trash) → `REO_x_20250101000000.mp4`. */
export function withoutClashNumber(name: string): string {
  const m = /^(.*)\.\d+(\.[^.]+)$/.exec(name);
  return m ? `${m[1]}${m[2]}` : name;
}

/** Whether a day folder of the trash is one the tool writes (`input/…` or `output/…`). */
export function trashPrefixOk(prefix: string): boolean {
  const first = prefix.split('/')[0];
  return first === 'input' || first === 'output';
}

/** Whether a file name in a trash day folder is one the tool puts there. */
export function trashNameOk(name: string): boolean {
  const plain = withoutClashNumber(name);
  return parseClipName(plain) !== undefined || parseLegacyArchiveName(plain) !== undefined;
}

/**
 * Files of the trash outside its day folders (the marker excepted). Empty folders are harmless and
 * not reported; a folder that leads to no day folder is walked for files (an explicit stack: no
 * recursion depth from the tree).
 */
export async function auditSkeleton(
  trashRoot: string,
  skeleton: Skeleton,
  audit: TrashAudit,
): Promise<void> {
  const structural = new Set<string>(['']);
  for (const day of skeleton.days) {
    const parts = day.relDir.split('/');
    for (let i = 1; i <= parts.length; i++) structural.add(parts.slice(0, i).join('/'));
    if (!trashPrefixOk(day.prefix))
      audit.report(`prefix:${day.dir}`, 1, `${day.dir}/ (not under input/ or output/)`);
  }
  for (const folder of skeleton.otherEntriesByFolder.keys()) {
    let count = 0;
    let example = '';
    const stack = [folder];
    while (stack.length > 0) {
      const rel = stack.pop() ?? '';
      let entries;
      try {
        entries = await fsp.readdir(path.join(trashRoot, rel), { withFileTypes: true });
      } catch {
        continue;
      }
      for (const e of entries) {
        const child = rel ? `${rel}/${e.name}` : e.name;
        if (structural.has(child)) continue;
        if (rel === '' && e.name === TRASH_MARKER_FILE) continue;
        if (e.isDirectory()) stack.push(child);
        else if (count++ === 0) example = path.join(trashRoot, child);
      }
    }
    audit.report(`outside:${folder}`, count, `${example} (outside the date folders)`);
  }
  for (const ignored of skeleton.ignored)
    audit.report(`ignored:${ignored.path}`, 1, `${ignored.path} (${ignored.reason})`);
}

export async function hasTrashMarker(trashRoot: string): Promise<boolean> {
  try {
    return (await fsp.lstat(path.join(trashRoot, TRASH_MARKER_FILE))).isFile();
  } catch {
    return false;
  }
}

/** Whether the trash root exists with anything in it. */
export async function trashInUse(trashRoot: string): Promise<boolean> {
  try {
    return (await fsp.readdir(trashRoot)).length > 0;
  } catch {
    return false;
  }
}

export async function writeTrashMarker(trashRoot: string): Promise<void> {
  const file = path.join(trashRoot, TRASH_MARKER_FILE);
  const temp = `${file}.${process.pid}.tmp`;
  await fsp.writeFile(
    temp,
    `${JSON.stringify({ createdAt: new Date().toISOString(), note: 'camera-archiver trash: --cleanup purges only files in its layout (input|output/YYYY/MM/DD/<clip>); do not delete' }, null, 2)}\n`,
  );
  await fsp.rename(temp, file);
}

/** The refusal for a trash that holds foreign files, naming them. */
export function trashRefusal(trashRoot: string, audit: TrashAudit): string | undefined {
  const count = audit.count;
  if (count === 0) return undefined;
  const examples = audit.examples;
  return `the trash root ${trashRoot} holds ${count} file(s) camera-archiver did not put there (${examples.join(', ')}${count > examples.length ? ', …' : ''}): is --trash-root right? Nothing is cleaned; move those files out of the trash (it holds only input|output/YYYY/MM/DD/<clip>) and run again`;
}

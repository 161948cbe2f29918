/**
 * Filesystem facts for retention and stats: free space (statfs), and the root marker that tells
 * "the tree we cleaned before" from "an empty mount point" or "another disk mounted here".
 *
 * The marker is a small JSON file in the root, written after the first successful cleanup; its id
 * is also remembered outside the tree (the user's state directory). A later run refuses to clean
 * when the remembered id is not found in the root: the disk is not mounted, or another one is.
 * Device numbers alone cannot prove that — they change across reboots for USB disks and NFS.
 */
import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { FsFacts, RootFacts } from './plan.js';

export const MARKER_FILE = '.camera-archiver-root.json';

/** Size and space available to us (like df's Avail: root-reserved blocks excluded). */
export async function fsFacts(dir: string): Promise<FsFacts> {
  const [s, info] = await Promise.all([fsp.statfs(dir), fsp.stat(dir)]);
  return { dev: info.dev, sizeBytes: s.blocks * s.bsize, freeBytes: s.bavail * s.bsize };
}

interface Marker {
  id: string;
  dev: number;
  createdAt: string;
}

async function readMarker(root: string): Promise<Marker | undefined> {
  try {
    const data = JSON.parse(
      await fsp.readFile(path.join(root, MARKER_FILE), 'utf8'),
    ) as Partial<Marker>;
    return typeof data.id === 'string'
      ? { id: data.id, dev: Number(data.dev ?? 0), createdAt: String(data.createdAt ?? '') }
      : undefined;
  } catch {
    return undefined;
  }
}

async function readState(stateDir: string): Promise<Record<string, string>> {
  try {
    const data: unknown = JSON.parse(await fsp.readFile(path.join(stateDir, 'roots.json'), 'utf8'));
    return data && typeof data === 'object' ? (data as Record<string, string>) : {};
  } catch {
    return {};
  }
}

/** Everything judgeRoot needs, read without changing anything. */
export async function readRootFacts(
  root: string,
  stateDir: string | undefined,
  acceptNew = false,
): Promise<RootFacts> {
  let info;
  try {
    info = await fsp.stat(root);
  } catch {
    return { exists: false, isDirectory: false, entryCount: 0, dev: 0 };
  }
  if (!info.isDirectory())
    return { exists: true, isDirectory: false, entryCount: 0, dev: info.dev };
  const entries = await fsp.readdir(root);
  const marker = await readMarker(root);
  const remembered = stateDir ? (await readState(stateDir))[path.resolve(root)] : undefined;
  return {
    exists: true,
    isDirectory: true,
    entryCount: entries.length,
    dev: info.dev,
    ...(marker ? { marker: { id: marker.id, dev: marker.dev } } : {}),
    ...(remembered !== undefined ? { rememberedId: remembered } : {}),
    acceptNew,
  };
}

/** Writes the marker (keeping an existing id) and remembers it in the state directory. */
export async function writeRootMarker(root: string, stateDir: string | undefined): Promise<string> {
  const info = await fsp.stat(root);
  const existing = await readMarker(root);
  const marker: Marker = {
    id: existing?.id ?? randomUUID(),
    dev: info.dev,
    createdAt: existing?.createdAt || new Date().toISOString(),
  };
  const file = path.join(root, MARKER_FILE);
  const temp = `${file}.${process.pid}.tmp`;
  await fsp.writeFile(
    temp,
    `${JSON.stringify({ ...marker, note: 'camera-archiver retention: proves this is the tree cleaned before; do not delete' }, null, 2)}\n`,
  );
  await fsp.rename(temp, file);
  if (stateDir) {
    await fsp.mkdir(stateDir, { recursive: true });
    const state = await readState(stateDir);
    state[path.resolve(root)] = marker.id;
    const stateFile = path.join(stateDir, 'roots.json');
    await fsp.writeFile(`${stateFile}.${process.pid}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
    await fsp.rename(`${stateFile}.${process.pid}.tmp`, stateFile);
  }
  return marker.id;
}

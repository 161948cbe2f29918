/**
 * The recorder's status file, `ROOT/.record-status.json`: rewritten atomically (temp + rename)
 * whenever something changes and every few seconds, so `record --status` (another process, or a
 * monitoring script) always reads a whole document. Hidden, so the archiver never looks at it.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { formatSeconds } from '../units.js';
import type { StorageStatus } from './storage-guard.js';
import type { CameraStatus } from './supervisor.js';

export const STATUS_FILE_NAME = '.record-status.json';

export interface RecorderStatus {
  pid: number;
  host: string;
  startedAt: string;
  updatedAt: string;
  root: string;
  /** 'running' while recording; 'stopped' once a clean shutdown finished. */
  state: 'running' | 'stopping' | 'stopped';
  /** Time zone of segment names and day folders. */
  /** Time zone of the names and day folders in the tree (the host's; staging names are UTC). */
  nameTimeZone: string;
  storage?: StorageStatus | undefined;
  cameras: CameraStatus[];
}

export function statusPath(root: string): string {
  return path.join(root, STATUS_FILE_NAME);
}

export async function writeStatus(root: string, status: RecorderStatus): Promise<void> {
  const file = statusPath(root);
  const temp = `${file}.${process.pid}.tmp`;
  await fsp.writeFile(temp, `${JSON.stringify(status, null, 2)}\n`);
  await fsp.rename(temp, file);
}

export async function readStatus(root: string): Promise<RecorderStatus | undefined> {
  try {
    return JSON.parse(await fsp.readFile(statusPath(root), 'utf8')) as RecorderStatus;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Human summary of a status document. `alive` tells whether its writer still runs: a status of
 * a recorder that was killed is shown as such, not as "recording".
 */
export function formatStatus(status: RecorderStatus, now: Date, alive: boolean): string {
  const ago = (iso: string | undefined): string =>
    iso ? formatSeconds(Math.max(0, (now.getTime() - new Date(iso).getTime()) / 1000)) : '-';
  const lines: string[] = [];
  const running = alive && status.state !== 'stopped';
  lines.push(
    running
      ? `recorder pid ${status.pid} on ${status.host}: ${status.state} since ${status.startedAt} (updated ${ago(status.updatedAt)} ago)`
      : `recorder is NOT running (last status from pid ${status.pid}, ${status.state === 'stopped' ? 'stopped cleanly' : 'ended without a clean stop'}, updated ${status.updatedAt})`,
  );
  lines.push(
    `root ${status.root} (segment names and day folders in ${status.nameTimeZone} local time)`,
  );
  if (status.storage) {
    const s = status.storage;
    lines.push(
      `storage: ${s.state}${s.usedPercent !== undefined ? `, ${s.usedPercent}% used` : ''}${s.message ? ` — ${s.message}` : ''}`,
    );
  }
  for (const c of status.cameras) {
    const state = running ? c.state : 'stopped';
    const parts = [`camera ${c.name}: ${state}`];
    if (running && c.currentFile) parts.push(`writing ${c.currentFile} (${ago(c.currentSince)})`);
    if (running && c.recordingSince && state === 'recording')
      parts.push(`ffmpeg up ${ago(c.recordingSince)}`);
    parts.push(
      `${c.segmentsWritten} segment${c.segmentsWritten === 1 ? '' : 's'}`,
      `${c.restarts} restart${c.restarts === 1 ? '' : 's'}`,
    );
    lines.push(parts.join(', '));
    lines.push(`  source ${c.source}${c.lastSegment ? `; last segment ${c.lastSegment}` : ''}`);
    if (c.lastError) lines.push(`  last error: ${c.lastError}`);
  }
  return `${lines.join('\n')}\n`;
}

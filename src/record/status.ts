/**
 * The recorder's status file, `ROOT/.record-status.json`: rewritten atomically (temp + rename)
 * whenever something changes and every few seconds, so `record --status` (another process, or a
 * monitoring script) always reads a whole document. Hidden, so the archiver never looks at it.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { redactDeep } from '../core/redact.js';
import { formatSeconds } from '../core/units.js';
import type { TaskCounters } from './periodic.js';
import type { HeldSegment } from './segment-mover.js';
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
  /** 'unset' while the system clock reads before 2000 (segments are held until it is set). */
  clock?: 'ok' | 'unset' | undefined;
  /** Segments kept in staging on purpose (no probe answer, clock not set), with the reason. */
  held?: HeldSegment[] | undefined;
  /** Files proven not to be video, moved aside instead of deleted. */
  quarantine?: { dir: string; files: number } | undefined;
  /** Runs and failures of each periodic path (status, storage, poll, watchdog, backoff, …). */
  periodic?: TaskCounters | undefined;
}

export function statusPath(root: string): string {
  return path.join(root, STATUS_FILE_NAME);
}

export async function writeStatus(root: string, status: RecorderStatus): Promise<void> {
  const file = statusPath(root);
  const temp = `${file}.${process.pid}.tmp`;
  // Owner-only: it names sources and errors. The temp file is new, so the mode applies, and the
  // rename replaces a world-readable file left by an older version.
  await fsp.rm(temp, { force: true });
  await fsp.writeFile(temp, `${JSON.stringify(redactDeep(status), null, 2)}\n`, { mode: 0o600 });
  await fsp.chmod(temp, 0o600);
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
  if (status.clock === 'unset')
    lines.push('clock: NOT SET (before 2000): segments are held in staging until it is set');
  for (const h of status.held ?? []) lines.push(`held in staging: ${h.file}: ${h.reason}`);
  if (status.quarantine && status.quarantine.files > 0)
    lines.push(
      `quarantine: ${status.quarantine.files} file${status.quarantine.files === 1 ? '' : 's'} proven not to be video in ${status.quarantine.dir} (kept for inspection)`,
    );
  return `${lines.join('\n')}\n`;
}

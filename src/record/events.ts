/**
 * The recorder's notifications, derived from status changes (pure): a camera going offline and
 * coming back, and storage crossing the warn/block thresholds. One event per transition, never
 * one per check, so a flapping camera or a disk sitting at 85 % does not flood a webhook.
 */
import type { NotifyEvent } from '../core/notify.js';
import type { StorageStatus } from './storage-guard.js';
import type { CameraStatus } from './supervisor.js';

/** What the recorder remembers per camera between status changes. */
export interface CameraMemory {
  offline: boolean;
  offlineSince?: string | undefined;
}

export function cameraTransition(
  memory: CameraMemory,
  status: CameraStatus,
  now: Date,
): { memory: CameraMemory; event?: NotifyEvent } {
  if (!memory.offline && status.state === 'waiting') {
    const cause = status.lastRestartCause ?? status.lastError ?? 'ffmpeg stopped';
    return {
      memory: { offline: true, offlineSince: now.toISOString() },
      event: {
        event: 'record.camera-offline',
        camera: status.name,
        source: status.source,
        cause,
        restarts: status.restarts,
        text: `camera ${status.name} is offline: ${cause}`,
      },
    };
  }
  if (memory.offline && status.state === 'recording') {
    const since = memory.offlineSince ? Date.parse(memory.offlineSince) : NaN;
    const seconds = Number.isFinite(since) ? Math.round((now.getTime() - since) / 1000) : undefined;
    return {
      memory: { offline: false },
      event: {
        event: 'record.camera-online',
        camera: status.name,
        source: status.source,
        offlineSeconds: seconds,
        text: `camera ${status.name} is recording again${seconds === undefined ? '' : ` after about ${seconds} s`}`,
      },
    };
  }
  return { memory };
}

const STORAGE_EVENTS: Partial<Record<StorageStatus['state'], string>> = {
  warn: 'record.storage-warning',
  reclaimed: 'record.storage-reclaimed',
  full: 'record.storage-full',
  ok: 'record.storage-ok',
};

export function storageTransition(
  previous: StorageStatus['state'] | undefined,
  status: StorageStatus,
): NotifyEvent | undefined {
  if (status.state === previous || status.state === 'unknown') return undefined;
  // Starting healthy is not news; recovering from a problem is.
  if (status.state === 'ok' && (previous === undefined || previous === 'unknown')) return undefined;
  const event = STORAGE_EVENTS[status.state];
  if (!event) return undefined;
  return {
    event,
    usedPercent: status.usedPercent,
    availBytes: status.availBytes,
    text:
      status.message ??
      `storage ${status.state}${status.usedPercent === undefined ? '' : ` at ${status.usedPercent}% used`}`,
  };
}

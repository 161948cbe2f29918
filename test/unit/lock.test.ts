import { describe, expect, it } from 'vitest';
import { judgeLock, STALE_FOREIGN_MS, type LockOwner, type ProcessProbe } from '../../src/lock.js';

const owner: LockOwner = {
  pid: 4242,
  host: 'nvr',
  bootId: 'boot-1',
  processStart: '1000',
  startedAt: '2025-01-01T00:00:00Z',
  nonce: 'n',
  command: 'camera-archiver -y',
};

const probe = (
  over: Partial<{ host: string; boot: string; start: string | undefined }> = {},
): ProcessProbe => ({
  host: () => over.host ?? 'nvr',
  bootId: () => over.boot ?? 'boot-1',
  processStart: () => ('start' in over ? over.start : '1000'),
});

describe('judgeLock', () => {
  it('a live owner holds the lock', () => {
    expect(judgeLock(owner, 0, 0, probe()).stale).toBe(false);
  });
  it('a dead owner is stale', () => {
    expect(judgeLock(owner, 0, 0, probe({ start: undefined }))).toMatchObject({
      stale: true,
      why: expect.stringMatching(/no longer exists/),
    });
  });
  it('PID reuse: same PID, other start time, is stale', () => {
    expect(judgeLock(owner, 0, 0, probe({ start: '2000' }))).toMatchObject({
      stale: true,
      why: expect.stringMatching(/another process/),
    });
  });
  it('a reboot makes every same-host lock stale', () => {
    expect(judgeLock(owner, 0, 0, probe({ boot: 'boot-2' })).stale).toBe(true);
  });
  it('another host’s lock (shared NAS) is stale only without a heartbeat', () => {
    expect(
      judgeLock(owner, 1000, 1000 + STALE_FOREIGN_MS - 1, probe({ host: 'other' })).stale,
    ).toBe(false);
    expect(
      judgeLock(owner, 1000, 1000 + STALE_FOREIGN_MS + 1, probe({ host: 'other' })).stale,
    ).toBe(true);
  });
});

import { readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  acquireTreeLock,
  judgeLock,
  LOCK_FILE_NAME,
  STALE_FOREIGN_MS,
  type LockOwner,
  type ProcessProbe,
} from '../../src/tree/lock.js';
import { removeDir, tempDir } from '../helpers/tree.js';

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

describe('acquireTreeLock on a real folder', () => {
  it('writes the lock whole through a temporary it removes; a second taker is refused; a temporary left by a killed run is cleared once old', async () => {
    const dir = tempDir('cam-lock-');
    try {
      const leftover = path.join(dir, `${LOCK_FILE_NAME}.new-killed`);
      writeFileSync(leftover, '');
      const old = new Date(Date.now() - STALE_FOREIGN_MS - 60_000);
      utimesSync(leftover, old, old);
      const fresh = path.join(dir, `${LOCK_FILE_NAME}.new-racing`);
      writeFileSync(fresh, '');
      const lock = await acquireTreeLock({ dir, command: 'test' });
      expect(readdirSync(dir).sort()).toEqual([LOCK_FILE_NAME, `${LOCK_FILE_NAME}.new-racing`]);
      const written = JSON.parse(readFileSync(lock.path, 'utf8')) as LockOwner;
      expect(written.nonce).toBe(lock.owner.nonce);
      await expect(acquireTreeLock({ dir, command: 'second' })).rejects.toThrow(/holds/);
      await lock.release();
      expect(readdirSync(dir)).toEqual([`${LOCK_FILE_NAME}.new-racing`]);
    } finally {
      removeDir(dir);
    }
  });

  it('a lock that cannot be written names the lock file and leaves nothing behind', async () => {
    const dir = tempDir('cam-lock-');
    try {
      const missing = path.join(dir, 'gone');
      await expect(acquireTreeLock({ dir: missing, command: 'test' })).rejects.toThrow(
        `cannot write the lock file ${path.join(missing, LOCK_FILE_NAME)}`,
      );
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      removeDir(dir);
    }
  });
});

/**
 * One run per tree. The lock is a file holding who owns it, created whole or not at all: written
 * under a temporary name and hard-linked to its name, which fails if it exists (O_EXCL semantics,
 * atomic also on NFSv3+). A lock is stale only when we can prove its owner is gone:
 * - same host and boot: the PID is dead, or alive but started at another time (PID reuse);
 * - same host, other boot id: the machine rebooted since;
 * - another host (a NAS shared by two boxes): its heartbeat (mtime, refreshed every minute) is
 *   older than STALE_FOREIGN_MS.
 * A stale lock is renamed aside before a new one is created, and the renamed file is checked to be
 * the one judged stale, so two runs racing for a stale lock cannot both win.
 */
import { randomUUID } from 'node:crypto';
import { promises as fsp, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EnvironmentError, LockHeldError } from '../core/errors.js';

export const LOCK_FILE_NAME = '.camera-archiver.lock';
const HEARTBEAT_MS = 60_000;
export const STALE_FOREIGN_MS = 10 * 60_000;

export interface LockOwner {
  pid: number;
  host: string;
  bootId: string;
  /** Process start time in clock ticks since boot (/proc/PID/stat field 22): tells PID reuse apart. */
  processStart: string;
  startedAt: string;
  nonce: string;
  command: string;
}

export interface ProcessProbe {
  host(): string;
  bootId(): string;
  processStart(pid: number): string | undefined;
}

export const linuxProcessProbe: ProcessProbe = {
  host: () => os.hostname(),
  bootId: () => {
    try {
      return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      return 'unknown';
    }
  },
  processStart: (pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Field 2 (comm) may hold spaces and parentheses; fields after the last ')' are fixed.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return rest[19];
    } catch {
      return undefined;
    }
  },
};

export type Staleness = { stale: false; why: string } | { stale: true; why: string };

export function judgeLock(
  owner: LockOwner,
  mtimeMs: number,
  nowMs: number,
  probe: ProcessProbe,
): Staleness {
  const heldBy = `pid ${owner.pid} on ${owner.host} since ${owner.startedAt}`;
  if (owner.host !== probe.host()) {
    const age = nowMs - mtimeMs;
    return age > STALE_FOREIGN_MS
      ? { stale: true, why: `${heldBy}: no heartbeat for ${Math.round(age / 60000)} min` }
      : { stale: false, why: heldBy };
  }
  if (owner.bootId !== probe.bootId())
    return { stale: true, why: `${heldBy}: the machine rebooted since` };
  const start = probe.processStart(owner.pid);
  if (start === undefined) return { stale: true, why: `${heldBy}: that process no longer exists` };
  if (start !== owner.processStart)
    return { stale: true, why: `${heldBy}: that PID now belongs to another process` };
  return { stale: false, why: heldBy };
}

export interface TreeLock {
  path: string;
  owner: LockOwner;
  release(): Promise<void>;
}

async function readOwner(file: string): Promise<{ owner: LockOwner; mtimeMs: number } | undefined> {
  try {
    const [text, info] = await Promise.all([fsp.readFile(file, 'utf8'), fsp.stat(file)]);
    return { owner: JSON.parse(text) as LockOwner, mtimeMs: info.mtimeMs };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    // Unparseable: a run killed while writing it. Treat as stale by age only.
    const info = await fsp.stat(file).catch(() => undefined);
    if (!info) return undefined;
    return {
      owner: {
        pid: 0,
        host: '?',
        bootId: '?',
        processStart: '?',
        startedAt: '?',
        nonce: '?',
        command: '?',
      },
      mtimeMs: info.mtimeMs,
    };
  }
}

export interface AcquireOptions {
  dir: string;
  command: string;
  probe?: ProcessProbe;
  now?: () => number;
  onTakeover?: (why: string) => void;
}

export async function acquireTreeLock(options: AcquireOptions): Promise<TreeLock> {
  const probe = options.probe ?? linuxProcessProbe;
  const now = options.now ?? Date.now;
  const file = path.join(options.dir, LOCK_FILE_NAME);
  const owner: LockOwner = {
    pid: process.pid,
    host: probe.host(),
    bootId: probe.bootId(),
    processStart: probe.processStart(process.pid) ?? 'unknown',
    startedAt: new Date(now()).toISOString(),
    nonce: randomUUID(),
    command: options.command,
  };

  await removeLeftoverTemps(file, now());
  for (let attempt = 0; attempt < 5; attempt++) {
    if (await createLockFile(file, `${JSON.stringify(owner, null, 2)}\n`, owner.nonce))
      return startHeartbeat(file, owner);
    const current = await readOwner(file);
    if (!current) continue;
    const verdict =
      current.owner.host === '?'
        ? now() - current.mtimeMs > STALE_FOREIGN_MS
          ? { stale: true as const, why: 'an unreadable lock file with no heartbeat' }
          : { stale: false as const, why: 'a lock file being written' }
        : judgeLock(current.owner, current.mtimeMs, now(), probe);
    if (!verdict.stale) {
      throw new LockHeldError(
        `another camera-archiver run holds ${options.dir} (${verdict.why}${current.owner.command !== '?' ? `, running '${current.owner.command}'` : ''}); lock file ${file}`,
      );
    }
    const aside = `${file}.stale-${owner.nonce}`;
    try {
      await fsp.rename(file, aside);
    } catch {
      continue;
    }
    const moved = await readOwner(aside);
    if (moved && moved.owner.nonce !== current.owner.nonce) {
      // Someone replaced the stale lock between our read and our rename: put theirs back.
      await fsp.link(aside, file).catch(() => undefined);
      await fsp.rm(aside, { force: true });
      continue;
    }
    await fsp.rm(aside, { force: true });
    options.onTakeover?.(verdict.why);
  }
  throw new LockHeldError(`could not take the lock ${file}: it keeps changing hands`);
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** A write error names no file (ENOSPC, EROFS, EDQUOT): the message must. */
function lockWriteError(file: string, error: unknown): EnvironmentError {
  const why = error instanceof Error ? error.message : String(error);
  return new EnvironmentError(
    `cannot write the lock file ${file}: ${why} (nothing in the tree was changed)`,
  );
}

const TEMP_INFIX = '.new-';

/**
 * Creates the lock file whole or not at all; false when another run holds it (EEXIST, as with
 * O_EXCL). The owner is written and fsynced under a temporary name, then hard-linked to the lock
 * name, which fails if it exists. Written in place, a full disk (ENOSPC) left a 0-byte lock that
 * every later run took for one being written, and waited out for 10 minutes.
 */
async function createLockFile(file: string, content: string, nonce: string): Promise<boolean> {
  const temp = `${file}${TEMP_INFIX}${nonce}`;
  try {
    try {
      const handle = await fsp.open(temp, 'wx');
      try {
        await handle.writeFile(content);
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch (error) {
      throw lockWriteError(file, error);
    }
    try {
      await fsp.link(temp, file);
      return true;
    } catch (error) {
      if (errorCode(error) === 'EEXIST') return false;
      if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP'].includes(errorCode(error) ?? ''))
        throw lockWriteError(file, error);
    }
    // No hard links on this filesystem: O_EXCL in place, and a lock we could not write whole is
    // removed again (it is ours: we just created it).
    let handle;
    try {
      handle = await fsp.open(file, 'wx');
    } catch (error) {
      if (errorCode(error) === 'EEXIST') return false;
      throw lockWriteError(file, error);
    }
    try {
      await handle.writeFile(content);
      await handle.sync();
      await handle.close();
      return true;
    } catch (error) {
      await handle.close().catch(() => undefined);
      await fsp.rm(file, { force: true });
      throw lockWriteError(file, error);
    }
  } finally {
    await fsp.rm(temp, { force: true });
  }
}

/**
 * Temporaries of a run killed while it created the lock (they live for milliseconds otherwise):
 * removed once they are as old as a stale foreign heartbeat.
 */
async function removeLeftoverTemps(file: string, nowMs: number): Promise<void> {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}${TEMP_INFIX}`;
  const names = await fsp.readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const info = await fsp.lstat(path.join(dir, name)).catch(() => undefined);
    if (info && nowMs - info.mtimeMs > STALE_FOREIGN_MS)
      await fsp.rm(path.join(dir, name), { force: true });
  }
}

function startHeartbeat(file: string, owner: LockOwner): TreeLock {
  const timer = setInterval(() => {
    const t = new Date();
    fsp.utimes(file, t, t).catch(() => undefined);
  }, HEARTBEAT_MS);
  timer.unref();
  return {
    path: file,
    owner,
    async release() {
      clearInterval(timer);
      const current = await readOwner(file);
      if (current?.owner.nonce === owner.nonce) await fsp.rm(file, { force: true });
    },
  };
}

/**
 * One run per tree. The lock is a file created with O_EXCL (atomic, also on NFSv3+) holding who
 * owns it. A lock is stale only when we can prove its owner is gone:
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
import { LockHeldError } from './errors.js';

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

  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const handle = await fsp.open(file, 'wx');
      try {
        await handle.writeFile(`${JSON.stringify(owner, null, 2)}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      return startHeartbeat(file, owner);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
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

/**
 * lstat for many files at once, on worker threads.
 *
 * Retention and `stats` lstat every file of the tree (sizes are the point), and on the main
 * thread those calls were half of a cleanup's time (BENCHMARKS.md): `find -printf` makes the same
 * system calls from one thread. Node's thread pool is no help here: a promise and a request per
 * file cost the main thread more than the call itself. So a few worker threads take a batch of
 * paths as one string and answer with one Float64Array of facts, transferred without a copy; the
 * main thread names and plans the next batch meanwhile, and its only cost per file is reading
 * FIELDS numbers.
 *
 * A worker keeps the process alive only while it has work, and ends after a short idle time,
 * so the recorder, whose storage guard plans here now and then, holds none between checks. Where
 * no worker answers (none could start, or one ended mid-batch) the main thread does the batch:
 * the pool is never less able than the main thread alone.
 */
import fs from 'node:fs';
import os from 'node:os';
import { Worker } from 'node:worker_threads';

/**
 * Names a worker sends back from one listing; a bigger folder (a 200,000-clip day) is listed on
 * the main thread, once, without a second copy of every name.
 */
const SHIP_NAMES_UP_TO = 20_000;
/** Numbers per path in a batch's facts: kind, size, dev, ino, nlink, mtimeMs, ctimeMs. */
export const FIELDS = 7;
/** `kind` of a path: gone (or never there), a regular file, anything else (link, folder, …). */
export const ABSENT = 0;
export const REGULAR_FILE = 1;
export const OTHER = 2;

export interface LstatBatch {
  /** FIELDS numbers per path, in the order the paths were given. */
  facts: Float64Array;
  /** The first lstat that failed other than by the path being gone; its facts say ABSENT. */
  error?: { index: number; code: string; message: string };
}

/**
 * Files to lstat, folder by folder: each folder's absolute path (it begins with '/', which no
 * file name can) followed by the names of its files. One string of these, joined by NUL, is what
 * crosses to a worker: a fraction of the whole paths.
 */
export type FolderNames = readonly string[];

export interface Lstatter {
  lstatMany(entries: FolderNames): Promise<LstatBatch>;
  /** A folder's names; [] when it is gone. Other errors (EACCES, ENOTDIR, …) reject. */
  list(dir: string): Promise<string[]>;
  /** True when the calls run beside the main thread (it is then free while they do). */
  readonly parallel: boolean;
  /** Paths lstat'ed so far: tests and benchmarks count reads with it. */
  readonly count: number;
}

/** The same facts from the main thread's own lstat calls: one core, or no workers to be had. */
export class InlineLstatter implements Lstatter {
  readonly parallel = false;
  count = 0;

  lstatMany(entries: FolderNames): Promise<LstatBatch> {
    const batch = lstatInto(entries);
    this.count += batch.facts.length / FIELDS;
    return Promise.resolve(batch);
  }

  list(dir: string): Promise<string[]> {
    try {
      return Promise.resolve(listNames(dir));
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }
}

/**
 * A folder's names; [] when it is gone. A folder that can be listed but whose files cannot be
 * stat'ed (no search permission) fails here too, so that it is left alone whole.
 */
function listNames(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  if (names.length > 0) fs.lstatSync(`${dir}/${names[0] ?? ''}`, { throwIfNoEntry: false });
  return names;
}

function filesIn(entries: FolderNames): number {
  let files = 0;
  for (const e of entries) if (!e.startsWith('/')) files++;
  return files;
}

function lstatInto(entries: FolderNames): LstatBatch {
  const facts = new Float64Array(filesIn(entries) * FIELDS);
  let error: LstatBatch['error'];
  let dir = '';
  let i = -1;
  for (const entry of entries) {
    if (entry.startsWith('/')) {
      dir = entry;
      continue;
    }
    i++;
    let s: fs.Stats | undefined;
    try {
      s = fs.lstatSync(`${dir}/${entry}`, { throwIfNoEntry: false });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      error ??= { index: i, code: err.code ?? 'EIO', message: err.message };
    }
    if (s)
      facts.set(
        [s.isFile() ? REGULAR_FILE : OTHER, s.size, s.dev, s.ino, s.nlink, s.mtimeMs, s.ctimeMs],
        i * FIELDS,
      );
  }
  return error ? { facts, error } : { facts };
}

/**
 * The worker's whole program, the loop of lstatInto above in plain JavaScript. It is evaluated
 * from this string rather than loaded from a file so that it runs the same from the TypeScript
 * sources (tests), the compiled tree and the bundle, none of which agree on where a worker file
 * would be. `test/unit/lstat-pool.test.ts` checks that both give the same facts.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { lstatSync, opendirSync } = require('node:fs');
function failure(e) {
  return { code: e.code || 'EIO', message: e.message };
}
function list(dir) {
  // Read in steps, so that a huge folder is given up on before all its names are held here.
  const names = [];
  let handle;
  try {
    handle = opendirSync(dir, { bufferSize: 1024 });
    for (let entry = handle.readSync(); entry !== null; entry = handle.readSync()) {
      // A huge folder is listed by the caller instead: one string of all its names, and their
      // copy, would cost more memory than listing it here saves time.
      if (names.push(entry.name) > ${SHIP_NAMES_UP_TO}) return { tooMany: true };
    }
    if (names.length > 0) lstatSync(dir + '/' + names[0], { throwIfNoEntry: false });
  } catch (e) {
    if (e.code === 'ENOENT') return { names: '' };
    return { error: failure(e) };
  } finally {
    try {
      if (handle) handle.closeSync();
    } catch {}
  }
  // Sorted, as readdir lists: discovery's scan pairs a clip with its thumbnail by neighbours.
  return { names: names.sort().join('\\0') };
}
function lstatAll(joined) {
  const entries = joined === '' ? [] : joined.split('\\0');
  let files = 0;
  for (const e of entries) if (e[0] !== '/') files++;
  const facts = new Float64Array(files * ${FIELDS});
  let error;
  let dir = '';
  let i = -1;
  for (const entry of entries) {
    if (entry[0] === '/') {
      dir = entry;
      continue;
    }
    i++;
    let s;
    try {
      s = lstatSync(dir + '/' + entry, { throwIfNoEntry: false });
    } catch (e) {
      if (!error) error = { index: i, ...failure(e) };
    }
    if (!s) continue;
    const at = i * ${FIELDS};
    facts[at] = s.isFile() ? ${REGULAR_FILE} : ${OTHER};
    facts[at + 1] = s.size;
    facts[at + 2] = s.dev;
    facts[at + 3] = s.ino;
    facts[at + 4] = s.nlink;
    facts[at + 5] = s.mtimeMs;
    facts[at + 6] = s.ctimeMs;
  }
  return { facts, error };
}
parentPort.on('message', (m) => {
  if (m.list !== undefined) {
    parentPort.postMessage({ id: m.id, ...list(m.list) });
    return;
  }
  const reply = lstatAll(m.lstat);
  parentPort.postMessage({ id: m.id, ...reply }, [reply.facts.buffer]);
});
`;

/**
 * A worker holds one batch at a time (a few hundred names and their facts): small heaps keep each
 * to a few megabytes, where V8's defaults let a busy worker's new space alone grow to tens.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 32 };

interface Reply {
  id: number;
  facts?: Float64Array;
  names?: string;
  tooMany?: boolean;
  error?: { index?: number; code: string; message: string };
}

interface Pending {
  resolve: (reply: Reply) => void;
  reject: (error: Error) => void;
  worker: PoolWorker;
}

interface PoolWorker {
  worker: Worker;
  inFlight: number;
}

export class LstatPool implements Lstatter {
  readonly parallel = true;
  count = 0;
  private workers: PoolWorker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly size: number,
    /** Workers end this long after their last batch. */
    private readonly idleMs = 2000,
  ) {}

  async lstatMany(entries: FolderNames): Promise<LstatBatch> {
    // Counted when asked: a batch a planner no longer waits for was still read.
    this.count += filesIn(entries);
    const reply = await this.ask({ lstat: entries.join('\0') }).catch(() => undefined);
    // No worker to be had (threads exhausted, one lost mid-batch): the main thread does it.
    if (!reply) return lstatInto(entries);
    const facts = reply.facts ?? new Float64Array(0);
    const e = reply.error;
    return e
      ? { facts, error: { index: e.index ?? 0, code: e.code, message: e.message } }
      : { facts };
  }

  async list(dir: string): Promise<string[]> {
    const reply = await this.ask({ list: dir }).catch(() => undefined);
    if (!reply) return listNames(dir);
    if (reply.error)
      throw Object.assign(new Error(reply.error.message), { code: reply.error.code });
    if (reply.tooMany) return listNames(dir);
    return reply.names ? reply.names.split('\0') : [];
  }

  /** Rejects only when no worker answers (none could start, or it ended): never for a file. */
  private ask(request: { lstat: string } | { list: string }): Promise<Reply> {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    let target: PoolWorker;
    try {
      target = this.leastBusy();
    } catch (error) {
      return Promise.reject(error as Error);
    }
    const id = this.nextId++;
    // A worker with work keeps the process alive (a planner may await nothing else); an idle
    // one never does.
    if (target.inFlight++ === 0) target.worker.ref();
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, worker: target });
      target.worker.postMessage({ id, ...request });
    });
  }

  /** Ends the workers now (they also end by themselves when idle). */
  async close(): Promise<void> {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }

  /** Worker threads alive now. */
  get alive(): number {
    return this.workers.length;
  }

  private leastBusy(): PoolWorker {
    while (this.workers.length < this.size) this.workers.push(this.spawn());
    let best = this.workers[0] as PoolWorker;
    for (const w of this.workers) if (w.inFlight < best.inFlight) best = w;
    return best;
  }

  private spawn(): PoolWorker {
    const worker = new Worker(WORKER_SOURCE, { eval: true, resourceLimits: WORKER_LIMITS });
    const entry: PoolWorker = { worker, inFlight: 0 };
    worker.on('message', (reply: Reply) => this.settle(reply));
    const fail = (error: Error): void => this.lose(entry, error);
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`lstat worker ended (exit code ${code})`)));
    worker.unref();
    return entry;
  }

  private settle(reply: Reply): void {
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    if (--p.worker.inFlight === 0) p.worker.worker.unref();
    p.resolve(reply);
    if (this.pending.size === 0) this.scheduleIdle();
  }

  /** A worker that failed or ended: its batches fail, and the next batch starts a new one. */
  private lose(entry: PoolWorker, error: Error): void {
    this.workers = this.workers.filter((w) => w !== entry);
    for (const [id, p] of this.pending)
      if (p.worker === entry) {
        this.pending.delete(id);
        p.reject(error);
      }
  }

  private scheduleIdle(): void {
    this.idleTimer = setTimeout(() => void this.close(), this.idleMs);
    this.idleTimer.unref();
  }
}

let shared: Lstatter | undefined;

/**
 * The process's lstatter: two workers where there are two cores or more (the main thread plans
 * beside them; more workers only queue behind it), the main thread alone otherwise.
 */
export function sharedLstatter(): Lstatter {
  shared ??= os.availableParallelism() >= 2 ? new LstatPool(2) : new InlineLstatter();
  return shared;
}

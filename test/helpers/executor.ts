/**
 * An executor context for tests that run the executor, or one of its steps, on a temporary tree:
 * archive and trash roots inside it, no settle time, one job, a fixed clock, silent progress.
 */
import path from 'node:path';
import type { ExecutorContext } from '../../src/archive/executor.js';
import { silentProgress } from '../../src/archive/progress.js';
import type { Log } from '../../src/core/logger.js';
import type { EncodingProfile } from '../../src/media/encoders.js';
import type { Toolchain } from '../../src/media/toolchain.js';

export function executorContext(
  tree: { root: string; toolchain: Toolchain; log: Log; now: Date },
  profile: EncodingProfile | undefined,
  extra: Partial<ExecutorContext> = {},
): ExecutorContext {
  return {
    toolchain: tree.toolchain,
    profile,
    root: tree.root,
    outputRoot: path.join(tree.root, 'archived'),
    trashRoot: path.join(tree.root, '.deleted'),
    settleSeconds: 0,
    jobs: 1,
    stallTimeoutMs: 60_000,
    niceness: 0,
    log: tree.log,
    progress: silentProgress,
    now: () => tree.now,
    signal: new AbortController().signal,
    ...extra,
  };
}

import os from 'node:os';
import path from 'node:path';

/**
 * Where the tool keeps what must outlive a run but not live in the footage tree: the log when no
 * --log-file is given, and the ids of the roots it cleaned (so an unmounted disk is noticed).
 */
export function defaultStateDir(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  return path.join(base, 'camera-archiver');
}

import path from 'node:path';

/** A path as logs and plans show it: relative to the root when inside it, absolute otherwise. */
export function displayPath(root: string, file: string): string {
  const relative = path.relative(root, file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

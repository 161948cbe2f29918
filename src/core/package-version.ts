/**
 * This package's version, from its package.json. The module runs from dist/ (tsc's output) or
 * from dist/bundle/ (the bundle bin/camera-archiver loads), so the file is looked for above it
 * rather than at a fixed relative path.
 */
import { readFileSync } from 'node:fs';

const PACKAGE_NAME = 'camera-archiver';
const LEVELS_UP = 4;

let cached: string | undefined;

export function packageVersion(): string {
  if (cached !== undefined) return cached;
  cached = 'unknown';
  let url = new URL('./package.json', import.meta.url);
  for (let level = 0; level < LEVELS_UP; level++) {
    url = new URL('../package.json', url);
    try {
      const pkg = JSON.parse(readFileSync(url, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === PACKAGE_NAME && typeof pkg.version === 'string') {
        cached = pkg.version;
        break;
      }
    } catch {
      // Not here (or unreadable): look one folder higher.
    }
  }
  return cached;
}

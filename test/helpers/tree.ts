/** Temporary directory trees and snapshots of them, for asserting what a run changed. */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function tempDir(prefix = 'cam-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Every file and folder under root as sorted relative paths (folders end in '/'). */
export function listTree(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const r = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        out.push(`${r}/`);
        walk(path.join(dir, entry.name), r);
      } else out.push(r);
    }
  };
  walk(root, '');
  return out.sort();
}

/** Relative path → size and mtime: equal snapshots mean nothing changed. */
export function snapshot(root: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const rel of listTree(root)) {
    if (rel.endsWith('/')) result[rel] = 'dir';
    else {
      const s = statSync(path.join(root, rel));
      result[rel] = `${s.size}@${s.mtimeMs}`;
    }
  }
  return result;
}

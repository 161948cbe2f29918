/**
 * The folders of src/ are layers: a module may import from its own folder and from the folders
 * below it, never from one above. That is what lets a reader take the tree in from the bottom
 * (core services, then ffmpeg, then the footage tree) to the top (the three pipelines, then the
 * command line), and what keeps `record` from reaching into the archive run or the archive into
 * retention.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');

/** Bottom to top. */
const LAYERS = ['core', 'media', 'tree', 'archive', 'retention', 'record', 'cli'] as const;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

function layerOf(file: string): string {
  return path.relative(SRC, file).split(path.sep)[0] ?? '';
}

function relativeImports(text: string): string[] {
  const specs: string[] = [];
  for (const match of text.matchAll(/(?:from\s+|import\s*\(\s*)'(\.{1,2}\/[^']+)'/g)) {
    if (match[1]) specs.push(match[1]);
  }
  return specs;
}

describe('src/ layout', () => {
  const files = sourceFiles(SRC);

  it('keeps every module in one of the layer folders', () => {
    const outside = files.filter((f) => !(LAYERS as readonly string[]).includes(layerOf(f)));
    expect(outside.map((f) => path.relative(SRC, f))).toEqual([]);
  });

  it('has every import point to the same layer or one below', () => {
    const upward: string[] = [];
    for (const file of files) {
      const from = LAYERS.indexOf(layerOf(file) as (typeof LAYERS)[number]);
      for (const spec of relativeImports(readFileSync(file, 'utf8'))) {
        const target = path.resolve(path.dirname(file), spec);
        const to = LAYERS.indexOf(layerOf(target) as (typeof LAYERS)[number]);
        if (to > from) upward.push(`${path.relative(SRC, file)} -> ${path.relative(SRC, target)}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('finds the imports it checks (the check cannot pass by matching nothing)', () => {
    const all = files.flatMap((f) => relativeImports(readFileSync(f, 'utf8')));
    expect(all.length).toBeGreaterThan(200);
    expect(all.some((s) => s.startsWith('../'))).toBe(true);
  });
});

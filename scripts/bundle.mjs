#!/usr/bin/env node
/**
 * Bundles the compiled CLI (dist/cli/main.js, from `tsc`) and the packages it imports into
 * dist/bundle/, which bin/camera-archiver runs. Start-up otherwise resolves, reads and compiles
 * about 80 modules (yargs alone is 30), which is most of what `--help` and a dry run spend
 * before their first readdir (BENCHMARKS.md). Dynamic imports stay separate chunks, loaded only
 * by the runs that need them (the executor, the recorder, retention).
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.join(repo, 'dist/bundle');
rmSync(outdir, { recursive: true, force: true });

await build({
  entryPoints: { 'camera-archiver': path.join(repo, 'dist/cli/main.js') },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // CommonJS packages inside an ES module bundle call require() for Node's own modules; ES
  // modules have no require, so each chunk gets one.
  banner: {
    js: "import { createRequire as createRequireOfBundle } from 'node:module'; const require = createRequireOfBundle(import.meta.url);",
  },
  // Help text wrapped between words, without the CommonJS build's start-up cost.
  alias: { cliui: './scripts/cliui-word-wrap.mjs' },
  absWorkingDir: repo,
  sourcemap: 'linked',
  logLevel: 'warning',
});

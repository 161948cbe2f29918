/**
 * What the commands' flag parsing shares: reading yargs' loosely typed values, and the camera tree
 * flags (`[directory] --output --trash-root`, `--age`, `--now`) that archive and stats both take.
 * Every bad value is a UsageError (exit 2).
 */
import path from 'node:path';
import type { Argv } from 'yargs';
import { UsageError } from '../../errors.js';
import { OUTPUT_DIR_NAME, TRASH_DIR_NAME } from '../../naming.js';

export const DEFAULT_ROOT = '/camera';

/** A non-empty string flag, or undefined. */
export function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** A repeatable string option: yargs gives an array (or, from the environment, one string). */
export function strings(v: unknown): string[] {
  return (Array.isArray(v) ? v : v === undefined ? [] : [v]).map(String).filter((s) => s !== '');
}

export function num(v: unknown): number | undefined {
  return typeof v === 'number' && !Number.isNaN(v) ? v : undefined;
}

export function wholeNumber(name: string, v: unknown, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = num(v);
  if (n === undefined || !Number.isInteger(n) || n < min) {
    throw new UsageError(`--${name} must be a whole number ≥ ${min}, got '${String(v)}'`);
  }
  return n;
}

/** The `[directory]` positional with `--output` and `--trash-root`, whose defaults lie inside it. */
export function treeFlags(y: Argv, group?: string): Argv {
  return y
    .positional('directory', {
      type: 'string',
      default: DEFAULT_ROOT,
      describe: 'camera tree with YYYY/MM/DD folders',
    })
    .option('output', {
      alias: 'o',
      type: 'string',
      describe: `archive root [default: <directory>/${OUTPUT_DIR_NAME}]`,
      ...(group ? { group } : {}),
    })
    .option('trash-root', {
      type: 'string',
      describe: `trash root [default: <directory>/${TRASH_DIR_NAME}]`,
      ...(group ? { group } : {}),
    });
}

/** Absolute input, archive and trash roots from treeFlags' values. */
export function treeRootsOf(argv: Record<string, unknown>): {
  root: string;
  output: string;
  trash: string;
} {
  const root = path.resolve(str(argv.directory) ?? DEFAULT_ROOT);
  return {
    root,
    output: path.resolve(str(argv.output) ?? path.join(root, OUTPUT_DIR_NAME)),
    trash: path.resolve(str(argv['trash-root']) ?? path.join(root, TRASH_DIR_NAME)),
  };
}

/** `--age`: days footage stays raw, a number ≥ 0. */
export function ageDaysOf(argv: Record<string, unknown>): number {
  const age = num(argv.age);
  if (age === undefined || age < 0)
    throw new UsageError(`--age must be a number of days ≥ 0, got '${String(argv.age)}'`);
  return age;
}

/** `--now` (tests and what-if runs): an ISO date, or undefined when not given. */
export function nowOf(argv: Record<string, unknown>): Date | undefined {
  const text = str(argv.now);
  if (text === undefined) return undefined;
  const now = new Date(text);
  if (Number.isNaN(now.getTime()))
    throw new UsageError(`--now must be an ISO date, got '${String(argv.now)}'`);
  return now;
}

/**
 * Shell completion, through the entry point the shell calls (`--get-yargs-completions <words>`)
 * and through the bash function `camera-archiver completion` prints.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, runCli } from '../helpers/cli.js';

const complete = async (...words: string[]): Promise<string[]> => {
  const r = await runCli(['--get-yargs-completions', 'camera-archiver', ...words]);
  expect(r.exitCode, r.stderr).toBe(0);
  return r.stdout.split('\n').filter(Boolean);
};

const hasBash = (() => {
  try {
    execFileSync('bash', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('shell completion (e2e)', () => {
  it('completes the archive options after a directory (the default command)', async () => {
    expect(await complete('/camera', '--dr')).toEqual(['--dry-run']);
    expect(await complete('--dr')).toEqual(['--dry-run']);
    expect(await complete('/camera', '--clean')).toEqual(['--cleanup', '--clean-output']);
    expect(await complete('archive', '/camera', '--max-s')).toEqual(['--max-size']);
  });

  it('offers short aliases with one dash, never --o --y --j --q', async () => {
    const all = await complete('/camera', '--');
    expect(all).toContain('--output');
    expect(all.filter((w) => /^--[^-]$/.test(w))).toEqual([]);
    const one = await complete('/camera', '-');
    for (const short of ['-o', '-y', '-j', '-q', '-v']) expect(one).toContain(short);
    expect(await complete('archive', '--o')).toEqual(['--output']);
  });

  it("offers the Python archiver's negations", async () => {
    expect(await complete('/camera', '--no-')).toEqual(
      expect.arrayContaining(['--no-confirm', '--no-skip']),
    );
  });

  it('completes command names first, choices after an option, other commands their options', async () => {
    expect(await complete('st')).toEqual(['stats']);
    expect(await complete('/camera', '--encoder', '')).toEqual([
      'auto',
      'qsv',
      'vaapi',
      'nvenc',
      'software',
    ]);
    expect(await complete('stats', '/camera', '--j')).toEqual(['--json']);
  });

  it.runIf(process.env.CI)('bash is installed (CI)', () => {
    expect(hasBash).toBe(true);
  });

  it.skipIf(!hasBash)(
    'the printed bash function completes `camera-archiver /camera --dr`',
    async () => {
      const script = await runCli(['completion']);
      expect(script.exitCode, script.stderr).toBe(0);
      const bash = [
        script.stdout,
        'COMP_WORDS=(camera-archiver /camera --dr); COMP_CWORD=2',
        '_camera-archiver_yargs_completions',
        'printf "%s\\n" "${COMPREPLY[@]}"',
      ].join('\n');
      // The function runs `camera-archiver` from PATH: the one in bin/.
      const out = execFileSync('bash', ['-c', bash], {
        encoding: 'utf8',
        env: { ...process.env, PATH: `${path.dirname(BIN)}:${process.env.PATH ?? ''}` },
      });
      expect(out.trim().split('\n')).toEqual(['--dry-run']);
    },
  );
});

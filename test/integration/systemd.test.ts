/**
 * `systemd-analyze verify` on the shipped units. verify also checks that ExecStart's binary exists,
 * and the units name `camera-archiver` as npm install -g puts it on systemd's PATH; so the copies
 * checked here point ExecStart at this checkout's bin/camera-archiver, changing nothing else.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/cli.js';
import { removeDir, tempDir } from '../helpers/tree.js';

const SRC = path.resolve('contrib/systemd');
const ANALYZE = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));

// Without systemd-analyze these show as skipped (with this name), not as passed.
describe.skipIf(!ANALYZE)(
  'systemd-analyze verify (skipped where systemd-analyze is not installed)',
  () => {
    const dir = tempDir('units-');
    afterAll(() => removeDir(dir));

    it('passes on every unit without a warning', async () => {
      const units: string[] = [];
      mkdirSync(dir, { recursive: true });
      for (const name of readdirSync(SRC)) {
        const text = readFileSync(path.join(SRC, name), 'utf8').replace(
          /^ExecStart=camera-archiver /m,
          `ExecStart=${BIN} `,
        );
        writeFileSync(path.join(dir, name), text);
        units.push(path.join(dir, name));
      }
      // --man=no: Documentation= URLs are not man pages to look up.
      const r = await execa(ANALYZE ?? 'systemd-analyze', ['verify', '--man=no', ...units], {
        reject: false,
        timeout: 30_000,
      });
      expect(r.exitCode, r.stderr).toBe(0);
      // verify only warns (exit 0) about unknown keys or bad values: any output is a finding.
      expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
    });

    it('would catch a broken unit (the check is real)', async () => {
      const bad = path.join(dir, 'broken.service');
      writeFileSync(bad, `[Service]\nType=oneshot\nExecStart=${BIN}\nProtectSystem=sometimes\n`);
      const r = await execa(ANALYZE ?? 'systemd-analyze', ['verify', '--man=no', bad], {
        reject: false,
        timeout: 30_000,
      });
      expect(`${r.stdout}${r.stderr}`).toMatch(/broken.service:4: .*protect system/i);
    });
  },
);

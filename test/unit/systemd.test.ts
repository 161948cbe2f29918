/**
 * What the shipped units promise, read as data: a regression here (a lost Persistent=, a KillSignal
 * that truncates segments, a sandbox without the camera tree) would not fail any run in CI.
 * systemd-analyze verify runs in test/integration/systemd.test.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const DIR = path.resolve('contrib/systemd');

/** section → key → values (a key may repeat). */
function parseUnit(file: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of readFileSync(path.join(DIR, file), 'utf8').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = new Map();
      sections.set(header[1] ?? '', current);
      continue;
    }
    const eq = line.indexOf('=');
    if (!current || eq < 0) throw new Error(`${file}: unexpected line ${line}`);
    const key = line.slice(0, eq);
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1)]);
  }
  return sections;
}

const get = (unit: Map<string, Map<string, string[]>>, section: string, key: string): string[] =>
  unit.get(section)?.get(key) ?? [];

describe('contrib/systemd units', () => {
  it('ships the five units', () => {
    expect(readdirSync(DIR).sort()).toEqual([
      'camera-archiver-cleanup.service',
      'camera-archiver-cleanup.timer',
      'camera-archiver.service',
      'camera-archiver.timer',
      'camera-recorder.service',
    ]);
  });

  it('timers: persistent, randomized, installed into timers.target', () => {
    for (const file of ['camera-archiver.timer', 'camera-archiver-cleanup.timer']) {
      const unit = parseUnit(file);
      expect(get(unit, 'Timer', 'Persistent'), file).toEqual(['true']);
      expect(get(unit, 'Timer', 'RandomizedDelaySec')[0], file).toBeTruthy();
      expect(get(unit, 'Timer', 'OnCalendar')[0], file).toBeTruthy();
      expect(get(unit, 'Install', 'WantedBy'), file).toEqual(['timers.target']);
    }
    expect(get(parseUnit('camera-archiver-cleanup.timer'), 'Timer', 'OnCalendar')[0]).toMatch(
      /^Sun /,
    );
  });

  it('archiver services: oneshot, non-interactive, low priority, sandboxed to the camera tree', () => {
    for (const file of ['camera-archiver.service', 'camera-archiver-cleanup.service']) {
      const unit = parseUnit(file);
      expect(get(unit, 'Service', 'Type'), file).toEqual(['oneshot']);
      const exec = get(unit, 'Service', 'ExecStart')[0] ?? '';
      expect(exec, file).toMatch(/^camera-archiver archive .*--yes/);
      expect(get(unit, 'Service', 'Nice'), file).toEqual(['10']);
      expect(get(unit, 'Service', 'IOSchedulingClass'), file).toEqual(['idle']);
      expect(get(unit, 'Service', 'ProtectSystem'), file).toEqual(['strict']);
      expect(get(unit, 'Service', 'ReadWritePaths'), file).toContain('-/camera');
      expect(get(unit, 'Service', 'NoNewPrivileges'), file).toEqual(['yes']);
      expect(get(unit, 'Service', 'PrivateTmp'), file).toEqual(['yes']);
      // Node's JIT needs W+X memory.
      expect(get(unit, 'Service', 'MemoryDenyWriteExecute'), file).toEqual([]);
    }
    const archiver = parseUnit('camera-archiver.service');
    expect(get(archiver, 'Service', 'DeviceAllow')).toContain('char-drm rw');
    expect(get(archiver, 'Service', 'SupplementaryGroups')).toEqual(['video render']);
    expect(get(parseUnit('camera-archiver-cleanup.service'), 'Service', 'ExecStart')[0]).toContain(
      '--cleanup',
    );
    expect(get(parseUnit('camera-archiver-cleanup.service'), 'Unit', 'After')).toContain(
      'camera-archiver.service',
    );
  });

  it('recorder: always restarted, stopped with SIGTERM to the recorder only, reloaded with SIGHUP', () => {
    const unit = parseUnit('camera-recorder.service');
    expect(get(unit, 'Service', 'ExecStart')[0]).toMatch(/^camera-archiver record/);
    expect(get(unit, 'Service', 'Restart')).toEqual(['always']);
    expect(get(unit, 'Service', 'RestartPreventExitStatus')).toEqual(['2']);
    expect(get(unit, 'Service', 'KillSignal')).toEqual(['SIGTERM']);
    expect(get(unit, 'Service', 'KillMode')).toEqual(['mixed']);
    expect(get(unit, 'Service', 'ExecReload')).toEqual(['/bin/kill -HUP $MAINPID']);
    // ffmpeg's own grace (15 s) plus the move must fit before systemd's SIGKILL.
    expect(
      Number.parseInt(get(unit, 'Service', 'TimeoutStopSec')[0] ?? '0', 10),
    ).toBeGreaterThanOrEqual(20);
    expect(get(unit, 'Unit', 'StartLimitIntervalSec')).toEqual(['0']);
    expect(get(unit, 'Service', 'DeviceAllow')).toEqual(['char-video4linux rw', 'char-drm rw']);
    expect(get(unit, 'Service', 'SupplementaryGroups')).toEqual(['video render']);
    expect(get(unit, 'Service', 'Nice')).toEqual([]);
    expect(get(unit, 'Install', 'WantedBy')).toEqual(['multi-user.target']);
  });

  it('README says of the recorder unit what the unit file says (signal, kill mode, reload, restart)', () => {
    const unit = parseUnit('camera-recorder.service');
    const readme = readFileSync(path.resolve('README.md'), 'utf8');
    // Every `Key=value` the README quotes for these keys must be the unit's value.
    for (const key of [
      'KillSignal',
      'KillMode',
      'ExecReload',
      'TimeoutStopSec',
      'Restart',
      'RestartPreventExitStatus',
    ]) {
      const quoted = [...readme.matchAll(new RegExp('`' + key + '=([^`]+)`', 'g'))].map(
        (m) => m[1],
      );
      expect(quoted.length, `README quotes ${key}=`).toBeGreaterThan(0);
      for (const value of quoted)
        expect(get(unit, 'Service', key), `README: ${key}=${value}`).toEqual([value]);
    }
    // The units table row names the same stop signal.
    const row = readme.split('\n').find((l) => l.startsWith('| `camera-recorder.service`')) ?? '';
    const signal = get(unit, 'Service', 'KillSignal')[0] ?? '';
    expect(row).toContain(`\`${signal}\``);
    for (const other of ['SIGINT', 'SIGTERM', 'SIGKILL'].filter((s) => s !== signal))
      expect(row, `table row names ${other}`).not.toContain(other);
    expect(readme).toContain('apt-get install v4l-utils');
  });
});

import { describe, expect, it } from 'vitest';
import { cameraTransition, storageTransition } from '../../src/record/events.js';
import type { CameraStatus } from '../../src/record/supervisor.js';

const status = (over: Partial<CameraStatus>): CameraStatus => ({
  name: 'front',
  source: 'rtsp://cam/stream',
  state: 'recording',
  segmentsWritten: 3,
  restarts: 0,
  ...over,
});

describe('recorder notifications', () => {
  it('one offline event per outage, one online event when recording resumes', () => {
    const t0 = new Date('2025-01-15T12:00:00Z');
    let memory = { offline: false };
    const first = cameraTransition(
      memory,
      status({
        state: 'waiting',
        restarts: 1,
        lastRestartCause: 'ffmpeg exited 0 (camera dropped)',
      }),
      t0,
    );
    expect(first.event).toMatchObject({
      event: 'record.camera-offline',
      camera: 'front',
      cause: 'ffmpeg exited 0 (camera dropped)',
    });
    memory = first.memory;
    const again = cameraTransition(
      memory,
      status({ state: 'waiting', restarts: 2 }),
      new Date(t0.getTime() + 5000),
    );
    expect(again.event).toBeUndefined();
    const starting = cameraTransition(
      again.memory,
      status({ state: 'starting' }),
      new Date(t0.getTime() + 6000),
    );
    expect(starting.event).toBeUndefined();
    const back = cameraTransition(
      starting.memory,
      status({ state: 'recording' }),
      new Date(t0.getTime() + 42_000),
    );
    expect(back.event).toMatchObject({ event: 'record.camera-online', offlineSeconds: 42 });
    expect(back.memory.offline).toBe(false);
  });

  it('storage events on threshold crossings only, and recovery', () => {
    const at = (state: 'ok' | 'warn' | 'reclaimed' | 'full', usedPercent: number) => ({
      state,
      usedPercent,
      checkedAt: 'x',
    });
    expect(storageTransition(undefined, at('ok', 40))).toBeUndefined();
    expect(storageTransition('ok', at('warn', 82))).toMatchObject({
      event: 'record.storage-warning',
      usedPercent: 82,
    });
    expect(storageTransition('warn', at('warn', 83))).toBeUndefined();
    expect(storageTransition('warn', at('full', 95))).toMatchObject({
      event: 'record.storage-full',
    });
    expect(storageTransition('full', at('ok', 60))).toMatchObject({ event: 'record.storage-ok' });
  });
});

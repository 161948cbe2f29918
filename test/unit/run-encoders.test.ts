/**
 * The encoder state one executor call shares between its clips (clip-archive.ts RunEncoders):
 * selected lazily, retried in software only for an encoder's own failure, switched to software
 * for the rest of the call after HARDWARE_FAILURES_BEFORE_SWITCH failures.
 */
import { describe, expect, it } from 'vitest';
import { HARDWARE_FAILURES_BEFORE_SWITCH, RunEncoders } from '../../src/archive/clip-archive.js';
import { TranscodeError } from '../../src/archive/transcoder.js';
import { VerificationError } from '../../src/archive/verification.js';
import { FileError } from '../../src/core/errors.js';
import { profileFor } from '../../src/media/encoders.js';

const base = { codec: 'hevc', audio: 'aac', hwDevice: '/dev/null' } as const;
const qsv = profileFor('qsv', base);
const software = profileFor('software', base);
const live = new AbortController().signal;
const gpuGone = new TranscodeError('/in.mp4', 'ffmpeg failed (exit code 1): MFX session');

describe('RunEncoders', () => {
  it('selects the encoder once, when the first clip needs it', async () => {
    let calls = 0;
    const encoders = new RunEncoders({
      profile: undefined,
      selectProfile: () => {
        calls++;
        return Promise.resolve({ profile: qsv, fallbackProfile: software });
      },
    });
    expect(calls).toBe(0);
    expect(await encoders.current('/a.mp4')).toBe(qsv);
    expect(await encoders.current('/b.mp4')).toBe(qsv);
    expect(calls).toBe(1);
    expect(encoders.retryAfter(qsv, gpuGone, live)?.profile).toBe(software);
  });

  it('names the clip when no encoder can be selected', async () => {
    const encoders = new RunEncoders({ profile: undefined });
    const error = await encoders.current('/a.mp4').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FileError);
    expect((error as FileError).file).toBe('/a.mp4');
  });

  it('retries only a hardware encoder failing on its own, and not once aborted', () => {
    const encoders = new RunEncoders({ profile: qsv, fallbackProfile: software });
    const verification = new VerificationError('/p', 'archive pictures differ');
    expect(encoders.retryAfter(qsv, verification, live)).toBeUndefined();
    expect(encoders.retryAfter(software, gpuGone, live)).toBeUndefined();
    const aborted = AbortSignal.abort('SIGINT');
    expect(encoders.retryAfter(qsv, gpuGone, aborted)).toBeUndefined();
    expect(encoders.fallbacks).toBe(0);
    expect(new RunEncoders({ profile: qsv }).retryAfter(qsv, gpuGone, live)).toBeUndefined();
  });

  it(`switches the rest of the call to software after ${HARDWARE_FAILURES_BEFORE_SWITCH} hardware failures`, async () => {
    const encoders = new RunEncoders({ profile: qsv, fallbackProfile: software });
    const switched: boolean[] = [];
    for (let i = 1; i <= HARDWARE_FAILURES_BEFORE_SWITCH; i++) {
      expect(await encoders.current('/c.mp4')).toBe(qsv);
      const retry = encoders.retryAfter(qsv, gpuGone, live);
      expect(retry?.profile).toBe(software);
      switched.push(retry?.switched ?? false);
    }
    expect(switched).toEqual([
      ...Array<boolean>(HARDWARE_FAILURES_BEFORE_SWITCH - 1).fill(false),
      true,
    ]);
    expect(encoders.fallbacks).toBe(HARDWARE_FAILURES_BEFORE_SWITCH);
    expect(await encoders.current('/d.mp4')).toBe(software);
  });
});

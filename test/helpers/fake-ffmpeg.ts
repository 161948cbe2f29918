/**
 * Fake ffmpeg scripts for failure modes a real one cannot produce on demand (a hang, a hardware
 * encoder that fails). Each delegates everything else to the real ffmpeg.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ffmpeg } from './media.js';

/** Writes an executable bash script named `ffmpeg` into dir; `body` runs before delegating. */
export function fakeFfmpeg(dir: string, body: string): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'ffmpeg');
  writeFileSync(file, `#!/usr/bin/env bash\n${body}\nexec ${JSON.stringify(ffmpeg())} "$@"\n`);
  chmodSync(file, 0o755);
  return file;
}

/** Hangs without output when asked to transcode (argument list contains -progress). */
export const HANG_ON_TRANSCODE =
  'for a in "$@"; do if [ "$a" = "-progress" ]; then exec sleep 600; fi; done';

/** Fails like a GPU that is gone whenever a QSV encoder is requested. */
export const QSV_BROKEN =
  'for a in "$@"; do case "$a" in *_qsv) echo "[hevc_qsv @ 0x1] Error initializing an internal MFX session: unsupported (-3)" >&2; exit 1;; esac; done';

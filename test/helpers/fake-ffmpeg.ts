/**
 * Fake ffmpeg scripts for failure modes a real one cannot produce on demand (a hang, a hardware
 * encoder that fails). Each delegates everything else to the real ffmpeg.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ffmpeg, ffprobe } from './media.js';

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

/** Wrong-but-plausible archives: right length and container, wrong pictures. */
export const BAD_ARCHIVES = ['black', 'frozen', 'downscaled', 'other-clip', 'half-zeros'] as const;
export type BadArchive = (typeof BAD_ARCHIVES)[number];

/**
 * Writes `mutate.sh KIND FILE` into dir: rewrites FILE in place into a wrong-but-plausible video
 * of the same duration, keeping its metadata (so an identity it records survives): black
 * pictures, its first picture frozen, a 160x120 downscale, other footage of the same test
 * pattern, or its second half overwritten with zeros.
 */
export function mutateScript(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'mutate.sh');
  const f = JSON.stringify(ffmpeg());
  const p = JSON.stringify(ffprobe());
  const encode =
    '-c:v libx265 -preset ultrafast -x265-params log-level=error -tag:v hvc1 -pix_fmt yuv420p -fps_mode passthrough -map_metadata 0 -movflags +faststart+use_metadata_tags -f mp4';
  writeFileSync(
    file,
    `#!/usr/bin/env bash
set -e
kind="$1"; out="$2"; tmp="$out.bad.mp4"
if [ "$kind" = half-zeros ]; then
  bytes=$(stat -c %s "$out"); truncate -s $((bytes / 2)) "$out"; truncate -s "$bytes" "$out"; exit 0
fi
n=$(${p} -v error -count_packets -select_streams v:0 -show_entries stream=nb_read_packets -of csv=p=0 "$out")
size=$(${p} -v error -select_streams v:0 -show_entries stream=width,height -of csv=s=x:p=0 "$out")
case "$kind" in
  black) ${f} -v error -y -i "$out" -map 0:v -map '0:a?' -c:a copy -vf drawbox=t=fill:c=black ${encode} "$tmp";;
  frozen) ${f} -v error -y -i "$out" -map 0:v -map '0:a?' -c:a copy -vf 'loop=loop=-1:size=1:start=0,setpts=N/FRAME_RATE/TB' -frames:v "$n" ${encode} "$tmp";;
  downscaled) ${f} -v error -y -i "$out" -map 0:v -map '0:a?' -c:a copy -vf scale=160:120 ${encode} "$tmp";;
  other-clip) ${f} -v error -y -ss 7 -f lavfi -i "testsrc2=size=$size:rate=10" -i "$out" -map 0:v -map '1:a?' -c:a copy -frames:v "$n" -map_metadata 1 ${encode.replace('-map_metadata 0 ', '')} "$tmp";;
esac
mv "$tmp" "$out"
`,
  );
  chmodSync(file, 0o755);
  return file;
}

/** Sets `transcode=1` when the argv asks for progress (a transcode) and `out` to the MP4 it writes. */
const SCAN_TRANSCODE = `transcode=0; out=""; prev=""; prevprev=""
for a in "$@"; do
  [ "$a" = "-progress" ] && transcode=1
  if [ "$prevprev" = "-f" ] && [ "$prev" = "mp4" ]; then out="$a"; fi
  prevprev="$prev"; prev="$a"
done`;

/**
 * A transcode that writes its whole output, copies it to `copy` (proof that it was written), then
 * fails as ffmpeg does. Other runs (probes, sampling passes) are the real ffmpeg's.
 */
export function failAfterWritingFfmpeg(dir: string, copy: string): string {
  return fakeFfmpeg(
    dir,
    `${SCAN_TRANSCODE}
if [ "$transcode" = 1 ] && [ -n "$out" ]; then
  ${JSON.stringify(ffmpeg())} "$@" || exit $?
  cp "$out" ${JSON.stringify(copy)}
  echo "Conversion failed!" >&2
  exit 1
fi`,
  );
}

/**
 * A transcode whose ffmpeg exits 0 after writing a wrong-but-plausible archive (see
 * mutateScript): the real command runs (identity tag and the clip's sampled pictures are real),
 * then its output is rewritten.
 */
export function badTranscodeFfmpeg(dir: string, kind: BadArchive): string {
  const mutate = mutateScript(dir);
  return fakeFfmpeg(
    dir,
    `${SCAN_TRANSCODE}
if [ "$transcode" = 1 ]; then
  ${JSON.stringify(ffmpeg())} "$@" || exit $?
  ${JSON.stringify(mutate)} ${kind} "$out" || { echo "mutate.sh failed" >&2; exit 1; }
  exit 0
fi`,
  );
}

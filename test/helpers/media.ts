/**
 * Real media for tests: tiny lavfi clips made by the same ffmpeg the tool finds (system or the
 * npm-packaged one), generated once per variant and copied, so a suite pays ≈0.2 s per variant.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  renameSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FRAGMENTED_MOVFLAGS } from '../../src/record/ffmpeg-args.js';
import { locateTool } from '../../src/media/toolchain.js';

export const ffmpeg = (): string => locateTool('ffmpeg', undefined, process.env).path;
export const ffprobe = (): string => locateTool('ffprobe', undefined, process.env).path;

export interface ClipSpec {
  seconds?: number;
  size?: string;
  rate?: number;
  audio?: boolean;
  /** moov at the front (as cameras that stream uploads write). */
  faststart?: boolean;
  /** Audio only, no video stream. */
  audioOnly?: boolean;
  /** Fragmented MP4 with the recorder's own movflags (keyframe every second). */
  fragmented?: boolean;
  /** Start this many seconds into the test pattern: other footage of the same "camera". */
  startAt?: number;
  /** An MP4 edit list that hides this many seconds at the start (the decoder skips them). */
  editListSkip?: number;
}

const CACHE = path.join(os.tmpdir(), `camera-archiver-test-media-${process.getuid?.() ?? 0}`);

export function clipTemplate(spec: ClipSpec = {}): string {
  const s = {
    seconds: 1,
    size: '160x120',
    rate: 10,
    audio: true,
    faststart: false,
    audioOnly: false,
    fragmented: false,
    startAt: 0,
    editListSkip: 0,
    ...spec,
  };
  const key = createHash('sha1').update(JSON.stringify(s)).digest('hex').slice(0, 12);
  const file = path.join(CACHE, `${key}.mp4`);
  if (existsSync(file)) return file;
  mkdirSync(CACHE, { recursive: true });
  const video = [
    ...(s.startAt ? ['-ss', String(s.startAt)] : []),
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${s.size}:rate=${s.rate}`,
  ];
  const audio = ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=16000'];
  const inputs = s.audioOnly ? audio : s.audio ? [...video, ...audio] : video;
  const codecs = [
    ...(s.audioOnly
      ? []
      : [
          '-c:v',
          'libx264',
          '-preset',
          'ultrafast',
          '-pix_fmt',
          'yuv420p',
          '-g',
          String(s.editListSkip ? s.rate * s.seconds : s.rate),
        ]),
    ...(s.audio || s.audioOnly ? ['-c:a', 'aac', '-b:a', '32k'] : []),
  ];
  const temp = `${file}.${process.pid}.tmp.mp4`;
  runFfmpeg([
    ...inputs,
    '-t',
    String(s.seconds),
    ...codecs,
    ...(s.faststart ? ['-movflags', '+faststart'] : []),
    ...(s.fragmented
      ? [
          '-f',
          'mp4',
          ...FRAGMENTED_MOVFLAGS.split(':').flatMap((o) => [
            `-${o.split('=')[0]}`,
            o.slice(o.indexOf('=') + 1),
          ]),
        ]
      : []),
    '-shortest',
    temp,
  ]);
  if (s.editListSkip) {
    // Stream copy from a point between keyframes keeps the GOP's earlier packets and writes an
    // edit list that hides them: more packets than presented frames, as some cameras upload.
    const edited = `${file}.${process.pid}.edit.mp4`;
    runFfmpeg(['-ss', String(s.editListSkip), '-i', temp, '-c', 'copy', edited]);
    renameSync(edited, temp);
  }
  renameSync(temp, file);
  return file;
}

/** Runs ffmpeg quietly (errors only, overwriting) with these arguments; throws with its stderr. */
export function runFfmpeg(args: readonly string[]): void {
  execFileSync(ffmpeg(), ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

export function thumbnailTemplate(): string {
  const file = path.join(CACHE, 'thumb.jpg');
  if (existsSync(file)) return file;
  mkdirSync(CACHE, { recursive: true });
  const temp = `${file}.${process.pid}.tmp.jpg`;
  runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x120', '-frames:v', '1', temp]);
  renameSync(temp, file);
  return file;
}

/** Parses a 14-digit stamp as local time (tests run with TZ=UTC). */
export function stampDate(stamp: string): Date {
  const n = (a: number, b: number): number => Number(stamp.slice(a, b));
  return new Date(n(0, 4), n(4, 6) - 1, n(6, 8), n(8, 10), n(10, 12), n(12, 14));
}

export interface TreeClip {
  camera?: string;
  stamp: string;
  thumbnail?: boolean;
  /** Write these bytes instead of a real clip (corrupt input). */
  content?: string | Buffer;
  spec?: ClipSpec;
  /** Folder relative to root; defaults to the stamp's YYYY/MM/DD. */
  dir?: string;
  /** File mtime; defaults to a minute after the stamp. */
  mtime?: Date;
  name?: string;
}

export function clipName(c: TreeClip, ext = 'mp4'): string {
  return c.name ?? `${c.camera ?? 'REO_front'}_${c.stamp}.${ext}`;
}

/** Writes clips (and thumbnails) into root; returns their absolute paths. */
export function makeTree(root: string, clips: readonly TreeClip[]): string[] {
  const written: string[] = [];
  for (const c of clips) {
    const dir = path.join(
      root,
      c.dir ?? `${c.stamp.slice(0, 4)}/${c.stamp.slice(4, 6)}/${c.stamp.slice(6, 8)}`,
    );
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, clipName(c));
    if (c.content !== undefined) writeFileSync(file, c.content);
    else copyFileSync(clipTemplate(c.spec), file);
    const mtime = c.mtime ?? new Date(stampDate(c.stamp).getTime() + 60_000);
    utimesSync(file, mtime, mtime);
    written.push(file);
    if (c.thumbnail) {
      const thumb = path.join(dir, clipName(c, 'jpg'));
      copyFileSync(thumbnailTemplate(), thumb);
      utimesSync(thumb, mtime, mtime);
      written.push(thumb);
    }
  }
  return written;
}

export interface ProbeSummary {
  duration: number;
  videoCodec?: string;
  hasAudio: boolean;
}

export function probe(file: string): ProbeSummary {
  const out = execFileSync(
    ffprobe(),
    [
      '-v',
      'error',
      '-show_entries',
      'format=duration:stream=codec_type,codec_name',
      '-of',
      'json',
      file,
    ],
    {
      encoding: 'utf8',
    },
  );
  const json = JSON.parse(out) as {
    format?: { duration?: string };
    streams?: { codec_type?: string; codec_name?: string }[];
  };
  const video = json.streams?.find((s) => s.codec_type === 'video');
  return {
    duration: Number(json.format?.duration ?? 0),
    ...(video?.codec_name ? { videoCodec: video.codec_name } : {}),
    hasAudio: json.streams?.some((s) => s.codec_type === 'audio') ?? false,
  };
}

/** Decodes the whole file; true when ffmpeg reports no error at all. */
export function playsCleanly(file: string): boolean {
  try {
    const err = execFileSync(
      ffmpeg(),
      ['-hide_banner', '-nostdin', '-v', 'error', '-xerror', '-i', file, '-f', 'null', '-'],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    return err.trim() === '';
  } catch {
    return false;
  }
}

/** Whether this ffmpeg has SVT-AV1 (Debian's does; the npm static build does not). */
export const hasSvtAv1 = ((): boolean => {
  try {
    return execFileSync(ffmpeg(), ['-hide_banner', '-encoders'], { encoding: 'utf8' }).includes(
      'libsvtav1',
    );
  } catch {
    return false;
  }
})();

/** The npm static ffmpeg (2018, no AV1), for the fall-back tests. */
export const STATIC_FFMPEG = path.resolve('node_modules/@ffmpeg-installer/linux-x64/ffmpeg');

/** The identity tag (`camera_archiver_source`) a file records, as written; undefined when none. */
export function identityTagOf(file: string): string | undefined {
  try {
    const out = execFileSync(
      ffprobe(),
      [
        '-v',
        'error',
        '-show_entries',
        'format_tags=camera_archiver_source',
        '-of',
        'default=nw=1:nk=1',
        file,
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    ).toString();
    return out.trim() || undefined;
  } catch {
    return undefined;
  }
}

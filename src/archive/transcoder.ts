/**
 * Transcoder: runs one ffmpeg transcode into a temporary file, reporting progress from
 * `-progress pipe:1` and killing ffmpeg when it stops reporting (a hung GPU or a stalled disk).
 */
import readline from 'node:readline';
import { execa } from 'execa';
import { cleanFfmpegLine, lastLines } from '../media/encoders.js';
import { FileError } from '../core/errors.js';

export interface TranscodeProgress {
  /** 0..1 of the source duration. */
  fraction: number;
  outTimeSeconds: number;
  /** Encoding speed as a multiple of real time. */
  speed?: number | undefined;
}

export interface TranscodeJob {
  ffmpeg: string;
  args: readonly string[];
  input: string;
  durationSeconds: number;
  signal?: AbortSignal | undefined;
  /** Kill ffmpeg when no progress block arrives for this long; 0: no watchdog (`--stall-timeout 0`). */
  stallTimeoutMs: number;
  /** Run ffmpeg at this niceness (0 = unchanged). */
  niceness?: number | undefined;
  onProgress?: ((progress: TranscodeProgress) => void) | undefined;
}

export class TranscodeError extends FileError {}

/** Parses one `key=value` line of ffmpeg's -progress output into the running block. */
export function applyProgressLine(block: Map<string, string>, line: string): boolean {
  const eq = line.indexOf('=');
  if (eq < 0) return false;
  const key = line.slice(0, eq).trim();
  const value = line.slice(eq + 1).trim();
  block.set(key, value);
  return key === 'progress';
}

export function progressFromBlock(
  block: ReadonlyMap<string, string>,
  durationSeconds: number,
): TranscodeProgress {
  // out_time_ms is microseconds too in ffmpeg 5.1 (a known quirk); prefer out_time_us.
  const us = Number(block.get('out_time_us') ?? block.get('out_time_ms'));
  const outTimeSeconds = Number.isFinite(us) && us > 0 ? us / 1e6 : 0;
  const speedText = block.get('speed')?.replace(/x$/, '');
  const speed = speedText && speedText !== 'N/A' ? Number(speedText) : undefined;
  const fraction = durationSeconds > 0 ? Math.min(1, outTimeSeconds / durationSeconds) : 0;
  return { fraction: block.get('progress') === 'end' ? 1 : fraction, outTimeSeconds, speed };
}

/** Keeps the lines of ffmpeg's error output that explain a failure, dropping repeats. */
export function explainFailure(stderr: string, file?: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => cleanFfmpegLine(l, file))
    .filter(
      (l) => l && !/^(Press \[q\]|frame=|size=|video:|\s*Metadata:|\s*Stream mapping:)/.test(l),
    );
  const unique = [...new Set(lines)];
  return unique.slice(-4).join(' / ');
}

export interface TranscodeResult {
  /** What ffmpeg wrote to fd 3: the clip's sampled pictures (buildTranscodeArgs, media/frame-samples.ts). */
  samples: Buffer;
  /** Frames written to the archive, from ffmpeg's last progress report. */
  frames: number | undefined;
}

/** Samples beyond this are not kept (≈ 2 days of footage at one sample per 2 s). */
const MAX_SAMPLE_BYTES = 256 * 1024 * 1024;

export async function runTranscode(job: TranscodeJob): Promise<TranscodeResult> {
  const child = execa(job.ffmpeg, job.args, {
    reject: false,
    // fd 3 carries the sampled pictures; stdout the progress; stderr the errors.
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    buffer: { stdout: false, stderr: true, fd3: false },
    maxBuffer: { stderr: 1_000_000 },
    ...(job.signal ? { cancelSignal: job.signal } : {}),
    // SIGTERM lets ffmpeg stop; SIGKILL follows if it does not within 5 s.
    forceKillAfterDelay: 5_000,
  });
  if (job.niceness && child.pid !== undefined) {
    try {
      (await import('node:os')).setPriority(child.pid, job.niceness);
    } catch {
      // Not permitted here: run at normal priority.
    }
  }
  const watchdog = new StallWatchdog(job.stallTimeoutMs, () => child.kill('SIGKILL'));
  const progress = child.stdout
    ? followProgress(child.stdout, job, watchdog)
    : { frames: undefined };
  const samples = collectSamples(child.stdio[3]);
  const result = await child;
  watchdog.stop();
  if (result.isCanceled || job.signal?.aborted) throw job.signal?.reason ?? new Error('aborted');
  if (watchdog.fired) {
    throw new TranscodeError(
      job.input,
      `ffmpeg made no progress for ${Math.round(job.stallTimeoutMs / 1000)}s and was stopped`,
    );
  }
  if (result.exitCode !== 0) {
    const stderr = String(result.stderr ?? '');
    const why = explainFailure(stderr, job.input) || lastLines(stderr, 2);
    const how = result.signal ? `killed by ${result.signal}` : `exit code ${result.exitCode}`;
    throw new TranscodeError(job.input, `ffmpeg failed (${how})${why ? `: ${why}` : ''}`);
  }
  return { samples: Buffer.concat(samples), frames: progress.frames };
}

/** Calls `onStall` when not re-armed within `ms` (a hung GPU or a stalled disk); 0: never. */
class StallWatchdog {
  fired = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ms: number,
    private readonly onStall: () => void,
  ) {
    this.arm();
  }

  arm(): void {
    this.stop();
    if (!(this.ms > 0)) return;
    this.timer = setTimeout(() => {
      this.fired = true;
      this.onStall();
    }, this.ms);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}

/**
 * Reads ffmpeg's `-progress` blocks: each re-arms the watchdog and is reported; `frames` (read
 * once ffmpeg has exited) is the last block's frame count.
 */
function followProgress(
  stdout: NodeJS.ReadableStream,
  job: TranscodeJob,
  watchdog: StallWatchdog,
): { frames: number | undefined } {
  const seen: { frames: number | undefined } = { frames: undefined };
  const block = new Map<string, string>();
  const lines = readline.createInterface({ input: stdout, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (!applyProgressLine(block, line)) return;
    watchdog.arm();
    const f = Number(block.get('frame'));
    if (Number.isFinite(f)) seen.frames = f;
    job.onProgress?.(progressFromBlock(block, job.durationSeconds));
    block.clear();
  });
  return seen;
}

/** The sampled pictures ffmpeg writes to fd 3, up to MAX_SAMPLE_BYTES. */
function collectSamples(stream: NodeJS.ReadableStream | null | undefined): Buffer[] {
  const chunks: Buffer[] = [];
  let bytes = 0;
  stream?.on('data', (chunk: Buffer) => {
    if (bytes + chunk.length > MAX_SAMPLE_BYTES) return;
    chunks.push(chunk);
    bytes += chunk.length;
  });
  return chunks;
}

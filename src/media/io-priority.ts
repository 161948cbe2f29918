/**
 * Idle I/O priority for ffmpeg (`--ionice`, on by default): a night's transcodes must not make the
 * NVR's recording or a Samba share stutter. Node has no ioprio_set, so ffmpeg is started through
 * util-linux `ionice -c3 -t` (idle class; -t: run anyway where the class cannot be set). ionice
 * execs ffmpeg, so the PID, signals and exit code stay ffmpeg's own. Without an ionice binary
 * ffmpeg runs as is (the systemd unit's IOSchedulingClass=idle covers timer runs regardless).
 * The idle class only has an effect with the BFQ (or old CFQ) I/O scheduler.
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { buildTranscodeArgs, type EncodingProfile } from './encoders.js';
import type { FfmpegCaps } from './toolchain.js';

/** The ionice binary on PATH (or in `usual`, where util-linux puts it), if there is one. */
export function findIonice(
  env: NodeJS.ProcessEnv,
  usual: readonly string[] = ['/usr/bin', '/bin'],
): string | undefined {
  const dirs = [...(env.PATH ?? '').split(path.delimiter).filter(Boolean), ...usual];
  for (const dir of dirs) {
    const candidate = path.join(dir, 'ionice');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The command that runs `ffmpeg args` at idle I/O priority, or unchanged without ionice. */
export function withIdleIo(
  ionice: string | undefined,
  ffmpeg: string,
  args: readonly string[],
): { ffmpeg: string; args: string[] } {
  return ionice
    ? { ffmpeg: ionice, args: ['-c3', '-t', ffmpeg, ...args] }
    : { ffmpeg, args: [...args] };
}

/**
 * The command that transcodes `input` into `output`: built here once, for the process the real
 * run starts (executor.ts) and for the line the dry run prints (render.ts), so the two cannot
 * differ. ffmpeg's CPU niceness is not part of it: it is set on ffmpeg's own PID once started.
 */
export function transcodeInvocation(p: {
  ionice?: string | undefined;
  ffmpeg: string;
  profile: EncodingProfile;
  input: string;
  output: string;
  caps: FfmpegCaps;
  /** The clip's identity for the archive's tag; a dry run, which has not read it, shows a placeholder. */
  identity?: string | undefined;
}): { ffmpeg: string; args: string[] } {
  return withIdleIo(
    p.ionice,
    p.ffmpeg,
    buildTranscodeArgs(p.profile, p.input, p.output, p.caps, p.identity),
  );
}

/** The ionice binary to use for this run, saying so at verbose level when there is none. */
export function resolveIonice(
  enabled: boolean | undefined,
  env: NodeJS.ProcessEnv,
  log: { verbose(message: string): void },
  find: (env: NodeJS.ProcessEnv) => string | undefined = findIonice,
): string | undefined {
  if (!enabled) return undefined;
  const found = find(env);
  if (!found) log.verbose('ionice not found: ffmpeg runs at normal I/O priority');
  return found;
}

/**
 * The ffmpeg toolchain and the encoder of one archive run, resolved once and only when the plan
 * needs them: a run with nothing to do works without ffmpeg, and a dry run probes exactly like the
 * real run so its printed commands are exact. Each is a promise made once: planning starts it and
 * goes on walking the tree while the child processes run (BENCHMARKS.md); what needs the result
 * awaits it, and `settled()` makes a missing ffmpeg or a failing encoder the run's error.
 */
import { existsSync } from 'node:fs';
import { EnvironmentError } from '../core/errors.js';
import type { Log } from '../core/logger.js';
import {
  profileFor,
  selectEncoder,
  type CodecChoice,
  type EncodingProfile,
  type ProfileBase,
} from '../media/encoders.js';
import { runCaptured } from '../media/run-captured.js';
import { LOWEST_PRIORITY } from '../media/thread-priority.js';
import {
  locateTool,
  locateToolchain,
  resolveToolchain,
  type Toolchain,
} from '../media/toolchain.js';
import { encoderLine } from './render.js';
import type { ArchiveOptions } from './run.js';

/** The options the tools and the encoder are chosen by. */
export type ToolOptions = Pick<
  ArchiveOptions,
  | 'ffmpeg'
  | 'ffprobe'
  | 'dryRun'
  | 'encoder'
  | 'codec'
  | 'quality'
  | 'preset'
  | 'keyframeInterval'
  | 'maxHeight'
  | 'audio'
  | 'hwDevice'
>;

export class RunTools {
  toolchain: Toolchain | undefined;
  profile: EncodingProfile | undefined;
  /** Software, for a run whose hardware encoder keeps failing (executor.ts). */
  fallbackProfile: EncodingProfile | undefined;
  private toolsReady: Promise<unknown> | undefined;
  private toolchainReady: Promise<Toolchain> | undefined;
  private encoderReady: Promise<void> | undefined;
  /** A dry run's ffmpeg probes use the CPU its planner leaves, like its helper threads. */
  private readonly probeNice: number | undefined;

  /**
   * `countsOnly`: a quiet dry run builds no command line, so it needs to know where ffmpeg and
   * ffprobe are and that the encoder works, but not ffmpeg's version: one ffmpeg start less.
   */
  constructor(
    private readonly opts: ToolOptions,
    private readonly env: NodeJS.ProcessEnv,
    private readonly log: Log,
    private readonly countsOnly: boolean,
  ) {
    this.probeNice = opts.dryRun ? LOWEST_PRIORITY : undefined;
  }

  /** ffmpeg and ffprobe found, ffmpeg's version and capabilities read. */
  resolveTools(): Promise<Toolchain> {
    const request = { ffmpeg: this.opts.ffmpeg, ffprobe: this.opts.ffprobe };
    return (this.toolchainReady ??= background(
      resolveToolchain(request, this.env, this.warn, this.probeNice).then(
        (t) => (this.toolchain = t),
      ),
    ));
  }

  /** What the plan needs of the tools: found (quiet dry run) or resolved. */
  ensureTools(): Promise<unknown> {
    const request = { ffmpeg: this.opts.ffmpeg, ffprobe: this.opts.ffprobe };
    return (this.toolsReady ??= this.countsOnly
      ? background(Promise.resolve().then(() => locateToolchain(request, this.env, this.warn)))
      : this.resolveTools());
  }

  ensureEncoder(): Promise<void> {
    return (this.encoderReady ??= background(this.probeEncoder()));
  }

  /** Waits for what planning started: a missing ffmpeg or a failing encoder fails the run here. */
  async settled(): Promise<void> {
    await this.encoderReady;
    await this.toolsReady;
  }

  private readonly warn = (message: string): void => this.log.warn(message);

  private async probeEncoder(): Promise<void> {
    // The probe needs only ffmpeg's path, so it runs beside `ffmpeg -version`, not after it (a
    // run's fixed cost is a share of the transcode overhead, BENCHMARKS.md).
    const tools = this.ensureTools();
    const selection = await this.selectEncoder();
    await tools; // a toolchain that fails is this run's error, whatever the probe said
    const { opts } = this;
    const tried = selection.attempts.map((a) => `${a.name}: ${a.ok ? 'ok' : a.error}`).join('; ');
    if (!selection.profile) {
      throw new EnvironmentError(
        `no working encoder for --encoder ${opts.encoder} --codec ${opts.codec} (${tried})`,
      );
    }
    const profile = (this.profile = selection.profile);
    for (const warning of selection.warnings) this.log.warn(warning);
    this.log.info(
      `encoder: ${encoderLine(profile)}${opts.encoder === 'auto' ? ` [auto: ${tried}]` : ''}`,
    );
    if (opts.encoder === 'auto' && profile.encoder !== 'software')
      this.fallbackProfile = profileFor('software', {
        ...this.profileBase(),
        codec: profile.codec,
      });
  }

  private profileBase(): ProfileBase<CodecChoice> {
    const { opts } = this;
    return {
      codec: opts.codec,
      quality: opts.quality,
      preset: opts.preset,
      keyframeInterval: opts.keyframeInterval,
      maxHeight: opts.maxHeight,
      audio: opts.audio,
      hwDevice: opts.hwDevice,
    };
  }

  private selectEncoder(): ReturnType<typeof selectEncoder> {
    const ffmpeg = locateTool('ffmpeg', this.opts.ffmpeg, this.env);
    return selectEncoder(
      this.opts.encoder,
      this.profileBase(),
      async (args) => {
        const r = await runCaptured(ffmpeg.path, args, {
          timeoutMs: 30_000,
          nice: this.probeNice,
        }).catch((error: Error) => ({ exitCode: 1, stderr: error.message }));
        return { exitCode: r.exitCode, stderr: r.stderr };
      },
      (device) => existsSync(device),
    );
  }
}

/** Started now, awaited later: until then its failure must not count as an unhandled rejection. */
function background<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/**
 * Runs a short command to completion and returns its exit code and output: the ffmpeg version and
 * encoder probes that every run (dry runs included) makes before planning ends.
 *
 * node:child_process rather than execa here: loading execa costs ≈ 80 ms of start-up
 * (BENCHMARKS.md), and these probes need neither streaming nor process-group handling. The
 * long-running children (transcode, verification, recording) keep using execa.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';

export interface CapturedResult {
  /** Exit code; 1 when killed by a signal or by the timeout. */
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Output beyond this is dropped: a probe's answer is in its first lines. */
const MAX_OUTPUT = 1 << 20;

/** Rejects only when the program cannot be started (missing, not executable). */
export function runCaptured(
  file: string,
  args: readonly string[],
  options: {
    timeoutMs: number;
    /** Nice value for the child (its threads start after this is set, so they share it). */
    nice?: number | undefined;
  },
): Promise<CapturedResult> {
  return new Promise((resolve, reject) => {
    // stdin closed: ffmpeg reads keyboard commands from it and must never wait there.
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    if (options.nice !== undefined && child.pid !== undefined) {
      try {
        os.setPriority(child.pid, options.nice);
      } catch {
        // Already exited: nothing left to lower.
      }
    }
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (stdout.length < MAX_OUTPUT) stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      if (stderr.length < MAX_OUTPUT) stderr += chunk;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({
        exitCode: code ?? 1,
        stdout: stdout.trimEnd(),
        stderr: timedOut
          ? `${stderr}\ntimed out after ${options.timeoutMs} ms`.trim()
          : stderr.trimEnd(),
        timedOut,
      });
    });
  });
}

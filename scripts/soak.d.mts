/** Types of scripts/soak.mjs for the TypeScript tests. */
export const DEFAULT_BIN: string;
export const PASSWORD: string;
export const NOTIFY_SECRET: string;
export const PERIODIC_PATHS: string[];
export function rtspCameraAvailable(): boolean;

export interface SoakOptions {
  seconds?: number;
  cameras?: number;
  outages?: number;
  outageSeconds?: number;
  segmentSeconds?: number;
  bin?: string;
  minRuns?: number;
  sampleMs?: number;
  keep?: boolean;
  log?: (line: string) => void;
}

export interface SoakReport {
  ok: boolean;
  failures: string[];
  seconds: number;
  recorderPid: number;
  exit: number | string;
  perCamera: Record<
    string,
    { segments: number; recordedSeconds: number; outageGaps: number[]; largestOtherGap: number }
  >;
  rss: { earlyKiB: number; lateKiB: number; maxKiB: number };
  fds: { early: number; late: number };
  periodic: Record<string, { runs: number; failures: number }>;
  orphans: { pid: number; cmd: string }[];
  leaks: string[];
  statusFileMode: string;
  [key: string]: unknown;
}

export function soak(options?: SoakOptions): Promise<SoakReport>;
export function formatReport(report: SoakReport): string;

/**
 * Recorder configuration: the command-line quick form (`--camera NAME=SOURCE`) and the config file
 * (JSON or YAML) become one validated RecordConfig. Everything is checked before any ffmpeg starts,
 * so a typo in camera 3 never leaves cameras 1 and 2 recording while the service "fails".
 * Pure except for the injected `deviceExists` (a device node is part of the environment).
 */
import path from 'node:path';
import {
  AUDIO_MODES,
  CODECS,
  ENCODER_CHOICES,
  type AudioMode,
  type Codec,
  type EncoderChoice,
} from '../media/encoders.js';
import { ConfigError, EnvironmentError, UsageError } from '../core/errors.js';
import { parseConfigText as parseConfigFileText } from '../core/config-file.js';
import { OUTPUT_DIR_NAME, TRASH_DIR_NAME } from '../tree/naming.js';
import { parseDuration } from '../core/units.js';

export type SourceKind = 'v4l2' | 'rtsp' | 'lavfi';

export interface CameraSource {
  kind: SourceKind;
  /** Device path, URL, or lavfi filtergraph (without the `lavfi:` prefix). */
  input: string;
}

export type RecordMode = 'copy' | 'encode';

export interface CameraConfig {
  name: string;
  source: CameraSource;
  /** Copy keeps every packet; encode is needed for raw/MJPEG inputs and synthetic (lavfi) cameras. */
  mode: RecordMode;
  segmentSeconds: number;
  audio: AudioMode;
  /** V4L2: `-input_format`, `-video_size`, `-framerate`. */
  inputFormat?: string | undefined;
  size?: string | undefined;
  frameRate?: number | undefined;
  /** RTSP: transport and socket timeout (ffmpeg ≥ 5 `-timeout`, in µs on the wire). */
  rtspTransport: 'tcp' | 'udp';
  rtspTimeoutSeconds: number;
  /** Encode mode: the archiver's encoder profile choices, plus a keyframe interval for clean cuts. */
  encoder: EncoderChoice;
  codec: Codec;
  quality?: number | undefined;
  preset?: string | undefined;
  keyframeSeconds: number;
}

export interface StorageThresholds {
  warnPercent: number;
  blockPercent: number;
}

export interface RecordConfig {
  root: string;
  /** Where the retention engine may remove old archives and trash when the disk fills. */
  outputRoot: string;
  trashRoot: string;
  cameras: CameraConfig[];
  storage: StorageThresholds;
  /** A camera whose output has not grown (and whose progress has not moved) this long is restarted. */
  stallSeconds: number;
  /** How often each periodic path runs (config key `intervals:`); tests and soak runs shorten them. */
  intervals: RecorderIntervals;
}

/** Milliseconds. Defaults suit a recorder that runs for months; see DEFAULT_INTERVALS. */
export interface RecorderIntervals {
  /** Status file rewrite while nothing changes (its updatedAt says the recorder is alive). */
  statusMs: number;
  /** Status file rewrite after a change (coalesced). */
  statusFlushMs: number;
  /** Free-space check of the storage guard. */
  storageMs: number;
  /** Repeat of the storage warning while the disk stays above the warn threshold. */
  storageWarnRepeatMs: number;
  /** Poll of ffmpeg's segment list, the current file's growth and the watchdog. */
  pollMs: number;
  /** First restart delay of a camera; later ones are 5, 10, 20, 30, 60 times it, capped. */
  restartBackoffMs: number;
  restartBackoffMaxMs: number;
  /** An ffmpeg run this long counts as healthy: the next restart starts from the first delay. */
  healthyRunMs: number;
  /** How long ffmpeg may take to close its segment when stopped before it is killed. */
  stopGraceMs: number;
  /** Retry of segments held in staging (probe failed, or the clock was not set). */
  heldRetryMs: number;
  /** Webhooks: per attempt, first retry delay (doubling), and total deadline of one event. */
  notifyTimeoutMs: number;
  notifyRetryMs: number;
  notifyDeadlineMs: number;
}

export const DEFAULT_INTERVALS: Readonly<RecorderIntervals> = {
  statusMs: 5000,
  statusFlushMs: 250,
  storageMs: 30_000,
  storageWarnRepeatMs: 10 * 60_000,
  pollMs: 500,
  restartBackoffMs: 1000,
  restartBackoffMaxMs: 60_000,
  healthyRunMs: 60_000,
  stopGraceMs: 15_000,
  heldRetryMs: 60_000,
  notifyTimeoutMs: 10_000,
  notifyRetryMs: 2000,
  notifyDeadlineMs: 60_000,
};

/** `intervals:` keys of the config file (durations: `30s`, `0.25`, `10m`) → fields. */
export const INTERVAL_KEYS: Readonly<Record<string, keyof RecorderIntervals>> = {
  status: 'statusMs',
  statusFlush: 'statusFlushMs',
  storage: 'storageMs',
  storageWarnRepeat: 'storageWarnRepeatMs',
  poll: 'pollMs',
  restartBackoff: 'restartBackoffMs',
  restartBackoffMax: 'restartBackoffMaxMs',
  healthyRun: 'healthyRunMs',
  stopGrace: 'stopGraceMs',
  heldRetry: 'heldRetryMs',
  notifyTimeout: 'notifyTimeoutMs',
  notifyRetry: 'notifyRetryMs',
  notifyDeadline: 'notifyDeadlineMs',
};

/** Parses the `intervals:` mapping; each value is a duration between 10 ms and a day. */
export function parseIntervals(raw: unknown, where: string): RecorderIntervals {
  const out: RecorderIntervals = { ...DEFAULT_INTERVALS };
  if (raw === undefined) return out;
  if (!isRecord(raw)) throw new ConfigError(`${where} intervals: expected a mapping`);
  for (const [key, value] of Object.entries(raw)) {
    const field = INTERVAL_KEYS[camelCase(key)];
    if (!field)
      throw new ConfigError(
        `${where} intervals: unknown option '${key}' (known: ${Object.keys(INTERVAL_KEYS).join(', ')})`,
      );
    const s = seconds(value, `${where} intervals.${key}`, 0);
    if (!(s >= 0.01) || s > 86_400)
      throw new ConfigError(
        `${where} intervals.${key}: must be between 10ms (0.01) and 24h, got ${JSON.stringify(value)}`,
      );
    out[field] = Math.round(s * 1000);
  }
  if (out.restartBackoffMaxMs < out.restartBackoffMs)
    throw new ConfigError(`${where} intervals: restartBackoffMax must not be below restartBackoff`);
  return out;
}

export const DEFAULT_RECORD_ROOT = '/camera';
export const DEFAULT_SEGMENT_SECONDS = 30 * 60;
export const DEFAULT_STORAGE: StorageThresholds = { warnPercent: 80, blockPercent: 90 };
export const DEFAULT_STALL_SECONDS = 60;
const DEFAULT_RTSP_TIMEOUT_SECONDS = 10;
const DEFAULT_KEYFRAME_SECONDS = 2;

/**
 * Camera names become file-name prefixes (`<camera>_<stamp>.mp4`) and staging folder names: no
 * path separators, dots or spaces, and they must not end in `_<14 digits>` themselves.
 */
const CAMERA_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** What the file parser could not know: whether a device node exists on this host. */
export interface ConfigEnvironment {
  deviceExists(device: string): boolean;
}

/** `lavfi:testsrc2`, `rtsp://…`, `/dev/video0`: the kind follows from the shape. */
export function parseSource(text: string, where: string): CameraSource {
  const trimmed = text.trim();
  if (trimmed.startsWith('lavfi:')) {
    const graph = trimmed.slice('lavfi:'.length);
    if (!graph) throw new UsageError(`${where}: 'lavfi:' needs a filtergraph, e.g. lavfi:testsrc2`);
    return { kind: 'lavfi', input: graph };
  }
  if (/^rtsps?:\/\//i.test(trimmed)) {
    let url: URL;
    try {
      url = new URL(trimmed);
    } catch {
      throw new UsageError(`${where}: '${redactUrl(trimmed)}' is not a valid RTSP URL`);
    }
    if (!url.hostname)
      throw new UsageError(`${where}: RTSP URL '${redactUrl(trimmed)}' has no host`);
    return { kind: 'rtsp', input: trimmed };
  }
  if (trimmed.startsWith('/dev/')) return { kind: 'v4l2', input: trimmed };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) {
    throw new UsageError(
      `${where}: unsupported source '${redactUrl(trimmed)}': use rtsp://…, a /dev/video* or /dev/v4l/by-id/… device, or lavfi:<filtergraph>`,
    );
  }
  throw new UsageError(
    `${where}: unknown source '${trimmed}': use rtsp://user:pass@host/path, /dev/videoN, /dev/v4l/by-id/…, or lavfi:<filtergraph>`,
  );
}

/** Hides the password of `rtsp://user:pass@host`, for every message and log line. */
export function redactUrl(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/i, '$1:***@');
}

/** How a source is shown to people: URL without password. */
export function describeSource(source: CameraSource): string {
  switch (source.kind) {
    case 'lavfi':
      return `lavfi:${source.input}`;
    case 'rtsp':
      return redactUrl(source.input);
    case 'v4l2':
      return source.input;
  }
}

/** `NAME=SOURCE` from the command line. */
export function parseCameraFlag(text: string): { name: string; source: CameraSource } {
  const eq = text.indexOf('=');
  if (eq <= 0)
    throw new UsageError(
      `--camera '${redactUrl(text)}': use NAME=SOURCE, e.g. --camera front=rtsp://cam/stream`,
    );
  const name = text.slice(0, eq);
  checkName(name, `--camera ${name}`);
  return { name, source: parseSource(text.slice(eq + 1), `--camera ${name}`) };
}

function checkName(name: string, where: string): void {
  if (!CAMERA_NAME.test(name) || /_\d{14}$/.test(name)) {
    throw new UsageError(
      `${where}: camera name '${name}' must be 1-64 letters, digits, '-' or '_' (it becomes the file-name prefix)`,
    );
  }
}

/** The mode a camera gets when none is given: copy where the input is already compressed video. */
export function defaultMode(source: CameraSource, inputFormat: string | undefined): RecordMode {
  switch (source.kind) {
    case 'rtsp':
      return 'copy';
    case 'lavfi':
      // A filtergraph yields raw frames, which MP4 cannot hold without encoding.
      return 'encode';
    case 'v4l2':
      // UVC H.264 can be copied; MJPEG and YUYV must be encoded (MJPEG in MP4 is legal but huge).
      return inputFormat === 'h264' ? 'copy' : 'encode';
  }
}

export interface CameraDefaults {
  segmentSeconds: number;
}

/** Unvalidated camera entry as it comes from the file (all fields optional, any type). */
type RawEntry = Record<string, unknown>;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const CAMERA_KEYS = new Set([
  'name',
  'source',
  'mode',
  'segmentTime',
  'audio',
  'inputFormat',
  'size',
  'frameRate',
  'rtspTransport',
  'rtspTimeout',
  'encoder',
  'codec',
  'quality',
  'preset',
  'keyframeInterval',
]);
/** Structured settings read here, not by the CLI's flat option loader (core/config-file.ts skips them). */
export const RECORD_FILE_KEYS: ReadonlySet<string> = new Set([
  'root',
  'output',
  'trashRoot',
  'segmentTime',
  'cameras',
  'storage',
  'stallTimeout',
  'intervals',
]);

function camelCase(name: string): string {
  return name.replace(/[-_]+([a-z0-9])/gi, (_m, c: string) => c.toUpperCase());
}

/**
 * The record settings of a config file. The file may be the shared one of all commands
 * (/etc/camera-archiver/config.yaml: archive options at the top, a `record:` section), or a file of
 * the recorder alone: record's keys are read from the top level and from `record:` (which wins).
 * Other keys belong to other commands or to record's flat options, and are checked by the CLI's
 * config-file loader, not here. kebab-case and camelCase spellings are the same key.
 */
export function recordSettings(data: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    const k = camelCase(key);
    if (RECORD_FILE_KEYS.has(k)) out[k] = value;
  }
  const section = data.record;
  if (section !== undefined) {
    if (!isRecord(section)) throw new ConfigError(`'record' must be a mapping of record settings`);
    for (const [key, value] of Object.entries(section)) {
      const k = camelCase(key);
      // Flat option names of the record command (camera, segment-time …) are applied by the CLI's
      // config loader as if typed on the command line; structured ones are read here.
      if (RECORD_FILE_KEYS.has(k)) out[k] = value;
    }
  }
  return out;
}

function seconds(v: unknown, where: string, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string') return asConfigError(() => parseDuration(v, where));
  throw new ConfigError(`${where}: expected a duration like 30m or 10s, got ${JSON.stringify(v)}`);
}

function optString(v: unknown, where: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '')
    throw new ConfigError(`${where}: expected a text value, got ${JSON.stringify(v)}`);
  return v;
}

function choice<T extends string>(
  v: unknown,
  options: readonly T[],
  where: string,
  fallback: T,
): T {
  if (v === undefined) return fallback;
  if (typeof v === 'string' && (options as readonly string[]).includes(v)) return v as T;
  throw new ConfigError(`${where}: must be one of ${options.join(', ')}, got ${JSON.stringify(v)}`);
}

/** Turns one raw camera entry into a CameraConfig; every bad field is a ConfigError naming it. */
export function toCameraConfig(
  entry: RawEntry,
  defaults: CameraDefaults,
  where: string,
): CameraConfig {
  const raw = cameraEntry(entry, where);
  const { name, at, source } = cameraIdentity(raw, where);
  const { inputFormat, size, frameRate } = captureSettings(raw, at);
  const quality = qualityOf(raw.quality, at);
  const camera: CameraConfig = {
    name,
    source,
    mode: choice(
      raw.mode,
      ['copy', 'encode'] as const,
      `${at} mode`,
      defaultMode(source, inputFormat),
    ),
    segmentSeconds: seconds(raw.segmentTime, `${at} segmentTime`, defaults.segmentSeconds),
    // A filtergraph has no audio unless it says so; asking for AAC would only print a warning.
    audio: choice(raw.audio, AUDIO_MODES, `${at} audio`, source.kind === 'lavfi' ? 'none' : 'aac'),
    inputFormat,
    size,
    frameRate,
    rtspTransport: choice(raw.rtspTransport, ['tcp', 'udp'] as const, `${at} rtspTransport`, 'tcp'),
    rtspTimeoutSeconds: seconds(raw.rtspTimeout, `${at} rtspTimeout`, DEFAULT_RTSP_TIMEOUT_SECONDS),
    encoder: choice(raw.encoder, ENCODER_CHOICES, `${at} encoder`, 'software'),
    codec: choice(raw.codec, CODECS, `${at} codec`, 'h264'),
    quality,
    preset: optString(raw.preset, `${at} preset`),
    keyframeSeconds: seconds(
      raw.keyframeInterval,
      `${at} keyframeInterval`,
      DEFAULT_KEYFRAME_SECONDS,
    ),
  };
  checkCamera(camera, at);
  return camera;
}

/** The entry with camelCase keys; an unknown key is an error (a typo must not be ignored). */
function cameraEntry(entry: RawEntry, where: string): RawEntry {
  const raw: RawEntry = Object.fromEntries(
    Object.entries(entry).map(([k, v]) => [camelCase(k), v]),
  );
  for (const key of Object.keys(raw)) {
    if (!CAMERA_KEYS.has(key))
      throw new ConfigError(
        `${where}: unknown option '${key}' (known: ${[...CAMERA_KEYS].join(', ')})`,
      );
  }
  return raw;
}

/** Runs a parser that throws UsageError (shared with the flags) and reports a ConfigError instead. */
function asConfigError<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

/** Name and source, required: every later message names the camera (`at`). */
function cameraIdentity(
  raw: RawEntry,
  where: string,
): { name: string; at: string; source: CameraSource } {
  const name = raw.name;
  if (typeof name !== 'string') throw new ConfigError(`${where}: every camera needs a name`);
  const at = `${where} (${name})`;
  asConfigError(() => checkName(name, at));
  const text = raw.source;
  if (typeof text !== 'string')
    throw new ConfigError(`${at}: 'source' is required (rtsp://…, /dev/video*, lavfi:…)`);
  return { name, at, source: asConfigError(() => parseSource(text, at)) };
}

/** The V4L2 capture settings (which kinds they apply to is checked with the whole camera). */
function captureSettings(
  raw: RawEntry,
  at: string,
): { inputFormat: string | undefined; size: string | undefined; frameRate: number | undefined } {
  const inputFormat = optString(raw.inputFormat, `${at} inputFormat`);
  const size = optString(raw.size, `${at} size`);
  if (size !== undefined && !/^\d+x\d+$/.test(size))
    throw new ConfigError(`${at} size: use WIDTHxHEIGHT, e.g. 1280x720, got '${size}'`);
  const frameRate = raw.frameRate;
  if (
    frameRate !== undefined &&
    (typeof frameRate !== 'number' || !(frameRate > 0) || frameRate > 240)
  ) {
    throw new ConfigError(
      `${at} frameRate: expected a number of frames per second (0-240], got ${JSON.stringify(frameRate)}`,
    );
  }
  return { inputFormat, size, frameRate };
}

/** The encoder quality (CRF/CQ scale): a whole number 0-63, or none for the encoder's default. */
function qualityOf(quality: unknown, at: string): number | undefined {
  if (
    quality !== undefined &&
    (typeof quality !== 'number' || !Number.isInteger(quality) || quality < 0 || quality > 63)
  ) {
    throw new ConfigError(
      `${at} quality: expected a whole number 0-63, got ${JSON.stringify(quality)}`,
    );
  }
  return quality;
}

function checkCamera(c: CameraConfig, at: string): void {
  if (!(c.segmentSeconds >= 2) || c.segmentSeconds > 24 * 3600) {
    throw new ConfigError(
      `${at} segmentTime: must be between 2s and 24h, got ${c.segmentSeconds}s`,
    );
  }
  if (!(c.rtspTimeoutSeconds >= 1) || c.rtspTimeoutSeconds > 600) {
    throw new ConfigError(
      `${at} rtspTimeout: must be between 1s and 10m, got ${c.rtspTimeoutSeconds}s`,
    );
  }
  if (!(c.keyframeSeconds > 0) || c.keyframeSeconds > c.segmentSeconds) {
    throw new ConfigError(
      `${at} keyframeInterval: must be > 0 and at most the segment time, got ${c.keyframeSeconds}s`,
    );
  }
  if (c.mode === 'copy' && c.source.kind === 'lavfi') {
    throw new ConfigError(
      `${at}: a lavfi source produces raw frames and cannot be recorded with mode copy; use mode encode`,
    );
  }
  if (c.mode === 'copy' && c.source.kind === 'v4l2' && c.inputFormat !== 'h264') {
    throw new ConfigError(
      `${at}: mode copy needs inputFormat h264 for a V4L2 camera (MJPEG/YUYV must be encoded)`,
    );
  }
  if (c.source.kind !== 'v4l2' && (c.inputFormat || c.size || c.frameRate)) {
    throw new ConfigError(
      `${at}: inputFormat, size and frameRate only apply to V4L2 (/dev/video*) cameras`,
    );
  }
}

export function checkThresholds(storage: StorageThresholds, where: string): StorageThresholds {
  const { warnPercent: warn, blockPercent: block } = storage;
  for (const [key, v] of [
    ['warnPercent', warn],
    ['blockPercent', block],
  ] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 100) {
      throw new ConfigError(
        `${where} ${key}: must be a percentage in (0, 100], got ${JSON.stringify(v)}`,
      );
    }
  }
  if (warn >= block) {
    throw new ConfigError(`${where}: warnPercent (${warn}) must be below blockPercent (${block})`);
  }
  return storage;
}

export interface FlagInput {
  root?: string | undefined;
  cameras: readonly string[];
  segmentTime?: string | undefined;
  warnPercent?: number | undefined;
  blockPercent?: number | undefined;
  stallTimeout?: string | undefined;
  output?: string | undefined;
  trashRoot?: string | undefined;
}

/**
 * Merges the parsed config file (may be undefined) with flags; flags win. The result has at least
 * one camera, unique names, existing devices and sane thresholds, or this throws.
 */
export function buildRecordConfig(
  file: { path: string; data: unknown } | undefined,
  flags: FlagInput,
  env: ConfigEnvironment,
): { config: RecordConfig; warnings: string[] } {
  const warnings: string[] = [];
  if (file && !isRecord(file.data))
    throw new ConfigError(`${file.path}: expected a mapping with a 'cameras' list at the top`);
  const data = file ? recordSettings(file.data as Record<string, unknown>) : {};
  const where = file ? file.path : 'command line';
  const { root, base } = resolveRoot(file?.path, flags.root, optString(data.root, `${where} root`));
  let segmentSeconds = seconds(data.segmentTime, `${where} segmentTime`, DEFAULT_SEGMENT_SECONDS);
  if (flags.segmentTime !== undefined)
    segmentSeconds = parseDuration(flags.segmentTime, '--segment-time');
  const cameras = collectCameras(data.cameras, flags.cameras, segmentSeconds, where);
  checkCameraSet(cameras, env, warnings);
  const storage = storageThresholds(data.storage, flags, where);
  const stallSeconds = stallTimeout(data.stallTimeout, flags.stallTimeout, where);
  warnings.push(...stallWarnings(cameras, stallSeconds));
  const outputText = flags.output ?? optString(data.output, `${where} output`);
  const trashText = flags.trashRoot ?? optString(data.trashRoot, `${where} trashRoot`);
  return {
    config: {
      root,
      outputRoot: outputText ? path.resolve(base, outputText) : path.join(root, OUTPUT_DIR_NAME),
      trashRoot: trashText ? path.resolve(base, trashText) : path.join(root, TRASH_DIR_NAME),
      cameras,
      storage,
      stallSeconds,
      intervals: parseIntervals(data.intervals, where),
    },
    warnings,
  };
}

/**
 * The recording root, and the folder other relative paths resolve against. Same default tree as
 * the archiver, so `record` and `archive` without arguments meet. Relative paths in a config file
 * are relative to the file, as users expect of service configs; a --root flag, to the cwd.
 */
function resolveRoot(
  filePath: string | undefined,
  flagRoot: string | undefined,
  fileRoot: string | undefined,
): { root: string; base: string } {
  const rootText = flagRoot ?? fileRoot ?? DEFAULT_RECORD_ROOT;
  const base = flagRoot
    ? process.cwd()
    : filePath
      ? path.dirname(path.resolve(filePath))
      : process.cwd();
  return { root: path.resolve(base, rootText), base };
}

/** The file's cameras, then the --camera flags; none at all is a usage error. */
function collectCameras(
  fileCameras: unknown,
  flagCameras: readonly string[],
  segmentSeconds: number,
  where: string,
): CameraConfig[] {
  const cameras: CameraConfig[] = [];
  if (fileCameras !== undefined) {
    if (!Array.isArray(fileCameras)) throw new ConfigError(`${where}: 'cameras' must be a list`);
    fileCameras.forEach((entry: unknown, i: number) => {
      if (!isRecord(entry))
        throw new ConfigError(`${where}: cameras[${i}] must be a mapping with name and source`);
      // A camera's own segmentTime wins over the general one (flag or file).
      cameras.push(toCameraConfig({ ...entry }, { segmentSeconds }, `${where}: cameras[${i}]`));
    });
  }
  for (const flag of flagCameras) {
    const { name, source } = parseCameraFlag(flag);
    const camera = toCameraConfig(
      { name, source: flag.slice(name.length + 1) },
      { segmentSeconds },
      `--camera ${name}`,
    );
    cameras.push({ ...camera, source });
  }
  if (cameras.length === 0) {
    throw new UsageError(
      'no cameras: add --camera NAME=SOURCE (e.g. --camera demo=lavfi:testsrc2) or a config file with cameras',
    );
  }
  return cameras;
}

/** Unique names, devices present, no device recorded twice (a shared URL is only a warning). */
function checkCameraSet(
  cameras: readonly CameraConfig[],
  env: ConfigEnvironment,
  warnings: string[],
): void {
  const seen = new Set<string>();
  for (const c of cameras) {
    if (seen.has(c.name))
      throw new ConfigError(
        `camera name '${c.name}' is used twice: each camera needs its own name`,
      );
    seen.add(c.name);
    if (c.source.kind === 'v4l2' && !env.deviceExists(c.source.input)) {
      // Not a config error (exit 2, never restarted by the unit): a USB camera can appear a
      // moment after boot, or come back after a replug. Exit 1, and systemd tries again.
      throw new EnvironmentError(
        `camera '${c.name}': device ${c.source.input} does not exist (run 'camera-archiver detect' to list cameras)`,
      );
    }
  }
  const sameDevice = new Map<string, string>();
  for (const c of cameras) {
    if (c.source.kind !== 'lavfi') {
      const other = sameDevice.get(c.source.input);
      // A V4L2 device can be opened once (EBUSY); an RTSP URL twice is legal but almost always a typo.
      if (other && c.source.kind === 'v4l2')
        throw new ConfigError(`cameras '${other}' and '${c.name}' both use ${c.source.input}`);
      if (other) warnings.push(`cameras '${other}' and '${c.name}' record the same URL`);
      sameDevice.set(c.source.input, c.name);
    }
  }
}

/** The file's `storage:` mapping under the flags; the message names where the values came from. */
function storageThresholds(
  fileStorage: unknown,
  flags: FlagInput,
  where: string,
): StorageThresholds {
  const rawStorage = isRecord(fileStorage) ? fileStorage : {};
  if (fileStorage !== undefined && !isRecord(fileStorage))
    throw new ConfigError(`${where} storage: expected a mapping`);
  for (const key of Object.keys(rawStorage)) {
    if (key !== 'warnPercent' && key !== 'blockPercent')
      throw new ConfigError(`${where} storage: unknown option '${key}'`);
  }
  return checkThresholds(
    {
      warnPercent:
        flags.warnPercent ??
        (rawStorage.warnPercent as number | undefined) ??
        DEFAULT_STORAGE.warnPercent,
      blockPercent:
        flags.blockPercent ??
        (rawStorage.blockPercent as number | undefined) ??
        DEFAULT_STORAGE.blockPercent,
    },
    flags.warnPercent !== undefined || flags.blockPercent !== undefined
      ? 'storage (flags)'
      : `${where} storage`,
  );
}

/** The watchdog's stall timeout (flag over file); below 5 s it would restart healthy cameras. */
function stallTimeout(fileValue: unknown, flagValue: string | undefined, where: string): number {
  let stallSeconds = seconds(fileValue, `${where} stallTimeout`, DEFAULT_STALL_SECONDS);
  if (flagValue !== undefined) stallSeconds = parseDuration(flagValue, '--stall-timeout');
  if (!(stallSeconds >= 5))
    throw new ConfigError(`stall timeout must be at least 5s, got ${stallSeconds}s`);
  return stallSeconds;
}

/** RTSP cameras whose own timeout is too close to the watchdog's for ffmpeg to report first. */
function stallWarnings(cameras: readonly CameraConfig[], stallSeconds: number): string[] {
  return cameras
    .filter((c) => c.source.kind === 'rtsp' && stallSeconds <= c.rtspTimeoutSeconds * 2)
    .map(
      (c) =>
        `camera '${c.name}': the stall timeout (${stallSeconds}s) is not above twice its RTSP timeout (${c.rtspTimeoutSeconds}s); the watchdog may restart it before ffmpeg reports the stall itself`,
    );
}

/** Parses config file text through the one parser every command uses (core/config-file.ts). */
export async function parseConfigText(text: string, file: string): Promise<unknown> {
  return Promise.resolve(parseConfigFileText(text, file));
}

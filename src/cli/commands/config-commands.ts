/**
 * What `config --print record` and `config --print stats` show beyond the flags: the values the
 * command computes from its settings (record's root, storage thresholds, stall timeout and cameras
 * from `buildRecordConfig`, the one function the recorder builds its configuration with; stats'
 * roots from `treeRootsOf`), each with where it came from, down to the key in the config file.
 */
import path from 'node:path';
import type { ConfigState, Provenance } from '../../core/config-file.js';
import {
  buildRecordConfig,
  DEFAULT_SEGMENT_SECONDS,
  recordSettings,
  type CameraConfig,
} from '../../record/config.js';
import { redact } from '../../core/redact.js';
import { durationText, type Row } from './config-effective.js';
import { ageDaysOf, treeRootsOf } from './flags.js';
import { toRecordOptions } from './record.js';

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const camel = (name: string): string =>
  name.replace(/[-_]+([a-z0-9])/gi, (_m, c: string) => c.toUpperCase());

/** The key `recordSettings` reads `name` from: in the `record:` section (it wins), else the top. */
function recordFileKey(data: Record<string, unknown>, name: string): string | undefined {
  const section = data.record;
  if (isMapping(section)) {
    const key = Object.keys(section).find((k) => camel(k) === name);
    if (key !== undefined) return `record.${key}`;
  }
  return Object.keys(data).find((k) => k !== 'record' && camel(k) === name);
}

/** record's options that the recorder reads from the file itself, by their name there. */
const STRUCTURED: Record<string, string> = {
  root: 'root',
  output: 'output',
  'trash-root': 'trashRoot',
  'segment-time': 'segmentTime',
  'stall-timeout': 'stallTimeout',
  'warn-percent': 'storage.warnPercent',
  'block-percent': 'storage.blockPercent',
};

const RECORD_UNSET: Record<string, string> = {
  ffmpeg: '(FFMPEG_PATH, PATH, bundled)',
  ffprobe: '(FFPROBE_PATH, PATH, bundled)',
};

function cameraValue(c: CameraConfig, text: boolean): unknown {
  const source = redact(c.source.kind === 'lavfi' ? `lavfi:${c.source.input}` : c.source.input);
  const details = {
    source,
    mode: c.mode,
    segmentTime: durationText(c.segmentSeconds),
    audio: c.audio,
    ...(c.mode === 'encode' ? { encoder: c.encoder, codec: c.codec } : {}),
    ...(c.source.kind === 'rtsp' ? { rtspTransport: c.rtspTransport } : {}),
  };
  if (!text) return details;
  const encode = c.mode === 'encode' ? `, ${c.codec} ${c.encoder}` : '';
  return `${source} (${c.mode}${encode}, ${details.segmentTime} segments, audio ${c.audio})`;
}

/**
 * record's rows with the values the recorder would use, from the same `buildRecordConfig` (flags
 * over the file's keys over defaults); `--camera` becomes one `camera.NAME` row per camera, the
 * file's first. Camera URLs print without their password. `text`: unset settings in words.
 */
export function recordRows<R extends Row>(
  rows: readonly R[],
  argv: Record<string, unknown>,
  state: Pick<ConfigState, 'file'>,
  text: boolean,
): Row[] {
  const options = toRecordOptions(argv);
  const file = state.file ? { path: state.file.path, data: state.file.data } : undefined;
  const data = file ? recordSettings(file.data) : {};
  const fileCameras = Array.isArray(data.cameras) ? data.cameras.length : 0;
  // Without a camera the recorder refuses to start; the other settings are still worth showing.
  const noCamera = fileCameras === 0 && options.cameras.length === 0;
  const { config } = buildRecordConfig(
    file,
    noCamera ? { ...options, cameras: ['none=lavfi:nullsrc'] } : options,
    // Whether a device is plugged in is the host's state, not a setting: not checked here.
    { deviceExists: () => true },
  );
  const fromFile = (name: string): Provenance | undefined => {
    if (!file) return undefined;
    const [head = name, sub] = name.split('.');
    const key = recordFileKey(file.data, head);
    if (key === undefined) return undefined;
    if (sub !== undefined && !(isMapping(data[head]) && sub in data[head])) return undefined;
    return { source: 'config file', from: file.path, fileKey: sub ? `${key}.${sub}` : key };
  };
  const segmentText = (): string => {
    const given = argv['segment-time'] ?? data.segmentTime;
    if (typeof given === 'string') return given;
    return durationText(typeof given === 'number' ? given : DEFAULT_SEGMENT_SECONDS);
  };
  const effective: Record<string, unknown> = {
    root: config.root,
    output: config.outputRoot,
    'trash-root': config.trashRoot,
    'segment-time': segmentText(),
    'stall-timeout': durationText(config.stallSeconds),
    'warn-percent': config.storage.warnPercent,
    'block-percent': config.storage.blockPercent,
    'log-file': options.logFile ?? path.join(config.root, 'recorder.log'),
  };
  const out: Row[] = [];
  for (const row of rows) {
    if (row.key === 'camera') {
      if (noCamera)
        out.push({ ...row, value: text ? '(none: record stops with "no cameras")' : [] });
      const camerasKey = file ? recordFileKey(file.data, 'cameras') : undefined;
      config.cameras.forEach((c, i) => {
        const where: Provenance =
          i < fileCameras && file
            ? {
                source: 'config file',
                from: file.path,
                fileKey: `${camerasKey ?? 'cameras'}[${i}]`,
              }
            : {
                source: row.source,
                ...(row.from ? { from: row.from } : {}),
                ...(row.fileKey ? { fileKey: row.fileKey } : {}),
              };
        if (!noCamera) out.push({ key: `camera.${c.name}`, value: cameraValue(c, text), ...where });
      });
      continue;
    }
    const structured = STRUCTURED[row.key];
    const where = (row.source === 'default' && structured && fromFile(structured)) || undefined;
    const value =
      row.key in effective
        ? effective[row.key]
        : (row.value ?? (text ? RECORD_UNSET[row.key] : undefined));
    out.push({ ...row, ...where, value });
  }
  return out;
}

/** stats' rows with its roots filled in as the stats run resolves them (and checks its age). */
export function statsRows<R extends Row>(rows: readonly R[], argv: Record<string, unknown>): Row[] {
  ageDaysOf(argv); // the same validation as a run: a bad age is exit 2 here too
  const { root, output, trash } = treeRootsOf(argv);
  const effective: Record<string, unknown> = { directory: root, output, 'trash-root': trash };
  return rows.map((row) => ({ ...row, value: effective[row.key] ?? row.value }));
}

/**
 * Prometheus textfile-collector output (`--metrics-file /var/lib/prometheus/node-exporter/x.prom`).
 * node_exporter reads every `*.prom` file in its directory on each scrape, so the file is written
 * to a temporary name and renamed: a scrape never sees half a file. Rendering and parsing are
 * pure; only writeMetricsFile touches the disk.
 *
 * Every series carries `root="<input root>"`: two archive trees with two metrics files in the same
 * directory would otherwise collide, and node_exporter rejects duplicate series.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';

export const METRIC_PREFIX = 'camera_archiver';

export interface RunMetrics {
  root: string;
  /** When the run finished. */
  finishedAt: Date;
  durationSeconds: number;
  /** The process exit code this run ends with (0 ok, 1 failed, 2 usage, 129/130/143 signals). */
  exitCode: number;
  /** Files seen by discovery (clips in valid day folders). */
  clipsSeen: number;
  archived: number;
  alreadyArchived: number;
  skipped: number;
  failed: number;
  /** Clips left for the next run (stop-by time or signal). */
  notDone: number;
  bytesIn: number;
  bytesOut: number;
  /** 1 when --until stopped new work. */
  stoppedByUntil: boolean;
  /**
   * Unix seconds of the last successful run. A failed run keeps the previous value (read back
   * from the old file) so that `time() - last_success > 2d` alerts keep working.
   */
  lastSuccess: number | undefined;
}

interface Family {
  name: string;
  help: string;
  samples: { labels?: Record<string, string>; value: number }[];
}

/** Label values escape backslash, double quote and newline (the exposition format's rule). */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** The families every run writes, archive and cleanup alike: when it finished, how long, its exit code. */
function runFamilies(
  m: { finishedAt: Date; durationSeconds: number; exitCode: number },
  what: string,
  exitHelp: string,
): Family[] {
  return [
    {
      name: 'last_run_timestamp_seconds',
      help: `Unix time the last ${what} finished.`,
      samples: [{ value: Math.round(m.finishedAt.getTime() / 1000) }],
    },
    {
      name: 'last_run_duration_seconds',
      help: `Wall-clock duration of the last ${what}.`,
      samples: [{ value: Math.round(m.durationSeconds * 1000) / 1000 }],
    },
    {
      name: 'last_run_exit_code',
      help: exitHelp,
      samples: [{ value: m.exitCode }],
    },
  ];
}

/** A family of one sample. */
function gauge(name: string, help: string, value: number): Family {
  return { name, help, samples: [{ value }] };
}

/** A family with one sample per value of `label` (`result="archived"`, `result="failed"` …). */
function byLabel(
  name: string,
  help: string,
  label: string,
  values: Record<string, number>,
): Family {
  return {
    name,
    help,
    samples: Object.entries(values).map(([key, value]) => ({ labels: { [label]: key }, value })),
  };
}

/** The last success time, when there is one (this run's, or carried over from the last file). */
function lastSuccessFamily(lastSuccess: number | undefined, what: string): Family[] {
  return lastSuccess === undefined
    ? []
    : [
        gauge(
          'last_success_timestamp_seconds',
          `Unix time the last successful ${what} finished.`,
          lastSuccess,
        ),
      ];
}

export function renderMetrics(m: RunMetrics): string {
  const families: Family[] = [
    ...runFamilies(
      m,
      'run',
      'Exit code of the last run: 0 ok, 1 some work failed, 2 usage or configuration, 129/130/143 signal.',
    ),
    gauge(
      'last_run_success',
      '1 if the last run ended with exit code 0.',
      m.exitCode === 0 ? 1 : 0,
    ),
    gauge(
      'last_run_stopped_by_until',
      '1 if the last run stopped starting new clips at its --until time.',
      m.stoppedByUntil ? 1 : 0,
    ),
    gauge('last_run_clips_seen', 'Clips found in valid day folders by the last run.', m.clipsSeen),
    byLabel('last_run_clips', 'Clips handled by the last run, by result.', 'result', {
      archived: m.archived,
      already_archived: m.alreadyArchived,
      skipped: m.skipped,
      failed: m.failed,
      not_done: m.notDone,
    }),
    byLabel(
      'last_run_bytes',
      'Bytes of the clips archived by the last run (in) and of their archives (out).',
      'direction',
      { in: m.bytesIn, out: m.bytesOut },
    ),
    ...lastSuccessFamily(m.lastSuccess, 'run (exit code 0)'),
  ];
  return renderFamilies(families, m.root, METRIC_PREFIX);
}

function renderFamilies(families: Family[], root: string, prefix: string): string {
  const lines: string[] = [];
  for (const f of families) {
    const name = `${prefix}_${f.name}`;
    lines.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} gauge`);
    for (const s of f.samples) {
      const labels = { root, ...s.labels };
      const text = Object.entries(labels)
        .map(([k, v]) => `${k}="${escapeLabelValue(v)}"`)
        .join(',');
      lines.push(`${name}{${text}} ${formatValue(s.value)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ParsedMetrics {
  samples: MetricSample[];
  types: Map<string, string>;
  help: Map<string, string>;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+(-?\d+))?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;

/**
 * A strict reader of the text exposition format (the subset node_exporter's textfile collector
 * accepts): used to carry the last success time over a failed run, and by the tests to prove the
 * file is valid. Throws with the line number on anything malformed.
 */
export function parseMetricsText(text: string): ParsedMetrics {
  const result: ParsedMetrics = { samples: [], types: new Map(), help: new Map() };
  const seen = new Set<string>();
  const lines = text.split('\n');
  if (text !== '' && !text.endsWith('\n')) throw new Error('metrics text must end with a newline');
  lines.forEach((line, i) => {
    const where = `line ${i + 1}`;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
      if (!meta) return; // other comments are allowed
      const [, kind, name = '', rest = ''] = meta;
      if (kind === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) {
          throw new Error(`${where}: unknown metric type '${rest}'`);
        }
        if (result.types.has(name)) throw new Error(`${where}: second TYPE line for ${name}`);
        if (result.samples.some((s) => s.name === name))
          throw new Error(`${where}: TYPE for ${name} after its samples`);
        result.types.set(name, rest);
      } else result.help.set(name, rest);
      return;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`${where}: not a metric sample: ${line}`);
    const [, name = '', labelText = '', valueText = ''] = m;
    const labels: Record<string, string> = {};
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < labelText.length) {
      const start = LABEL.lastIndex;
      const l = LABEL.exec(labelText);
      if (!l || LABEL.lastIndex === start)
        throw new Error(`${where}: malformed labels {${labelText}}`);
      const [, key = '', raw = ''] = l;
      labels[key] = raw.replace(/\\(.)/g, (_all, c: string) => (c === 'n' ? '\n' : c));
    }
    const value =
      valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText);
    if (valueText !== 'NaN' && Number.isNaN(value))
      throw new Error(`${where}: bad value '${valueText}'`);
    const id = `${name}{${Object.entries(labels)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(',')}}`;
    if (seen.has(id)) throw new Error(`${where}: duplicate series ${id}`);
    seen.add(id);
    result.samples.push({ name, labels, value });
  });
  return result;
}

/** The last success time recorded in an earlier file, if it is there and readable. */
export function previousLastSuccess(
  text: string | undefined,
  root: string,
  prefix = METRIC_PREFIX,
): number | undefined {
  if (!text) return undefined;
  try {
    const sample = parseMetricsText(text).samples.find(
      (s) => s.name === `${prefix}_last_success_timestamp_seconds` && s.labels.root === root,
    );
    return sample && Number.isFinite(sample.value) ? sample.value : undefined;
  } catch {
    // A damaged old file must not stop this run's metrics from being written.
    return undefined;
  }
}

/**
 * The last-success time a run's file records: this run's end when it succeeded, else the one the
 * previous file recorded for the root (so `time() - last_success > 2d` alerts keep working).
 */
async function lastSuccessFor(
  file: string,
  m: { exitCode: number; finishedAt: Date; root: string },
  prefix: string,
): Promise<number | undefined> {
  if (m.exitCode === 0) return Math.round(m.finishedAt.getTime() / 1000);
  const previous = await fsp.readFile(file, 'utf8').catch(() => undefined);
  return previousLastSuccess(previous, m.root, prefix);
}

/** Writes the metrics for a finished run (atomically). */
export async function writeMetricsFile(
  file: string,
  metrics: Omit<RunMetrics, 'lastSuccess'>,
): Promise<void> {
  const lastSuccess = await lastSuccessFor(file, metrics, METRIC_PREFIX);
  await writeAtomically(file, renderMetrics({ ...metrics, lastSuccess }));
}

async function writeAtomically(file: string, text: string): Promise<void> {
  // Same directory, so rename is atomic; a name not ending in .prom, so node_exporter skips it.
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    const handle = await fsp.open(temp, 'w', 0o644);
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsp.rename(temp, file);
  } catch (error) {
    await fsp.rm(temp, { force: true });
    throw error;
  }
}

/** What a finished `--cleanup` run reports (`camera_archiver_cleanup_*`). */
export interface CleanupMetrics {
  root: string;
  finishedAt: Date;
  durationSeconds: number;
  exitCode: number;
  removed: number;
  skipped: number;
  failed: number;
  freedBytes: number;
  /** Sources + archives + trash after the run, each byte once. */
  managedBytes: number;
  /** 1 when a limit could not be met without touching protected footage. */
  shortfall: boolean;
  /** 1 when the cleanup was refused (tree check, --max-delete, foreign files in the trash). */
  refused: boolean;
}

const CLEANUP_PREFIX = `${METRIC_PREFIX}_cleanup`;

export function renderCleanupMetrics(
  m: CleanupMetrics & { lastSuccess?: number | undefined },
): string {
  const families: Family[] = [
    ...runFamilies(m, 'cleanup', 'Exit code of the last cleanup.'),
    byLabel('last_run_removals', 'Removals of the last cleanup, by result.', 'result', {
      done: m.removed,
      skipped: m.skipped,
      failed: m.failed,
    }),
    gauge('last_run_freed_bytes', 'Bytes the last cleanup freed on disk.', m.freedBytes),
    gauge(
      'managed_bytes',
      'Sources, archives and trash after the last cleanup, each byte once.',
      m.managedBytes,
    ),
    gauge(
      'last_run_shortfall',
      '1 if a limit could not be met without removing protected footage.',
      m.shortfall ? 1 : 0,
    ),
    gauge(
      'last_run_refused',
      '1 if the last cleanup was refused and removed nothing.',
      m.refused ? 1 : 0,
    ),
    ...lastSuccessFamily(m.lastSuccess, 'cleanup'),
  ];
  return renderFamilies(families, m.root, CLEANUP_PREFIX);
}

/**
 * The cleanup's own file beside the archive run's (`x.prom` → `x-cleanup.prom`): both runs share
 * one --metrics-file setting, and each rewrites its whole file.
 */
export function cleanupMetricsPath(file: string): string {
  const ext = path.extname(file);
  return `${file.slice(0, file.length - ext.length)}-cleanup${ext || '.prom'}`;
}

export async function writeCleanupMetricsFile(file: string, m: CleanupMetrics): Promise<void> {
  const lastSuccess = await lastSuccessFor(file, m, CLEANUP_PREFIX);
  await writeAtomically(file, renderCleanupMetrics({ ...m, lastSuccess }));
}

/**
 * Renders plans and reports for people (text) and machines (JSON). Pure, strings in and strings
 * out, except the JSON writer at the end, which hands its pieces to a sink as it goes.
 */
import path from 'node:path';
import { encoderName, formatCommand, type EncodingProfile } from '../media/encoders.js';
import { transcodeInvocation } from '../media/io-priority.js';
import { displayPath } from '../core/display-path.js';
import type { ExecutionReport } from './executor.js';
import type { DayCounts, PlanAction, PlanCounts, PlannedClip } from './planner.js';
import type { Disposal } from '../tree/file-manager.js';
import type { FfmpegCaps } from '../media/toolchain.js';
import { formatBytes } from '../core/units.js';

export interface RenderContext {
  root: string;
  ffmpeg?: string | undefined;
  caps?: FfmpegCaps | undefined;
  profile?: EncodingProfile | undefined;
  /** The run's ionice (media/io-priority.ts): the printed command is the one that runs. */
  ionice?: string | undefined;
  /** ffmpeg's CPU niceness, set on its PID (not part of the command line). */
  niceness?: number | undefined;
}

function renderDisposal(d: Disposal, rel: (p: string) => string): string {
  if (d.mode === 'delete') return `then delete ${d.files.map((f) => rel(f)).join(', ')}`;
  return `then trash ${d.moves.map((m) => `${rel(m.from)} → ${rel(m.to)}`).join(', ')} (a taken name gets .1, .2, …)`;
}

export function transcodeCommand(
  action: { clip: { path: string }; partialPath: string },
  ctx: RenderContext,
): string[] | undefined {
  if (!ctx.profile || !ctx.caps || !ctx.ffmpeg) return undefined;
  const run = transcodeInvocation({
    ionice: ctx.ionice,
    ffmpeg: ctx.ffmpeg,
    profile: ctx.profile,
    input: action.clip.path,
    output: action.partialPath,
    caps: ctx.caps,
  });
  return [run.ffmpeg, ...run.args];
}

export function renderAction(action: PlanAction, ctx: RenderContext): string[] {
  const rel = (p: string): string => displayPath(ctx.root, p);
  switch (action.kind) {
    case 'transcode': {
      const cmd = transcodeCommand(action, ctx);
      return [
        `transcode ${rel(action.clip.path)} → ${rel(action.archivePath)}`,
        `    why: ${action.reason}`,
        ...(cmd
          ? [
              `    run${ctx.niceness ? ` (nice ${ctx.niceness})` : ''}: ${formatCommand(cmd[0] ?? 'ffmpeg', cmd.slice(1))}`,
            ]
          : []),
        `    then verify ${rel(action.partialPath)} and rename it to ${path.basename(action.archivePath)}`,
        `    ${renderDisposal(action.disposal, rel)}`,
      ];
    }
    case 'dispose-archived':
      return [
        `verify ${rel(action.archivePath)} against ${rel(action.clip.path)}`,
        `    why: ${action.reason}`,
        `    ${renderDisposal(action.disposal, rel)}`,
      ];
    case 'keep':
      return [`keep ${rel(action.path)}: ${action.reason}`];
    case 'remove-partial':
      return [`remove ${rel(action.path)}: ${action.reason}`];
    case 'prune-folder':
      return [`remove folder ${rel(action.path)}: ${action.reason}`];
  }
}

export function renderCounts(counts: PlanCounts): string {
  const parts = [
    `${counts.clips} clip(s) in ${counts.days} day folder(s)`,
    `${counts.transcode} to transcode`,
    `${counts.disposeArchived} already archived`,
    `${counts.keep} kept`,
  ];
  if (counts.removePartial) parts.push(`${counts.removePartial} stale partial file(s) to remove`);
  if (counts.pruneFolder) parts.push(`${counts.pruneFolder} folder(s) to prune`);
  if (counts.ignored) parts.push(`${counts.ignored} file(s) ignored`);
  return parts.join(', ');
}

/**
 * Actions a default dry run lists in full; past them it shows each further day folder as one
 * line (renderDaySummary), so a huge tree's plan stays readable. `-v` lists every action and
 * `--json` always holds them all.
 */
export const TEXT_PLAN_LIMIT = 500;

/** One day folder of a summarised dry run: what its plan does, in counts. */
export function renderDaySummary(relDir: string, counts: DayCounts): string {
  const parts: string[] = [];
  if (counts.transcode) parts.push(`${counts.transcode} to transcode`);
  if (counts.disposeArchived) parts.push(`${counts.disposeArchived} already archived`);
  if (counts.removePartial) parts.push(`${counts.removePartial} stale partial file(s) to remove`);
  if (counts.keep) parts.push(`${counts.keep} kept`);
  return `${relDir}: ${parts.length ? parts.join(', ') : 'nothing to do'}`;
}

export function encoderLine(profile: EncodingProfile | undefined): string {
  if (!profile) return 'no encoder needed';
  return `${encoderName(profile.encoder, profile.codec)} (quality ${profile.quality}${profile.maxHeight ? `, max height ${profile.maxHeight}` : ''}, audio ${profile.audio})`;
}

/**
 * JSON form of an action: paths absolute, dates ISO, transcodes carry their exact command. Fields
 * are named one by one: clip actions derive them on read (planner.ts), so a spread would miss them.
 */
export function actionToJson(action: PlanAction, ctx: RenderContext): Record<string, unknown> {
  switch (action.kind) {
    case 'transcode':
      return {
        kind: action.kind,
        clip: clipToJson(action.clip),
        archivePath: action.archivePath,
        partialPath: action.partialPath,
        replacesExisting: action.replacesExisting,
        disposal: action.disposal,
        reason: action.reason,
        command: transcodeCommand(action, ctx),
      };
    case 'dispose-archived':
      return {
        kind: action.kind,
        clip: clipToJson(action.clip),
        archivePath: action.archivePath,
        legacy: action.legacy,
        ownArchivePath: action.ownArchivePath,
        disposal: action.disposal,
        reason: action.reason,
      };
    case 'keep':
    case 'remove-partial':
    case 'prune-folder':
      return { kind: action.kind, path: action.path, reason: action.reason };
  }
}

function clipToJson(clip: PlannedClip): Record<string, unknown> {
  return { ...clip, recordedAt: clip.recordedAt.toISOString() };
}

export interface ReportTotals {
  archived: number;
  alreadyArchived: number;
  skipped: number;
  failed: number;
  bytesIn: number;
  bytesOut: number;
}

export function totalsOf(report: ExecutionReport): ReportTotals {
  const t: ReportTotals = {
    archived: 0,
    alreadyArchived: 0,
    skipped: 0,
    failed: 0,
    bytesIn: 0,
    bytesOut: 0,
  };
  for (const o of report.outcomes) {
    if (o.status === 'archived') {
      t.archived++;
      t.bytesIn += o.bytesIn;
      t.bytesOut += o.bytesOut;
    } else if (o.status === 'already-archived') t.alreadyArchived++;
    else if (o.status === 'skipped') t.skipped++;
    else t.failed++;
  }
  return t;
}

export function renderReport(report: ExecutionReport, seconds: number, root: string): string[] {
  const t = totalsOf(report);
  const saved =
    t.bytesIn > 0
      ? ` (${formatBytes(t.bytesIn)} → ${formatBytes(t.bytesOut)}, ${savedPhrase(t.bytesIn, t.bytesOut)})`
      : '';
  const lines = [
    `${report.interrupted ? 'Interrupted' : 'Done'} in ${seconds.toFixed(1)}s: ${t.archived} archived${saved}, ${t.alreadyArchived} already archived, ${t.skipped} skipped, ${t.failed} failed` +
      (report.prunedFolders.length
        ? `, ${report.prunedFolders.length} empty folder(s) removed`
        : ''),
  ];
  for (const o of report.outcomes)
    if (o.status === 'failed') lines.push(`  FAILED ${displayPath(root, o.clip)}: ${o.reason}`);
  const copies = report.outcomes.filter((o) => o.status === 'archived' && o.streamCopy).length;
  if (copies)
    lines.push(
      `  ${copies} clip(s) kept their own video: re-encoding made them larger than --max-archive-ratio allows`,
    );
  if (report.notStarted.length)
    lines.push(`  not done (kept in place): ${report.notStarted.length} clip(s)`);
  return lines;
}

function savedPhrase(bytesIn: number, bytesOut: number): string {
  const saved = Math.round((1 - bytesOut / bytesIn) * 100);
  return saved >= 0 ? `${saved}% saved` : `${-saved}% larger`;
}

// ---------------------------------------------------------------------------------------------
// JSON as a stream: a plan of a million actions is never one string (V8 caps strings at ~1 GB,
// "Invalid string length"), and never wholly in memory.

/** Writes text; a promise when the reader is behind and the writer should wait for it. */
export type TextSink = (text: string) => Promise<void> | undefined;

/**
 * A sink on a stream that honours backpressure: when the stream's buffer is full it waits for
 * 'drain', or for the end of the stream (a reader that left takes nothing more, and must not
 * leave the writer waiting for ever).
 */
export function streamSink(stream: NodeJS.WritableStream): TextSink {
  return (text) => {
    if (stream.write(text) !== false) return undefined;
    if ((stream as { destroyed?: boolean }).destroyed === true) return undefined;
    return new Promise<void>((resolve) => {
      const done = (): void => {
        stream.off('drain', done);
        stream.off('close', done);
        stream.off('error', done);
        resolve();
      };
      stream.on('drain', done);
      stream.on('close', done);
      stream.on('error', done);
    });
  };
}

/** One JSON object written field by field, byte for byte as `JSON.stringify(object, null, 2)`. */
export interface JsonObjectWriter {
  /** A field with its whole value (undefined values are left out, as JSON.stringify does). */
  field(key: string, value: unknown): Promise<void>;
  /** Opens the array field `key`; `item` then appends to it. */
  array(key: string): Promise<void>;
  item(value: unknown): Promise<void>;
  /** Closes an open array and the object, and ends the line. */
  end(): Promise<void>;
}

const indented = (json: string, pad: string): string => json.replace(/\n/g, `\n${pad}`);

export function jsonObjectWriter(sink: TextSink): JsonObjectWriter {
  let fields = 0;
  let items: number | undefined; // items of the open array; undefined when none is open
  const write = async (text: string): Promise<void> => {
    const waiting = sink(text);
    if (waiting) await waiting;
  };
  const closeArray = async (): Promise<void> => {
    if (items === undefined) return;
    await write(items === 0 ? ']' : '\n  ]');
    items = undefined;
  };
  const key = async (name: string): Promise<void> => {
    await closeArray();
    await write(`${fields++ === 0 ? '{\n' : ',\n'}  ${JSON.stringify(name)}: `);
  };
  return {
    async field(name, value) {
      const json = JSON.stringify(value, null, 2) as string | undefined;
      if (json === undefined) return;
      await key(name);
      await write(indented(json, '  '));
    },
    async array(name) {
      await key(name);
      await write('[');
      items = 0;
    },
    async item(value) {
      if (items === undefined) throw new Error('jsonObjectWriter: item() outside an array');
      const json = (JSON.stringify(value, null, 2) as string | undefined) ?? 'null';
      await write(`${items++ === 0 ? '' : ','}\n    ${indented(json, '    ')}`);
    },
    async end() {
      await closeArray();
      await write(fields === 0 ? '{}\n' : '\n}\n');
    },
  };
}

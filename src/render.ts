/** Renders plans and reports for people (text) and machines (JSON). Pure: strings in, strings out. */
import path from 'node:path';
import { encoderName, formatCommand, type EncodingProfile } from './encoders.js';
import { transcodeInvocation } from './io-priority.js';
import { displayPath } from './display-path.js';
import type { ExecutionReport } from './executor.js';
import type { Disposal, PlanAction, PlanCounts, PlannedClip } from './planner.js';
import type { FfmpegCaps } from './toolchain.js';
import { formatBytes } from './units.js';

export interface RenderContext {
  root: string;
  ffmpeg?: string | undefined;
  caps?: FfmpegCaps | undefined;
  profile?: EncodingProfile | undefined;
  /** The run's ionice (io-priority.ts): the printed command is the one that runs. */
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
  if (report.notStarted.length)
    lines.push(`  not done (kept in place): ${report.notStarted.length} clip(s)`);
  return lines;
}

function savedPhrase(bytesIn: number, bytesOut: number): string {
  const saved = Math.round((1 - bytesOut / bytesIn) * 100);
  return saved >= 0 ? `${saved}% saved` : `${-saved}% larger`;
}

/** Renders retention plans and reports for people (text) and machines (JSON). Pure. */
import path from 'node:path';
import { displayPath } from '../core/display-path.js';
import type { RemovalOutcome, RetentionReport } from './execute.js';
import {
  addRemoval,
  normalisedFrom,
  removalPart,
  type Breakdown,
  type DayRemovals,
  type FileFacts,
  type RemovalAction,
  type RetentionAction,
  type RemovalsByDay,
  type RetentionPlan,
} from './plan.js';
import { TEXT_PLAN_LIMIT, type TextSink } from '../archive/render.js';
import { formatBytes } from '../core/units.js';

function filesText(a: RemovalAction, rel: (p: string) => string): string {
  const first = a.files[0];
  if (!first) return '';
  let text = rel(first.path);
  for (let i = 1; i < a.files.length; i++) {
    const f = a.files[i] as FileFacts;
    text += ` + ${path.extname(f.path) || path.basename(f.path)}`;
  }
  return text;
}

const VERB: Record<RemovalAction['kind'], string> = {
  'purge-trash': 'purge ',
  trash: 'trash ',
  delete: 'delete',
};

/**
 * displayPath for a plan's paths: a path the inventory made under the root is `<root>/<rest>`,
 * already normalised, so its relative form is the rest (path.relative, made for every file of a
 * big plan, cost more than the rest of the line).
 */
function relativeTo(root: string, file: string): string {
  return file.length > root.length + 1 &&
    file.charCodeAt(root.length) === 47 &&
    file.startsWith(root) &&
    !root.endsWith('/') &&
    normalisedFrom(file, root.length)
    ? file.slice(root.length + 1)
    : displayPath(root, file);
}

export function renderRetentionAction(a: RetentionAction, root: string): string[] {
  const rel = (p: string): string => relativeTo(root, p);
  if (a.kind === 'prune-folder') return [`remove folder ${rel(a.path)}: ${a.reason}`];
  const where =
    a.kind === 'trash' && a.moves[0]
      ? ` → ${rel(a.moves[0].to.slice(0, Math.max(1, a.moves[0].to.lastIndexOf('/'))))}/ (recoverable; frees nothing until the trash is purged)`
      : ' (PERMANENT)';
  return [
    `${VERB[a.kind]} ${filesText(a, rel)}  ${formatBytes(a.bytes)}${where}`,
    `    why [${a.rule}]: ${a.reason}`,
    ...(a.stale ? [`    left alone: ${a.stale}`] : []),
  ];
}

const UNIT_NOUN: Record<RemovalAction['unit'], string> = {
  clip: 'clip(s)',
  'orphan-thumbnail': 'thumbnail(s)',
  archive: 'archive(s)',
  trash: 'trashed item(s)',
};

const SUMMARY_VERB: Record<RemovalAction['kind'], string> = {
  'purge-trash': 'to purge',
  trash: 'to the trash',
  delete: 'to delete',
};

/** The RemovalsByDay key of a removal: its stream, and the date of the folder its files are in. */
function dayKeyOf(a: RemovalAction): string {
  const dir = path.dirname(a.files[0]?.path ?? '');
  return `${a.kind === 'purge-trash' ? 0 : 1} ${dir.split('/').slice(-3).join('-')}`;
}

/**
 * One line for a day of a summarised plan: `2024/06/26: 1440 clip(s) to the trash (70.4 GiB)`;
 * `listed` (the part of the day already shown in full) is left out.
 */
export function renderDayRemovals(
  key: string,
  removals: DayRemovals,
  listed?: DayRemovals,
): string | undefined {
  const parts: string[] = [];
  for (const [part, r] of removals) {
    const count = r.count - (listed?.get(part)?.count ?? 0);
    const bytes = r.bytes - (listed?.get(part)?.bytes ?? 0);
    if (count === 0) continue;
    const [kind, unit] = part.split(' ') as [RemovalAction['kind'], RemovalAction['unit']];
    const permanent = kind === 'trash' ? '' : ', PERMANENT';
    parts.push(
      `${count} ${UNIT_NOUN[unit]} ${SUMMARY_VERB[kind]} (${formatBytes(bytes)}${permanent})`,
    );
  }
  const date = key.slice(key.indexOf(' ') + 1).replaceAll('-', '/');
  if (parts.length === 0) return undefined;
  return `${date}${listed ? ', the rest' : ''}: ${parts.join(', ')}`;
}

/**
 * The text form of a cleanup plan. A default plan (no -v) lists the first TEXT_PLAN_LIMIT actions
 * of the replay; then it stops the replay and shows the rest of that day, and each further day, as
 * one line from the plan's RemovalsByDay, as the archive's dry run does: a year of footage is
 * hundreds of thousands of removals, which nobody reads, and re-reading the tree to print them
 * cost more than planning. `--json` always holds every action.
 */
export class RetentionPlanText {
  private listed = 0;
  private lastListedKey = '';
  /** What the listed actions of the last listed day do, to leave out of that day's line. */
  private listedOfDay: DayRemovals = new Map();
  private stoppedAt: string | undefined;

  constructor(
    private readonly root: string,
    /** -v: every action in full. */
    private readonly full: boolean,
  ) {}

  /** Lines for the next action of the replay; undefined: the listing ends here (see rest). */
  add(a: RetentionAction): string[] | undefined {
    if (a.kind === 'prune-folder') return renderRetentionAction(a, this.root);
    const key = dayKeyOf(a);
    if (!this.full && this.listed >= TEXT_PLAN_LIMIT) {
      this.stoppedAt = key;
      return undefined;
    }
    if (key !== this.lastListedKey) {
      this.lastListedKey = key;
      this.listedOfDay = new Map();
    }
    addRemoval(this.listedOfDay, removalPart(a), 1, a.bytes);
    this.listed++;
    return renderRetentionAction(a, this.root);
  }

  /** After add said stop: each day from there as one line, the folders counted, and a note. */
  rest(byDay: RemovalsByDay, prunes: number): string[] {
    if (this.stoppedAt === undefined) return [];
    const lines: string[] = [];
    let days = 0;
    for (const [key, removals] of byDay.days(this.stoppedAt)) {
      // Stopped within a day: its line is what was not listed.
      const listed = key === this.lastListedKey ? this.listedOfDay : undefined;
      const line = renderDayRemovals(key, removals, listed);
      if (line === undefined) continue;
      lines.push(line);
      days++;
    }
    if (prunes > 0) lines.push(`remove ${prunes} empty folder(s) (-v lists them)`);
    lines.push(
      `(the first ${this.listed} actions in full, then ${days} day(s) one line each: -v lists every action)`,
    );
    return lines;
  }
}

export function renderBreakdown(b: Breakdown): string {
  return `${formatBytes(b.total)} (sources ${formatBytes(b.source)}, archives ${formatBytes(b.archive)}, trash ${formatBytes(b.trash)})`;
}

export interface Limits {
  maxSizeBytes?: number | undefined;
  minFreeText?: string | undefined;
}

export function renderTotals(plan: RetentionPlan, limits: Limits): string[] {
  const c = plan.counts;
  const lines = [
    `Managed footage before: ${renderBreakdown(plan.before)}`,
    `Managed footage after:  ${renderBreakdown(plan.after)}${limits.maxSizeBytes !== undefined ? ` — limit --max-size ${formatBytes(limits.maxSizeBytes)}` : ''}`,
  ];
  if (plan.freeBefore !== undefined && plan.freeAfter !== undefined)
    lines.push(
      `Free space on the footage disk: ${formatBytes(plan.freeBefore)} → ${formatBytes(plan.freeAfter)}${limits.minFreeText ? ` — target --min-free ${limits.minFreeText}` : ''}`,
    );
  lines.push(
    `Removals: ${c.permanent} permanent (${formatBytes(c.permanentBytes)}), ${c.movedToTrash} to the trash (${formatBytes(c.movedBytes)}), ${c.prunes} empty folder(s); ${c.protected} item(s) protected (newest footage, or still uploading)`,
  );
  if (c.capRemovals > 0)
    lines.push(
      'Removals made to meet --max-size/--min-free are PERMANENT: moving files into a trash on the same disk frees nothing.',
    );
  return lines;
}

export function retentionActionToJson(a: RetentionAction): Record<string, unknown> {
  if (a.kind === 'prune-folder') return { ...a };
  return {
    kind: a.kind,
    rule: a.rule,
    permanent: a.permanent,
    root: a.root,
    unit: a.unit,
    camera: a.camera,
    recordedAt: a.recordedAt.toISOString(),
    paths: a.files.map((f) => f.path),
    bytes: a.bytes,
    freedBytes: a.freedBytes,
    reason: a.reason,
    ...(a.stale ? { stale: a.stale } : {}),
    ...(a.kind === 'trash' ? { moves: a.moves } : {}),
  };
}

/** The plan's summary fields, in the order `--json` prints them (the actions follow). */
export function planSummaryJson(plan: RetentionPlan): Record<string, unknown> {
  return {
    before: plan.before,
    after: plan.after,
    freeBefore: plan.freeBefore ?? null,
    freeAfter: plan.freeAfter ?? null,
    needs: plan.needs,
    shortfall: plan.shortfall,
    refusal: plan.refusal ?? null,
    counts: plan.counts,
  };
}

/**
 * Writes `{ ...head, actions: [...], ...tail }` as indented JSON, one action at a time, waiting for
 * the reader when it falls behind: a million actions never become one string.
 */
export async function writeJsonWithActions(
  write: TextSink,
  head: Record<string, unknown>,
  actions: AsyncIterable<RetentionAction> | Iterable<RetentionAction>,
  tail: Record<string, unknown> = {},
): Promise<void> {
  const field = (k: string, v: unknown): string =>
    `  ${JSON.stringify(k)}: ${JSON.stringify(v, null, 2).replace(/\n/g, '\n  ')}`;
  const headText = Object.entries(head).map(([k, v]) => field(k, v));
  await write(`{\n${[...headText, '  "actions": ['].join(',\n')}`);
  let first = true;
  let buffered = '';
  for await (const a of actions) {
    buffered += `${first ? '\n' : ',\n'}    ${JSON.stringify(retentionActionToJson(a), null, 2).replace(/\n/g, '\n    ')}`;
    first = false;
    if (buffered.length >= 64 * 1024) {
      await write(buffered);
      buffered = '';
    }
  }
  const tailText = Object.entries(tail).map(([k, v]) => `,\n${field(k, v)}`);
  await write(`${buffered}${first ? ']' : '\n  ]'}${tailText.join('')}\n}\n`);
}

export function renderOutcome(o: RemovalOutcome, root: string): string {
  const rel = (p: string): string => displayPath(root, p);
  const name = filesText(o.action, rel);
  if (o.status === 'done') {
    const to = o.files[0]?.to;
    return `${o.action.kind === 'trash' ? 'trashed' : 'deleted'} ${name} (${formatBytes(o.action.bytes)}${to ? ` → ${rel(to)}` : ', permanent'}) [${o.action.rule}]`;
  }
  return `${o.status === 'failed' ? 'FAILED to remove' : 'left'} ${name}: ${o.reason ?? ''}`;
}

export function renderRetentionReport(report: RetentionReport, seconds: number): string {
  return `${report.interrupted ? 'Interrupted' : 'Cleanup done'} in ${seconds.toFixed(1)}s: ${report.done} removed, ${report.skipped} left (changed since planned), ${report.failed} failed, ${formatBytes(report.freedBytes)} freed, ${report.prunedFolders.length} empty folder(s) removed`;
}

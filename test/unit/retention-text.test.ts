/** A cleanup plan as text: every action up to a limit (whole days), then one line per day. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TEXT_PLAN_LIMIT } from '../../src/archive/render.js';
import {
  dayKey,
  RemovalsByDay,
  type RemovalAction,
  type RetentionAction,
} from '../../src/retention/plan.js';
import { RetentionPlanText } from '../../src/retention/render.js';

const ROOT = '/cam';
const MiB = 1024 * 1024;

function removal(date: string, i: number, kind: RemovalAction['kind'] = 'trash'): RemovalAction {
  const [y, m, d] = date.split('/');
  const name = `REO_front_${y}${m}${d}${String(i).padStart(6, '0')}.mp4`;
  const dir = kind === 'purge-trash' ? `${ROOT}/.deleted/input/${date}` : `${ROOT}/${date}`;
  const file = {
    path: `${dir}/${name}`,
    bytes: MiB,
    dev: 1,
    ino: i,
    nlink: 1,
    mtimeMs: 0,
    ctimeMs: 0,
  };
  const base = {
    root: kind === 'purge-trash' ? ('trash' as const) : ('source' as const),
    unit: kind === 'purge-trash' ? ('trash' as const) : ('clip' as const),
    camera: 'front',
    recordedAt: new Date(0),
    files: [file],
    bytes: MiB,
    freedBytes: kind === 'trash' ? 0 : MiB,
    rule: 'age' as const,
    reason: 'older than --age 30 days',
  };
  if (kind === 'trash')
    return {
      ...base,
      kind,
      permanent: false,
      moves: [{ from: file.path, to: `${ROOT}/.deleted/input/${date}/${name}` }],
    };
  return { ...base, kind, permanent: true };
}

/** The plan's books as the planner keeps them: every removal under its stream and date. */
function booksOf(actions: RetentionAction[]): RemovalsByDay {
  const books = new RemovalsByDay();
  for (const a of actions) {
    if (a.kind === 'prune-folder') continue;
    const date = path
      .dirname(a.files[0]?.path ?? '')
      .split('/')
      .slice(-3)
      .join('-');
    books.book(dayKey(a.kind === 'purge-trash' ? 0 : 1, date), a, 1);
  }
  return books;
}

/** What showPlan prints: the replay's actions until the text stops it, then the books. */
function render(actions: RetentionAction[], full: boolean): string[] {
  const text = new RetentionPlanText(ROOT, full);
  const lines: string[] = [];
  for (const a of actions) {
    const more = text.add(a);
    if (!more) break;
    lines.push(...more);
  }
  const prunes = actions.filter((a) => a.kind === 'prune-folder').length;
  return [...lines, ...text.rest(booksOf(actions), prunes)];
}

/** 20 days of 60 removals, 5 trash purges before them, and a pruned folder at the end. */
function bigPlan(): RetentionAction[] {
  const actions: RetentionAction[] = [];
  for (let i = 0; i < 5; i++) actions.push(removal('2024/12/01', i, 'purge-trash'));
  for (let day = 1; day <= 20; day++)
    for (let i = 0; i < 60; i++)
      actions.push(removal(`2025/01/${String(day).padStart(2, '0')}`, i));
  actions.push({
    kind: 'prune-folder',
    path: `${ROOT}/2025/01/01`,
    reason: 'empty after cleanup',
    bytes: 0,
    permanent: true,
  });
  return actions;
}

describe('cleanup plan text', () => {
  it('lists the first actions up to the limit, then the rest of that day and each further day as a line', () => {
    const lines = render(bigPlan(), false);
    const listed = lines.filter((l) => l.startsWith('trash ') || l.startsWith('purge '));
    expect(listed).toHaveLength(TEXT_PLAN_LIMIT);
    // 5 purges, then 495 clips: 8 whole days of 60 and 15 of the ninth.
    const full = Math.floor((TEXT_PLAN_LIMIT - 5) / 60);
    const ofNinth = TEXT_PLAN_LIMIT - 5 - full * 60;
    const ninth = `2025/01/${String(full + 1).padStart(2, '0')}`;
    expect(lines).toContain(
      `${ninth}, the rest: ${60 - ofNinth} clip(s) to the trash (${(60 - ofNinth).toFixed(1)} MiB)`,
    );
    const dayLines = lines.filter((l) => /^2025\/01\/\d\d: /.test(l));
    expect(dayLines).toHaveLength(20 - full - 1);
    expect(dayLines[0]).toBe(
      `2025/01/${String(full + 2).padStart(2, '0')}: 60 clip(s) to the trash (60.0 MiB)`,
    );
    expect(lines).toContain('remove 1 empty folder(s) (-v lists them)');
    expect(lines.at(-1)).toBe(
      `(the first ${TEXT_PLAN_LIMIT} actions in full, then ${20 - full} day(s) one line each: -v lists every action)`,
    );
  });

  it('a day of more removals than the limit (a 200,000-clip folder) is not listed whole', () => {
    const actions: RetentionAction[] = [];
    for (let i = 0; i < 3 * TEXT_PLAN_LIMIT; i++) actions.push(removal('2025/01/01', i));
    const lines = render(actions, false);
    expect(lines.filter((l) => l.startsWith('trash '))).toHaveLength(TEXT_PLAN_LIMIT);
    expect(lines).toContain(
      `2025/01/01, the rest: ${2 * TEXT_PLAN_LIMIT} clip(s) to the trash (${(2 * TEXT_PLAN_LIMIT).toFixed(1)} MiB)`,
    );
  });

  it('-v lists every action and folder; a small plan is listed whole without a note', () => {
    const full = render(bigPlan(), true);
    expect(full.filter((l) => l.startsWith('trash '))).toHaveLength(20 * 60);
    expect(full.at(-1)).toMatch(/^remove folder 2025\/01\/01/);
    const small = render(bigPlan().slice(0, 50), false);
    expect(small).toHaveLength(50 * 2);
  });

  it('a summarised day says what is permanent and what goes to the trash, per kind of unit', () => {
    const actions: RetentionAction[] = [];
    for (let i = 0; i < TEXT_PLAN_LIMIT; i++) actions.push(removal('2025/01/01', i));
    const del = { ...removal('2025/01/02', 1, 'delete'), unit: 'archive' as const };
    actions.push(removal('2025/01/02', 0), del, removal('2025/01/02', 2));
    const lines = render(actions, false);
    expect(lines).toContain(
      '2025/01/02: 2 clip(s) to the trash (2.0 MiB), 1 archive(s) to delete (1.0 MiB, PERMANENT)',
    );
  });

  it('a day whose removals cancel out (a cap took over an age-rule move) has no line', () => {
    const books = new RemovalsByDay();
    const move = removal('2025/01/03', 0);
    books.book(dayKey(1, '2025-01-03'), move, 1);
    books.book(dayKey(1, '2025-01-03'), move, -1);
    expect([...books.days()].map(([k]) => k)).toEqual(['1 2025-01-03']);
    const text = new RetentionPlanText(ROOT, false);
    for (let i = 0; i < TEXT_PLAN_LIMIT; i++) text.add(removal('2025/01/01', i));
    expect(text.add(removal('2025/01/03', 0))).toBeUndefined();
    expect(text.rest(books, 0)).toEqual([
      `(the first ${TEXT_PLAN_LIMIT} actions in full, then 0 day(s) one line each: -v lists every action)`,
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import {
  LOWEST_PRIORITY,
  lowerHelperThreads,
  type ThreadControl,
} from '../../src/media/thread-priority.js';

function fakeThreads(
  ids: number[],
  refuse: number[] = [],
): ThreadControl & { nice: Map<number, number> } {
  const nice = new Map(ids.map((id) => [id, 0]));
  return {
    nice,
    mainThreadId: ids[0] ?? 0,
    threadIds: () => [...nice.keys()],
    setNice: (id, value) => {
      if (refuse.includes(id)) throw new Error('ESRCH');
      nice.set(id, value);
    },
  };
}

describe('lowerHelperThreads', () => {
  it('puts every thread but the main one at the lowest priority', () => {
    const threads = fakeThreads([100, 101, 102, 107]);
    expect(lowerHelperThreads(threads)).toBe(3);
    expect(Object.fromEntries(threads.nice)).toEqual({
      100: 0,
      101: LOWEST_PRIORITY,
      102: LOWEST_PRIORITY,
      107: LOWEST_PRIORITY,
    });
  });

  it('is best effort: a thread that ended, or no thread list at all, is not an error', () => {
    const threads = fakeThreads([100, 101, 102], [101]);
    expect(lowerHelperThreads(threads)).toBe(1);
    expect(threads.nice.get(102)).toBe(LOWEST_PRIORITY);
    const noProc: ThreadControl = {
      mainThreadId: 1,
      threadIds: () => {
        throw new Error('ENOENT: /proc/self/task');
      },
      setNice: () => undefined,
    };
    expect(lowerHelperThreads(noProc)).toBe(0);
  });
});

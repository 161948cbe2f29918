/**
 * Live-heap probes for the memory guards: a full collection on demand, and an abort signal that
 * never aborts but samples the heap each `every`-th time the run checks it (runs check their signal
 * once per day folder, date batch or sub-batch: the hook to look inside a run without timing it).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

export function heapSamplingSignal(
  gc: () => void,
  every: number,
): { signal: AbortSignal; samples: number[] } {
  const samples: number[] = [];
  const controller = new AbortController();
  let checks = 0;
  Object.defineProperty(controller.signal, 'aborted', {
    get: () => {
      if (checks++ % every === 0) {
        gc();
        samples.push(process.memoryUsage().heapUsed);
      }
      return false;
    },
  });
  return { signal: controller.signal, samples };
}

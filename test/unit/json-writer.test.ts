import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { jsonObjectWriter, streamSink } from '../../src/archive/render.js';
import { seededRandom } from '../helpers/random.js';

function value(rnd: () => number, depth: number): unknown {
  const r = rnd();
  if (depth > 2 || r < 0.3) {
    const leaves = [null, true, 0, -1.5, 'a "quoted" / ünïcode \n line', '', undefined];
    return leaves[Math.floor(rnd() * leaves.length)];
  }
  if (r < 0.6) return Array.from({ length: Math.floor(rnd() * 3) }, () => value(rnd, depth + 1));
  return Object.fromEntries(
    Array.from({ length: Math.floor(rnd() * 4) }, (_v, i) => [`k${i}`, value(rnd, depth + 1)]),
  );
}

describe('jsonObjectWriter', () => {
  it('writes exactly what JSON.stringify(object, null, 2) writes (seeded random objects)', async () => {
    const seed = Number(process.env.TEST_SEED ?? Date.now() % 1_000_000);
    console.log(`jsonObjectWriter seed ${seed} (TEST_SEED=${seed} to repeat)`);
    const rnd = seededRandom(seed);
    for (let round = 0; round < 300; round++) {
      const head = value(rnd, 1);
      const items = Array.from({ length: Math.floor(rnd() * 4) }, () => value(rnd, 1));
      const tail = value(rnd, 1);
      const withArray = rnd() < 0.8;
      let text = '';
      const writer = jsonObjectWriter((t) => {
        text += t;
        return undefined;
      });
      await writer.field('head', head);
      if (withArray) {
        await writer.array('items');
        for (const item of items) await writer.item(item);
      }
      await writer.field('tail', tail);
      await writer.end();
      const expected = { head, ...(withArray ? { items } : {}), tail };
      expect(text, `seed ${seed}, round ${round}`).toBe(`${JSON.stringify(expected, null, 2)}\n`);
    }
  });

  it('an object with no fields, and an array that ends the object', async () => {
    let text = '';
    const sink = (t: string): undefined => void (text += t);
    await jsonObjectWriter(sink).end();
    expect(text).toBe('{}\n');
    text = '';
    const w = jsonObjectWriter(sink);
    await w.array('actions');
    await w.end();
    expect(JSON.parse(text)).toEqual({ actions: [] });
  });

  it('waits for a slow reader instead of buffering, and never for one that left', async () => {
    const out = new PassThrough({ highWaterMark: 64 });
    const writer = jsonObjectWriter(streamSink(out));
    let done = false;
    const writing = (async () => {
      await writer.array('items');
      for (let i = 0; i < 100; i++) await writer.item({ i, pad: 'x'.repeat(50) });
      await writer.end();
      done = true;
    })();
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false); // held back by the full buffer, not written ahead
    expect(out.writableLength).toBeLessThan(4096);
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    await writing;
    await new Promise((r) => setImmediate(r));
    expect((JSON.parse(text) as { items: unknown[] }).items).toHaveLength(100);

    const gone = new PassThrough({ highWaterMark: 64 });
    const abandoned = jsonObjectWriter(streamSink(gone));
    await abandoned.array('items');
    const pending = abandoned.item({ pad: 'x'.repeat(200) });
    gone.destroy();
    await pending; // resolves on close
    await abandoned.item(1); // a destroyed stream takes nothing and does not wait
  });
});

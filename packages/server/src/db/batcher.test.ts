import { describe, expect, it } from 'vitest';
import { Batcher } from './batcher.js';

describe('Batcher (group commit)', () => {
  it('runs calls made while a run is in flight together, in order, each with its own result', async () => {
    const runs: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const b = new Batcher<number, number>(
      async (items) => {
        runs.push(items);
        if (runs.length === 1) await gate;
        return items.map((x) => x * 10);
      },
      (x) => String(x),
      64,
      1,
    );
    const first = b.add(1);
    await new Promise((r) => setImmediate(r));
    const rest = [b.add(2), b.add(3), b.add(4)];
    release();
    expect(await Promise.all([first, ...rest])).toEqual([10, 20, 30, 40]);
    expect(runs).toEqual([[1], [2, 3, 4]]);
  });

  it('never puts two items with one key in the same run or in two runs at once', async () => {
    const runs: string[][] = [];
    let inFlight = new Set<string>();
    const b = new Batcher<string, string>(
      async (items) => {
        for (const i of items) expect(inFlight.has(i)).toBe(false);
        inFlight = new Set([...inFlight, ...items]);
        runs.push(items);
        await new Promise((r) => setTimeout(r, 5));
        for (const i of items) inFlight.delete(i);
        return items;
      },
      (x) => x,
    );
    await Promise.all(['a', 'a', 'b', 'a', 'c'].map((x) => b.add(x)));
    for (const run of runs) expect(new Set(run).size).toBe(run.length);
    expect(runs.flat().sort()).toEqual(['a', 'a', 'a', 'b', 'c']);
  });

  it('runs each item alone when a run fails, so only the bad item fails', async () => {
    const b = new Batcher<number, number>(
      async (items) => {
        if (items.includes(13)) throw new Error(`bad: ${items.join(',')}`);
        return items;
      },
      (x) => String(x),
    );
    const results = await Promise.allSettled([b.add(1), b.add(13), b.add(2)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason.message).toBe('bad: 13');
  });
});

import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { rowsOf } from '../db/open.js';
import { testDatabases } from '../testing/harness.js';
import { DocStore } from './doc-store.js';
import { warmDatabase, warmLiveEdits, warmLiveEditsInSlices } from './warm-up.js';

describe('warming a fresh process', () => {
  it('runs edits the draft checker accepts, as a client would make them', () => {
    expect(warmLiveEdits(20)).toBeGreaterThan(0);
  });

  it('runs them in slices, letting other work in between', async () => {
    let between = 0;
    const ticker = setInterval(() => between++, 0);
    const busy = await warmLiveEditsInSlices(60, 10);
    clearInterval(ticker);
    expect(busy).toBeGreaterThan(0);
    expect(between).toBeGreaterThan(0);
  });

  for (const kind of testDatabases())
    it(`opens the pool on ${kind.name} and prepares the log's append there, writing and announcing nothing`, async () => {
      const database = await kind.open();
      const heard: string[] = [];
      const unlisten = await database.listen('warm_test', (payload) => heard.push(payload));
      try {
        const store = new DocStore(database);
        const count = async () =>
          Number(
            rowsOf<{ n: number }>(await database.db.execute(sql`select count(*)::int as n from doc_updates`))[0]!.n,
          );
        const before = await count();
        expect(
          await warmDatabase(database, 4, (n) => store.prepareAppend(n, { channel: 'warm_test', from: 'me' })),
        ).toBeGreaterThan(0);
        expect(await count()).toBe(before);
        // And the prepared statement still appends.
        expect(await store.append('warm-doc', new Uint8Array([0, 0]), null, { channel: 'warm_test', from: 'me' })).toBe(
          1,
        );
        await new Promise((r) => setTimeout(r, 100));
        expect(heard.map((h) => JSON.parse(h).doc)).toEqual(['warm-doc']);
      } finally {
        await unlisten();
        await database.close();
      }
    });
});

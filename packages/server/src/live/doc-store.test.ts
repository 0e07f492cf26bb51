import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { Database } from '../db/open.js';
import { testDatabases, waitFor } from '../testing/harness.js';
import { DocStore } from './doc-store.js';

for (const kind of testDatabases()) {
  describe(`the doc store on ${kind.name}`, () => {
    let database: Database;
    beforeAll(async () => {
      database = await kind.open();
    });
    afterAll(() => database.close());

    it('group-commits concurrent appends: every doc numbered in arrival order, every update durable, each doc announced', async () => {
      const store = new DocStore(database);
      const heard = new Map<string, number>();
      const unlisten = await database.listen('gc_test', (payload) => {
        const { doc, seq } = JSON.parse(payload) as { doc: string; seq: number };
        heard.set(doc, Math.max(heard.get(doc) ?? 0, seq));
      });
      // Five docs, 40 updates each, all in flight at once (so they gather into batches).
      const source = Array.from({ length: 5 }, () => new Y.Doc());
      const sent: { doc: string; update: Uint8Array; seq: Promise<number> }[] = [];
      for (let k = 0; k < 40; k++)
        source.forEach((d, i) => {
          let update!: Uint8Array;
          d.once('update', (u: Uint8Array) => (update = u));
          d.getText('t').insert(0, `${k}`);
          sent.push({
            doc: `gc-${i}`,
            update,
            seq: store.append(`gc-${i}`, update, 'u', { channel: 'gc_test', from: 'test' }),
          });
        });
      const seqs = await Promise.all(sent.map((s) => s.seq));
      for (let i = 0; i < 5; i++) {
        const mine = sent.map((s, k) => ({ ...s, got: seqs[k]! })).filter((s) => s.doc === `gc-${i}`);
        expect(mine.map((s) => s.got)).toEqual(Array.from({ length: 40 }, (_, k) => k + 1));
        const stored = await store.updatesAfter(`gc-${i}`, 0);
        expect(stored.map((r) => Buffer.from(r.update).toString('hex'))).toEqual(
          mine.map((s) => Buffer.from(s.update).toString('hex')),
        );
        expect((await store.load(`gc-${i}`)).ydoc.getText('t').toString()).toBe(source[i]!.getText('t').toString());
      }
      await waitFor(
        () => [0, 1, 2, 3, 4].every((i) => heard.get(`gc-${i}`) === 40),
        3000,
        'each doc announced up to its last seq',
      );
      await unlisten();
    });

    it('with a commit delay, gathers updates that come apart in time into one statement', async () => {
      const statements = (delay: number) => {
        let count = 0;
        const counting: Database = { ...database, prepared: (q) => (count++, database.prepared(q)) };
        return { store: new DocStore(counting, delay), count: () => count };
      };
      const spread = async (store: DocStore) => {
        const seqs: Promise<number>[] = [];
        for (let k = 0; k < 3; k++) {
          seqs.push(store.append('gc-delay', Y.encodeStateAsUpdate(new Y.Doc()), null));
          await new Promise((r) => setTimeout(r, 5));
        }
        return Promise.all(seqs);
      };
      const gathered = statements(60);
      await spread(gathered.store);
      expect(gathered.count()).toBe(1);
      const eager = statements(0);
      await spread(eager.store);
      expect(eager.count()).toBeGreaterThan(1);
    });

    it('fails only the appends of a batch that could not be written', async () => {
      const store = new DocStore(database);
      const good = store.append('gc-ok', Y.encodeStateAsUpdate(new Y.Doc()), null);
      const bad = store.append('gc-bad', null as unknown as Uint8Array, null); // violates NOT NULL
      const results = await Promise.allSettled([good, bad]);
      expect(results.map((r) => r.status)).toContain('rejected');
      expect(await store.append('gc-ok', Y.encodeStateAsUpdate(new Y.Doc()), null)).toBeGreaterThan(0);
    });
  });
}

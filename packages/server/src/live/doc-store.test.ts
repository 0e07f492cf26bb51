import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { Database } from '../db/open.js';
import { testDatabases, waitFor } from '../testing/harness.js';
import { type DocAnnouncement, DocStore, INLINE_NOTIFY_BYTES } from './doc-store.js';

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
        const counting: Database = {
          ...database,
          preparedText: (text, params) => (count++, database.preparedText(text, params)),
        };
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

    it('carries a batch of small updates in its announcement, and announces large ones by seq alone', async () => {
      const store = new DocStore(database);
      const heard: DocAnnouncement[] = [];
      const unlisten = await database.listen('inline_test', (payload) => heard.push(JSON.parse(payload)));
      const small = [new Uint8Array([1, 2, 3]), new Uint8Array(300).fill(7)];
      const large = new Uint8Array(INLINE_NOTIFY_BYTES + 1).fill(9);
      const notify = { channel: 'inline_test', from: 'me' };
      // Gathered into one statement: one announcement for each doc.
      await Promise.all([
        ...small.map((u) => store.append('inline-small', u, null, notify)),
        store.append('inline-large', large, null, notify),
      ]);
      await waitFor(() => heard.length >= 2, 3000, 'both docs announced');
      await unlisten();
      const bySeq = Object.fromEntries(heard.map((h) => [h.doc, h]));
      expect(bySeq['inline-small']).toMatchObject({ first: 1, seq: 2, from: 'me' });
      expect(bySeq['inline-small']!.u!.map((b) => [...Buffer.from(b, 'base64')])).toEqual(small.map((u) => [...u]));
      expect(bySeq['inline-large']).toMatchObject({ first: 1, seq: 1, u: null });
    });

    // Instances race only on PostgreSQL (PGlite has one connection): registered there alone,
    // so that a run with both databases skips nothing.
    if (kind.name === 'postgres')
      it('numbers an append again when another instance took its seq first (unique violation)', async () => {
        // The other instance inserts seq 1 and holds it uncommitted; our append reads the log
        // without it, numbers its update 1 too, and waits on that key; the other commits, ours
        // fails with 23505 and is numbered again.
        let statements = 0;
        const counting: Database = {
          ...database,
          preparedText: (text, params) => (statements++, database.preparedText(text, params)),
        };
        const store = new DocStore(counting, 0);
        const update = Y.encodeStateAsUpdate(new Y.Doc());
        const other = await database.reserve!();
        try {
          await other`begin`;
          await other`insert into doc_updates (doc, seq, update, author) values ('race', 1, ${Buffer.from(update)}, 'other')`;
          const appended = store.append('race', update, 'me');
          await waitFor(
            async () =>
              (
                await other<{ n: number }[]>`
                  select count(*)::int as n from pg_stat_activity
                  where datname = current_database() and wait_event_type = 'Lock'`
              )[0]!.n > 0,
            5000,
            "our append to wait on the other instance's seq",
          );
          await other`commit`;
          expect(await appended).toBe(2);
        } finally {
          other.release();
        }
        expect(statements).toBe(2);
        expect((await store.updatesAfter('race', 0)).map((r) => r.seq)).toEqual([1, 2]);
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

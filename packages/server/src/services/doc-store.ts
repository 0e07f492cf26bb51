import { and, asc, eq, gt, lte, sql } from 'drizzle-orm';
import * as Y from 'yjs';
import { rowsOf, type Db } from '../db/open.js';
import { docSnapshots, docUpdates } from '../db/schema.js';

/**
 * Persistence of live documents: an append-only update log plus one compacted snapshot
 * per doc, in PostgreSQL. Appending takes the next seq under a per-doc advisory lock so
 * several instances can append to one doc.
 */
export class DocStore {
  constructor(private readonly db: Db) {}

  /** The doc's full state and the last seq it includes. */
  async load(doc: string): Promise<{ ydoc: Y.Doc; lastSeq: number }> {
    const ydoc = new Y.Doc({ gc: true });
    const [snap] = await this.db.select().from(docSnapshots).where(eq(docSnapshots.doc, doc));
    let lastSeq = 0;
    if (snap) {
      Y.applyUpdate(ydoc, snap.state);
      lastSeq = snap.lastSeq;
    }
    const rows = await this.db
      .select({ seq: docUpdates.seq, update: docUpdates.update })
      .from(docUpdates)
      .where(and(eq(docUpdates.doc, doc), gt(docUpdates.seq, lastSeq)))
      .orderBy(asc(docUpdates.seq));
    if (rows.length) {
      Y.transact(ydoc, () => rows.forEach((r) => Y.applyUpdate(ydoc, r.update)));
      lastSeq = rows.at(-1)!.seq;
    }
    return { ydoc, lastSeq };
  }

  /** Updates after `seq` (for instances catching up on a NOTIFY). */
  async updatesAfter(doc: string, seq: number): Promise<{ seq: number; update: Uint8Array }[]> {
    return this.db
      .select({ seq: docUpdates.seq, update: docUpdates.update })
      .from(docUpdates)
      .where(and(eq(docUpdates.doc, doc), gt(docUpdates.seq, seq)))
      .orderBy(asc(docUpdates.seq));
  }

  /**
   * Appends one accepted update and, when `notify` is given, announces it on that
   * channel, in one statement (one round trip). The seq is the next after both the log
   * and the snapshot; two instances racing for one seq hit the primary key and retry.
   */
  async append(doc: string, update: Uint8Array, author: string | null, notify?: { channel: string; from: string }): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.db.execute(sql`
          with next as (
            select greatest(
              coalesce((select max(seq) from doc_updates where doc = ${doc}), 0),
              coalesce((select last_seq from doc_snapshots where doc = ${doc}), 0)) + 1 as seq
          ), ins as (
            insert into doc_updates (doc, seq, update, author) select ${doc}, next.seq, ${update}, ${author} from next returning seq
          )
          select ins.seq, ${notify ? sql`pg_notify(${notify.channel}, json_build_object('doc', ${doc}::text, 'seq', ins.seq, 'from', ${notify.from}::text)::text)` : sql`null`} as notified from ins`);
        return Number(rowsOf<{ seq: number | string }>(res)[0]!.seq);
      } catch (e) {
        // drizzle wraps the driver's error: the SQLSTATE may sit on its cause.
        const code = (e as { code?: string }).code ?? (e as { cause?: { code?: string } }).cause?.code;
        if (code !== '23505' || attempt > 20) throw e;
      }
    }
  }

  /** Number of log rows not yet merged into the snapshot. */
  async pending(doc: string): Promise<number> {
    const [row] = await this.db.select({ n: sql<number>`count(*)`.mapWith(Number) }).from(docUpdates).where(eq(docUpdates.doc, doc));
    return row?.n ?? 0;
  }

  /**
   * Merges the snapshot and the log up to the newest seq into one snapshot and deletes
   * exactly the rows it merged, in one transaction under the doc's lock.
   */
  async compact(doc: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${'doc:' + doc}))`);
      const [snap] = await tx.select().from(docSnapshots).where(eq(docSnapshots.doc, doc));
      const rows = await tx
        .select({ seq: docUpdates.seq, update: docUpdates.update })
        .from(docUpdates)
        .where(eq(docUpdates.doc, doc))
        .orderBy(asc(docUpdates.seq));
      if (!rows.length) return;
      const updates = rows.map((r) => r.update);
      const state = Y.mergeUpdates(snap ? [snap.state, ...updates] : updates);
      const lastSeq = Math.max(rows.at(-1)!.seq, snap?.lastSeq ?? 0);
      await tx
        .insert(docSnapshots)
        .values({ doc, state, lastSeq })
        .onConflictDoUpdate({ target: docSnapshots.doc, set: { state, lastSeq, at: new Date() } });
      await tx.delete(docUpdates).where(and(eq(docUpdates.doc, doc), lte(docUpdates.seq, lastSeq)));
    });
  }

  async remove(doc: string): Promise<void> {
    await this.db.delete(docUpdates).where(eq(docUpdates.doc, doc));
    await this.db.delete(docSnapshots).where(eq(docSnapshots.doc, doc));
  }

  async exists(doc: string): Promise<boolean> {
    const [a] = await this.db.select({ d: docSnapshots.doc }).from(docSnapshots).where(eq(docSnapshots.doc, doc)).limit(1);
    if (a) return true;
    const [b] = await this.db.select({ d: docUpdates.doc }).from(docUpdates).where(eq(docUpdates.doc, doc)).limit(1);
    return !!b;
  }
}

import { and, asc, eq, gt, lte, sql } from 'drizzle-orm';
import * as Y from 'yjs';
import type { Database, Db } from '../db/open.js';
import { docSnapshots, docUpdates } from '../db/schema.js';

/** See DocStore's commitDelayMs: long enough to gather a burst, short next to a client's round trip. */
export const DEFAULT_COMMIT_DELAY_MS = 5;

/** Updates per statement: its parameters and the NOTIFY payloads stay small. */
const MAX_BATCH = 64;

/**
 * A doc's updates of one batch ride in its NOTIFY (base64) when they come to at most this
 * many bytes, so that other instances apply them without reading the log; larger ones are
 * announced by seq alone. PostgreSQL's payload limit is 8,000 bytes.
 */
export const INLINE_NOTIFY_BYTES = 4096;

/**
 * What an append announces: the doc, the seqs `first`..`seq` of this batch, the instance it
 * came from, and (`u`, base64, in seq order) the updates themselves when they are small.
 */
export interface DocAnnouncement {
  doc: string;
  seq: number;
  first: number;
  from: string;
  u: string[] | null;
}

/**
 * The append, one statement: each update gets the next seq of its doc (after both the log
 * and the snapshot, in arrival order). $1 docs, $2 updates (base64), $3 authors; `notified`
 * is filled in by the variant that announces.
 */
const appendStatement = (notified: string) => `
  with input (doc, update, author, ord) as (
    select i.doc, decode(i.update, 'base64'), i.author, i.ord::int - 1
    from unnest($1::text[], $2::text[], $3::text[]) with ordinality as i(doc, update, author, ord)
  ),
  base as (
    select d.doc, greatest(
      coalesce((select max(seq) from doc_updates u where u.doc = d.doc), 0),
      coalesce((select last_seq from doc_snapshots s where s.doc = d.doc), 0)) as seq
    from (select distinct doc from input) d
  ), numbered as (
    select i.doc, i.update, i.author, i.ord, b.seq + row_number() over (partition by i.doc order by i.ord) as seq
    from input i join base b on b.doc = i.doc
  ), ins as (
    insert into doc_updates (doc, seq, update, author) select doc, seq, update, author from numbered
    returning doc, seq, update
  )
  select n.ord, n.seq, ${notified} as notified
  from numbered n order by n.ord`;

const APPEND = appendStatement('null');

/** The append that also announces each doc's batch (DocAnnouncement) on channel $4, from instance $5. */
const APPEND_AND_NOTIFY = appendStatement(`(
    select count(pg_notify($4::text, json_build_object(
      'doc', t.doc, 'seq', t.seq, 'first', t.first, 'from', $5::text, 'u', t.u)::text))
    from (select doc, max(seq) as seq, min(seq) as first,
            case when sum(octet_length(update)) <= ${INLINE_NOTIFY_BYTES}
              then json_agg(replace(encode(update, 'base64'), chr(10), '') order by seq) end as u
          from ins group by doc) t)`);

interface Pending {
  doc: string;
  update: Uint8Array;
  author: string | null;
  resolve(seq: number): void;
  reject(error: unknown): void;
}
interface Batch {
  notify?: { channel: string; from: string };
  items: Pending[];
}

/**
 * Persistence of live documents: an append-only update log plus one compacted snapshot
 * per doc, in PostgreSQL. Appends are group-committed across docs; each takes the next
 * seq of its doc, and instances racing for a seq hit the primary key and number again.
 */
export class DocStore {
  private readonly db: Db;

  /**
   * `commitDelayMs`: how long the first update of a batch waits for others before it is
   * written (PostgreSQL's commit_delay, on our side). A burst of keystrokes across many
   * docs then costs a few statements instead of one per round trip; nobody waits for it,
   * as updates are broadcast before they are stored.
   */
  constructor(
    private readonly database: Database,
    private readonly commitDelayMs = DEFAULT_COMMIT_DELAY_MS,
  ) {
    this.db = database.db;
  }

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
   * channel. Appends from all docs are group-committed: while one batch is being written,
   * the next ones gather and go together in one statement and one commit, so a busy
   * server pays one WAL flush (and one hold of PostgreSQL's NOTIFY commit lock) per batch
   * instead of per keystroke. Resolves once the update is durable, with its seq.
   */
  append(
    doc: string,
    update: Uint8Array,
    author: string | null,
    notify?: { channel: string; from: string },
  ): Promise<number> {
    return new Promise((resolve, reject) => {
      const key = notify ? `${notify.channel}\u0000${notify.from}` : '';
      let batch = this.gathering.get(key);
      if (!batch) this.gathering.set(key, (batch = { notify, items: [] }));
      batch.items.push({ doc, update, author, resolve, reject });
      if (this.writing) return;
      this.writing = true;
      if (this.commitDelayMs > 0) setTimeout(() => void this.flush(), this.commitDelayMs);
      else void this.flush();
    });
  }

  private readonly gathering = new Map<string, Batch>();
  /** A flush is scheduled or running: new updates gather for the next statement. */
  private writing = false;

  private async flush() {
    while (this.gathering.size) {
      const [key, batch] = this.gathering.entries().next().value!;
      this.gathering.delete(key);
      for (let i = 0; i < batch.items.length; i += MAX_BATCH) {
        const items = batch.items.slice(i, i + MAX_BATCH);
        try {
          const seqs = await this.appendBatch(items, batch.notify);
          items.forEach((it, k) => it.resolve(seqs[k]!));
        } catch (e) {
          items.forEach((it) => it.reject(e));
        }
      }
    }
    this.writing = false;
  }

  /**
   * One statement: each update gets the next seq of its doc (after both the log and the
   * snapshot, in arrival order), and each doc's newest seq is announced. Two instances
   * racing for one seq hit the primary key, and the batch is numbered again.
   */
  private async appendBatch(items: readonly Pending[], notify?: { channel: string; from: string }): Promise<number[]> {
    // Arrays, not a VALUES row per update: one statement text whatever the batch size, so
    // each connection prepares it once and then binds and executes it (bytes as base64:
    // both drivers pass text[] as is). The text is a constant: only the arrays are bound.
    const docs = items.map((it) => it.doc);
    const updates = items.map((it) =>
      Buffer.from(it.update.buffer, it.update.byteOffset, it.update.byteLength).toString('base64'),
    );
    const authors = items.map((it) => it.author);
    const [text, params] = notify
      ? [APPEND_AND_NOTIFY, [docs, updates, authors, notify.channel, notify.from]]
      : [APPEND, [docs, updates, authors]];
    for (let attempt = 0; ; attempt++) {
      try {
        const rows = await this.database.preparedText<{ seq: number | string }>(text, params);
        return rows.map((r) => Number(r.seq));
      } catch (e) {
        // The SQLSTATE is on the driver's error (or on its cause, when something wrapped it).
        const code = (e as { code?: string }).code ?? (e as { cause?: { code?: string } }).cause?.code;
        if (code !== '23505' || attempt > 20) throw e;
      }
    }
  }

  /**
   * Runs the append statement with no updates, `times` at once: it writes and announces
   * nothing, but each pooled connection it lands on has it prepared and planned, and its
   * backend has the log's tables in its caches, before the first real append (warm-up.ts).
   */
  async prepareAppend(times: number, notify?: { channel: string; from: string }): Promise<void> {
    await Promise.all(Array.from({ length: times }, () => this.appendBatch([], notify)));
  }

  /** Number of log rows not yet merged into the snapshot. */
  async pending(doc: string): Promise<number> {
    const [row] = await this.db
      .select({ n: sql<number>`count(*)`.mapWith(Number) })
      .from(docUpdates)
      .where(eq(docUpdates.doc, doc));
    return row?.n ?? 0;
  }

  /**
   * Merges the snapshot and the log up to the newest seq into one snapshot and deletes
   * exactly the rows it merged, in one transaction under the doc's lock.
   */
  async compact(doc: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`doc:${doc}`}))`);
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
    const [a] = await this.db
      .select({ d: docSnapshots.doc })
      .from(docSnapshots)
      .where(eq(docSnapshots.doc, doc))
      .limit(1);
    if (a) return true;
    const [b] = await this.db.select({ d: docUpdates.doc }).from(docUpdates).where(eq(docUpdates.doc, doc)).limit(1);
    return !!b;
  }
}

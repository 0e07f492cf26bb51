/**
 * A live doc's changes to and from the database (Hocuspocus' extension-database, plus
 * what it lacks for several instances): accepted updates are appended to the doc store
 * (group-committed across docs), a failed append is retried with the doc's whole state,
 * and what other instances appended is caught up with when their NOTIFY arrives or a seq
 * is skipped. A NOTIFY names the doc, the seqs and the instance, and carries the updates
 * when they are small (DocStore's INLINE_NOTIFY_BYTES): the next seqs a doc expects are
 * applied from it directly; anything else (a gap, large updates) is read from the log.
 */
import { randomUUID } from 'node:crypto';
import * as Y from 'yjs';
import type { ServerContext } from '../context.js';
import type { DocAnnouncement, DocStore } from './doc-store.js';
import { REMOTE, type LiveDoc, type Persister } from './live-doc.js';

/** The NOTIFY channel of appended updates. */
const CHANNEL = 'sp_doc';

export class Replication implements Persister {
  private readonly instance = randomUUID();
  private unlisten: (() => Promise<void>) | null = null;

  constructor(
    private readonly ctx: ServerContext,
    private readonly store: DocStore,
    private readonly compactEvery: number,
    /** The loaded doc of a name, if it is loaded (or loading). */
    private readonly loaded: (name: string) => Promise<LiveDoc | null> | null,
  ) {}

  async start(): Promise<void> {
    this.unlisten = await this.ctx.database.listen(CHANNEL, (payload) => void this.onNotify(payload));
  }

  /** Prepares the append statement on up to `connections` pooled connections (warm-up.ts). */
  prepare(connections: number): Promise<void> {
    return this.store.prepareAppend(connections, { channel: CHANNEL, from: this.instance });
  }

  async stop(): Promise<void> {
    await this.unlisten?.().catch(() => {});
  }

  /**
   * Appends an accepted update (group-committed with other docs' updates) and tells other
   * instances where to find it. Resolves when it is stored; never rejects: a failed append
   * is retried with the doc's whole state until one lands, so an update that was
   * broadcast is never only in memory for long. Unload and shutdown wait for `doc.writes`.
   */
  persist(doc: LiveDoc, update: Uint8Array, author: string | null): Promise<void> {
    // The bookkeeping after the append queues behind the doc's work; what is returned
    // does not wait for it, so a server edit may await its own store inside `serial`.
    const written = this.store.append(doc.name, update, author, { channel: CHANNEL, from: this.instance }).then(
      (seq) => this.queueAfterAppend(doc, seq),
      (e) => {
        this.ctx.logger.error({ err: e, doc: doc.name }, 'storing an update failed: retrying with the whole doc');
        return this.retryWholeState(doc);
      },
    );
    doc.writes = Promise.all([doc.writes, written]).then(() => {});
    return written;
  }

  private async retryWholeState(doc: LiveDoc): Promise<void> {
    for (let delay = 200; ; delay = Math.min(delay * 2, 5000)) {
      await new Promise((r) => setTimeout(r, delay));
      try {
        const seq = await this.store.append(doc.name, Y.encodeStateAsUpdate(doc.ydoc), null, {
          channel: CHANNEL,
          from: this.instance,
        });
        return this.queueAfterAppend(doc, seq);
      } catch (e) {
        this.ctx.logger.error({ err: e, doc: doc.name }, 'storing the doc failed again');
      }
    }
  }

  private queueAfterAppend(doc: LiveDoc, seq: number) {
    doc
      .serial(() => this.afterAppend(doc, seq))
      .catch((e) => this.ctx.logger.error({ err: e, doc: doc.name }, 'catch-up after an append failed'));
  }

  private async afterAppend(doc: LiveDoc, seq: number) {
    if (seq > doc.lastSeq + 1) await this.catchUp(doc); // another instance wrote in between
    doc.lastSeq = Math.max(doc.lastSeq, seq);
    if (++doc.sinceCompact >= this.compactEvery) {
      doc.sinceCompact = 0;
      void this.store
        .compact(doc.name)
        .catch((e) => this.ctx.logger.error({ err: e, doc: doc.name }, 'compaction failed'));
    }
  }

  /** Applies what other instances appended after our last seq, and passes it on. Call inside serial. */
  private async catchUp(doc: LiveDoc) {
    let rows = await this.store.updatesAfter(doc.name, doc.lastSeq);
    if (rows.length && rows[0]!.seq !== doc.lastSeq + 1) {
      // The log was compacted past us: the snapshot has what we missed.
      const full = await this.store.load(doc.name);
      this.applyRemote(doc, [Y.encodeStateAsUpdate(full.ydoc)]);
      rows = [];
      doc.lastSeq = full.lastSeq;
    }
    this.applyRemote(
      doc,
      rows.map((r) => r.update),
    );
    if (rows.length) doc.lastSeq = rows.at(-1)!.seq;
  }

  /** Applies updates from other instances in one transaction and passes on what was new to this doc. */
  private applyRemote(doc: LiveDoc, updates: readonly Uint8Array[]) {
    if (!updates.length) return;
    const captured: Uint8Array[] = [];
    const capture = (u: Uint8Array, origin: unknown) => origin === REMOTE && captured.push(u);
    doc.ydoc.on('update', capture);
    try {
      Y.transact(doc.ydoc, () => updates.forEach((u) => Y.applyUpdate(doc.ydoc, u, REMOTE)), REMOTE);
    } finally {
      doc.ydoc.off('update', capture);
    }
    if (captured.length) {
      doc.broadcast(captured.length === 1 ? captured[0]! : Y.mergeUpdates(captured), null);
      doc.remember();
    }
  }

  private async onNotify(payload: string) {
    let msg: DocAnnouncement;
    try {
      msg = JSON.parse(payload);
    } catch {
      return;
    }
    if (msg.from === this.instance) return;
    const pending = this.loaded(msg.doc);
    if (!pending) return;
    const doc = await pending;
    if (!doc) return;
    await doc
      .serial(async () => {
        if (msg.seq <= doc.lastSeq) return;
        if (Array.isArray(msg.u) && msg.first === doc.lastSeq + 1) {
          // The next seqs, carried in the announcement: no read of the log.
          this.applyRemote(
            doc,
            msg.u.map((b64) => new Uint8Array(Buffer.from(b64, 'base64'))),
          );
          doc.lastSeq = msg.seq;
        } else await this.catchUp(doc);
      })
      .catch((e) => this.ctx.logger.error({ err: e }, 'catch-up failed'));
  }
}

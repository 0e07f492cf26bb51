/**
 * The live-document server (Hocuspocus' Hocuspocus): the registry of doc kinds, who may
 * open a doc, loading and unloading, shutdown, and the doc API the rest of the server
 * uses (edit, read and reset a doc; flush it to the database, refresh it from there). It
 * knows no kind: each is a `DocKind` (doc-kind.ts) registered by the composition root.
 *
 * Around it: connection.ts and message-receiver.ts (a socket and its messages),
 * live-doc.ts (one loaded doc), replication.ts (the store and other instances),
 * budget.ts (what a connection and a user may spend), websocket-route.ts (the upgrade).
 */
import { DOC_NAME_HINT, parseDocName } from '@sales-process/core';
import type { Logger } from 'pino';
import type * as Y from 'yjs';
import type { WebSocket } from 'ws';
import type { ServerContext } from '../context.js';
import type { Principal } from '../http/auth.js';
import { ApiError } from '../http/errors.js';
import { UserBudgets } from './budget.js';
import { Connection, type ConnectionHost } from './connection.js';
import type { DocKind } from './doc-kind.js';
import type { DocStore } from './doc-store.js';
import { LiveDoc, type DocEnv } from './live-doc.js';
import { liveOptions, type LiveOptions, type SyncOptions } from './options.js';
import { Replication } from './replication.js';

export class LiveDocs implements ConnectionHost {
  private readonly docs = new Map<string, Promise<LiveDoc>>();
  private readonly kinds = new Map<string, DocKind<any>>();
  private readonly replication: Replication;
  /** What every loaded doc is given. */
  private readonly env: DocEnv;
  readonly options: LiveOptions;
  readonly logger: Logger;
  readonly users: UserBudgets;
  private closing = false;

  constructor(
    private readonly ctx: ServerContext,
    private readonly store: DocStore,
    kinds: readonly DocKind<any>[],
    options: SyncOptions = {},
  ) {
    for (const kind of kinds) {
      if (this.kinds.has(kind.prefix)) throw new Error(`two doc kinds for ${kind.prefix}`);
      this.kinds.set(kind.prefix, kind);
    }
    this.options = liveOptions(options);
    this.logger = ctx.logger;
    this.users = new UserBudgets(this.options, ctx.logger);
    this.replication = new Replication(ctx, store, this.options.compactEvery, (name) => this.loaded(name));
    this.env = { replication: this.replication, options: this.options, logger: ctx.logger };
  }

  /** Prepares the update log's append on up to `connections` pooled connections (live/warm-up.ts). */
  prepareAppend(connections: number): Promise<void> {
    return this.replication.prepare(connections);
  }

  async start(): Promise<void> {
    await this.replication.start();
  }

  // ---- before the upgrade ----------------------------------------------------------------

  /** Who may open a doc: throws an ApiError (400 for a name that is none of ours, else as its kind says). */
  authorize(p: Principal, name: string): Promise<{ canWrite: boolean }> {
    const { kind, id } = this.kindOf(name);
    return kind.authorize(p, id);
  }

  /** Holds a place for one more of the user's connections: 429 RATE_LIMITED past `maxConnectionsPerUser`. */
  admit(p: Principal): void {
    this.users.admit(p);
  }

  /** How many users the server holds a budget for (tests: that idle ones are forgotten). */
  get trackedUsers(): number {
    return this.users.size;
  }

  /** Serves one authorized socket, once its handshake is done. */
  connect(ws: WebSocket, principal: Principal, name: string, canWrite: boolean): void {
    new Connection(this, principal, canWrite, name).open(ws);
  }

  private kindOf(name: string): { kind: DocKind<any>; id: string } {
    const ref = parseDocName(name);
    const kind = ref && this.kinds.get(ref.kind);
    if (!kind) throw new ApiError('VALIDATION_FAILED', [{ path: 'doc', message: DOC_NAME_HINT }]);
    return { kind, id: ref.id };
  }

  // ---- loading and unloading -------------------------------------------------------------

  /** The live doc, fully loaded (and brought up to date by its kind) before anyone is synced with it. */
  open(name: string): Promise<LiveDoc> {
    let pending = this.docs.get(name);
    if (!pending) {
      pending = this.load(name);
      this.docs.set(name, pending);
      pending.catch(() => this.docs.delete(name));
    }
    return pending;
  }

  /** The doc if it is loaded (or loading); null when it is not or its load failed. */
  private loaded(name: string): Promise<LiveDoc | null> | null {
    const pending = this.docs.get(name);
    return pending ? pending.catch(() => null) : null;
  }

  private async load(name: string): Promise<LiveDoc> {
    const { kind, id } = this.kindOf(name);
    const { ydoc, lastSeq } = await this.store.load(name);
    const doc = new LiveDoc(name, id, kind, ydoc, lastSeq, this.env);
    await doc.serial(() => kind.load(doc));
    return doc;
  }

  idle(doc: LiveDoc): void {
    this.scheduleUnload(doc);
  }

  private scheduleUnload(doc: LiveDoc) {
    if (doc.unloadTimer || this.closing) return;
    doc.unloadTimer = setTimeout(() => void this.unload(doc), this.options.unloadAfterMs);
  }

  /** Saves (flushes, compacts) and drops a doc nobody has open. */
  private async unload(doc: LiveDoc) {
    doc.unloadTimer = null;
    if (doc.conns.size) return;
    try {
      await doc.writes;
      await doc.serial(() => this.save(doc));
    } catch (e) {
      this.ctx.logger.error({ err: e, doc: doc.name }, 'unload failed: keeping the doc loaded');
      return this.scheduleUnload(doc);
    }
    if (doc.conns.size) return;
    doc.destroy();
    this.docs.delete(doc.name);
  }

  /** What the kind holds for the database, then the update log compacted. Call inside serial. */
  private async save(doc: LiveDoc) {
    await doc.kind.flush?.(doc);
    await this.store.compact(doc.name);
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.replication.stop();
    const docs = await Promise.all([...this.docs.values()].map((p) => p.catch(() => null)));
    for (const doc of docs) {
      if (!doc) continue;
      for (const c of [...doc.conns]) c.close(1001, 'server shutting down');
      doc.stopTimers();
      // Stored, or given up on after a while if the database is gone.
      await Promise.race([doc.writes, new Promise((r) => setTimeout(r, 10_000).unref())]);
      await doc
        .serial(() => this.save(doc))
        .catch((e) => this.ctx.logger.error({ err: e, doc: doc.name }, 'save on shutdown failed'));
    }
    this.docs.clear();
  }

  // ---- the doc API (REST, commands) -------------------------------------------------------

  /** Runs `fn` on the doc (loaded live if someone is editing), persisting and broadcasting what it changes. */
  async edit(name: string, fn: (ydoc: Y.Doc) => void, author: string | null): Promise<void> {
    const doc = await this.open(name);
    await doc.serial(() => doc.edit(fn, author));
    if (!doc.conns.size) this.scheduleUnload(doc);
  }

  async read(name: string): Promise<Y.Doc> {
    const doc = await this.open(name);
    if (!doc.conns.size) this.scheduleUnload(doc);
    return doc.ydoc;
  }

  /** Deletes a doc (what it stood for is gone): its connections are closed with 4404. */
  async reset(name: string): Promise<void> {
    const doc = await this.loaded(name);
    if (doc) {
      for (const c of [...doc.conns]) c.close(4404, 'document removed');
      this.docs.delete(name);
    }
    await this.store.remove(name);
  }

  /**
   * Before a command decides, what was typed live must be in the database: including
   * keystrokes that arrived while the doc was busy (a refresh awaiting its store) and are
   * still queued on it, which is why this queues behind them rather than flushing now.
   * Nothing to do for a doc that is not loaded.
   */
  async flush(name: string): Promise<void> {
    const doc = await this.loaded(name);
    if (doc?.kind.flush) await doc.serial(() => doc.kind.flush!(doc));
  }

  /** What a loaded doc mirrors changed in the database: its kind brings it up to date (errors are logged). */
  async refresh(name: string): Promise<void> {
    const doc = await this.loaded(name);
    if (!doc?.kind.refresh) return;
    await doc
      .serial(() => doc.kind.refresh!(doc))
      .catch((e) => this.ctx.logger.error({ err: e, doc: name }, 'live doc refresh failed'));
  }
}

/**
 * One loaded live document (Hocuspocus' Document): its Y.Doc and awareness, the
 * connections on it, the chain that runs work on it one piece at a time, and the two
 * ways it changes: a client's update (checked by its kind, rolled back when refused) and
 * a server edit. Both are sent to the others at once and stored by the replication.
 */
import type { Logger } from 'pino';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import type { DocKind, KindConnection, KindDoc, Problem } from './doc-kind.js';
import { awarenessMessage, noticeMessage, stateBefore, updateMessage } from './messages.js';
import type { LiveOptions } from './options.js';

/** Transaction origins: a server edit, what another instance wrote, a rollback. (A client's update has its connection.) */
export const SERVER = Symbol('server');
export const REMOTE = Symbol('remote');
export const REVERT = Symbol('revert');

/** A connection as the doc needs it (connection.ts). */
export interface DocConnection extends KindConnection {
  /** The awareness client ids it speaks for. */
  readonly awarenessIds: Set<number>;
  send(message: Uint8Array): void;
}

/** Where the doc's changes are stored (replication.ts). */
export interface Persister {
  persist(doc: LiveDoc, update: Uint8Array, author: string | null): Promise<void>;
}

export interface DocEnv {
  readonly replication: Persister;
  readonly options: LiveOptions;
  readonly logger: Logger;
}

export class LiveDoc<State = unknown> implements KindDoc<State> {
  readonly conns = new Set<DocConnection>();
  readonly awareness: awarenessProtocol.Awareness;
  readonly state: State;
  private chain: Promise<unknown> = Promise.resolve();
  /** Work queued by `serial` and not finished. */
  private queued = 0;
  sinceCompact = 0;
  /** Settles when every update persisted so far is stored. */
  writes: Promise<void> = Promise.resolve();
  private readonly pendingAwareness = new Set<number>();
  private awarenessTimer: NodeJS.Timeout | null = null;
  unloadTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly name: string,
    readonly id: string,
    readonly kind: DocKind<State>,
    readonly ydoc: Y.Doc,
    public lastSeq: number,
    private readonly env: DocEnv,
  ) {
    this.state = kind.init(ydoc, id);
    this.awareness = new awarenessProtocol.Awareness(ydoc);
    this.awareness.setLocalState(null);
    this.awareness.on('update', this.onAwareness);
  }

  get connections(): ReadonlySet<KindConnection> {
    return this.conns;
  }
  get options(): LiveOptions {
    return this.env.options;
  }
  get logger(): Logger {
    return this.env.logger;
  }

  /** Runs work on this doc one at a time, in arrival order. */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    this.queued++;
    const next = this.chain.then(fn, fn);
    this.chain = next.then(
      () => void this.queued--,
      () => void this.queued--,
    );
    return next;
  }

  /** Runs synchronous work at once when nothing is queued on the doc (a keystroke, mostly), else after what is. */
  now(fn: () => void): void | Promise<void> {
    if (!this.queued) return fn();
    return this.serial(async () => fn());
  }

  // ---- connections and awareness -------------------------------------------------------

  join(conn: DocConnection): void {
    this.conns.add(conn);
    if (this.unloadTimer) clearTimeout(this.unloadTimer);
    this.unloadTimer = null;
  }

  /** Drops a connection and the presence it spoke for; true when nobody is left. */
  leave(conn: DocConnection): boolean {
    this.conns.delete(conn);
    if (conn.awarenessIds.size) awarenessProtocol.removeAwarenessStates(this.awareness, [...conn.awarenessIds], conn);
    return this.conns.size === 0;
  }

  private readonly onAwareness = (
    { added, updated, removed }: { added: number[]; updated: number[]; removed: number[] },
    origin: unknown,
  ) => {
    const conn = origin as DocConnection | null;
    if (conn && typeof conn === 'object' && 'awarenessIds' in conn) {
      added.forEach((id) => conn.awarenessIds.add(id));
      removed.forEach((id) => conn.awarenessIds.delete(id));
    }
    for (const id of [...added, ...updated, ...removed]) this.pendingAwareness.add(id);
    // Coalesce: a room of 25 moving cursors is one message per tick, not 25 × 25.
    this.awarenessTimer ??= setTimeout(() => {
      this.awarenessTimer = null;
      const ids = [...this.pendingAwareness];
      this.pendingAwareness.clear();
      if (!ids.length) return;
      const message = awarenessMessage(this.awareness, ids);
      for (const c of this.conns) c.send(message);
    }, this.env.options.awarenessFlushMs);
  };

  /** Stops the awareness (the doc is dropped). */
  destroy(): void {
    if (this.awarenessTimer) clearTimeout(this.awarenessTimer);
    this.awareness.destroy();
  }

  /** Stops timers (the server is stopping); what is stored stays. */
  stopTimers(): void {
    for (const t of [this.unloadTimer, this.awarenessTimer]) if (t) clearTimeout(t);
    this.kind.dispose?.(this);
  }

  broadcast(update: Uint8Array, except: DocConnection | null): void {
    const message = updateMessage(update);
    for (const c of this.conns) if (c !== except) c.send(message);
  }

  /** The current state is good: its kind records it as the one to restore. */
  remember(): void {
    this.kind.remember(this, false);
  }

  // ---- changes -------------------------------------------------------------------------

  /** Runs a server edit, persisting and broadcasting what it changed. Call inside serial. */
  async edit(fn: (ydoc: Y.Doc) => void, author: string | null): Promise<void> {
    const captured: Uint8Array[] = [];
    const capture = (u: Uint8Array) => captured.push(u);
    this.ydoc.on('update', capture);
    try {
      Y.transact(this.ydoc, () => fn(this.ydoc), SERVER);
    } finally {
      this.ydoc.off('update', capture);
    }
    this.remember();
    if (!captured.length) return;
    const update = captured.length === 1 ? captured[0]! : Y.mergeUpdates(captured);
    await this.env.replication.persist(this, update, author);
    this.broadcast(update, null);
  }

  /**
   * A client's update: applied, checked by the kind, rolled back on failure; broadcast when
   * accepted and persisted. Broadcasting does not wait for the commit: a database round
   * trip in every keystroke's path is what separated us from a plain relay. The window
   * this opens is covered by Yjs itself: until the group commit lands (milliseconds), the
   * author and every peer hold the update and send it again when they reconnect, and a
   * failed append is retried with the doc's whole state (replication.ts).
   */
  integrate(conn: DocConnection, update: Uint8Array): void {
    const captured: Uint8Array[] = [];
    const capture = (u: Uint8Array) => captured.push(u);
    this.ydoc.on('update', capture);
    let problems: readonly Problem[] = [];
    let before: Uint8Array | null = null;
    try {
      Y.applyUpdate(this.ydoc, update, conn);
      if (!captured.length) return; // nothing integrated yet: parked until its dependencies arrive
      problems = this.kind.check(this);
      if (problems.length) {
        before = stateBefore(this.ydoc, captured);
        this.kind.restore(this, REVERT);
      } else this.kind.remember(this, true);
    } finally {
      this.ydoc.off('update', capture);
    }
    if (before) {
      // Everyone gets the net effect: the refused items as deleted (their content is gone), the old values back.
      const net = Y.encodeStateAsUpdate(this.ydoc, before);
      this.broadcast(net, null);
      void this.env.replication.persist(this, net, conn.principal.userId);
      conn.send(
        noticeMessage({
          code: 'UPDATE_REFUSED',
          message: { zh: '修改未通过校验，已撤销', en: 'Your change was refused and rolled back' },
          details: problems.map((p) => ({ code: p.code, path: p.path, message: p.message })),
        }),
      );
      return;
    }
    const accepted = captured.length === 1 ? captured[0]! : Y.mergeUpdates(captured);
    // Validated, so it goes out at once; the group commit stores it moments later.
    this.broadcast(accepted, conn);
    void this.env.replication.persist(this, accepted, conn.principal.userId);
    this.kind.accepted?.(this, conn.principal);
  }
}

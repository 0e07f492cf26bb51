import { randomUUID } from 'node:crypto';
import { writeDraft, type ProcessDraft } from '@sales-process/core';
import type { WSContext } from 'hono/ws';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import type { ServerContext } from '../context.js';
import type { Principal } from '../http/auth.js';
import { ApiError, notFound } from '../http/errors.js';
import { tooManyConnections, userKey } from '../http/user-slots.js';
import type { DocStore } from './doc-store.js';
import { opportunityAccess, type OpportunityService } from '../opportunities/service.js';
import type { DraftDocs, ProcessService } from '../processes/service.js';
import {
  DraftChecker,
  checkFormDoc,
  FORM_ROOT,
  parseDocName,
  readForm,
  readServerState,
  restoreDraftDoc,
  restoreFormDoc,
  SERVER_ROOT,
  writeMap,
  type DocKind,
  type FormField,
  type Problem,
} from './doc-kinds.js';

/** y-websocket message types, plus ours. */
export const MESSAGE_SYNC = 0;
export const MESSAGE_AWARENESS = 1;
export const MESSAGE_AUTH = 2;
export const MESSAGE_QUERY_AWARENESS = 3;
/** A JSON notice to one client: an update of theirs was refused (and reverted), or read-only. */
export const MESSAGE_NOTICE = 100;

export interface SyncOptions {
  /** Compact a doc's update log after this many appended updates. */
  compactEvery?: number;
  /** Awareness changes are coalesced and sent at most this often per doc. */
  awarenessFlushMs?: number;
  /** Keep an idle doc loaded this long after its last client leaves. */
  unloadAfterMs?: number;
  /** Form edits reach the database this long after the last keystroke. */
  formFlushMs?: number;
  /** Bytes of messages a connection may have queued (at least one largest frame). */
  maxQueuedBytes?: number;
  /** An update waits this long to be stored with others (the doc store's group commit; read by the app, which builds the store). */
  commitDelayMs?: number;
  /**
   * Each connection's budget: messages and bytes per second, with bursts of `burstSeconds`
   * of them (bytes: at least one largest frame). Past it the connection is closed with
   * 4429 instead of the server spending its event loop on it (defaults 200 messages/s,
   * 1 MiB/s, 3 s bursts).
   */
  messagesPerSecond?: number;
  bytesPerSecond?: number;
  burstSeconds?: number;
  /**
   * Milliseconds of the event loop a connection's updates may take per second, with bursts
   * of `cpuBurstMs` (defaults 100 and 150; in debt up to half a burst, and a lone update is
   * always served from a full budget): updates that are costly to check (refused ones
   * are rolled back) close the connection with 4429 long before they stall the server.
   */
  cpuMsPerSecond?: number;
  cpuBurstMs?: number;
  /**
   * One user's budget (tenant and user id), drawn on by all their connections at once:
   * messages and milliseconds of the event loop per second (defaults 400 and 200, twice a
   * connection's; bursts of a quarter of a second of messages and of `cpuBurstMs`). Fifty sockets of one user get no more than two
   * would: past it the user's most active connections are closed with 4429 until what is
   * left sends at most half the user's rate; the quiet ones (another tab) stay open.
   */
  userMessagesPerSecond?: number;
  userCpuMsPerSecond?: number;
  /** Websocket connections one user may have open at once (default 20); one more is refused before the upgrade with 429 RATE_LIMITED. */
  maxConnectionsPerUser?: number;
  /** Largest awareness update a client may send (default 8 KiB; larger: closed with 4413). */
  maxAwarenessBytes?: number;
  /** The largest frame a client may send (the websocket server's limit; default 16 MiB). */
  maxFrameBytes?: number;
}

/** Close codes of live documents (4000–4999 are the application's). */
export const CLOSE_MALFORMED = 4400;
export const CLOSE_FORBIDDEN = 4403;
export const CLOSE_TOO_LARGE = 4413;
export const CLOSE_RATE_LIMITED = 4429;

/** A token bucket: `rate` per second, holding at most `capacity`. */
class Bucket {
  private level: number;
  private at = performance.now();
  constructor(
    private readonly rate: number,
    private readonly capacity: number,
  ) {
    this.level = capacity;
  }
  private refill() {
    const now = performance.now();
    this.level = Math.min(this.capacity, this.level + ((now - this.at) / 1000) * this.rate);
    this.at = now;
  }
  /** Takes `n` if there is that much. */
  take(n: number): boolean {
    this.refill();
    if (this.level < n) return false;
    this.level -= n;
    return true;
  }
  /**
   * Charges `n` already spent: the level may go into debt of half the capacity. A single
   * charge from a full bucket always passes (one large, legitimate update on reconnect).
   */
  charge(n: number): boolean {
    this.refill();
    const full = this.level >= this.capacity;
    this.level -= n;
    return full || this.level >= -this.capacity / 2;
  }
}

/** What was added recently: decays with a one-second time constant, so it reads as a rate per second. */
class Meter {
  private value = 0;
  private at = performance.now();
  add(n: number) {
    this.value = this.read() + n;
  }
  read(): number {
    const now = performance.now();
    this.value *= Math.exp(-(now - this.at) / 1000);
    this.at = now;
    return this.value;
  }
}

/** One user's live connections (tenant and user id) and the budget they share. */
interface UserLive {
  key: string;
  conns: Set<Conn>;
  /** Places taken before the upgrade (when each lapses), for connections not opened yet. */
  pending: number[];
  messages: Bucket;
  cpu: Bucket;
  idleTimer: NodeJS.Timeout | null;
}

/** How long a place taken before the upgrade is held for the connection to open. */
const PENDING_MS = 10_000;

const SERVER = Symbol('server');
const REMOTE = Symbol('remote');
const REVERT = Symbol('revert');

interface Conn {
  id: string;
  ws: WSContext;
  principal: Principal;
  canWrite: boolean;
  doc: LiveDoc | null;
  awarenessIds: Set<number>;
  /** What it may still send (SyncOptions' budget). */
  messages: Bucket;
  bytes: Bucket;
  cpu: Bucket;
  /** Its user's connections and shared budget; what it used lately (to find the most active). */
  user: UserLive;
  recentMessages: Meter;
  recentCpu: Meter;
  /** Messages waiting for the doc to be attached, in order. */
  queue: Promise<void>;
  waiting: number;
  /** Bytes of this connection's messages not handled yet (waiting, or queued on a busy doc). */
  queuedBytes: number;
  closed: boolean;
}

class LiveDoc {
  readonly conns = new Set<Conn>();
  readonly awareness: awarenessProtocol.Awareness;
  private chain: Promise<unknown> = Promise.resolve();
  /** The last state known to be valid, to restore on a refused update. */
  goodDraft: ProcessDraft | null = null;
  /** Process drafts: checks each update re-reading only the stages it touched. */
  checker: DraftChecker | null = null;
  goodForm: Record<string, unknown> = {};
  goodServer: Record<string, unknown> = {};
  formFields: FormField[] = [];
  sinceCompact = 0;
  /** Settles when every update persisted so far is stored. */
  writes: Promise<void> = Promise.resolve();
  pendingAwareness = new Set<number>();
  awarenessTimer: NodeJS.Timeout | null = null;
  unloadTimer: NodeJS.Timeout | null = null;
  formTimer: NodeJS.Timeout | null = null;
  formAuthor: Principal | null = null;
  flushedForm: Record<string, unknown> = {};
  tenantId: string | null = null;

  constructor(
    readonly name: string,
    readonly kind: DocKind,
    readonly ydoc: Y.Doc,
    public lastSeq: number,
  ) {
    this.awareness = new awarenessProtocol.Awareness(ydoc);
    this.awareness.setLocalState(null);
  }

  /** Work queued by `serial` and not finished. */
  private queued = 0;

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
}

/**
 * Live documents over the y-websocket protocol: validated, persisted, shared between
 * instances through LISTEN/NOTIFY (pointers, never bytes).
 */
export class SyncServer implements DraftDocs {
  private readonly docs = new Map<string, Promise<LiveDoc>>();
  private readonly instance = randomUUID();
  private unlisten: (() => Promise<void>) | null = null;
  private readonly opts: Required<Omit<SyncOptions, 'commitDelayMs'>>;
  private closing = false;

  constructor(
    private readonly ctx: ServerContext,
    private readonly store: DocStore,
    private readonly processes: ProcessService,
    private readonly opportunities: OpportunityService,
    options: SyncOptions = {},
  ) {
    this.opts = {
      compactEvery: 300,
      awarenessFlushMs: 50,
      unloadAfterMs: 10_000,
      formFlushMs: 300,
      maxQueuedBytes: 40 * 1024 * 1024,
      messagesPerSecond: 200,
      bytesPerSecond: 1024 * 1024,
      burstSeconds: 3,
      cpuMsPerSecond: 100,
      cpuBurstMs: 150,
      userMessagesPerSecond: 400,
      userCpuMsPerSecond: 200,
      maxConnectionsPerUser: 20,
      maxAwarenessBytes: 8 * 1024,
      maxFrameBytes: 16 * 1024 * 1024,
      ...options,
    };
  }

  async start(): Promise<void> {
    this.unlisten = await this.ctx.database.listen('sp_doc', (payload) => void this.onNotify(payload));
  }

  // ---- authorization (before the upgrade) ----------------------------------------------

  /** Who may open a doc: throws an ApiError (404 outside the tenant, 403 without the role). */
  async authorize(p: Principal, name: string): Promise<{ canWrite: boolean }> {
    const kind = parseDocName(name);
    if (!kind)
      throw new ApiError('VALIDATION_FAILED', [
        {
          path: 'doc',
          message: {
            zh: '文档名应为 process-draft:{id} 或 opportunity:{id}',
            en: 'Doc names are process-draft:{id} or opportunity:{id}',
          },
        },
      ]);
    if (kind.kind === 'process-draft') {
      await this.processes.row(this.ctx.database.db, p.tenantId, kind.id);
      if (!p.roles.has('admin'))
        throw new ApiError('FORBIDDEN', [
          { message: { zh: '只有管理员可以编辑销售流程', en: 'Only admins edit processes' } },
        ]);
      return { canWrite: true };
    }
    const access = await this.opportunities.accessFor(p, kind.id).catch(() => null);
    if (!access) throw notFound('opportunity');
    if (!access.read) throw new ApiError('FORBIDDEN');
    return { canWrite: access.write };
  }

  // ---- users: their connections and shared budget ---------------------------------------

  private readonly users = new Map<string, UserLive>();

  private userOf(p: Principal): UserLive {
    const key = userKey(p);
    let u = this.users.get(key);
    if (!u) {
      const o = this.opts;
      u = {
        key,
        conns: new Set(),
        pending: [],
        idleTimer: null,
        // Short bursts (a quarter of a second of messages, one connection's burst of time): what
        // 50 sockets pile up before the first of them is closed stays well under a second. Ten
        // tabs reconnecting at once send about 40.
        messages: new Bucket(o.userMessagesPerSecond, o.userMessagesPerSecond / 4),
        cpu: new Bucket(o.userCpuMsPerSecond, o.cpuBurstMs),
      };
      this.users.set(key, u);
    }
    if (u.idleTimer) clearTimeout(u.idleTimer);
    u.idleTimer = null;
    return u;
  }

  /**
   * Forgets an idle user once their budget would be full again (reconnecting does not refill
   * it) and the places held for their upgrades have lapsed: an upgrade admitted but never
   * opened leaves a place that nothing else would clear. Any later admit or open cancels it.
   */
  private maybeForget(u: UserLive) {
    if (u.conns.size || u.idleTimer) return;
    const lapse = Math.max(0, (u.pending.at(-1) ?? 0) - performance.now());
    u.idleTimer = setTimeout(
      () => {
        u.idleTimer = null;
        const now = performance.now();
        while (u.pending.length && u.pending[0]! <= now) u.pending.shift();
        if (u.conns.size || this.users.get(u.key) !== u) return;
        if (u.pending.length) this.maybeForget(u);
        else this.users.delete(u.key);
      },
      lapse + (this.opts.burstSeconds + 2) * 1000,
    );
    u.idleTimer.unref?.();
  }

  /** How many users the server holds a budget for (tests: that idle ones are forgotten). */
  get trackedUsers(): number {
    return this.users.size;
  }

  /**
   * Before the upgrade: holds a place for one more of the user's connections, or refuses
   * it with 429 RATE_LIMITED past `maxConnectionsPerUser` (open ones and ones on their way).
   */
  admit(p: Principal): void {
    const u = this.userOf(p);
    const now = performance.now();
    while (u.pending.length && u.pending[0]! <= now) u.pending.shift();
    if (u.conns.size + u.pending.length >= this.opts.maxConnectionsPerUser) {
      this.ctx.logger.warn(
        { user: p.userId, open: u.conns.size },
        'websocket refused: too many connections of one user',
      );
      this.maybeForget(u);
      throw tooManyConnections(this.opts.maxConnectionsPerUser, {
        zh: '实时文档连接',
        en: 'live document connections',
      });
    }
    u.pending.push(now + PENDING_MS);
    // If the upgrade never opens, nothing else would forget the user (userOf cancelled it).
    this.maybeForget(u);
  }

  /**
   * The user's shared budget ran out: closes their most active connections (by `meter`)
   * with 4429: every one that used at least half what the busiest did lately, then more
   * until the rest used at most half the user's rate. A quiet tab stays open; fifty equal
   * flooders are all closed at once (at the start of a flood none has used much yet).
   */
  private shed(u: UserLive, meter: 'recentMessages' | 'recentCpu', rate: number, why: string) {
    const ranked = [...u.conns].map((c) => ({ c, used: c[meter].read() })).sort((a, b) => b.used - a.used);
    let total = ranked.reduce((sum, r) => sum + r.used, 0);
    const busiest = ranked[0]?.used ?? 0;
    for (const { c, used } of ranked) {
      if (used < busiest / 2 && total <= rate / 2) break;
      total -= used;
      this.ctx.logger.warn(
        { conn: c.id, user: c.principal.userId, used: Math.round(used) },
        `user over their shared budget: ${why}`,
      );
      this.closeConn(c, CLOSE_RATE_LIMITED, `rate limited: your connections together send too much (${why})`);
    }
  }

  // ---- connections ---------------------------------------------------------------------

  /** Hono websocket events for one authorized connection. */
  events(principal: Principal, name: string, canWrite: boolean) {
    const o = this.opts;
    const conn: Conn = {
      id: randomUUID(),
      ws: null as unknown as WSContext,
      principal,
      canWrite,
      doc: null,
      awarenessIds: new Set(),
      queue: Promise.resolve(),
      waiting: 0,
      queuedBytes: 0,
      closed: false,
      messages: new Bucket(o.messagesPerSecond, o.messagesPerSecond * o.burstSeconds),
      bytes: new Bucket(o.bytesPerSecond, Math.max(o.bytesPerSecond * o.burstSeconds, o.maxFrameBytes)),
      cpu: new Bucket(o.cpuMsPerSecond, o.cpuBurstMs),
      user: null as unknown as UserLive,
      recentMessages: new Meter(),
      recentCpu: new Meter(),
    };
    return {
      onOpen: (_: Event, ws: WSContext) => {
        conn.ws = ws;
        // The place `admit` held becomes this connection.
        conn.user = this.userOf(principal);
        conn.user.pending.shift();
        conn.user.conns.add(conn);
        conn.queue = this.attach(conn, name).catch((e) => this.fail(conn, e));
      },
      onMessage: (event: MessageEvent, ws: WSContext) => {
        conn.ws = ws;
        const data = event.data;
        if (conn.closed) return;
        if (typeof data === 'string') return this.malformed(conn, 'text frames are not part of the protocol');
        const bytes = new Uint8Array(data as ArrayBuffer);
        // Over budget: closed before any work is spent on it.
        if (!conn.messages.take(1) || !conn.bytes.take(bytes.length)) {
          this.ctx.logger.warn({ conn: conn.id, user: conn.principal.userId }, 'websocket over its budget');
          return this.closeConn(conn, CLOSE_RATE_LIMITED, 'rate limited: too many messages or bytes');
        }
        // The user's budget, shared by all their connections.
        conn.recentMessages.add(1);
        if (!conn.user.messages.take(1)) {
          this.shed(conn.user, 'recentMessages', o.userMessagesPerSecond, 'too many messages');
          if (conn.closed) return;
        }
        // Attached and nothing waiting: handled now (at once, or queued on its doc in order).
        if (conn.doc && !conn.waiting) return this.handle(conn, bytes);
        if (!this.account(conn, bytes.length)) return;
        conn.waiting++;
        conn.queue = conn.queue.then(() => {
          conn.waiting--;
          conn.queuedBytes -= bytes.length;
          if (!conn.closed) this.handle(conn, bytes);
        });
      },
      onClose: () => this.detach(conn),
      onError: () => this.detach(conn),
    };
  }

  /** Handles one message: done when this returns, or queued on the doc behind other work. */
  private handle(conn: Conn, bytes: Uint8Array) {
    let later: Promise<void> | void;
    try {
      later = this.onMessage(conn, bytes);
    } catch (e) {
      return this.fail(conn, e);
    }
    if (!later || !this.account(conn, bytes.length)) return;
    later.then(
      () => void (conn.queuedBytes -= bytes.length),
      (e) => this.fail(conn, e),
    );
  }

  /** Counts bytes a connection has waiting; closes it past the cap. */
  private account(conn: Conn, n: number): boolean {
    conn.queuedBytes += n;
    if (conn.queuedBytes <= this.opts.maxQueuedBytes) return true;
    this.closeConn(conn, 1009, 'too much queued');
    return false;
  }

  private async attach(conn: Conn, name: string) {
    const doc = await this.open(name, conn.principal.tenantId);
    if (conn.closed) return;
    conn.doc = doc;
    doc.conns.add(conn);
    if (doc.unloadTimer) clearTimeout(doc.unloadTimer);
    doc.unloadTimer = null;
    // The doc is fully loaded: start the sync, and send who is here.
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, MESSAGE_SYNC);
    syncProtocol.writeSyncStep1(encoder, doc.ydoc);
    this.send(conn, encoding.toUint8Array(encoder));
    const states = doc.awareness.getStates();
    if (states.size) this.send(conn, awarenessMessage(doc.awareness, [...states.keys()]));
  }

  private detach(conn: Conn) {
    if (conn.closed) return;
    conn.closed = true;
    if (conn.user) {
      conn.user.conns.delete(conn);
      this.maybeForget(conn.user);
    }
    const doc = conn.doc;
    if (!doc) return;
    doc.conns.delete(conn);
    if (conn.awarenessIds.size) awarenessProtocol.removeAwarenessStates(doc.awareness, [...conn.awarenessIds], conn);
    if (doc.conns.size === 0) this.scheduleUnload(doc);
  }

  private send(conn: Conn, message: Uint8Array) {
    if (conn.closed) return;
    try {
      conn.ws.send(message as Uint8Array<ArrayBuffer>);
    } catch {
      this.detach(conn);
    }
  }

  private closeConn(conn: Conn, code: number, reason: string) {
    try {
      conn.ws.close(code, reason.slice(0, 120));
    } catch {}
    this.detach(conn);
  }

  private malformed(conn: Conn, why: string) {
    this.ctx.logger.warn({ conn: conn.id, why }, 'malformed websocket message');
    this.closeConn(conn, CLOSE_MALFORMED, `malformed message: ${why}`);
  }

  private fail(conn: Conn, error: unknown) {
    if (error instanceof RangeError || error instanceof TypeError || (error as Error)?.message?.includes('Unexpected'))
      return this.malformed(conn, (error as Error).message);
    this.ctx.logger.error({ err: error, conn: conn.id }, 'sync connection failed');
    this.closeConn(conn, 1011, 'server error');
  }

  private notice(conn: Conn, notice: { code: string; message: { zh: string; en: string }; details: unknown[] }) {
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, MESSAGE_NOTICE);
    encoding.writeVarString(encoder, JSON.stringify(notice));
    this.send(conn, encoding.toUint8Array(encoder));
  }

  private onMessage(conn: Conn, bytes: Uint8Array): void | Promise<void> {
    const doc = conn.doc!;
    const decoder = decoding.createDecoder(bytes);
    const type = decoding.readVarUint(decoder);
    switch (type) {
      case MESSAGE_SYNC: {
        const sub = decoding.readVarUint(decoder);
        if (sub === syncProtocol.messageYjsSyncStep1) {
          const sv = decoding.readVarUint8Array(decoder);
          const encoder = encoding.createEncoder();
          encoding.writeVarUint(encoder, MESSAGE_SYNC);
          syncProtocol.writeSyncStep2(encoder, doc.ydoc, sv);
          return this.send(conn, encoding.toUint8Array(encoder));
        }
        if (sub !== syncProtocol.messageYjsSyncStep2 && sub !== syncProtocol.messageYjsUpdate)
          return this.malformed(conn, `unknown sync message ${sub}`);
        const update = decoding.readVarUint8Array(decoder);
        // Check that it decodes before it touches the doc.
        Y.decodeUpdate(update);
        if (!conn.canWrite) {
          if (isEmptyUpdate(update)) return;
          return this.notice(conn, {
            code: 'FORBIDDEN',
            message: { zh: '只读：修改不会被保存', en: 'Read-only: your changes are not saved' },
            details: [],
          });
        }
        return this.applyClientUpdate(doc, conn, update);
      }
      case MESSAGE_AWARENESS: {
        const update = decoding.readVarUint8Array(decoder);
        if (update.length > this.opts.maxAwarenessBytes)
          return this.closeConn(
            conn,
            CLOSE_TOO_LARGE,
            `awareness updates are at most ${this.opts.maxAwarenessBytes} bytes`,
          );
        // A client speaks for its own awareness states only: not for another connection's.
        for (const id of awarenessClients(update))
          for (const other of doc.conns)
            if (other !== conn && other.awarenessIds.has(id))
              return this.notice(conn, {
                code: 'FORBIDDEN',
                message: { zh: '不能修改他人的在线状态', en: "You cannot change another client's presence" },
                details: [{ clientId: id }],
              });
        awarenessProtocol.applyAwarenessUpdate(doc.awareness, update, conn);
        return;
      }
      case MESSAGE_QUERY_AWARENESS:
        return this.send(conn, awarenessMessage(doc.awareness, [...doc.awareness.getStates().keys()]));
      case MESSAGE_AUTH:
        return;
      default:
        return this.malformed(conn, `unknown message type ${type}`);
    }
  }

  // ---- updates -----------------------------------------------------------------------

  /**
   * Apply, validate, restore on failure; broadcast what is accepted and persist it.
   * Broadcasting does not wait for the commit: a database round trip in every keystroke's
   * path is what separated us from a plain relay. The window this opens is covered by
   * Yjs itself: until the group commit lands (milliseconds), the author and every peer
   * hold the update and send it again when they reconnect, and a failed append is
   * retried with the doc's whole state (see `persist`).
   */
  private applyClientUpdate(doc: LiveDoc, conn: Conn, update: Uint8Array): void | Promise<void> {
    return doc.now(() => {
      if (conn.closed) return;
      const started = performance.now();
      try {
        this.integrate(doc, conn, update);
      } finally {
        // Charged to the connection: past its budget it is closed, not served; and to its
        // user: past theirs, their most active connections are.
        const spent = performance.now() - started;
        conn.recentCpu.add(spent);
        if (!conn.cpu.charge(spent)) {
          this.ctx.logger.warn({ conn: conn.id, user: conn.principal.userId }, 'websocket over its time budget');
          this.closeConn(conn, CLOSE_RATE_LIMITED, 'rate limited: updates take too long');
        } else if (!conn.user.cpu.charge(spent))
          this.shed(conn.user, 'recentCpu', this.opts.userCpuMsPerSecond, 'updates take too long');
      }
    });
  }

  private integrate(doc: LiveDoc, conn: Conn, update: Uint8Array): void {
    {
      const captured: Uint8Array[] = [];
      const capture = (u: Uint8Array) => captured.push(u);
      doc.ydoc.on('update', capture);
      let problems: Problem[] = [];
      let before: Uint8Array | null = null;
      try {
        Y.applyUpdate(doc.ydoc, update, conn);
        if (!captured.length) return; // nothing integrated yet: parked until its dependencies arrive
        problems = this.validate(doc);
        if (problems.length) {
          before = stateBefore(doc.ydoc, captured);
          this.restore(doc);
        } else this.remember(doc, true);
      } finally {
        doc.ydoc.off('update', capture);
      }
      if (before) {
        // Everyone gets the net effect: the refused items as deleted (their content is gone), the old values back.
        const net = Y.encodeStateAsUpdate(doc.ydoc, before);
        this.broadcast(doc, net, null);
        void this.persist(doc, net, conn.principal.userId);
        this.notice(conn, {
          code: 'UPDATE_REFUSED',
          message: { zh: '修改未通过校验，已撤销', en: 'Your change was refused and rolled back' },
          details: problems.map((p) => ({ code: p.code, path: p.path, message: p.message })),
        });
        return;
      }
      const accepted = captured.length === 1 ? captured[0]! : Y.mergeUpdates(captured);
      // Validated, so it goes out at once; the group commit stores it moments later.
      this.broadcast(doc, accepted, conn);
      void this.persist(doc, accepted, conn.principal.userId);
      if (doc.kind.kind === 'opportunity') this.scheduleFormFlush(doc, conn.principal);
    }
  }

  /** The draft the last validation produced, so an accepted update is parsed once. */
  private lastChecked: ProcessDraft | null = null;

  private validate(doc: LiveDoc): Problem[] {
    if (doc.kind.kind === 'process-draft') {
      const { problems, draft } = doc.checker!.check();
      this.lastChecked = draft;
      return problems;
    }
    return checkFormDoc(doc.ydoc, doc.formFields, doc.goodServer);
  }

  private restore(doc: LiveDoc) {
    if (doc.kind.kind === 'process-draft') restoreDraftDoc(doc.ydoc, doc.goodDraft!, REVERT);
    else restoreFormDoc(doc.ydoc, doc.goodForm, doc.goodServer, REVERT);
  }

  /** Records the current (valid) state as the one to restore. */
  private remember(doc: LiveDoc, justValidated = false) {
    if (doc.kind.kind === 'process-draft') {
      const draft = justValidated ? this.lastChecked : doc.checker!.check().draft;
      if (draft) doc.goodDraft = draft;
    } else {
      doc.goodForm = readForm(doc.ydoc);
      doc.goodServer = readServerState(doc.ydoc);
    }
  }

  private broadcast(doc: LiveDoc, update: Uint8Array, except: Conn | null) {
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, MESSAGE_SYNC);
    syncProtocol.writeUpdate(encoder, update);
    const message = encoding.toUint8Array(encoder);
    for (const c of doc.conns) if (c !== except) this.send(c, message);
  }

  /**
   * Appends an accepted update (group-committed with other docs' updates) and tells other
   * instances where to find it. Resolves when it is stored; never rejects: a failed append
   * is retried with the doc's whole state until one lands, so an update that was
   * broadcast is never only in memory for long. Unload and shutdown wait for `doc.writes`.
   */
  private persist(doc: LiveDoc, update: Uint8Array, author: string | null): Promise<void> {
    // The bookkeeping after the append queues behind the doc's work; what is returned
    // does not wait for it, so a server edit may await its own store inside `serial`.
    const written = this.store.append(doc.name, update, author, { channel: 'sp_doc', from: this.instance }).then(
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
          channel: 'sp_doc',
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
    if (++doc.sinceCompact >= this.opts.compactEvery) {
      doc.sinceCompact = 0;
      void this.store
        .compact(doc.name)
        .catch((e) => this.ctx.logger.error({ err: e, doc: doc.name }, 'compaction failed'));
    }
  }

  /** Applies what other instances appended after our last seq, and passes it on. */
  private async catchUp(doc: LiveDoc) {
    let rows = await this.store.updatesAfter(doc.name, doc.lastSeq);
    const captured: Uint8Array[] = [];
    const capture = (u: Uint8Array, origin: unknown) => origin === REMOTE && captured.push(u);
    doc.ydoc.on('update', capture);
    try {
      if (rows.length && rows[0]!.seq !== doc.lastSeq + 1) {
        // The log was compacted past us: the snapshot has what we missed.
        const full = await this.store.load(doc.name);
        Y.applyUpdate(doc.ydoc, Y.encodeStateAsUpdate(full.ydoc), REMOTE);
        rows = [];
        doc.lastSeq = full.lastSeq;
      }
      Y.transact(doc.ydoc, () => rows.forEach((r) => Y.applyUpdate(doc.ydoc, r.update, REMOTE)), REMOTE);
    } finally {
      doc.ydoc.off('update', capture);
    }
    if (rows.length) doc.lastSeq = rows.at(-1)!.seq;
    if (captured.length) {
      this.broadcast(doc, Y.mergeUpdates(captured), null);
      this.remember(doc);
    }
  }

  private async onNotify(payload: string) {
    let msg: { doc: string; seq: number; from: string };
    try {
      msg = JSON.parse(payload);
    } catch {
      return;
    }
    if (msg.from === this.instance) return;
    const pending = this.docs.get(msg.doc);
    if (!pending) return;
    const doc = await pending.catch(() => null);
    if (!doc || msg.seq <= doc.lastSeq) return;
    await doc.serial(() => this.catchUp(doc)).catch((e) => this.ctx.logger.error({ err: e }, 'catch-up failed'));
  }

  // ---- loading and unloading -------------------------------------------------------------

  /** The live doc, fully loaded (and initialised) before anyone is synced with it. */
  private open(name: string, tenantId: string | null): Promise<LiveDoc> {
    let pending = this.docs.get(name);
    if (!pending) {
      pending = this.load(name, tenantId);
      this.docs.set(name, pending);
      pending.catch(() => this.docs.delete(name));
    }
    return pending;
  }

  private async load(name: string, tenantId: string | null): Promise<LiveDoc> {
    const kind = parseDocName(name);
    if (!kind) throw new Error(`bad doc name ${name}`);
    const { ydoc, lastSeq } = await this.store.load(name);
    const doc = new LiveDoc(name, kind, ydoc, lastSeq);
    doc.tenantId = tenantId;
    doc.awareness.on(
      'update',
      ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }, origin: unknown) => {
        const conn = origin as Conn | null;
        if (conn && typeof conn === 'object' && 'awarenessIds' in conn) {
          added.forEach((id) => conn.awarenessIds.add(id));
          removed.forEach((id) => conn.awarenessIds.delete(id));
        }
        for (const id of [...added, ...updated, ...removed]) doc.pendingAwareness.add(id);
        // Coalesce: a room of 25 moving cursors is one message per tick, not 25 × 25.
        doc.awarenessTimer ??= setTimeout(() => {
          doc.awarenessTimer = null;
          const ids = [...doc.pendingAwareness];
          doc.pendingAwareness.clear();
          if (!ids.length) return;
          const message = awarenessMessage(doc.awareness, ids);
          for (const c of doc.conns) this.send(c, message);
        }, this.opts.awarenessFlushMs);
      },
    );
    if (kind.kind === 'process-draft') {
      doc.checker = new DraftChecker(ydoc);
      const { draft } = doc.checker.check();
      doc.goodDraft = draft;
      if (!draft || !ydoc.getMap('draft').size) {
        // A new draft starts as the current version.
        const initial = await this.processes.currentDraft(kind.id);
        await doc.serial(() => this.serverEdit(doc, (d) => writeDraft(d, initial), null));
      }
    } else {
      await doc.serial(() => this.syncOpportunityDoc(doc));
    }
    return doc;
  }

  private scheduleUnload(doc: LiveDoc) {
    if (doc.unloadTimer || this.closing) return;
    doc.unloadTimer = setTimeout(() => void this.unload(doc), this.opts.unloadAfterMs);
  }

  /** Saves (flushes forms, compacts) and drops a doc nobody has open. */
  private async unload(doc: LiveDoc) {
    doc.unloadTimer = null;
    if (doc.conns.size) return;
    try {
      await doc.writes;
      await doc.serial(async () => {
        await this.flushFormNow(doc);
        await this.store.compact(doc.name);
      });
    } catch (e) {
      this.ctx.logger.error({ err: e, doc: doc.name }, 'unload failed: keeping the doc loaded');
      return this.scheduleUnload(doc);
    }
    if (doc.conns.size) return;
    if (doc.awarenessTimer) clearTimeout(doc.awarenessTimer);
    doc.awareness.destroy();
    this.docs.delete(doc.name);
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.unlisten?.().catch(() => {});
    const docs = await Promise.all([...this.docs.values()].map((p) => p.catch(() => null)));
    for (const doc of docs) {
      if (!doc) continue;
      for (const c of [...doc.conns]) this.closeConn(c, 1001, 'server shutting down');
      for (const t of [doc.unloadTimer, doc.awarenessTimer, doc.formTimer]) if (t) clearTimeout(t);
      // Stored, or given up on after a while if the database is gone.
      await Promise.race([doc.writes, new Promise((r) => setTimeout(r, 10_000).unref())]);
      await doc
        .serial(async () => {
          await this.flushFormNow(doc);
          await this.store.compact(doc.name);
        })
        .catch((e) => this.ctx.logger.error({ err: e, doc: doc.name }, 'save on shutdown failed'));
    }
    this.docs.clear();
  }

  // ---- server-side edits (REST, commands) ----------------------------------------------

  /** Runs a server edit on a doc, persisting and broadcasting what it changed. Call inside serial. */
  private async serverEdit(doc: LiveDoc, fn: (ydoc: Y.Doc) => void, author: string | null) {
    const captured: Uint8Array[] = [];
    const capture = (u: Uint8Array) => captured.push(u);
    doc.ydoc.on('update', capture);
    try {
      Y.transact(doc.ydoc, () => fn(doc.ydoc), SERVER);
    } finally {
      doc.ydoc.off('update', capture);
    }
    this.remember(doc);
    if (!captured.length) return;
    const update = captured.length === 1 ? captured[0]! : Y.mergeUpdates(captured);
    await this.persist(doc, update, author);
    this.broadcast(doc, update, null);
  }

  // DraftDocs, for ProcessService: REST reads and writes go through the live doc.
  async edit(name: string, fn: (ydoc: Y.Doc) => void, author: string | null): Promise<void> {
    const doc = await this.open(name, null);
    await doc.serial(() => this.serverEdit(doc, fn, author));
    if (!doc.conns.size) this.scheduleUnload(doc);
  }

  async read(name: string): Promise<Y.Doc> {
    const doc = await this.open(name, null);
    if (!doc.conns.size) this.scheduleUnload(doc);
    return doc.ydoc;
  }

  async reset(name: string): Promise<void> {
    const pending = this.docs.get(name);
    if (pending) {
      const doc = await pending.catch(() => null);
      if (doc) {
        for (const c of [...doc.conns]) this.closeConn(c, 4404, 'document removed');
        this.docs.delete(name);
      }
    }
    await this.store.remove(name);
  }

  // ---- opportunity docs --------------------------------------------------------------------

  /** Server state and form values from the database into the doc. Call inside serial. */
  private async syncOpportunityDoc(doc: LiveDoc) {
    const view = await this.opportunities.systemView(doc.kind.id).catch(() => null);
    if (!view) return;
    doc.tenantId = view.tenantId;
    // Each connection's rights again, by the same rule as REST (a reassignment, post-sale staff
    // changed, the opportunity won or closed): who may no longer read is closed, who may still
    // read but no longer write becomes read-only (and the other way round).
    const row = {
      ownerId: view.ownerId,
      managerId: view.supervisorId,
      postsaleStaff: view.postsaleStaff,
      status: view.status,
      phase: view.phase,
    };
    for (const conn of [...doc.conns]) {
      const access = opportunityAccess(conn.principal, row);
      if (!access.read) this.closeConn(conn, CLOSE_FORBIDDEN, 'you may no longer open this document');
      else conn.canWrite = access.write;
    }
    doc.formFields = (view.form ?? []).map((f) => ({ source: f.source, key: f.key, type: f.type, options: f.options }));
    const stored: Record<string, unknown> = Object.fromEntries(
      (view.form ?? []).map((f) => [`${f.source}.${f.key}`, f.value ?? null]),
    );
    const form = { ...stored };
    // Keep what someone is typing and has not reached the database yet: it stays unflushed
    // (flushedForm below is what the database holds), so the pending flush still saves it.
    if (doc.formTimer) for (const [k, v] of Object.entries(readForm(doc.ydoc))) if (k in form) form[k] = v;
    const { form: fullForm, ...rest } = view;
    // The form's shape (labels, types, options) is server state; its values are co-edited.
    const server = { ...rest, formFields: (fullForm ?? []).map(({ value: _v, ...f }) => f) };
    await this.serverEdit(
      doc,
      (d) => {
        writeMap(d, SERVER_ROOT, JSON.parse(JSON.stringify(server)), SERVER);
        writeMap(d, FORM_ROOT, form, SERVER);
      },
      null,
    );
    doc.flushedForm = stored;
  }

  /** An opportunity changed in the database: its loaded doc's server state follows. */
  async refreshOpportunity(_tenantId: string, id: string) {
    const pending = this.docs.get(`opportunity:${id}`);
    if (!pending) return;
    const doc = await pending.catch(() => null);
    if (!doc) return;
    await doc
      .serial(() => this.syncOpportunityDoc(doc))
      .catch((e) => this.ctx.logger.error({ err: e }, 'opportunity doc refresh failed'));
  }

  private scheduleFormFlush(doc: LiveDoc, author: Principal) {
    doc.formAuthor = author;
    if (doc.formTimer) clearTimeout(doc.formTimer);
    doc.formTimer = setTimeout(
      () =>
        void doc
          .serial(() => this.flushFormNow(doc))
          .catch((e) => this.ctx.logger.warn({ err: e }, 'form flush failed')),
      this.opts.formFlushMs,
    );
  }

  /** Writes co-filled form values to the database (the same path as PUT stage-form). Call inside serial. */
  private async flushFormNow(doc: LiveDoc) {
    if (doc.formTimer) clearTimeout(doc.formTimer);
    doc.formTimer = null;
    if (doc.kind.kind !== 'opportunity' || !doc.formAuthor) return;
    const form = readForm(doc.ydoc);
    const changed = Object.fromEntries(
      Object.entries(form).filter(([k, v]) => JSON.stringify(doc.flushedForm[k]) !== JSON.stringify(v)),
    );
    if (!Object.keys(changed).length) return;
    try {
      await this.opportunities.saveStageForm(doc.formAuthor, doc.kind.id, changed);
      doc.flushedForm = { ...doc.flushedForm, ...changed };
    } catch (e) {
      this.ctx.logger.warn({ err: e, doc: doc.name }, 'form values refused by the database; resyncing');
      await this.syncOpportunityDoc(doc);
    }
  }

  /**
   * Before a command decides, what was typed live must be in the database: including
   * keystrokes that arrived while the doc was busy (a refresh awaiting its store) and are
   * still queued on it, which is why this queues behind them rather than looking at the
   * flush timer now.
   */
  async flushForm(name: string): Promise<void> {
    const pending = this.docs.get(name);
    if (!pending) return;
    const doc = await pending.catch(() => null);
    if (doc) await doc.serial(() => this.flushFormNow(doc));
  }
}

/** The client ids an awareness update speaks for (throws on a malformed one: closed as such). */
function awarenessClients(update: Uint8Array): number[] {
  const decoder = decoding.createDecoder(update);
  const n = decoding.readVarUint(decoder);
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    ids.push(decoding.readVarUint(decoder));
    decoding.readVarUint(decoder); // clock
    decoding.readVarString(decoder); // state (JSON)
  }
  return ids;
}

function awarenessMessage(awareness: awarenessProtocol.Awareness, ids: number[]): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MESSAGE_AWARENESS);
  encoding.writeVarUint8Array(encoder, awarenessProtocol.encodeAwarenessUpdate(awareness, ids));
  return encoding.toUint8Array(encoder);
}

/**
 * The doc's state vector from before `updates` (just applied) were integrated: each of
 * their clients' first clock. Worked out only when an update is refused, instead of
 * encoding the state vector ahead of every update.
 */
function stateBefore(ydoc: Y.Doc, updates: Uint8Array[]): Uint8Array {
  const sv = Y.decodeStateVector(Y.encodeStateVector(ydoc));
  for (const u of updates)
    for (const [client, clock] of Y.parseUpdateMeta(u).from) sv.set(client, Math.min(sv.get(client) ?? clock, clock));
  return Y.encodeStateVector(sv);
}

/** An update with no structs and no deletions (y-websocket clients send these on connect). */
function isEmptyUpdate(update: Uint8Array): boolean {
  const { structs, ds } = Y.decodeUpdate(update);
  return structs.length === 0 && ds.clients.size === 0;
}

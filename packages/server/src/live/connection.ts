/**
 * One websocket on one live doc (Hocuspocus' ClientConnection and Connection): its
 * budget, the messages that arrive before its doc is loaded (queued, in order, within
 * `maxQueuedBytes`), sending, and closing. What a message means is message-receiver.ts's.
 */
import { randomUUID } from 'node:crypto';
import { CLOSE_MALFORMED, CLOSE_RATE_LIMITED } from '@sales-process/core';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { Principal } from '../http/auth.js';
import { ConnectionBudget, type Budgeted, type UserBudgets, type UserLive } from './budget.js';
import type { DocConnection, LiveDoc } from './live-doc.js';
import { receive } from './message-receiver.js';
import { awarenessMessage, noticeMessage, syncStep1Message } from './messages.js';
import type { LiveOptions } from './options.js';
import type { LiveNotice } from '@sales-process/core';

/** What a connection needs of the server (LiveDocs). */
export interface ConnectionHost {
  readonly options: LiveOptions;
  readonly logger: Logger;
  readonly users: UserBudgets;
  /** The doc, loaded and brought up to date by its kind. */
  open(name: string): Promise<LiveDoc>;
  /** The doc's last connection left. */
  idle(doc: LiveDoc): void;
}

export class Connection implements DocConnection, Budgeted {
  private uuid: string | undefined;
  /** Names it in logs: made when first logged (most connections never are), not held by every one. */
  get id(): string {
    return (this.uuid ??= randomUUID());
  }
  readonly awarenessIds = new Set<number>();
  /** What it may still send (SyncOptions' budget). */
  readonly budget: ConnectionBudget;
  doc: LiveDoc | null = null;
  closed = false;
  private ws = null as unknown as WebSocket;
  /** Its user's connections and shared budget (from when it opens). */
  user = null as unknown as UserLive;
  /** Messages waiting for the doc to be attached, in order. */
  private queue: Promise<void> = Promise.resolve();
  private waiting = 0;
  /** Bytes of this connection's messages not handled yet (waiting, or queued on a busy doc). */
  private queuedBytes = 0;

  constructor(
    readonly host: ConnectionHost,
    readonly principal: Principal,
    public canWrite: boolean,
    private readonly name: string,
  ) {
    this.budget = new ConnectionBudget(host.options);
  }

  /** Takes the socket once the handshake is done: the place `admit` held becomes this connection. */
  open(ws: WebSocket): void {
    this.ws = ws;
    // Binary frames arrive as one Buffer (ws' default binaryType), a view the decoders read as is.
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onMessage(data, isBinary));
    ws.on('close', () => this.detach());
    ws.on('error', () => this.detach());
    this.user = this.host.users.opened(this);
    this.queue = this.attach().catch((e) => this.fail(e));
  }

  private onMessage(bytes: Buffer, isBinary: boolean) {
    if (this.closed) return;
    if (!isBinary) return this.malformed('text frames are not part of the protocol');
    // Over budget: closed before any work is spent on it.
    if (!this.budget.messages.take(1) || !this.budget.bytes.take(bytes.length)) {
      this.host.logger.warn({ conn: this.id, user: this.principal.userId }, 'websocket over its budget');
      return this.close(CLOSE_RATE_LIMITED, 'rate limited: too many messages or bytes');
    }
    // The user's budget, shared by all their connections.
    this.host.users.takeMessage(this, this.user);
    if (this.closed) return;
    // Attached and nothing waiting: handled now (at once, or queued on its doc in order).
    if (this.doc && !this.waiting) return this.handle(this.doc, bytes);
    if (!this.account(bytes.length)) return;
    this.waiting++;
    this.queue = this.queue.then(() => {
      this.waiting--;
      this.queuedBytes -= bytes.length;
      if (!this.closed) this.handle(this.doc!, bytes);
    });
  }

  /** Handles one message: done when this returns, or queued on the doc behind other work. */
  private handle(doc: LiveDoc, bytes: Uint8Array) {
    let later: Promise<void> | void;
    try {
      later = receive(this, doc, bytes);
    } catch (e) {
      return this.fail(e);
    }
    if (!later || !this.account(bytes.length)) return;
    later.then(
      () => void (this.queuedBytes -= bytes.length),
      (e) => this.fail(e),
    );
  }

  /** Counts bytes a connection has waiting; closes it past the cap. */
  private account(n: number): boolean {
    this.queuedBytes += n;
    if (this.queuedBytes <= this.host.options.maxQueuedBytes) return true;
    this.close(1009, 'too much queued');
    return false;
  }

  private async attach() {
    const doc = await this.host.open(this.name);
    if (this.closed) return;
    this.doc = doc;
    doc.join(this);
    // The doc is fully loaded: start the sync, and send who is here.
    this.send(syncStep1Message(doc.ydoc));
    const states = doc.awareness.getStates();
    if (states.size) this.send(awarenessMessage(doc.awareness, [...states.keys()]));
  }

  private detach() {
    if (this.closed) return;
    this.closed = true;
    if (this.user) this.host.users.closed(this, this.user);
    const doc = this.doc;
    if (doc?.leave(this)) this.host.idle(doc);
  }

  send(message: Uint8Array): void {
    if (this.closed) return;
    try {
      this.ws.send(message);
    } catch {
      this.detach();
    }
  }

  notice(notice: LiveNotice): void {
    this.send(noticeMessage(notice));
  }

  close(code: number, reason: string): void {
    try {
      this.ws.close(code, reason.slice(0, 120));
    } catch {}
    this.detach();
  }

  malformed(why: string): void {
    this.host.logger.warn({ conn: this.id, why }, 'malformed websocket message');
    this.close(CLOSE_MALFORMED, `malformed message: ${why}`);
  }

  private fail(error: unknown) {
    if (error instanceof RangeError || error instanceof TypeError || (error as Error)?.message?.includes('Unexpected'))
      return this.malformed((error as Error).message);
    this.host.logger.error({ err: error, conn: this.id }, 'sync connection failed');
    this.close(1011, 'server error');
  }
}

/**
 * The kit's Yjs websocket client: y-websocket's protocol, without y-websocket.
 *
 * Why not y-websocket's `WebsocketProvider`: the kit has a size budget (a portal page with the
 * provider, the stage path and the stage form loads ≤ 45 KB gzip in all), and the live docs
 * used only part of it while working around the rest: cross-tab BroadcastChannel syncing
 * (switched off; IndexedDB keeps offline edits), URL query parameters (the token goes as a
 * subprotocol), Node's exit hook, and replacing its message handlers to read the server's
 * notices and to learn when a flush was answered. This client is what the kit uses of it, in
 * 0.8 KB gzip less (with lib0's broadcastchannel and url). The protocol is y-websocket's,
 * message for message, so it talks to any y-websocket server, and stock `WebsocketProvider`s
 * talk to ours (test/sync/live-socket.test.ts runs it against a stock @y/websocket-server
 * beside a stock `WebsocketProvider`; the server's own sync tests keep using the stock one):
 * - on open: sync step 1, then the local awareness state (when there is one);
 * - sync (0): step 1 is answered with step 2, step 2 and updates are applied (origin: this
 *   client); the first step 2 after opening marks the client `synced`; local doc updates go
 *   out as sync updates;
 * - awareness (1) is applied; query-awareness (3) is answered with every known state; local
 *   awareness changes go out; on close, other clients' states are removed;
 * - auth (2): a permission-denied message is logged, as y-websocket does;
 * - other types go to their handler in `handlers` (the server's notice, 100), or are logged;
 * - reconnects after a close with exponential backoff (100 ms · 2^n, at most 2.5 s; reset
 *   once synced), except after a close code 4400–4499 (the server's "do not retry"), but 4429
 *   (over the server's budget) reconnects after 5 s, doubling to 80 s while 4429s keep coming;
 *   a socket that heard nothing for 30 s is closed and reopened; every reconnect resyncs (step 1).
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { ObservableV2 } from 'lib0/observable';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as syncProtocol from 'y-protocols/sync';
import type * as Y from 'yjs';

import {
  CLOSE_RATE_LIMITED,
  MESSAGE_AUTH,
  MESSAGE_AWARENESS,
  MESSAGE_QUERY_AWARENESS,
  MESSAGE_SYNC,
} from '@sales-process/core';

/** The message types, as core's wire contract (live-protocol.ts) spells them. */
export { MESSAGE_AUTH, MESSAGE_AWARENESS, MESSAGE_QUERY_AWARENESS, MESSAGE_SYNC };

/** y-websocket's: a socket that heard nothing (not even awareness, renewed every 15 s) for this long is dead. */
const SILENCE_MS = 30_000;
const MAX_BACKOFF_MS = 2500;

export type LiveSocketStatus = 'connecting' | 'connected' | 'disconnected';

export interface LiveSocketEvents {
  status(event: { status: LiveSocketStatus }): void;
  /** The server's state has arrived (true), or the socket closed (false). */
  sync(synced: boolean): void;
  /** A socket closed (`null`: closed by this client); emitted before the client reconnects. */
  'connection-close'(event: CloseEvent | null): void;
}

/** A message of `type`, its body written by `write`. */
export const message = (type: number, write?: (e: encoding.Encoder) => void): Uint8Array<ArrayBuffer> => {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, type);
  write?.(e);
  return encoding.toUint8Array(e) as Uint8Array<ArrayBuffer>;
};

/** An awareness message with the states of `clients` (`states`: to send others than the current ones). */
const awarenessMessage = (awareness: awarenessProtocol.Awareness, clients: number[], states?: Map<number, unknown>) =>
  message(MESSAGE_AWARENESS, (e) =>
    encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(awareness, clients, states as never)),
  );

export class LiveSocket extends ObservableV2<LiveSocketEvents> {
  readonly awareness: awarenessProtocol.Awareness;
  /** Subprotocols of the next socket (a new token takes effect on a new socket). */
  protocols: string[] = [];
  ws: WebSocket | null = null;
  wsconnected = false;
  /** Whether the client wants to be connected (it reconnects while true). */
  shouldConnect = false;
  /** Handlers of message types y-websocket does not know (the server's notice); `decoder` is past the type. */
  readonly handlers: Record<number, (decoder: decoding.Decoder) => void> = {};
  /** Hears every sync message type that arrives (sync step 2 answers a step 1). */
  onSync: ((subType: number) => void) | null = null;
  #synced = false;
  #attempts = 0;
  /** The wait after the last 4429 close, and when that close came. */
  #limit = 0;
  #limitAt = 0;
  #lastMessage = 0;
  readonly #watchdog: ReturnType<typeof setInterval>;
  readonly #onUpdate: (update: Uint8Array, origin: unknown) => void;
  readonly #onAwareness: (changes: { added: number[]; updated: number[]; removed: number[] }) => void;

  /** The socket's URL: the server's websocket URL, then `/` and the room (as y-websocket). */
  readonly url: string;

  constructor(
    serverUrl: string,
    room: string,
    readonly doc: Y.Doc,
    readonly WS: typeof WebSocket = WebSocket,
  ) {
    super();
    this.url = `${serverUrl.replace(/\/+$/, '')}/${room}`;
    this.awareness = new awarenessProtocol.Awareness(doc);
    this.#onUpdate = (update, origin) => {
      if (origin !== this) this.#send(message(MESSAGE_SYNC, (e) => syncProtocol.writeUpdate(e, update)));
    };
    this.#onAwareness = ({ added, updated, removed }) =>
      this.#send(awarenessMessage(this.awareness, added.concat(updated, removed)));
    doc.on('update', this.#onUpdate);
    this.awareness.on('update', this.#onAwareness);
    this.#watchdog = setInterval(() => {
      if (this.wsconnected && Date.now() - this.#lastMessage > SILENCE_MS) this.#close(this.ws!, null);
    }, SILENCE_MS / 10);
  }

  get synced(): boolean {
    return this.#synced;
  }

  set synced(synced: boolean) {
    if (this.#synced === synced) return;
    this.#synced = synced;
    // A connection that synced did useful work: back off from scratch next time.
    if (synced) this.#attempts = 0;
    this.emit('sync', [synced]);
  }

  connect(): void {
    this.shouldConnect = true;
    if (!this.wsconnected && !this.ws) this.#open();
  }

  disconnect(): void {
    this.shouldConnect = false;
    // Tell the others this client is gone (its awareness state set to null).
    this.#send(awarenessMessage(this.awareness, [this.doc.clientID], new Map()));
    if (this.ws) this.#close(this.ws, null);
  }

  override destroy(): void {
    clearInterval(this.#watchdog);
    this.disconnect();
    this.awareness.off('update', this.#onAwareness);
    this.doc.off('update', this.#onUpdate);
    super.destroy();
  }

  /** Sends a message now when the socket is open (otherwise the next sync carries it). */
  #send(data: Uint8Array<ArrayBuffer>): void {
    const ws = this.ws;
    if (this.wsconnected && ws && ws.readyState === ws.OPEN) ws.send(data);
  }

  #open(): void {
    if (!this.shouldConnect || this.ws) return;
    const ws = new this.WS(this.url, this.protocols);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.wsconnected = false;
    this.synced = false;
    ws.onmessage = (event) => {
      if (this.ws !== ws) return;
      this.#lastMessage = Date.now();
      const reply = this.#read(new Uint8Array(event.data as ArrayBuffer));
      if (encoding.length(reply) > 1) ws.send(encoding.toUint8Array(reply) as Uint8Array<ArrayBuffer>);
    };
    ws.onclose = (event) => this.#close(ws, event);
    // The close that follows says what happened (and Node's ws throws an error nobody hears).
    ws.onerror = () => {};
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.#lastMessage = Date.now();
      this.wsconnected = true;
      this.emit('status', [{ status: 'connected' }]);
      ws.send(message(MESSAGE_SYNC, (e) => syncProtocol.writeSyncStep1(e, this.doc)));
      if (this.awareness.getLocalState() !== null) ws.send(awarenessMessage(this.awareness, [this.doc.clientID]));
    };
    this.emit('status', [{ status: 'connecting' }]);
  }

  /** One incoming message; returns the reply (empty past its type when there is none). */
  #read(data: Uint8Array): encoding.Encoder {
    const decoder = decoding.createDecoder(data);
    const reply = encoding.createEncoder();
    const type = decoding.readVarUint(decoder);
    if (type === MESSAGE_SYNC) {
      encoding.writeVarUint(reply, MESSAGE_SYNC);
      const sub = syncProtocol.readSyncMessage(decoder, reply, this.doc, this);
      if (sub === syncProtocol.messageYjsSyncStep2) this.synced = true;
      this.onSync?.(sub);
    } else if (type === MESSAGE_QUERY_AWARENESS) {
      encoding.writeUint8Array(reply, awarenessMessage(this.awareness, [...this.awareness.getStates().keys()]));
    } else if (type === MESSAGE_AWARENESS) {
      awarenessProtocol.applyAwarenessUpdate(this.awareness, decoding.readVarUint8Array(decoder), this);
    } else if (type === MESSAGE_AUTH) {
      // y-protocols/auth: 0 is "permission denied", with the reason.
      if (decoding.readVarUint(decoder) === 0)
        console.warn(`Permission denied to access ${this.url}.\n${decoding.readVarString(decoder)}`);
    } else if (this.handlers[type]) this.handlers[type](decoder);
    else console.error('Unable to compute message');
    return reply;
  }

  #close(ws: WebSocket, event: CloseEvent | null): void {
    if (ws !== this.ws) return;
    this.emit('connection-close', [event]);
    this.ws = null;
    ws.onmessage = ws.onopen = ws.onclose = null;
    // Closing a socket that is still connecting reports an error: nobody needs to hear it.
    ws.onerror = () => {};
    ws.close();
    if (this.wsconnected) {
      this.wsconnected = false;
      this.synced = false;
      // Everyone else left, as far as this client can tell.
      const others = [...this.awareness.getStates().keys()].filter((id) => id !== this.doc.clientID);
      awarenessProtocol.removeAwarenessStates(this.awareness, others, this);
      this.emit('status', [{ status: 'disconnected' }]);
    }
    let wait = Math.min(2 ** ++this.#attempts * 100, MAX_BACKOFF_MS);
    const code = event?.code ?? 0;
    // 4429: over the server's budget (docs/live-sync.md): wait 5 s, twice as long (to 80 s)
    // while 4429s keep coming within a minute of the last wait; other 4400–4499: the server
    // decided that trying again cannot help (as y-websocket).
    if (code === CLOSE_RATE_LIMITED) {
      const now = Date.now();
      wait = this.#limit = now - this.#limitAt < this.#limit + 60_000 ? Math.min(this.#limit * 2, 80_000) : 5000;
      this.#limitAt = now;
    } else if (code > 4399 && code < 4500) this.shouldConnect = false;
    setTimeout(() => this.#open(), wait);
  }
}

import { MESSAGE_SYNC } from '@sales-process/core';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import type * as Y from 'yjs';
/**
 * The network is the outer edge: helpers for tests that stand in for the server behind
 * `fetch` (and `WebSocket`) in the test page only.
 */

/** An open `text/event-stream` response the test pushes events into. */
export class FakeStream {
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  readonly response: Response;
  closed = false;

  constructor(
    readonly url: string,
    readonly headers: Record<string, string>,
    signal?: AbortSignal | null,
  ) {
    const body = new ReadableStream<Uint8Array>({ start: (c) => (this.controller = c) });
    this.response = new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
    signal?.addEventListener('abort', () => {
      this.closed = true;
      try {
        this.controller.error(new DOMException('aborted', 'AbortError'));
      } catch {
        /* already closed */
      }
    });
  }

  send(event: string, data: unknown): void {
    this.controller.enqueue(new TextEncoder().encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
  }
}

export const json = (status: number, body: unknown): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

export const headersOf = (init?: RequestInit): Record<string, string> =>
  Object.fromEntries(new Headers(init?.headers).entries());

/** Waits until `cond` holds (polling), failing after `ms`. */
export async function until(cond: () => unknown, ms = 2000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * A stand-in for the browser's WebSocket: records the URL and subprotocols of every
 * socket; `behaviour` decides whether a socket opens or is refused (closes unopened).
 */
export class FakeSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  static sockets: FakeSocket[] = [];
  static behaviour: (s: FakeSocket) => 'open' | 'refuse' | 'hang' = () => 'hang';
  /** Sees every message a socket sends (the "server" side of the test). */
  static onSend: ((s: FakeSocket, data: Uint8Array) => void) | null = null;
  /** Called when a socket opens (the "server" greets it). */
  static onOpen: ((s: FakeSocket) => void) | null = null;
  readonly CONNECTING = 0;
  readonly OPEN = 1;
  readonly CLOSING = 2;
  readonly CLOSED = 3;
  readyState = 0;
  binaryType = 'arraybuffer';
  readonly protocols: string[];
  readonly sent: Uint8Array[] = [];
  onopen: ((e: Event) => void) | null = null;
  onclose: ((e: CloseEvent) => void) | null = null;
  onerror: ((e: Event) => void) | null = null;
  onmessage: ((e: MessageEvent) => void) | null = null;

  constructor(
    readonly url: string,
    protocols?: string | string[],
  ) {
    this.protocols = protocols === undefined ? [] : typeof protocols === 'string' ? [protocols] : protocols;
    FakeSocket.sockets.push(this);
    const what = FakeSocket.behaviour(this);
    setTimeout(() => {
      if (this.readyState !== 0) return;
      if (what === 'open') {
        this.readyState = 1;
        this.onopen?.(new Event('open'));
        FakeSocket.onOpen?.(this);
      } else if (what === 'refuse') {
        this.readyState = 3;
        this.onerror?.(new Event('error'));
        this.onclose?.(new CloseEvent('close', { code: 1006 }));
      }
    }, 5);
  }

  send(data: Uint8Array): void {
    this.sent.push(data);
    FakeSocket.onSend?.(this, data);
  }

  /** Delivers a message from the "server". */
  receive(data: Uint8Array): void {
    this.onmessage?.(
      new MessageEvent('message', { data: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) }),
    );
  }

  close(): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.(new CloseEvent('close', { code: 1000 }));
  }

  /** Replaces `window.WebSocket` until the returned function is called. */
  static install(): () => void {
    const real = window.WebSocket;
    FakeSocket.sockets = [];
    FakeSocket.behaviour = () => 'hang';
    FakeSocket.onSend = null;
    FakeSocket.onOpen = null;
    (window as unknown as { WebSocket: unknown }).WebSocket = FakeSocket;
    return () => ((window as unknown as { WebSocket: unknown }).WebSocket = real);
  }
}

/** A JWT-shaped token (unsigned: the kit only reads its claims). */
export function fakeJwt(claims: Record<string, unknown>): string {
  const b64 = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  return `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}.sig`;
}

/**
 * Makes the FakeSockets speak y-websocket's sync protocol for `serverDoc`, handling each
 * message `latencyMs` after it was sent, in order (as the server does, when busy); like
 * the server, it sends its own sync step 1 when a socket opens.
 */
export function fakeSyncServer(serverDoc: Y.Doc, latencyMs: number): void {
  FakeSocket.behaviour = () => 'open';
  FakeSocket.onOpen = (socket) =>
    setTimeout(() => {
      const hello = encoding.createEncoder();
      encoding.writeVarUint(hello, MESSAGE_SYNC);
      syncProtocol.writeSyncStep1(hello, serverDoc);
      if (socket.readyState === 1) socket.receive(encoding.toUint8Array(hello));
    }, latencyMs);
  FakeSocket.onSend = (socket, data) =>
    setTimeout(() => {
      const decoder = decoding.createDecoder(data);
      if (decoding.readVarUint(decoder) !== MESSAGE_SYNC) return;
      const reply = encoding.createEncoder();
      encoding.writeVarUint(reply, MESSAGE_SYNC);
      syncProtocol.readSyncMessage(decoder, reply, serverDoc, 'client');
      if (encoding.length(reply) > 1) socket.receive(encoding.toUint8Array(reply));
    }, latencyMs);
}

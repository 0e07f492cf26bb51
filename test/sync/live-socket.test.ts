/**
 * The kit's own Yjs websocket client (packages/elements/src/client/live-socket.ts) speaks
 * y-websocket's protocol: against a stock @y/websocket-server, beside a stock y-websocket
 * `WebsocketProvider`, and message for message with a server that checks the bytes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { MESSAGE_NOTICE, opportunityDocName } from '@sales-process/core';
import { freePort, waitFor } from '@sales-process/server/testing';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { LiveSocket } from '../../packages/elements/src/client/live-socket.js';

const ROOT = resolve(import.meta.dirname, '../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A stock y-websocket server (in memory), as `npx y-websocket` runs it. */
async function stockServer(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['node_modules/@y/websocket-server/src/server.js'], {
    cwd: ROOT,
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port) },
    stdio: 'ignore',
  });
  await waitFor(
    () =>
      new Promise<boolean>((done) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/probe`);
        ws.on('open', () => (ws.close(), done(true)));
        ws.on('error', () => done(false));
      }),
    10_000,
    'the stock server',
  );
  return child;
}
const stop = (child: ChildProcess) => new Promise((r) => (child.once('exit', r), child.kill('SIGKILL')));

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});
const children: ChildProcess[] = [];
afterAll(() => children.forEach((c) => c.kill('SIGKILL')));

function ours(url: string, room: string, doc = new Y.Doc()) {
  const socket = new LiveSocket(url, room, doc, WebSocket as unknown as typeof globalThis.WebSocket);
  const statuses: string[] = [];
  socket.on('status', ({ status }) => statuses.push(status));
  cleanups.push(() => socket.destroy());
  return { doc, socket, statuses };
}
function stock(url: string, room: string, doc = new Y.Doc()) {
  const provider = new WebsocketProvider(url, room, doc, { WebSocketPolyfill: WebSocket as never, disableBc: true });
  cleanups.push(() => provider.destroy());
  return { doc, provider };
}

describe('LiveSocket against a stock y-websocket server', () => {
  it('syncs a doc both ways with a stock WebsocketProvider: what each had, live edits, awareness', async () => {
    const port = await freePort();
    children.push(await stockServer(port));
    const url = `ws://127.0.0.1:${port}`;
    const theirs = stock(url, 'room-1');
    theirs.doc.getMap('m').set('from', 'stock');
    await waitFor(() => theirs.provider.synced, 5000, 'the stock provider');
    const mine = ours(url, 'room-1');
    mine.doc.getMap('m').set('mine', 'before connecting');
    const synced = new Promise((r) => mine.socket.once('sync', r));
    mine.socket.connect();
    expect(await synced).toBe(true);
    expect(mine.socket.synced).toBe(true);
    expect(mine.statuses).toEqual(['connecting', 'connected']);
    await waitFor(() => mine.doc.getMap('m').get('from') === 'stock', 5000, 'the stock side');
    await waitFor(() => theirs.doc.getMap('m').get('mine') === 'before connecting', 5000, 'our side');

    mine.doc.getMap('m').set('live', 1);
    await waitFor(() => theirs.doc.getMap('m').get('live') === 1, 5000, 'our live edit');
    theirs.doc.getText('t').insert(0, '你好');
    await waitFor(() => mine.doc.getText('t').toString() === '你好', 5000, 'their live edit');

    mine.socket.awareness.setLocalStateField('field', 'amount');
    await waitFor(
      () => theirs.provider.awareness.getStates().get(mine.doc.clientID)?.field === 'amount',
      5000,
      'our awareness',
    );
    theirs.provider.awareness.setLocalStateField('field', 'stage');
    await waitFor(
      () => mine.socket.awareness.getStates().get(theirs.doc.clientID)?.field === 'stage',
      5000,
      'their awareness',
    );
  });

  it('reconnects with backoff and resyncs what was edited while the server was down', async () => {
    const port = await freePort();
    let server = await stockServer(port);
    children.push(server);
    const url = `ws://127.0.0.1:${port}`;
    const theirs = stock(url, 'room-2');
    const mine = ours(url, 'room-2');
    mine.socket.connect();
    await waitFor(() => mine.socket.synced && theirs.provider.synced, 5000, 'both');
    theirs.provider.awareness.setLocalStateField('field', 'x');
    await waitFor(() => mine.socket.awareness.getStates().has(theirs.doc.clientID), 5000, 'their awareness');

    await stop(server);
    await waitFor(() => !mine.socket.wsconnected, 5000, 'the close');
    expect(mine.socket.synced).toBe(false);
    expect(mine.statuses).toContain('disconnected');
    // As y-websocket: the others' awareness goes with the connection.
    expect([...mine.socket.awareness.getStates().keys()]).toEqual([mine.doc.clientID]);
    mine.doc.getMap('m').set('offline', 'edit');
    await sleep(1500); // a few refused attempts, backing off

    server = await stockServer(port); // an empty server: it learns the doc from the clients
    children.push(server);
    await waitFor(() => mine.socket.synced, 10_000, 'our reconnect');
    const fresh = stock(url, 'room-2');
    await waitFor(() => fresh.doc.getMap('m').get('offline') === 'edit', 10_000, 'the offline edit, resent');
    // (A state removed on close comes back with its next change, as with y-websocket.)
    await waitFor(() => theirs.provider.synced, 10_000, 'their reconnect');
    theirs.provider.awareness.setLocalStateField('field', 'y');
    await waitFor(
      () => mine.socket.awareness.getStates().get(theirs.doc.clientID)?.field === 'y',
      10_000,
      'their awareness again',
    );
    mine.socket.disconnect();
    await waitFor(() => !fresh.provider.awareness.getStates().has(mine.doc.clientID), 5000, 'our leaving');
  });
});

/** A server that records what clients send and says what the test tells it to. */
async function scriptedServer() {
  const port = await freePort();
  const wss = new WebSocketServer({ host: '127.0.0.1', port, handleProtocols: (p) => [...p][0] ?? false });
  const conns: { ws: WebSocket; url: string; protocols: string; got: Uint8Array[] }[] = [];
  wss.on('connection', (ws, req) => {
    const conn = {
      ws,
      url: req.url ?? '',
      protocols: String(req.headers['sec-websocket-protocol'] ?? ''),
      got: [] as Uint8Array[],
    };
    ws.on('message', (data) => conn.got.push(new Uint8Array(data as Buffer)));
    conns.push(conn);
  });
  await new Promise((r) => wss.once('listening', r));
  cleanups.push(() => new Promise((r) => wss.close(r)));
  return { url: `ws://127.0.0.1:${port}`, conns };
}
const varString = (s: string) => {
  const bytes = new TextEncoder().encode(s);
  return [...varUint(bytes.length), ...bytes];
};
const varUint = (n: number) => {
  const out: number[] = [];
  while (n > 127) {
    out.push(128 | (n & 127));
    n >>>= 7;
  }
  out.push(n);
  return out;
};

describe('LiveSocket message for message', () => {
  it('opens, greets, answers a query for awareness and hands other message types on, as y-websocket', async () => {
    const server = await scriptedServer();
    stock(server.url, opportunityDocName('o1'));
    await waitFor(() => server.conns[0]?.got.length, 5000, 'the stock greeting');
    const mine = ours(server.url, opportunityDocName('o1'));
    mine.socket.protocols = ['sales-process', 'bearer.abc'];
    const notices: string[] = [];
    mine.socket.handlers[MESSAGE_NOTICE] = (decoder) =>
      notices.push(`${MESSAGE_NOTICE}:${new TextDecoder().decode(decoder.arr.subarray(decoder.pos + 1))}`);
    mine.socket.connect();
    await waitFor(() => server.conns[1]?.got.length, 5000, 'our greeting');
    const [theirConn, myConn] = server.conns as [(typeof server.conns)[0], (typeof server.conns)[0]];
    // The same URL, the token as subprotocols, and the same first message: sync step 1 of an empty doc.
    expect(myConn.url).toBe(`/${opportunityDocName('o1')}`);
    expect(theirConn.url).toBe(`/${opportunityDocName('o1')}`);
    expect(myConn.protocols.split(/,\s*/)).toEqual(['sales-process', 'bearer.abc']);
    expect([...myConn.got[0]!]).toEqual([...theirConn.got[0]!]);
    expect([...myConn.got[0]!]).toEqual([0, 0, 1, 0]);

    // Query awareness (3): answered with an awareness update (1) holding our state.
    mine.socket.awareness.setLocalStateField('field', 'amount');
    await waitFor(() => myConn.got.some((m) => m[0] === 1), 5000, 'our awareness change');
    const before = myConn.got.length;
    myConn.ws.send(new Uint8Array([3]));
    await waitFor(() => myConn.got.length > before, 5000, 'the answer');
    const answer = myConn.got.at(-1)!;
    expect(answer[0]).toBe(1);
    expect(new TextDecoder().decode(answer)).toContain('"field":"amount"');

    // A sync step 2 marks it synced; sync step 1 is answered with step 2.
    myConn.ws.send(new Uint8Array([0, 1, 2, 0, 0]));
    await waitFor(() => mine.socket.synced, 5000, 'synced');
    const n = myConn.got.length;
    myConn.ws.send(new Uint8Array([0, 0, 1, 0]));
    await waitFor(() => myConn.got.length > n, 5000, 'step 2');
    expect([...myConn.got.at(-1)!.subarray(0, 2)]).toEqual([0, 1]);

    // The server's own message type goes to its handler; auth (2) "permission denied" is logged.
    myConn.ws.send(new Uint8Array([MESSAGE_NOTICE, ...varString('{"code":"X"}')]));
    await waitFor(() => notices.length === 1, 5000, 'the notice');
    expect(notices[0]).toBe(`${MESSAGE_NOTICE}:{"code":"X"}`);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    myConn.ws.send(new Uint8Array([2, 0, ...varString('no')]));
    await waitFor(() => warn.mock.calls.length === 1, 5000, 'the warning');
    expect(String(warn.mock.calls[0]![0])).toContain('Permission denied');
    warn.mockRestore();
  });

  it('reconnects after a close, but not after a 4403 close (the server said retrying cannot help)', async () => {
    const server = await scriptedServer();
    const mine = ours(server.url, 'r');
    mine.socket.connect();
    await waitFor(() => mine.socket.wsconnected, 5000, 'open');
    server.conns[0]!.ws.close(1011, 'restart');
    await waitFor(() => server.conns.length === 2 && mine.socket.wsconnected, 5000, 'a new socket');
    expect(mine.statuses).toEqual(['connecting', 'connected', 'disconnected', 'connecting', 'connected']);
    server.conns[1]!.ws.close(4403, 'forbidden');
    await waitFor(() => !mine.socket.wsconnected, 5000, 'the close');
    await sleep(800);
    expect(server.conns).toHaveLength(2);
    expect(mine.socket.shouldConnect).toBe(false);
    mine.socket.connect(); // a deliberate connect still works
    await waitFor(() => server.conns.length === 3 && mine.socket.wsconnected, 5000, 'connect again');
  });

  it('stays closed after 4400, 4404 and 4413 too', async () => {
    const server = await scriptedServer();
    const mine = ours(server.url, 'r');
    for (const [i, code] of [4400, 4404, 4413].entries()) {
      mine.socket.connect();
      await waitFor(() => server.conns.length === i + 1 && mine.socket.wsconnected, 5000, 'open');
      server.conns[i]!.ws.close(code, 'final');
      await waitFor(() => !mine.socket.wsconnected, 5000, 'the close');
      await sleep(800);
      expect(server.conns).toHaveLength(i + 1);
      expect(mine.socket.shouldConnect).toBe(false);
    }
  });

  it("reconnects after a 4429 (over the server's budget), but only after 5 s, and waits longer while 4429s keep coming", async () => {
    const server = await scriptedServer();
    const mine = ours(server.url, 'r');
    mine.socket.connect();
    await waitFor(() => mine.socket.wsconnected, 5000, 'open');
    const waits = vi.spyOn(globalThis, 'setTimeout');
    cleanups.push(() => waits.mockRestore());
    const closed = Date.now();
    server.conns[0]!.ws.close(4429, 'over budget');
    await waitFor(() => !mine.socket.wsconnected, 5000, 'the close');
    expect(mine.socket.shouldConnect).toBe(true);
    await waitFor(() => server.conns.length === 2 && mine.socket.wsconnected, 8000, 'the reconnect');
    expect(Date.now() - closed).toBeGreaterThanOrEqual(4900);
    expect(waits.mock.calls.map((c) => c[1])).toContain(5000);
    // Synced in between (which resets the ordinary backoff): the next 4429 still waits longer.
    server.conns[1]!.ws.send(new Uint8Array([0, 1, 2, 0, 0]));
    await waitFor(() => mine.socket.synced, 5000, 'synced');
    waits.mockClear();
    server.conns[1]!.ws.close(4429, 'over budget');
    await waitFor(() => !mine.socket.wsconnected, 5000, 'the close');
    expect(waits.mock.calls.map((c) => c[1])).toContain(10_000);
    await sleep(1000);
    expect(server.conns).toHaveLength(2);
    expect(mine.socket.shouldConnect).toBe(true);
  }, 30_000);
});

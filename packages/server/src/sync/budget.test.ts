import { seedProcessDefinition } from '@sales-process/core';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import { startTestServer, testDatabases, waitFor, type TestServer } from '../testing/harness.js';
import { CLOSE_FORBIDDEN, CLOSE_RATE_LIMITED, CLOSE_TOO_LARGE, MESSAGE_AWARENESS, MESSAGE_QUERY_AWARENESS, MESSAGE_SYNC } from './sync-server.js';

/** A raw websocket client of the y-websocket protocol: what an abuser would write. */
interface Raw {
  ws: WebSocket;
  messages: Uint8Array[];
  closed: Promise<{ code: number; reason: string }>;
}

const frame = (type: number, write: (e: encoding.Encoder) => void) => {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, type);
  write(e);
  return encoding.toUint8Array(e);
};
const syncUpdate = (update: Uint8Array) => frame(MESSAGE_SYNC, (e) => {
  encoding.writeVarUint(e, 2); // messageYjsUpdate
  encoding.writeVarUint8Array(e, update);
});
/** An awareness update for `clientId` (null state: gone). */
const awarenessUpdate = (clientId: number, clock: number, state: unknown) =>
  frame(MESSAGE_AWARENESS, (e) => {
    const inner = encoding.createEncoder();
    encoding.writeVarUint(inner, 1);
    encoding.writeVarUint(inner, clientId);
    encoding.writeVarUint(inner, clock);
    encoding.writeVarString(inner, JSON.stringify(state));
    encoding.writeVarUint8Array(e, encoding.toUint8Array(inner));
  });

for (const kind of testDatabases()) {
  describe(`websocket budget on ${kind.name}`, () => {
    let t: TestServer;
    let http: string;
    let base: string;
    let processId: string;
    beforeAll(async () => {
      t = await startTestServer(await kind.open());
      const { port } = await t.server.listen(0, '127.0.0.1');
      http = `http://127.0.0.1:${port}`;
      base = `ws://127.0.0.1:${port}/sync`;
      processId = (await t.as('admin', ['admin']).post('/processes', { name: 'P', departments: [], definition: seedProcessDefinition })).body.id;
    });
    afterAll(() => t.close());

    async function open(doc = `process-draft:${processId}`, user = 'admin', roles = ['admin']): Promise<Raw> {
      const ws = new WebSocket(`${base}/${doc}?token=${await t.token(user, roles)}`);
      ws.binaryType = 'arraybuffer';
      const messages: Uint8Array[] = [];
      ws.on('message', (data) => messages.push(new Uint8Array(data as ArrayBuffer)));
      const closed = new Promise<{ code: number; reason: string }>((r) => ws.once('close', (code, reason) => r({ code, reason: reason.toString() })));
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      await waitFor(() => messages.length > 0, 5000, 'the first sync message');
      return { ws, messages, closed };
    }

    it('closes a flood of 10,000 small updates with 4429 and keeps /healthz answering', { timeout: 60_000 }, async () => {
      const raw = await open();
      // Real updates: each one is applied and checked if it gets through.
      const local = new Y.Doc();
      const updates: Uint8Array[] = [];
      local.on('update', (u: Uint8Array) => updates.push(u));
      for (let i = 0; i < 10_000; i++) local.getMap('junk').set(`k${i % 50}`, i);
      let worst = 0;
      let probing = true;
      const probe = (async () => {
        while (probing) {
          const started = performance.now();
          await fetch(`${http}/healthz`).then((r) => r.arrayBuffer());
          worst = Math.max(worst, performance.now() - started);
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      let sent = 0;
      for (const u of updates) {
        if (raw.ws.readyState !== WebSocket.OPEN) break;
        raw.ws.send(syncUpdate(u));
        sent++;
        if (sent % 500 === 0) await new Promise((r) => setTimeout(r, 100)); // 10,000 in about 2 s
      }
      const closed = await raw.closed;
      probing = false;
      await probe;
      console.log(`websocket flood on ${kind.name}: closed with ${closed.code} after ${sent} of 10,000 updates sent; slowest /healthz ${Math.round(worst)} ms`);
      expect(closed.code).toBe(CLOSE_RATE_LIMITED);
      expect(worst).toBeLessThan(1000);
      // The server is fine, and so is the next, well-behaved client.
      expect((await fetch(`${http}/healthz`)).status).toBe(200);
      const next = await open();
      next.ws.close();
    });

    it('closes an awareness update over 8 KiB with 4413', async () => {
      const raw = await open();
      raw.ws.send(awarenessUpdate(4242, 1, { user: { name: 'x'.repeat(9000) } }));
      expect((await raw.closed).code).toBe(CLOSE_TOO_LARGE);
    });

    it("does not let a client change another client's presence", async () => {
      const a = await open();
      const b = await open();
      a.ws.send(awarenessUpdate(777, 1, { user: { name: 'A' } }));
      await new Promise((r) => setTimeout(r, 150));
      // B tries to remove A (a null state with a later clock).
      b.ws.send(awarenessUpdate(777, 2, null));
      await new Promise((r) => setTimeout(r, 150));
      const c = await open();
      c.messages.length = 0;
      c.ws.send(frame(MESSAGE_QUERY_AWARENESS, () => {}));
      const reply = (await waitFor(() => c.messages.find((m) => m[0] === MESSAGE_AWARENESS), 2000, "the awareness states"))!;
      const decoder = decoding.createDecoder(reply);
      decoding.readVarUint(decoder);
      const seen = new awarenessProtocol.Awareness(new Y.Doc());
      awarenessProtocol.applyAwarenessUpdate(seen, decoding.readVarUint8Array(decoder), null);
      expect(seen.getStates().get(777)).toEqual({ user: { name: 'A' } });
      for (const r of [a, b, c]) r.ws.close();
    });

    it('closes the connection of someone who may no longer open the doc (4403)', async () => {
      const admin = t.as('admin', ['admin']);
      await admin.post('/directory/sync', {
        departments: [{ id: 'hq', name: 'HQ' }],
        users: [{ id: 'admin', name: 'A', departmentId: 'hq' }, { id: 'rep', name: 'R', departmentId: 'hq', managerId: 'admin' }, { id: 'post', name: 'P', departmentId: 'hq' }],
      });
      const customerId = (await t.as('rep').post('/customers', { name: 'C', fields: {} })).body.id;
      const id = (await t.as('rep').post('/opportunities', { name: 'O', customerId, amount: 1, processId })).body.id;
      expect((await admin.put(`/opportunities/${id}/post-sale-staff`, { userIds: ['post'] })).status).toBe(200);
      const staff = await open(`opportunity:${id}`, 'post', ['postsale']);
      const owner = await open(`opportunity:${id}`, 'rep', ['sales']);
      expect((await admin.put(`/opportunities/${id}/post-sale-staff`, { userIds: [] })).status).toBe(200);
      expect((await staff.closed).code).toBe(CLOSE_FORBIDDEN);
      await new Promise((r) => setTimeout(r, 100));
      expect(owner.ws.readyState).toBe(WebSocket.OPEN);
      owner.ws.close();
    });
  });
}

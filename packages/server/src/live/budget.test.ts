import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import { startTestServer, testDatabases, waitFor, type TestServer } from '../testing/harness.js';
import {
  CLOSE_FORBIDDEN,
  CLOSE_RATE_LIMITED,
  CLOSE_TOO_LARGE,
  FORM_ROOT,
  MESSAGE_AWARENESS,
  MESSAGE_NOTICE,
  MESSAGE_QUERY_AWARENESS,
  MESSAGE_SYNC,
  opportunityDocName,
  processDraftDocName,
  seedProcessDefinition,
} from '@sales-process/core';

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
const syncUpdate = (update: Uint8Array) =>
  frame(MESSAGE_SYNC, (e) => {
    encoding.writeVarUint(e, syncProtocol.messageYjsUpdate);
    encoding.writeVarUint8Array(e, update);
  });
/** An awareness update for `clientId` (null state: gone). */
const awarenessUpdate = (clientId: number, clock: number, state: unknown) =>
  awarenessEntries([{ clientId, clock, state }]);
/** An awareness update with several entries (a y-websocket client echoes others' states beside its own). */
const awarenessEntries = (entries: { clientId: number; clock: number; state: unknown }[]) =>
  frame(MESSAGE_AWARENESS, (e) => {
    const inner = encoding.createEncoder();
    encoding.writeVarUint(inner, entries.length);
    for (const entry of entries) {
      encoding.writeVarUint(inner, entry.clientId);
      encoding.writeVarUint(inner, entry.clock);
      encoding.writeVarString(inner, JSON.stringify(entry.state));
    }
    encoding.writeVarUint8Array(e, encoding.toUint8Array(inner));
  });

/** Opens a raw client on a document's socket as a user, once the server's first sync message is in. */
async function openRaw(t: TestServer, url: string, user: string, roles: string[]): Promise<Raw> {
  const ws = new WebSocket(`${url}?token=${await t.token(user, roles)}`);
  ws.binaryType = 'arraybuffer';
  const messages: Uint8Array[] = [];
  ws.on('message', (data) => messages.push(new Uint8Array(data as ArrayBuffer)));
  const closed = new Promise<{ code: number; reason: string }>((r) =>
    ws.once('close', (code, reason) => r({ code, reason: reason.toString() })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  await waitFor(() => messages.length > 0, 5000, 'the first sync message');
  return { ws, messages, closed };
}

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
      processId = (
        await t
          .as('admin', ['admin'])
          .post('/processes', { name: 'P', departments: [], definition: seedProcessDefinition })
      ).body.id;
    });
    afterAll(() => t.close());

    const open = (doc = processDraftDocName(processId), user = 'admin', roles = ['admin']) =>
      openRaw(t, `${base}/${doc}`, user, roles);

    it('closes a flood of 10,000 small updates with 4429 and keeps /healthz answering', {
      timeout: 60_000,
    }, async () => {
      const raw = await open();
      // Real updates: each one is applied and checked if it gets through.
      const local = new Y.Doc();
      const updates: Uint8Array[] = [];
      local.on('update', (u: Uint8Array) => updates.push(u));
      for (let i = 0; i < 10_000; i++) local.getMap('junk').set(`k${i % 50}`, i);
      const probe = probeHealthz(http);
      let sent = 0;
      for (const u of updates) {
        if (raw.ws.readyState !== WebSocket.OPEN) break;
        raw.ws.send(syncUpdate(u));
        sent++;
        if (sent % 500 === 0) await new Promise((r) => setTimeout(r, 100)); // 10,000 in about 2 s
      }
      const closed = await raw.closed;
      const worst = await probe.stop();
      console.log(
        `websocket flood on ${kind.name}: closed with ${closed.code} after ${sent} of 10,000 updates sent; slowest /healthz ${Math.round(worst)} ms`,
      );
      expect(closed.code).toBe(CLOSE_RATE_LIMITED);
      // The hazard is a stall of seconds (3.7 s and 10.8 s before the budgets); the bound leaves
      // room for a busy two-core machine running other suites beside this one.
      expect(worst).toBeLessThan(2500);
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
      const reply = (await waitFor(
        () => c.messages.find((m) => m[0] === MESSAGE_AWARENESS),
        2000,
        'the awareness states',
      ))!;
      const decoder = decoding.createDecoder(reply);
      decoding.readVarUint(decoder);
      const seen = new awarenessProtocol.Awareness(new Y.Doc());
      awarenessProtocol.applyAwarenessUpdate(seen, decoding.readVarUint8Array(decoder), null);
      expect(seen.getStates().get(777)).toEqual({ user: { name: 'A' } });
      for (const r of [a, b, c]) r.ws.close();
    });

    it("keeps a client's own presence from an update that also echoes another's, and tells it nothing", async () => {
      const a = await open();
      const b = await open();
      a.ws.send(awarenessUpdate(701, 1, { user: { name: 'A' } }));
      await new Promise((r) => setTimeout(r, 150));
      b.messages.length = 0;
      // What a y-websocket client sends after receiving A: A's state (echoed, a later clock) beside its own.
      b.ws.send(
        awarenessEntries([
          { clientId: 701, clock: 5, state: { user: { name: 'spoofed' } } },
          { clientId: 702, clock: 1, state: { user: { name: 'B' } } },
        ]),
      );
      const c = await open();
      const states = async () => {
        c.messages.length = 0;
        c.ws.send(frame(MESSAGE_QUERY_AWARENESS, () => {}));
        const reply = (await waitFor(() => c.messages.find((m) => m[0] === MESSAGE_AWARENESS), 2000, 'states'))!;
        const decoder = decoding.createDecoder(reply);
        decoding.readVarUint(decoder);
        const seen = new awarenessProtocol.Awareness(new Y.Doc());
        awarenessProtocol.applyAwarenessUpdate(seen, decoding.readVarUint8Array(decoder), null);
        return seen.getStates();
      };
      await waitFor(async () => (await states()).has(702), 2000, "B's own state");
      const seen = await states();
      expect(seen.get(701)).toEqual({ user: { name: 'A' } });
      expect(seen.get(702)).toEqual({ user: { name: 'B' } });
      expect(b.messages.filter((m) => m[0] === MESSAGE_NOTICE)).toEqual([]);
      for (const r of [a, b, c]) r.ws.close();
    });

    it('closes the connection of someone who may no longer open the doc (4403)', async () => {
      const admin = t.as('admin', ['admin']);
      await admin.post('/directory/sync', {
        departments: [{ id: 'hq', name: 'HQ' }],
        users: [
          { id: 'admin', name: 'A', departmentId: 'hq' },
          { id: 'rep', name: 'R', departmentId: 'hq', managerId: 'admin' },
          { id: 'post', name: 'P', departmentId: 'hq' },
        ],
      });
      const customerId = (await t.as('rep').post('/customers', { name: 'C', fields: {} })).body.id;
      const id = (await t.as('rep').post('/opportunities', { name: 'O', customerId, amount: 1, processId })).body.id;
      expect((await admin.put(`/opportunities/${id}/post-sale-staff`, { userIds: ['post'] })).status).toBe(200);
      const staff = await open(opportunityDocName(id), 'post', ['postsale']);
      const owner = await open(opportunityDocName(id), 'rep', ['sales']);
      expect((await admin.put(`/opportunities/${id}/post-sale-staff`, { userIds: [] })).status).toBe(200);
      expect((await staff.closed).code).toBe(CLOSE_FORBIDDEN);
      await new Promise((r) => setTimeout(r, 100));
      expect(owner.ws.readyState).toBe(WebSocket.OPEN);
      owner.ws.close();
    });

    /** Opens a socket and resolves with the HTTP refusal (status and envelope), or null if it was accepted. */
    async function refusal(
      doc: string,
      user: string,
      roles: string[],
    ): Promise<{ status: number; body: { error?: { code: string } } } | null> {
      const ws = new WebSocket(`${base}/${doc}?token=${await t.token(user, roles)}`);
      return new Promise((resolve, reject) => {
        ws.once('open', () => {
          ws.close();
          resolve(null);
        });
        ws.once('unexpected-response', (_req, res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {} }));
        });
        ws.once('error', reject);
      });
    }

    it("refuses a user's 21st socket and 11th event stream with 429 RATE_LIMITED, and no one else's", {
      timeout: 30_000,
    }, async () => {
      const doc = processDraftDocName(processId);
      const mine = await Promise.all(Array.from({ length: 20 }, () => open(doc, 'tabs', ['admin'])));
      const refused = await refusal(doc, 'tabs', ['admin']);
      expect(refused?.status).toBe(429);
      expect(refused?.body.error?.code).toBe('RATE_LIMITED');
      // Another user (and the same user id in another tenant's token would be another key) is not counted with them.
      const other = await open(doc, 'admin', ['admin']);
      // A socket that closes gives its place back: a reconnect gets in.
      mine[0]!.ws.close();
      await mine[0]!.closed;
      await waitFor(async () => (await refusal(doc, 'tabs', ['admin'])) === null, 3000, 'a place after a close');
      for (const r of [...mine, other]) r.ws.close();

      // Event streams: ten of one user at once, the eleventh refused; the next user streams.
      const streams: AbortController[] = [];
      const stream = async (user: string) => {
        const abort = new AbortController();
        streams.push(abort);
        const res = await fetch(`${http}/api/v1/notifications/stream`, {
          headers: { authorization: `Bearer ${await t.token(user)}` },
          signal: abort.signal,
        });
        return { status: res.status, body: res.status === 200 ? null : await res.json() };
      };
      for (let i = 0; i < 10; i++) expect((await stream('tabs')).status).toBe(200);
      const eleventh = await stream('tabs');
      expect(eleventh.status).toBe(429);
      expect(eleventh.body.error.code).toBe('RATE_LIMITED');
      expect((await stream('someone-else')).status).toBe(200);
      streams.forEach((a) => a.abort());
      // Closed streams give their places back.
      await waitFor(
        async () => {
          const again = await stream('tabs');
          return again.status === 200;
        },
        3000,
        'a stream place after the others closed',
      );
      streams.forEach((a) => a.abort());
    });

    it('forgets a user whose admitted upgrade never opened', async () => {
      const own = await startTestServer(await kind.open());
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
      try {
        const sync = own.server.services.sync;
        const ghost = { tenantId: 't1', userId: 'ghost', roles: new Set(['admin'] as const) };
        sync.admit(ghost); // the place is held; the upgrade never comes
        expect(sync.trackedUsers).toBe(1);
        vi.advanceTimersByTime(5_000);
        expect(sync.trackedUsers).toBe(1); // its place is still held
        vi.advanceTimersByTime(60_000);
        expect(sync.trackedUsers).toBe(0);
      } finally {
        vi.useRealTimers();
        await own.close();
      }
    });
  });

  describe(`one user's many sockets on ${kind.name}`, () => {
    let t: TestServer;
    let http: string;
    let base: string;
    let opportunityId: string;
    beforeAll(async () => {
      // No cap on sockets here: what is tested is the budget all of a user's sockets share.
      t = await startTestServer(await kind.open(), { sync: { maxConnectionsPerUser: 1000 } });
      const { port } = await t.server.listen(0, '127.0.0.1');
      http = `http://127.0.0.1:${port}`;
      base = `ws://127.0.0.1:${port}/sync`;
      const admin = t.as('admin', ['admin']);
      await admin.post('/directory/sync', {
        departments: [{ id: 'hq', name: 'HQ' }],
        users: [
          { id: 'admin', name: 'A', departmentId: 'hq' },
          { id: 'rep', name: 'R', departmentId: 'hq', managerId: 'admin' },
        ],
      });
      const processId = (
        await admin.post('/processes', { name: 'P', departments: [], definition: seedProcessDefinition })
      ).body.id;
      const customerId = (await t.as('rep').post('/customers', { name: 'C', fields: {} })).body.id;
      opportunityId = (await t.as('rep').post('/opportunities', { name: 'O', customerId, amount: 1, processId })).body
        .id;
    });
    afterAll(() => t.close());

    const open = (user: string, roles: string[]) => openRaw(t, `${base}/opportunity:${opportunityId}`, user, roles);

    it('closes the most active of 50 sockets of one user flooding valid form updates with 4429 and keeps /healthz answering', {
      timeout: 60_000,
    }, async () => {
      const quiet = await open('rep', ['sales']); // another tab of the same user: sends nothing
      const other = await open('admin', ['admin']); // another user on the same doc
      const flooders = await Promise.all(Array.from({ length: 50 }, () => open('rep', ['sales'])));
      // Valid updates (a text field of the current stage): each one is applied, checked, broadcast to every socket and stored.
      const locals = flooders.map(() => new Y.Doc());
      const pending = locals.map((d) => {
        const out: Uint8Array[] = [];
        d.on('update', (u: Uint8Array) => out.push(u));
        return out;
      });
      const codes: number[] = [];
      for (const f of flooders) void f.closed.then((c) => codes.push(c.code));
      let sent = 0;
      const probe = probeHealthz(http);
      // Each socket: 5 updates every 50 ms (100/s, half its own limit), for 4 s: 20,000 in all if none is closed.
      for (let tick = 0; tick < 80; tick++) {
        flooders.forEach((f, i) => {
          if (f.ws.readyState !== WebSocket.OPEN) return;
          for (let k = 0; k < 5; k++) {
            locals[i]!.getMap(FORM_ROOT).set('stage.visitNotes', `notes ${i}.${tick}.${k}`);
            f.ws.send(syncUpdate(pending[i]!.shift()!));
            sent++;
          }
        });
        await new Promise((r) => setTimeout(r, 50));
      }
      const worst = await probe.stop();
      const limited = codes.filter((c) => c === CLOSE_RATE_LIMITED).length;
      console.log(
        `one user's 50 sockets flooding on ${kind.name}: ${sent} updates sent, ${limited} of 50 sockets closed with 4429 (${codes.length} closed in all); slowest /healthz ${Math.round(worst)} ms`,
      );
      // The hazard is a stall of seconds (3.7 s and 10.8 s before the budgets); the bound leaves
      // room for a busy two-core machine running other suites beside this one.
      expect(worst).toBeLessThan(2500);
      // The flooders are closed (what is left sends within the user's budget), with 4429 and nothing else.
      expect(limited).toBeGreaterThanOrEqual(45);
      expect(codes.every((c) => c === CLOSE_RATE_LIMITED)).toBe(true);
      // The quiet tab of the same user and the other user are still there, and served.
      expect(quiet.ws.readyState).toBe(WebSocket.OPEN);
      expect(other.ws.readyState).toBe(WebSocket.OPEN);
      other.messages.length = 0;
      other.ws.send(frame(MESSAGE_QUERY_AWARENESS, () => {}));
      await waitFor(() => other.messages.some((m) => m[0] === MESSAGE_AWARENESS), 3000, "the other user's answer");
      expect((await fetch(`${http}/healthz`)).status).toBe(200);
      for (const r of [quiet, other, ...flooders]) r.ws.close();
    });
  });
}

/** Polls /healthz every 20 ms until stopped; `stop()` gives the slowest answer, in ms. */
function probeHealthz(http: string): { stop(): Promise<number> } {
  let worst = 0;
  let probing = true;
  const loop = (async () => {
    while (probing) {
      const started = performance.now();
      await fetch(`${http}/healthz`).then((r) => r.arrayBuffer());
      worst = Math.max(worst, performance.now() - started);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    async stop() {
      probing = false;
      await loop;
      return worst;
    },
  };
}

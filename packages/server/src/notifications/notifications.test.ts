import { createServer as httpServer, type Server } from 'node:http';
import { seedProcessDefinition } from '@sales-process/core';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookDeliveries } from '../db/schema.js';
import { startTestServer, testDatabases, waitFor, type TestServer } from '../testing/harness.js';
import { sign } from './webhooks.js';

const DAY = 86_400_000;

/** A host's webhook receiver that fails the first `failures` calls. */
async function receiver(failures = 0) {
  const calls: { status: number; body: string; headers: Record<string, string | string[] | undefined> }[] = [];
  const server: Server = httpServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const status = calls.length < failures ? 500 : 200;
      calls.push({ status, body, headers: req.headers });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
  return {
    url,
    calls,
    ok: () => calls.filter((c) => c.status === 200),
    close: () => new Promise((r) => server.close(r)),
  };
}

async function company(t: TestServer) {
  const admin = t.as('admin', ['admin']);
  await admin.post('/directory/sync', {
    departments: [{ id: 'sales', name: '销售部' }],
    users: [
      { id: 'admin', name: 'A', departmentId: 'sales' },
      { id: 'mgr', name: '李经理', departmentId: 'sales', managerId: 'admin' },
      { id: 'rep', name: '张三', departmentId: 'sales', managerId: 'mgr' },
      { id: 'post', name: '陈工', departmentId: 'sales', managerId: 'admin' },
    ],
  });
  const processId = (await admin.post('/processes', { name: 'P', departments: [], definition: seedProcessDefinition }))
    .body.id;
  const customerId = (await admin.post('/customers', { name: '宝钢', fields: { industry: 'it' } })).body.id;
  await admin.post(`/customers/${customerId}/contacts`, { name: 'a' });
  await admin.post(`/customers/${customerId}/contacts`, { name: 'b' });
  const opp = async (name = 'O') =>
    (await t.as('rep').post('/opportunities', { name, customerId, amount: 100, processId })).body.id as string;
  return { processId, customerId, opp, admin, rep: t.as('rep') };
}

for (const kind of testDatabases()) {
  describe(`reminders, timeouts and notifications on ${kind.name}`, () => {
    let t: TestServer;
    let c: Awaited<ReturnType<typeof company>>;
    beforeAll(async () => {
      // The receiver is on this machine: private targets allowed.
      t = await startTestServer(await kind.open(), { webhooks: { allowPrivate: true } });
      c = await company(t);
    });
    afterAll(() => t.close());
    const tick = () => t.server.services.scheduler.tick();
    const mine = async (user = 'rep', roles = ['sales']) =>
      (await t.as(user, roles).get('/notifications?limit=200')).body;
    const about = async (id: string, user = 'rep', roles = ['sales']) =>
      (await mine(user, roles)).items.filter((n: { opportunityId: string }) => n.opportunityId === id);

    it('reminds the owner once per stage entry, and not after the opportunity moved on', async () => {
      const id = await c.opp('提醒');
      t.clock.advance(6 * DAY);
      await tick();
      expect(await about(id)).toEqual([]);
      t.clock.advance(1 * DAY + 1000); // 初次拜访: remind after 7 days
      await Promise.all([tick(), tick()]);
      await tick();
      let got = await about(id);
      expect(got).toHaveLength(1);
      expect(got[0]).toMatchObject({ kind: 'reminder', stageId: 'visit', payload: { stageName: '初次拜访', days: 7 } });
      // Moves on to 需求分析匹配 (14 days): nothing at +8 days.
      await c.rep.put(`/opportunities/${id}/stage-form`, { values: { visitNotes: 'x' } });
      expect((await c.rep.post(`/opportunities/${id}/complete-stage`)).status).toBe(200);
      t.clock.advance(8 * DAY);
      await tick();
      expect(await about(id)).toHaveLength(1);
      // Back to 初次拜访: a new entry, a new reminder after 7 more days.
      await c.rep.post(`/opportunities/${id}/move-back`, { stageId: 'visit' });
      t.clock.advance(7 * DAY + 1000);
      await tick();
      await tick();
      got = await about(id);
      expect(got.map((n: { stageId: string }) => n.stageId)).toEqual(['visit', 'visit']);
    });

    it('reminds post-sale staff, and tells owner and staff when a post-sale stage is overdue', async () => {
      const id = await c.opp('售后');
      await c.rep.put(`/opportunities/${id}/stage-form`, { values: { visitNotes: 'x' } });
      await c.rep.post(`/opportunities/${id}/complete-stage`);
      await c.rep.put(`/opportunities/${id}/stage-form`, { values: { needsSummary: 'x' } });
      await c.rep.post(`/opportunities/${id}/complete-stage`);
      await c.rep.put(`/opportunities/${id}/stage-form`, { values: { designDoc: 'x', customerFeedback: 'y' } });
      await c.rep.post(`/opportunities/${id}/complete-stage`);
      const approval = (await t.as('mgr', ['supervisor']).get('/approvals?state=pending')).body.items.find(
        (a: { opportunityId: string }) => a.opportunityId === id,
      );
      // The supervisor was told; the owner hears the decision.
      expect((await about(id, 'mgr', ['supervisor'])).map((n: { kind: string }) => n.kind)).toEqual([
        'approval-requested',
      ]);
      await t.as('mgr', ['supervisor']).post(`/approvals/${approval.id}/approve`, {});
      await waitFor(
        async () => (await about(id)).some((n: { kind: string }) => n.kind === 'approval-decided'),
        2000,
        'the decision notice',
      );
      await c.rep.put(`/opportunities/${id}/stage-form`, { values: { expectedCloseDate: '2027-01-01' } });
      await c.rep.post(`/opportunities/${id}/orders`, { amount: 100 });
      expect((await c.rep.post(`/opportunities/${id}/win`)).body.stageId).toBe('install');
      await c.rep.put(`/opportunities/${id}/post-sale-staff`, { userIds: ['post'] });
      t.clock.advance(2 * DAY + 1000); // 上门安装: remind after 2, overdue after 5
      await tick();
      expect((await about(id, 'post', ['postsale'])).map((n: { kind: string }) => n.kind)).toEqual(['reminder']);
      t.clock.advance(3 * DAY);
      await tick();
      expect((await about(id, 'post', ['postsale'])).map((n: { kind: string }) => n.kind).sort()).toEqual([
        'overdue',
        'reminder',
      ]);
      expect((await about(id)).filter((n: { kind: string }) => n.kind === 'overdue')).toHaveLength(1);
      expect((await t.as('rep').get(`/opportunities/${id}`)).body.overdue).toBe(true);
    });

    it('lists, filters and marks notifications read, only for their recipient', async () => {
      const before = await mine();
      expect(before.unread).toBeGreaterThan(0);
      const first = before.items[0];
      expect((await t.as('post', ['postsale']).post(`/notifications/${first.id}/read`)).status).toBe(404);
      const read = await c.rep.post(`/notifications/${first.id}/read`);
      expect(read.body.readAt).not.toBeNull();
      const after = await mine();
      expect(after.unread).toBe(before.unread - 1);
      const unread = (await c.rep.get('/notifications?unread=true&limit=200')).body.items;
      expect(unread.some((n: { id: string }) => n.id === first.id)).toBe(false);
      const page = (await c.rep.get('/notifications?limit=1')).body;
      expect(page.items).toHaveLength(1);
      expect(page.nextCursor).toBeTruthy();
    });

    it('pushes a notification live to its recipient (server-sent events)', async () => {
      const token = await t.token('rep', ['sales']);
      const res = await t.server.fetch(
        new Request('http://test/api/v1/notifications/stream', { headers: { authorization: `Bearer ${token}` } }),
      );
      expect(res.headers.get('content-type')).toContain('text/event-stream');
      const reader = res.body!.getReader();
      const text: string[] = [];
      const reading = (async () => {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          text.push(new TextDecoder().decode(value));
        }
      })();
      await waitFor(() => text.join('').includes('event: ready'), 2000, 'stream ready');
      const id = await c.opp('实时');
      t.clock.advance(7 * DAY + 1000);
      await tick();
      await waitFor(() => text.join('').includes(id), 3000, 'the live notification');
      await reader.cancel();
      await reading.catch(() => {});
    });

    it('posts every notification and stage move to the host webhook, signed, retried until it succeeds, once', async () => {
      const hook = await receiver(3);
      try {
        expect((await c.admin.put('/webhook', { url: hook.url, secret: 'whsec-0123456789' })).status).toBe(200);
        const id = await c.opp('回调');
        await c.rep.put(`/opportunities/${id}/stage-form`, { values: { visitNotes: 'x' } });
        await c.rep.post(`/opportunities/${id}/complete-stage`);
        await waitFor(() => hook.ok().length === 1, 5000, 'delivery after three failures');
        expect(hook.calls).toHaveLength(4);
        const ok = hook.ok()[0]!;
        const event = JSON.parse(ok.body);
        expect(event).toMatchObject({
          type: 'opportunity.stage-changed',
          data: {
            opportunityId: id,
            action: 'complete',
            actorId: 'rep',
            previous: { stageId: 'visit', stageName: '初次拜访' },
            current: { stageId: 'needs', stageName: '需求分析匹配' },
          },
        });
        expect(ok.headers['x-sp-signature']).toBe(
          `sha256=${sign('whsec-0123456789', String(ok.headers['x-sp-timestamp']), ok.body)}`,
        );
        // Every attempt is recorded.
        const d = await waitFor(
          async () => {
            const found = (await c.admin.get('/webhook/deliveries')).body.items.find(
              (x: { id: string }) => x.id === event.id,
            );
            return found?.state === 'delivered' && found;
          },
          2000,
          'the delivery to be recorded',
        );
        // Status codes show only for the delivered attempt.
        expect(d.attempts.map((a: { status: number | null }) => a.status)).toEqual([null, null, null, 200]);
        expect(d.attempts.map((a: { error: string | null }) => a.error)).toEqual([
          'the receiver did not answer 2xx',
          'the receiver did not answer 2xx',
          'the receiver did not answer 2xx',
          null,
        ]);
        // Nothing is delivered twice.
        await new Promise((r) => setTimeout(r, 300));
        await t.server.services.webhooks.deliverDue();
        expect(hook.ok()).toHaveLength(1);
      } finally {
        await c.admin.delete('/webhook');
        await hook.close();
      }
    });

    it('does not lose a delivery whose worker died after claiming it, nor one no worker got to', async () => {
      const hook = await receiver(0);
      try {
        await c.admin.put('/webhook', { url: hook.url, secret: 'whsec-0123456789' });
        const { db } = t.server.services.ctx.database;
        const webhooks = t.server.services.webhooks;
        // Two events in the outbox, committed; no worker has run yet.
        await webhooks.enqueue(db, 't1', { type: 'test.claimed', data: { n: 1 } });
        await webhooks.enqueue(db, 't1', { type: 'test.unclaimed', data: { n: 2 } });
        // A worker claimed the first (a 30 s lease) and died before POSTing.
        await db
          .update(webhookDeliveries)
          .set({ lockedUntil: new Date(t.clock.now().getTime() + 30_000) })
          .where(sql`${webhookDeliveries.event}->>'type' = 'test.claimed'`);
        await webhooks.deliverDue();
        const types = () => hook.ok().map((x) => JSON.parse(x.body).type);
        await waitFor(() => types().includes('test.unclaimed'), 2000, 'the unclaimed one');
        expect(types()).not.toContain('test.claimed');
        t.clock.advance(31_000);
        await webhooks.deliverDue();
        await waitFor(() => types().includes('test.claimed'), 2000, 'the claimed one, after its lease lapsed');
        expect(types().filter((x) => x.startsWith('test.'))).toHaveLength(2);
      } finally {
        await c.admin.delete('/webhook');
        await hook.close();
      }
    });
  });
}

describe('several instances', () => {
  for (const kind of testDatabases()) {
    it(`notify once when two instances scan at the same time, and a restart finds what was due (${kind.name})`, async () => {
      const db1 = await kind.open();
      const t1 = await startTestServer(db1);
      const c = await company(t1);
      const { openDatabase } = await import('../db/open.js');
      const db2 = kind.name === 'postgres' ? await openDatabase({ url: db1.url! }) : db1;
      const t2 = await startTestServer(db2);
      try {
        const ids = [await c.opp('一'), await c.opp('二'), await c.opp('三')];
        t1.clock.advance(8 * DAY);
        t2.clock.advance(8 * DAY);
        await Promise.all([
          t1.server.services.scheduler.tick(),
          t2.server.services.scheduler.tick(),
          t1.server.services.scheduler.tick(),
          t2.server.services.scheduler.tick(),
        ]);
        const items = (await t1.as('rep').get('/notifications?limit=200')).body.items;
        for (const id of ids)
          expect(
            items.filter(
              (n: { opportunityId: string; kind: string }) => n.opportunityId === id && n.kind === 'reminder',
            ),
          ).toHaveLength(1);
      } finally {
        await t2.server.close();
        if (db2 !== db1) await db2.close();
        await t1.close();
      }
    });
  }
});

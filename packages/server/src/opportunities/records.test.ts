import { computeFunnel, processDefinitionSchema, type FunnelOpportunity } from '@sales-process/core';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opportunities, opportunityChanges, stageHistory } from '../db/schema.js';
import { startTestServer, testDatabases, type TestServer } from '../testing/harness.js';

/**
 * Opportunities as records (edit, reassign), reopening, and the history and funnel that
 * must follow them: each capability and each refusal, on every database.
 */

/** B needs the supervisor's approval (for the approval a reassignment cancels). */
const withApproval = processDefinitionSchema.parse({
  presale: [
    { id: 'a', name: 'A', winRate: 10 },
    { id: 'b', name: 'B', winRate: 40, requiresApproval: true },
    { id: 'c', name: 'C', winRate: 70 },
  ],
  postsale: [{ id: 'p1', name: 'P1' }],
});
/** No gates: every move is one request. */
const plain = processDefinitionSchema.parse({
  presale: [
    { id: 'a', name: 'A', winRate: 10 },
    { id: 'b', name: 'B', winRate: 40 },
    { id: 'c', name: 'C', winRate: 70 },
  ],
  postsale: [{ id: 'p1', name: 'P1' }],
});

type Reply = { status: number; body: any; etag: string | null };

for (const kind of testDatabases()) {
  describe(`records and reopening on ${kind.name}`, () => {
    let t: TestServer;
    let customerId: string;
    const admin = () => t.as('admin', ['admin']);
    const rep = () => t.as('rep', ['sales']);

    /** A request with headers of its own (If-Match), answering the ETag too. */
    async function send(
      user: string,
      roles: string[],
      method: string,
      path: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ): Promise<Reply> {
      const res = await t.server.fetch(
        new Request(`http://test/api/v1${path}`, {
          method,
          headers: {
            authorization: `Bearer ${await t.token(user, roles)}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            ...headers,
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        }),
      );
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null, etag: res.headers.get('etag') };
    }

    async function newProcess(definition: unknown, name = `P ${Math.random().toString(36).slice(2, 7)}`) {
      const r = await admin().post('/processes', { name, departments: [], definition });
      expect(r.status).toBe(201);
      return r.body.id as string;
    }

    async function newOpp(owner: string, processId: string, name = 'O', amount = 1000): Promise<string> {
      const r = await t.as(owner, ['sales']).post('/opportunities', {
        name,
        customerId,
        amount,
        processId,
        expectedCloseDate: '2027-03-31',
      });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      return r.body.id;
    }

    const move = async (user: string, id: string, path: string, body: unknown = {}, roles = ['sales']) => {
      const r = await t.as(user, roles).post(`/opportunities/${id}/${path}`, body);
      expect(r.status, `${path}: ${JSON.stringify(r.body)}`).toBe(200);
      return r.body;
    };

    /** What core's funnel math says of the opportunities of a process (those `keep` keeps). */
    async function expectedFunnel(
      processId: string,
      definition: typeof plain,
      keep: (o: typeof opportunities.$inferSelect) => boolean = () => true,
    ) {
      const { db } = t.database;
      const rows = (await db.select().from(opportunities).where(eq(opportunities.processId, processId))).filter(keep);
      const opps: FunnelOpportunity[] = rows.map((r) => ({
        id: r.id,
        amount: r.amount,
        status: r.status,
        stageId: r.stageId,
        maxStageIndex: r.maxStageIndex,
        expectedCloseDate: r.expectedCloseDate,
        createdAt: r.createdAt.toISOString(),
        closedAt: r.closedAt?.toISOString() ?? null,
      }));
      const ids = new Set(opps.map((o) => o.id));
      const stays = (await db.select().from(stageHistory).where(eq(stageHistory.processId, processId)))
        .filter((h) => ids.has(h.opportunityId) && h.fromStageId && h.daysSpent !== null && h.action !== 'migrate')
        .map((h) => ({ stageId: h.fromStageId!, days: Math.round(h.daysSpent! * 100) / 100 }));
      return computeFunnel(definition, opps, stays);
    }

    /** The funnel the API answers, figure by figure against core's. */
    async function expectFunnel(processId: string, query: string, expected: ReturnType<typeof computeFunnel>) {
      const res = await admin().get(`/analytics/funnel?processId=${processId}${query}`);
      expect(res.status).toBe(200);
      expect(res.body.stages).toEqual(expected.stages);
      expect(res.body.terminal).toEqual(expected.terminal);
      expect(res.body.forecast).toEqual(expected.forecast);
      expect([res.body.total, res.body.overallWinRate, res.body.openAmount, res.body.weightedAmount]).toEqual([
        expected.total,
        expected.overallWinRate,
        expected.openAmount,
        expected.weightedAmount,
      ]);
      return res.body;
    }

    beforeAll(async () => {
      t = await startTestServer(await kind.open());
      expect(
        (
          await admin().post('/directory/sync', {
            departments: [
              { id: 'hq', name: '总部' },
              { id: 'east', name: '华东', parentId: 'hq' },
              { id: 'north', name: '华北', parentId: 'hq' },
            ],
            users: [
              { id: 'admin', name: '管理员', departmentId: 'hq' },
              { id: 'mgr', name: '经理', departmentId: 'east', managerId: 'admin' },
              { id: 'rep', name: '张三', departmentId: 'east', managerId: 'mgr' },
              { id: 'rep2', name: '李四', departmentId: 'north', managerId: 'mgr' },
              { id: 'mgr2', name: '经理二', departmentId: 'north', managerId: 'admin' },
              { id: 'rep3', name: '王五', departmentId: 'north', managerId: 'mgr2' },
              { id: 'rep4', name: '赵六', departmentId: 'east', managerId: 'mgr' },
              { id: 'rep5', name: '钱七', departmentId: 'east', managerId: 'mgr' },
              { id: 'post', name: '售后', departmentId: 'hq' },
            ],
          })
        ).status,
      ).toBe(200);
      for (const f of [
        { key: 'budget', label: { zh: '预算', en: 'Budget' }, type: 'number' },
        { key: 'sponsor', label: { zh: '发起人', en: 'Sponsor' }, type: 'user' },
      ])
        expect((await admin().post('/fields/opportunity', f)).status).toBe(201);
      // Amounts may move to USD (a currency with a rate: directory/currencies.test.ts has the refusals).
      expect((await admin().put('/currency-rates', { rates: [{ currency: 'USD', rate: 7 }] })).status).toBe(200);
      customerId = (await rep().post('/customers', { name: '宝钢', fields: { industry: 'it' } })).body.id;
    }, 60_000);
    afterAll(() => t.close());

    describe('PATCH /opportunities/{id}', () => {
      it('edits the record, checks custom fields as the stage form does, and records the change', async () => {
        const processId = await newProcess(plain);
        const id = await newOpp('rep', processId, '编辑前');
        const before = await send('rep', ['sales'], 'GET', `/opportunities/${id}`);
        const r = await send('rep', ['sales'], 'PATCH', `/opportunities/${id}`, {
          name: '编辑后',
          amount: 2500,
          currency: 'USD',
          expectedCloseDate: '2027-05-31',
          fields: { budget: 5, sponsor: 'mgr' },
          reason: '客户确认预算',
        });
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        expect(r.body).toMatchObject({
          name: '编辑后',
          amount: 2500,
          currency: 'USD',
          expectedCloseDate: '2027-05-31',
          fields: { budget: 5, sponsor: 'mgr' },
          stageId: 'a',
        });
        expect(r.etag).not.toBe(before.etag);
        expect((await send('rep', ['sales'], 'GET', `/opportunities/${id}`)).etag).toBe(r.etag);

        // Each value against its definition, 400 at its path; nothing changes.
        for (const [fields, path] of [
          [{ budget: 'lots' }, 'body.fields.budget'],
          [{ sponsor: 'nobody' }, 'body.fields.sponsor'],
          [{ nope: 1 }, 'body.fields.nope'],
          [{ amount: 1 }, 'body.fields.amount'],
        ] as const) {
          const bad = await rep().patch(`/opportunities/${id}`, { fields });
          expect([bad.status, bad.body.error.code, bad.body.error.details[0].path]).toEqual([
            400,
            'VALIDATION_FAILED',
            path,
          ]);
        }
        const negative = await rep().patch(`/opportunities/${id}`, { amount: -1 });
        expect([negative.status, negative.body.error.details[0].path]).toEqual([400, 'body.amount']);
        const unknownKey = await rep().patch(`/opportunities/${id}`, { owner: 'rep2' });
        expect([unknownKey.status, unknownKey.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
        expect((await send('rep', ['sales'], 'GET', `/opportunities/${id}`)).etag).toBe(r.etag);

        // Null empties a custom field; values left as they are record nothing.
        const cleared = await rep().patch(`/opportunities/${id}`, { name: '编辑后', fields: { budget: null } });
        expect(cleared.body.fields).toEqual({ budget: null, sponsor: 'mgr' });
        const same = await send('rep', ['sales'], 'PATCH', `/opportunities/${id}`, { amount: 2500 });
        expect(same.status).toBe(200);

        const history = (await rep().get(`/opportunities/${id}/history`)).body.items;
        expect(history.map((h: { kind: string; action: string }) => [h.kind, h.action])).toEqual([
          ['move', 'create'],
          ['change', 'edit'],
          ['change', 'edit'],
        ]);
        expect(history[1]).toMatchObject({
          actorId: 'rep',
          reason: '客户确认预算',
          changes: {
            name: ['编辑前', '编辑后'],
            amount: [1000, 2500],
            currency: ['CNY', 'USD'],
            expectedCloseDate: ['2027-03-31', '2027-05-31'],
            'fields.budget': [null, 5],
            'fields.sponsor': [null, 'mgr'],
          },
        });
        expect(history[2].changes).toEqual({ 'fields.budget': [5, null] });
        expect(same.etag).toBe((await send('rep', ['sales'], 'GET', `/opportunities/${id}`)).etag);
        // The move path works on from the edited row (the known state followed the rev).
        expect((await rep().post(`/opportunities/${id}/complete-stage`)).body.stageId).toBe('b');
      });

      it('honours If-Match and expectedStageId (409 STALE_STATE)', async () => {
        const processId = await newProcess(plain);
        const id = await newOpp('rep', processId);
        const first = await send('rep', ['sales'], 'GET', `/opportunities/${id}`);
        const edited = await send(
          'rep',
          ['sales'],
          'PATCH',
          `/opportunities/${id}`,
          { name: '一' },
          {
            'if-match': first.etag!,
          },
        );
        expect(edited.status).toBe(200);
        const stale = await send(
          'rep',
          ['sales'],
          'PATCH',
          `/opportunities/${id}`,
          { name: '二' },
          {
            'if-match': first.etag!,
          },
        );
        expect([stale.status, stale.body.error.code, stale.body.error.details[0].etag]).toEqual([
          409,
          'STALE_STATE',
          edited.etag,
        ]);
        expect((await rep().patch(`/opportunities/${id}`, { name: '二', expectedStageId: 'b' })).status).toBe(409);
        expect(
          (await send('rep', ['sales'], 'PATCH', `/opportunities/${id}`, { name: '二' }, { 'if-match': edited.etag! }))
            .status,
        ).toBe(200);
        expect((await rep().get(`/opportunities/${id}`)).body.name).toBe('二');
        expect((await rep().get(`/opportunities/${id}/history`)).body.items).toHaveLength(3);
      });

      it('is for the owner, their supervisor and admins', async () => {
        const processId = await newProcess(plain);
        const id = await newOpp('rep', processId);
        expect((await t.as('rep2', ['sales']).patch(`/opportunities/${id}`, { name: 'x' })).status).toBe(403);
        expect((await t.as('ana', ['analyst']).patch(`/opportunities/${id}`, { name: 'x' })).status).toBe(403);
        expect((await t.as('mgr', ['supervisor']).patch(`/opportunities/${id}`, { name: '经理改' })).status).toBe(200);
        expect((await admin().patch(`/opportunities/${id}`, { name: '管理员改' })).status).toBe(200);
        // Post-sale staff work the stages, not the record.
        await move('rep', id, 'complete-stage');
        await move('rep', id, 'complete-stage');
        await move('rep', id, 'win');
        expect((await rep().put(`/opportunities/${id}/post-sale-staff`, { userIds: ['post'] })).status).toBe(200);
        expect((await t.as('post', ['postsale']).patch(`/opportunities/${id}`, { name: 'x' })).status).toBe(403);
        expect((await rep().patch(`/opportunities/${id}`, { amount: 900 })).status).toBe(200);
        expect((await t.as('ghost', ['admin'], 't2').patch(`/opportunities/${id}`, { name: 'x' })).status).toBe(404);
      });
    });

    describe('POST /opportunities/reassign', () => {
      it("moves one to another user of the tenant, with the new owner's department, recorded with its reason", async () => {
        const processId = await newProcess(plain);
        const id = await newOpp('rep', processId);
        const r = await t
          .as('mgr', ['supervisor'])
          .post('/opportunities/reassign', { opportunityIds: [id], toOwnerId: 'rep2', reason: '调岗' });
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        expect(r.body).toMatchObject({
          toOwnerId: 'rep2',
          moved: 1,
          refused: 0,
          items: [{ opportunityId: id, result: 'moved', ownerId: 'rep2', departmentId: 'north' }],
        });
        const view = await send('rep2', ['sales'], 'GET', `/opportunities/${id}`);
        expect(view.body).toMatchObject({
          ownerId: 'rep2',
          ownerName: '李四',
          departmentId: 'north',
          supervisorId: 'mgr',
        });
        expect(view.etag).toBe(r.body.items[0].etag);
        // The former owner no longer reads it; the new one acts on it (a minute later: the history's order).
        expect((await rep().get(`/opportunities/${id}`)).status).toBe(403);
        t.clock.advance(60_000);
        expect((await t.as('rep2', ['sales']).post(`/opportunities/${id}/complete-stage`)).status).toBe(200);
        const history = (await admin().get(`/opportunities/${id}/history`)).body.items;
        expect(history.map((h: { action: string }) => h.action)).toEqual(['create', 'reassign', 'complete']);
        expect(history[1]).toMatchObject({
          kind: 'change',
          actorId: 'mgr',
          reason: '调岗',
          changes: { ownerId: ['rep', 'rep2'], departmentId: ['east', 'north'] },
        });
      });

      it('refuses without the right (403), an unknown new owner (400) and a body naming both or neither', async () => {
        const processId = await newProcess(plain);
        const id = await newOpp('rep', processId);
        const body = { opportunityIds: [id], toOwnerId: 'rep2' };
        for (const [user, roles] of [
          ['rep', ['sales']],
          ['rep2', ['sales']],
          ['mgr2', ['supervisor']],
          ['ana', ['analyst']],
        ] as const) {
          const r = await t.as(user, [...roles]).post('/opportunities/reassign', body);
          expect([user, r.status, r.body.error.code]).toEqual([user, 403, 'FORBIDDEN']);
        }
        expect(
          (await t.as('rep2', ['sales']).post('/opportunities/reassign', { fromOwnerId: 'rep', toOwnerId: 'rep2' }))
            .status,
        ).toBe(403);
        for (const [bad, path] of [
          [{ opportunityIds: [id], toOwnerId: 'ghost' }, 'body.toOwnerId'],
          [{ fromOwnerId: 'rep', toOwnerId: 'rep' }, 'body.toOwnerId'],
          [{ toOwnerId: 'rep2' }, 'body.opportunityIds'],
          [{ opportunityIds: [id], fromOwnerId: 'rep', toOwnerId: 'rep2' }, 'body.fromOwnerId'],
          [{ opportunityIds: [], toOwnerId: 'rep2' }, 'body.opportunityIds'],
        ] as const) {
          const r = await admin().post('/opportunities/reassign', bad);
          expect([r.status, r.body.error.details[0].path]).toEqual([400, path]);
        }
        expect((await rep().get(`/opportunities/${id}`)).body.ownerId).toBe('rep');
        expect(
          await t.database.db.select().from(opportunityChanges).where(eq(opportunityChanges.opportunityId, id)),
        ).toEqual([]);
      });

      it('answers each opportunity: moved, or refused with why', async () => {
        const processId = await newProcess(plain);
        const open = await newOpp('rep', processId);
        const lost = await newOpp('rep', processId);
        await move('rep', lost, 'lose', { reason: 'price' });
        const theirs = await newOpp('rep2', processId);
        const r = await admin().post('/opportunities/reassign', {
          opportunityIds: [open, lost, 'opp_nope', theirs],
          toOwnerId: 'rep2',
        });
        expect(r.status).toBe(200);
        expect(r.body.moved).toBe(1);
        expect(r.body.refused).toBe(3);
        expect(r.body.items.map((i: any) => [i.opportunityId, i.result, i.error?.code])).toEqual([
          [open, 'moved', undefined],
          [lost, 'refused', 'INVALID_TRANSITION'],
          ['opp_nope', 'refused', 'NOT_FOUND'],
          [theirs, 'refused', 'INVALID_TRANSITION'],
        ]);
        expect(r.body.items[1].error.messages.en).toBeTruthy();
        // A supervisor moves their report's and is told which are not theirs to move.
        const mine = await newOpp('rep', processId);
        const other = await newOpp('rep3', processId);
        const s = await t
          .as('mgr', ['supervisor'])
          .post('/opportunities/reassign', { opportunityIds: [mine, other], toOwnerId: 'rep2' });
        expect(s.body.items.map((i: any) => [i.result, i.error?.code])).toEqual([
          ['moved', undefined],
          ['refused', 'FORBIDDEN'],
        ]);
      });

      it("cancels a pending approval the new owner's supervisor would not decide", async () => {
        const processId = await newProcess(withApproval);
        const id = await newOpp('rep', processId);
        await move('rep', id, 'complete-stage');
        expect((await rep().post(`/opportunities/${id}/complete-stage`)).status).toBe(202);
        const pending = async (user: string) =>
          (await t.as(user, ['supervisor']).get('/approvals?state=pending')).body.items.filter(
            (a: { opportunityId: string }) => a.opportunityId === id,
          );
        expect(await pending('mgr')).toHaveLength(1);
        const r = await admin().post('/opportunities/reassign', { opportunityIds: [id], toOwnerId: 'rep3' });
        expect(r.body.moved).toBe(1);
        expect(await pending('mgr')).toHaveLength(0);
        const view = (await t.as('rep3', ['sales']).get(`/opportunities/${id}`)).body;
        expect([view.supervisorId, view.approval]).toEqual(['mgr2', null]);
        const last = (await admin().get(`/opportunities/${id}/history`)).body.items.at(-1);
        expect(last.changes).toEqual({
          ownerId: ['rep', 'rep3'],
          departmentId: ['east', 'north'],
          approval: ['pending', 'cancelled'],
        });
        // The new owner asks their own supervisor.
        expect((await t.as('rep3', ['sales']).post(`/opportunities/${id}/complete-stage`)).status).toBe(202);
        expect(await pending('mgr2')).toHaveLength(1);
      });

      it("moves all of a salesperson's open opportunities in one call, and the funnel by owner follows", async () => {
        const processId = await newProcess(plain);
        const t1 = await newOpp('rep4', processId, 'open a', 100);
        const t2 = await newOpp('rep4', processId, 'open b', 200);
        await move('rep4', t2, 'complete-stage');
        const t3 = await newOpp('rep4', processId, 'lost', 300);
        await move('rep4', t3, 'complete-stage');
        await move('rep4', t3, 'lose', { reason: 'price' });
        const t4 = await newOpp('rep4', processId, 'won, post-sale', 400);
        for (const step of ['complete-stage', 'complete-stage', 'win']) await move('rep4', t4, step);
        const t5 = await newOpp('rep2', processId, 'theirs', 500);
        const byOwner = (owner: string) => (o: { ownerId: string }) => o.ownerId === owner;

        const leaverBefore = await expectFunnel(
          processId,
          '&ownerId=rep4',
          await expectedFunnel(processId, plain, byOwner('rep4')),
        );
        expect(leaverBefore.total).toBe(4);
        await expectFunnel(processId, '&ownerId=rep2', await expectedFunnel(processId, plain, byOwner('rep2')));
        await expectFunnel(processId, '', await expectedFunnel(processId, plain));

        const r = await t
          .as('mgr', ['supervisor'])
          .post('/opportunities/reassign', { fromOwnerId: 'rep4', toOwnerId: 'rep2', reason: '离职交接' });
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        expect(r.body.moved).toBe(3);
        expect(new Set(r.body.items.map((i: { opportunityId: string }) => i.opportunityId))).toEqual(
          new Set([t1, t2, t4]),
        );
        expect((await admin().get(`/opportunities?ownerId=rep4`)).body.items).toMatchObject([
          { id: t3, status: 'lost' },
        ]);

        const leaverAfter = await expectFunnel(
          processId,
          '&ownerId=rep4',
          await expectedFunnel(processId, plain, byOwner('rep4')),
        );
        expect([leaverAfter.total, leaverAfter.terminal.lost.count]).toEqual([1, 1]);
        const rep2After = await expectFunnel(
          processId,
          '&ownerId=rep2',
          await expectedFunnel(processId, plain, byOwner('rep2')),
        );
        expect([rep2After.total, rep2After.terminal.won.count]).toEqual([4, 1]);
        expect(rep2After.stages.map((s: { open: number }) => s.open)).toEqual([2, 1, 0]);
        // The department followed the owner; the whole funnel is as it was.
        const north = await expectFunnel(
          processId,
          '&departmentId=north',
          await expectedFunnel(processId, plain, (o) => o.departmentId === 'north'),
        );
        expect(north.total).toBe(4);
        await expectFunnel(processId, '', await expectedFunnel(processId, plain));
        expect(t5).toBeTruthy();
        for (const id of [t1, t2, t4])
          expect((await admin().get(`/opportunities/${id}/history`)).body.items.at(-1)).toMatchObject({
            action: 'reassign',
            reason: '离职交接',
          });
      });
      it('moves more open opportunities than one statement holds (parts of 1,000)', async () => {
        const processId = await newProcess(plain);
        const now = new Date();
        await t.database.db.insert(opportunities).values(
          Array.from({ length: 1100 }, (_, i) => ({
            id: `bulk_${String(i).padStart(4, '0')}`,
            tenantId: 't1',
            name: `bulk ${i}`,
            customerId,
            ownerId: 'rep5',
            departmentId: 'east',
            amount: 10,
            currency: 'CNY',
            processId,
            processVersion: 1,
            stageId: 'a',
            status: 'open' as const,
            phase: 'presale' as const,
            stageEnteredAt: now,
            createdAt: now,
            updatedAt: now,
          })),
        );
        const r = await t
          .as('mgr', ['supervisor'])
          .post('/opportunities/reassign', { fromOwnerId: 'rep5', toOwnerId: 'rep3' });
        expect([r.status, r.body.moved, r.body.refused]).toEqual([200, 1100, 0]);
        const owners = await t.database.db
          .select({ ownerId: opportunities.ownerId, departmentId: opportunities.departmentId })
          .from(opportunities)
          .where(eq(opportunities.processId, processId));
        expect(owners.every((o) => o.ownerId === 'rep3' && o.departmentId === 'north')).toBe(true);
        expect(
          (
            await t.database.db.select().from(opportunityChanges).where(eq(opportunityChanges.action, 'reassign'))
          ).filter((c) => c.opportunityId.startsWith('bulk_')),
        ).toHaveLength(1100);
        const funnel = await expectFunnel(
          processId,
          '&ownerId=rep3',
          await expectedFunnel(processId, plain, (o) => o.ownerId === 'rep3'),
        );
        expect([funnel.total, funnel.stages[0].open]).toEqual([1100, 1100]);
      });
    });

    describe('POST /opportunities/{id}/reopen', () => {
      it('brings a lost or invalid one back into a pre-sale stage, recorded as a move', async () => {
        const processId = await newProcess(plain);
        const id = await newOpp('rep', processId);
        await move('rep', id, 'complete-stage');
        await move('rep', id, 'complete-stage');
        const lost = await move('rep', id, 'lose', { reason: 'price' });
        expect([lost.closedAt === null, lost.actions]).toEqual([false, ['reopen']]);
        const r = await send('rep', ['sales'], 'POST', `/opportunities/${id}/reopen`, {
          stageId: 'b',
          expectedStageId: 'c',
          comment: '客户回来了',
        });
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        expect(r.body).toMatchObject({
          status: 'open',
          phase: 'presale',
          stageId: 'b',
          lostReason: null,
          closedAt: null,
          winRate: 40,
          path: { maxStageIndex: 2 },
        });
        expect(r.etag).toBe((await send('rep', ['sales'], 'GET', `/opportunities/${id}`)).etag);
        const last = (await rep().get(`/opportunities/${id}/history`)).body.items.at(-1);
        expect(last).toMatchObject({
          kind: 'move',
          action: 'reopen',
          fromStageId: 'c',
          toStageId: 'b',
          fromStatus: 'lost',
          toStatus: 'open',
          actorId: 'rep',
          daysSpent: null,
          comment: '客户回来了',
        });
        // It moves on as any open one does.
        expect((await rep().post(`/opportunities/${id}/complete-stage`)).body.stageId).toBe('c');

        const invalid = await newOpp('rep', processId);
        await move('rep', invalid, 'invalidate');
        expect(
          (await t.as('mgr', ['supervisor']).post(`/opportunities/${invalid}/reopen`, { stageId: 'a' })).status,
        ).toBe(200);
      });

      it('reopens a won one for admins only, out of post-sale with its staff kept', async () => {
        const processId = await newProcess(plain);
        const id = await newOpp('rep', processId);
        for (const step of ['complete-stage', 'complete-stage', 'win']) await move('rep', id, step);
        expect((await rep().put(`/opportunities/${id}/post-sale-staff`, { userIds: ['post'] })).status).toBe(200);
        for (const [user, roles] of [
          ['rep', ['sales']],
          ['post', ['postsale']],
          ['mgr', ['supervisor']],
        ] as const) {
          const r = await t.as(user, [...roles]).post(`/opportunities/${id}/reopen`, { stageId: 'c' });
          expect([user, r.status, r.body.error.code]).toEqual([user, 403, 'FORBIDDEN']);
        }
        const r = await admin().post(`/opportunities/${id}/reopen`, { stageId: 'c' });
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        expect(r.body).toMatchObject({
          status: 'open',
          phase: 'presale',
          stageId: 'c',
          postsaleStaff: ['post'],
          closedAt: null,
        });
        // Post-sale staff of a pre-sale opportunity read it and no longer act on it.
        expect((await t.as('post', ['postsale']).get(`/opportunities/${id}`)).status).toBe(200);
        expect((await t.as('post', ['postsale']).post(`/opportunities/${id}/win`)).status).toBe(403);
        expect((await rep().post(`/opportunities/${id}/win`)).body).toMatchObject({ status: 'won', stageId: 'p1' });
      });

      it('refuses an open one, a stage outside its pre-sale stages, a stale caller, and a process that forbids it', async () => {
        const processId = await newProcess(plain);
        const open = await newOpp('rep', processId);
        const r = await rep().post(`/opportunities/${open}/reopen`, { stageId: 'a' });
        expect([r.status, r.body.error.code]).toEqual([422, 'INVALID_TRANSITION']);
        const lost = await newOpp('rep', processId);
        await move('rep', lost, 'lose', { reason: 'price' });
        for (const stageId of ['p1', 'zz']) {
          const bad = await rep().post(`/opportunities/${lost}/reopen`, { stageId });
          expect([bad.status, bad.body.error.code, bad.body.error.details[0].stageId]).toEqual([
            422,
            'INVALID_TRANSITION',
            stageId,
          ]);
        }
        expect((await rep().post(`/opportunities/${lost}/reopen`, { stageId: 'a', expectedStageId: 'b' })).status).toBe(
          409,
        );
        expect((await t.as('rep2', ['sales']).post(`/opportunities/${lost}/reopen`, { stageId: 'a' })).status).toBe(
          403,
        );
        expect((await rep().post(`/opportunities/${lost}/reopen`, {})).status).toBe(400);
        const bodiless = await rep().request('POST', `/opportunities/${lost}/reopen`);
        expect([bodiless.status, bodiless.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);

        // allowReopen off, through the draft and publishing ("update existing data").
        const draft = (await admin().get(`/processes/${processId}/draft`)).body.draft;
        expect(draft.definition.rules.allowReopen).toBe(true);
        draft.definition.rules.allowReopen = false;
        expect((await admin().put(`/processes/${processId}/draft`, draft)).status).toBe(200);
        const published = await admin().post(`/processes/${processId}/publish`, { mode: 'update-existing' });
        expect(published.status, JSON.stringify(published.body)).toBe(200);
        expect((await admin().get(`/processes/${processId}`)).body.definition.rules.allowReopen).toBe(false);
        // A rule is its version's: one lost on the new version stays lost.
        const later = await newOpp('rep', processId);
        const view = await move('rep', later, 'lose', { reason: 'price' });
        expect([view.processVersion, view.path.rules.allowReopen, view.actions]).toEqual([2, false, []]);
        const refused = await admin().post(`/opportunities/${later}/reopen`, { stageId: 'a' });
        expect([refused.status, refused.body.error.code, refused.body.error.details[0].rule]).toEqual([
          422,
          'INVALID_TRANSITION',
          'allowReopen',
        ]);
        expect((await rep().get(`/opportunities/${later}`)).body.status).toBe('lost');
        // A process created with the rule off refuses from the start.
        const strict = await newProcess({ ...plain, rules: { ...plain.rules, allowReopen: false } });
        const closed = await newOpp('rep', strict);
        await move('rep', closed, 'invalidate');
        expect((await rep().post(`/opportunities/${closed}/reopen`, { stageId: 'a' })).status).toBe(422);
      });

      it("keeps the funnel what core's funnel math says, before and after reopening", async () => {
        const processId = await newProcess(plain);
        const lost = await newOpp('rep', processId, 'lost at b', 100);
        await move('rep', lost, 'complete-stage');
        await move('rep', lost, 'lose', { reason: 'price' });
        const invalid = await newOpp('rep', processId, 'invalid at a', 200);
        await move('rep', invalid, 'invalidate');
        const won = await newOpp('rep2', processId, 'won', 300);
        for (const step of ['complete-stage', 'complete-stage', 'win']) await move('rep2', won, step);
        const open = await newOpp('rep', processId, 'open at c', 400);
        await move('rep', open, 'complete-stage');
        await move('rep', open, 'complete-stage');

        const before = await expectFunnel(processId, '', await expectedFunnel(processId, plain));
        expect(before.terminal).toMatchObject({ lost: { count: 1 }, invalid: { count: 1 }, won: { count: 1 } });
        expect(before.stages.map((s: { open: number }) => s.open)).toEqual([0, 0, 1]);
        expect(before.stages.map((s: { reached: number }) => s.reached)).toEqual([4, 3, 2]);

        await move('rep', lost, 'reopen', { stageId: 'a' });
        await move('rep', invalid, 'reopen', { stageId: 'a' });
        await move('admin', won, 'reopen', { stageId: 'b' }, ['admin']);

        const after = await expectFunnel(processId, '', await expectedFunnel(processId, plain));
        expect(after.terminal).toMatchObject({ lost: { count: 0 }, invalid: { count: 0 }, won: { count: 0 } });
        expect(after.stages.map((s: { open: number }) => s.open)).toEqual([2, 1, 1]);
        // How far each got stays: the reopened won one still reached C (not won any more).
        expect(after.stages.map((s: { reached: number }) => s.reached)).toEqual([4, 3, 2]);
        expect(after.overallWinRate).toBeNull();
        expect(after.openAmount).toBe(1000);
        await expectFunnel(
          processId,
          '&ownerId=rep',
          await expectedFunnel(processId, plain, (o) => o.ownerId === 'rep'),
        );
        // Closed figures after closing again: the rollups follow every way through.
        await move('rep', lost, 'lose', { reason: 'price' });
        await expectFunnel(processId, '', await expectedFunnel(processId, plain));
      });
    });

    describe('PATCH /customers/{id}', () => {
      it('edits name and custom fields for its owner, their supervisor and admins; its opportunities follow', async () => {
        const processId = await newProcess(plain);
        const customer = (await rep().post('/customers', { name: '客户甲', fields: { industry: 'it' } })).body.id;
        const opp = (await rep().post('/opportunities', { name: 'O', customerId: customer, amount: 1, processId })).body
          .id;
        const etag = (await send('rep', ['sales'], 'GET', `/opportunities/${opp}`)).etag;
        const r = await rep().patch(`/customers/${customer}`, { name: '客户乙', fields: { industry: 'retail' } });
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        expect(r.body).toMatchObject({ id: customer, name: '客户乙', fields: { industry: 'retail' }, ownerId: 'rep' });
        const after = await send('rep', ['sales'], 'GET', `/opportunities/${opp}`);
        expect(after.body.customerName).toBe('客户乙');
        expect(after.etag).not.toBe(etag);

        expect((await t.as('mgr', ['supervisor']).patch(`/customers/${customer}`, { name: '经理改' })).status).toBe(
          200,
        );
        expect((await admin().patch(`/customers/${customer}`, { fields: { industry: null } })).body.fields).toEqual({
          industry: null,
        });
        for (const [user, roles] of [
          ['rep2', ['sales']],
          ['mgr2', ['supervisor']],
          ['ana', ['analyst']],
        ] as const)
          expect((await t.as(user, [...roles]).patch(`/customers/${customer}`, { name: 'x' })).status).toBe(403);
        const bad = await rep().patch(`/customers/${customer}`, { fields: { industry: 'space' } });
        expect([bad.status, bad.body.error.details[0].path]).toEqual([400, 'body.fields.industry']);
        const unknown = await rep().patch(`/customers/${customer}`, { fields: { nope: 'x' } });
        expect([unknown.status, unknown.body.error.details[0].path]).toEqual([400, 'body.fields.nope']);
        expect((await rep().patch('/customers/cus_nope', { name: 'x' })).status).toBe(404);
        expect((await rep().get(`/customers/${customer}`)).body.name).toBe('经理改');
      });
    });
  });
}
